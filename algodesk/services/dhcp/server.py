"""The bench DHCP server: sockets, its thread, and the start-up probe for other DHCP servers.

Binds ``0.0.0.0:67`` with SO_BROADCAST and, on Linux, SO_BINDTODEVICE to the interface owning the
server address, so it only ever hears and answers the bench segment. At start it sends one
DISCOVER (broadcast flag set) from port 68 and listens there for ``probe_seconds`` (5 s by
default: dnsmasq and ISC dhcpd ping an address for up to 3 s before offering it): any OFFER is
another DHCP server on the segment, reported as a warning. The decisions per packet live in
``DhcpResponder``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import selectors
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from algodesk.core.events import (
    Address,
    ServerStarted,
    ServerStopped,
    ServiceNotice,
    Sink,
    null_sink,
)
from algodesk.services import errors
from algodesk.services.dhcp.leases import Lease, LeaseStore
from algodesk.services.dhcp.ping import Pinger, ping_works
from algodesk.services.dhcp.responder import (
    BROADCAST,
    SERVICE,
    Action,
    DhcpResponder,
    Outgoing,
    PingCheck,
)
from algodesk.services.dhcp.rival import RivalWatch, probe_discover
from algodesk.services.dhcp.settings import DhcpSettings
from algodesk.services.interfaces import list_interfaces
from algodesk.services.service_thread import ServiceThread

SERVER_PORT = 67
CLIENT_PORT = 68
_MAX_DATAGRAM = 65535
_PING_POLL = 0.05
_WILDCARD = ("", "0.0.0.0")


class DhcpServer:
    """The bench DHCP server; ``start()`` returns once bound, ``stop()`` within milliseconds.

    ``leases_path`` is the JSON file that keeps leases across restarts (None: memory only).
    The port and address parameters exist for tests on loopback: ``redirect_to`` sends every
    reply and the probe to that address instead of where RFC 2131 says (never broadcast), and
    ``probe_port`` is where the probe DISCOVER goes (default ``server_port``).
    """

    def __init__(
        self,
        settings: DhcpSettings,
        sink: Sink = null_sink,
        *,
        leases_path: Path | None,
        bind_address: str = "0.0.0.0",
        server_port: int = SERVER_PORT,
        client_port: int = CLIENT_PORT,
        probe_port: int | None = None,
        probe_seconds: float = 5.0,
        redirect_to: str | None = None,
    ) -> None:
        self.settings = settings
        self._sink = sink
        self._leases_path = leases_path
        self._bind_address = bind_address
        self._server_port = server_port
        self._client_port = client_port
        self._probe_port = probe_port or server_port
        self._probe_seconds = probe_seconds
        self._redirect_to = redirect_to
        self._responder: DhcpResponder | None = None
        self._socket: socket.socket | None = None
        self._rival: RivalWatch | None = None
        self._loop = ServiceThread("algodesk-dhcp")
        self._port = server_port
        self._pinger = Pinger()
        self._ping_checks: dict[str, PingCheck] = {}

    @property
    def port(self) -> int:
        """The bound server port."""
        return self._port

    @property
    def running(self) -> bool:
        """Whether the server thread runs."""
        return self._loop.running

    @property
    def other_servers(self) -> set[str]:
        """Identifiers of other DHCP servers the probe heard."""
        return set(self._rival.rivals) if self._rival else set()

    def leases(self) -> list[Lease]:
        """Every lease known (active or not)."""
        return self._responder.leases.all() if self._responder else []

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Load leases, bind, probe for other servers and serve; raises ``ServerStartError``."""
        if self._loop.started:
            raise RuntimeError("DHCP server already running")
        settings = self.settings
        leases = LeaseStore(self._leases_path)
        leases.load()
        leases.retain(
            lambda lease: settings.in_pool(lease.ip) or lease.ip in settings.reservations.values()
        )
        try:
            interface = settings.interface or self._interface_of(settings.server_address)
            self._socket = self._open(self._server_port, interface, service_port=True)
        except errors.ServerStartError as failure:
            self._sink(failure.failed_event(SERVICE))
            raise
        self._port = self._socket.getsockname()[1]
        if interface and not sys.platform.startswith("linux"):
            self._notice(
                "warning",
                "dhcp-all-interfaces",
                f"this system cannot tie a socket to {interface}: DHCP requests from every "
                "network are heard (only Algo devices are answered unless told otherwise)",
            )
        if leases.load_problem:
            self._notice("warning", "dhcp-leases-unreadable", leases.load_problem)
        ping_check = settings.ping_check and ping_works()
        if settings.ping_check and not ping_check:
            self._notice(
                "warning",
                "dhcp-no-ping",
                "no working ping here: addresses are offered without checking they are free",
            )
        self._responder = DhcpResponder(
            settings,
            leases,
            self._sink,
            client_port=self._client_port,
            broadcast_address=BROADCAST,
            ping_check=ping_check,
        )
        self._rival = None
        if settings.detect_other_servers:
            try:
                watch = self._open(self._client_port, interface, service_port=False)
                self._rival = RivalWatch(watch, settings.server_address, self._sink)
            except errors.ServerStartError as error:
                self._notice(
                    "warning",
                    "dhcp-probe-unavailable",
                    f"cannot look for other DHCP servers: {error.message}",
                )
        self._loop.start(self._run)
        self._sink(ServerStarted(service=SERVICE, address=settings.server_address, port=self._port))
        for warning in settings.option_warnings():
            self._notice("warning", "dhcp-options-shadowed", warning)

    def stop(self) -> None:
        """Stop serving and close every socket; leases stay on disk."""
        if not self._loop.stop():
            return
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._rival is not None:
            self._rival.socket.close()  # still open when stopped within the probe window
        self._sink(
            ServerStopped(service=SERVICE, address=self.settings.server_address, port=self._port)
        )

    def __enter__(self) -> DhcpServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- sockets ----------------------------------------------------------------------------

    def _interface_of(self, address: str) -> str:
        """The interface that owns ``address`` ('' when bound to one address, e.g. in tests)."""
        if self._bind_address not in _WILDCARD:
            return ""
        for interface in list_interfaces():
            if interface.ipv4 == address:
                return interface.name
        raise errors.ServerStartError(
            errors.BAD_ADDRESS,
            f"{SERVICE}: {address} is not an address of this computer, so it cannot be the "
            "bench DHCP server's address",
            errors.bad_address_remedies(),
            address=address,
            port=self._server_port,
        )

    def _open(self, port: int, interface: str, *, service_port: bool) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            if not service_port:
                # Port 68 may be shared with a DHCP client on this computer; port 67 must not
                # be shared with another server, so a bind conflict there has to surface.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            if interface and sys.platform.startswith("linux"):
                sock.setsockopt(
                    socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode() + b"\0"
                )
            sock.bind((self._bind_address, port))
            sock.setblocking(False)
        except OSError as error:
            sock.close()
            failure = errors.bind_error(
                error, service=SERVICE, address=self._bind_address, port=port
            )
            if service_port and failure.code == errors.PORT_IN_USE:
                failure = errors.ServerStartError(
                    failure.code,
                    failure.message,
                    (
                        f"Find the program: sudo ss -ulpn 'sport = :{port}'",
                        "Another DHCP server runs on this computer (dnsmasq, isc-dhcp-server, "
                        "Internet Sharing): stop it; two DHCP servers on one bench fight over "
                        "the devices.",
                    ),
                    address=failure.address,
                    port=port,
                )
            raise failure from None
        return sock

    def _send(self, data: bytes, destination: Address, sock: socket.socket) -> None:
        if self._redirect_to is not None:
            destination = (self._redirect_to, destination[1])
        with contextlib.suppress(OSError):
            sock.sendto(data, destination)

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        assert self._socket is not None
        selector = selectors.DefaultSelector()
        selector.register(self._socket, selectors.EVENT_READ)
        selector.register(self._loop.wake, selectors.EVENT_READ)
        rival, probe_deadline = self._rival, None
        if rival is not None:
            selector.register(rival.socket, selectors.EVENT_READ)
            discover = probe_discover()
            self._responder_of().ignore_xid(discover.xid)  # it loops back to our own socket
            self._send(discover.encode(), (BROADCAST, self._probe_port), rival.socket)
            probe_deadline = time.monotonic() + self._probe_seconds
        try:
            while not self._loop.stopping():
                timeouts = [_PING_POLL] if self._pinger.pending else []
                if probe_deadline is not None:
                    timeouts.append(max(0.0, probe_deadline - time.monotonic()))
                for key, _events in selector.select(min(timeouts, default=None)):
                    if key.fileobj is self._socket:
                        self._serve(self._socket)
                    elif rival is not None and key.fileobj is rival.socket:
                        rival.read()
                for address, answered in self._pinger.finished():
                    check = self._ping_checks.pop(address)
                    self._act(self._guarded(self._responder_of().pinged, check, answered))
                probe_over = probe_deadline is not None and time.monotonic() >= probe_deadline
                if rival is not None and probe_over:
                    selector.unregister(rival.socket)
                    rival.finish()
                    probe_deadline = rival = None
        finally:
            self._pinger.cancel()
            self._ping_checks.clear()
            selector.close()

    def _responder_of(self) -> DhcpResponder:
        assert self._responder is not None
        return self._responder

    def _serve(self, sock: socket.socket) -> None:
        responder = self._responder_of()
        while not self._loop.stopping():
            try:
                data, peer = sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # a queued ICMP error from an earlier send
            self._act(self._guarded(responder.handle, data, (peer[0], peer[1])))

    def _guarded(self, decide: Callable[..., list[Action]], *args: object) -> list[Action]:
        try:
            return decide(*args)
        except Exception as error:  # a bug must not take the bench's DHCP down silently
            self._notice("error", "dhcp-internal-error", f"{type(error).__name__}: {error}")
            return []

    def _act(self, actions: list[Action]) -> None:
        """Send replies; start the pings the responder asked for (answering at once if none can)."""
        assert self._socket is not None
        for action in actions:
            if isinstance(action, Outgoing):
                self._send(action.packet.encode(), action.destination, self._socket)
            elif self._pinger.start(action.ip):
                self._ping_checks[action.ip] = action
            else:
                self._act(self._guarded(self._responder_of().pinged, action, False))

    def _notice(self, level: str, code: str, message: str, client: Address | None = None) -> None:
        self._sink(
            ServiceNotice(service=SERVICE, level=level, code=code, message=message, client=client)
        )


def find_bench_address(pool_start: str, subnet_mask: str = "255.255.255.0") -> str:
    """The address of this computer's interface on the pool's subnet ('' when none is)."""
    try:
        network = ipaddress.IPv4Network(f"{pool_start}/{subnet_mask}", strict=False)
    except ValueError:
        return ""
    for interface in list_interfaces():
        if interface.ipv4 and ipaddress.IPv4Address(interface.ipv4) in network:
            return interface.ipv4
    return ""
