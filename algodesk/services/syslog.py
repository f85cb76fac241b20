"""A UDP syslog receiver: every datagram becomes a ``SyslogLine`` event.

Devices are told where to log by ``log.server`` in their config; the tracker attaches each line to
a device by its source address. Parsing (RFC 5424 / RFC 3164, secrets masked) lives in
``algodesk.core.syslog_parse``; this module owns the socket and the thread.
"""

from __future__ import annotations

import contextlib
import selectors
import socket

from algodesk.core import syslog_parse
from algodesk.core.events import (
    ServerStarted,
    ServerStopped,
    Sink,
    SyslogLine,
    null_sink,
)
from algodesk.services.errors import ServerStartError, bind_error
from algodesk.services.service_thread import ServiceThread

SERVICE = "syslog"
DEFAULT_PORT = 514
_MAX_DATAGRAM = 65535
# Devices send in bursts at boot; a larger buffer rides them out while a sink is slow.
_RECEIVE_BUFFER = 1 << 20


class SyslogReceiver:
    """Receives syslog datagrams on one UDP port and reports them to ``sink``.

    ``start()`` returns once bound (raising ``ServerStartError`` with remedies when it cannot);
    ``stop()`` returns within milliseconds and may be followed by ``start()`` again.
    """

    def __init__(
        self, address: str = "0.0.0.0", port: int = DEFAULT_PORT, sink: Sink = null_sink
    ) -> None:
        self._address = address
        self._requested_port = port
        self._port = port
        self._sink = sink
        self._socket: socket.socket | None = None
        self._loop = ServiceThread("algodesk-syslog")
        self._received = 0

    @property
    def address(self) -> str:
        """The address bound (as given)."""
        return self._address

    @property
    def port(self) -> int:
        """The bound port (the real one when constructed with port 0)."""
        return self._port

    @property
    def running(self) -> bool:
        """Whether the receiver thread is running."""
        return self._loop.running

    @property
    def received(self) -> int:
        """Datagrams received since construction."""
        return self._received

    def start(self) -> None:
        """Bind and start receiving; raises ``ServerStartError`` when the port cannot be bound."""
        if self._loop.started:
            raise RuntimeError("syslog receiver already running")
        family = socket.AF_INET6 if ":" in self._address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
            sock.bind((self._address, self._requested_port))
            sock.setblocking(False)
        except OSError as error:
            sock.close()
            failure = _syslog_bind_error(error, self._address, self._requested_port)
            self._sink(failure.failed_event(SERVICE))
            raise failure from None
        self._socket = sock
        self._port = sock.getsockname()[1]
        self._loop.start(self._run)
        self._sink(ServerStarted(service=SERVICE, address=self._address, port=self._port))

    def stop(self) -> None:
        """Stop receiving and close the socket; returns within milliseconds."""
        if not self._loop.stop():
            return
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._sink(ServerStopped(service=SERVICE, address=self._address, port=self._port))

    def __enter__(self) -> SyslogReceiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        assert self._socket is not None
        sock = self._socket
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            selector.register(self._loop.wake, selectors.EVENT_READ)
            while not self._loop.stopping():
                for key, _events in selector.select():
                    if key.fileobj is sock:
                        self._drain(sock)

    def _drain(self, sock: socket.socket) -> None:
        """Read every datagram waiting, so a burst costs one wake-up."""
        while not self._loop.stopping():
            try:
                data, peer = sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # e.g. an ICMP error queued on the socket; nothing to read
            self._received += 1
            message = syslog_parse.parse(data)
            self._sink(
                SyslogLine(
                    client=(peer[0], peer[1]),
                    facility=message.facility,
                    severity=message.severity,
                    hostname=message.hostname,
                    app=message.app,
                    message=message.message,
                )
            )


def _syslog_bind_error(error: OSError, address: str, port: int) -> ServerStartError:
    """``bind_error``, with the port-in-use advice rewritten for syslog daemons."""
    failure = bind_error(error, service=SERVICE, address=address, port=port)
    if failure.code != "port-in-use":
        return failure
    remedies = (
        f"Find the program: sudo ss -ulpn 'sport = :{port}' (often rsyslog or syslog-ng with "
        "UDP reception enabled).",
        "Stop its UDP input, or give algodesk another port and point the devices' log.server "
        "at host:port.",
    )
    return ServerStartError(
        failure.code, failure.message, remedies, address=failure.address, port=failure.port
    )
