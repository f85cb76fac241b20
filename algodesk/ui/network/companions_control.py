"""Starts and stops the bench network companions: DHCP, the syslog receiver and zeroconf.

Each is off until the user turns it on and runs beside the TFTP server, not inside it. Their
events take the same road as the engine's: the bridge (live view, log) and the history run when
one is open. Services are built by factories passed in (app.py's real ones; tests put them on loopback).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from algodesk.core import events as ev
from algodesk.core.names import is_algo_mac
from algodesk.services import errors
from algodesk.services.checksync import NotifyResult, NotifyTarget
from algodesk.services.dhcp import DhcpServer, DhcpSettings
from algodesk.services.discovery import Discovery, FoundService
from algodesk.services.errors import ServerStartError
from algodesk.services.history.recording import RunRecorder
from algodesk.services.syslog import SyslogReceiver
from algodesk.ui.bridge import EventBridge

DHCP = "dhcp"
SYSLOG = "syslog"
ZEROCONF = "zeroconf"

DiscoveryFactory = Callable[[str, ev.Sink, Callable[[str], bool]], Discovery]
"""Builds discovery for ``(bench address, sink, is_algo_address)``."""
CheckSync = Callable[[list[NotifyTarget], ev.Sink], list[NotifyResult]]
"""Sends check-sync NOTIFYs and waits for the answers, reporting to the sink."""


@dataclass(frozen=True, slots=True)
class CompanionFactories:
    """How each companion service is built: app.py gives the real ones, tests loopback ones."""

    dhcp: Callable[[DhcpSettings, ev.Sink], DhcpServer]
    syslog: Callable[[str, int, ev.Sink], SyslogReceiver]
    discovery: DiscoveryFactory
    check_sync: CheckSync


class Companions(QObject):
    """The companion services that run now; every start reports failure by signal."""

    changed = Signal()
    """A service started or stopped, or announcing changed."""
    failed = Signal(str, object)
    """``(service, ServerStartError)``: a service could not start."""
    probed = Signal(object, str)
    """``(FoundService, model)`` once a user-initiated model probe ends ('' when unknown)."""

    def __init__(
        self,
        factories: CompanionFactories,
        bridge: EventBridge,
        recorder: RunRecorder | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._factories = factories
        self._bridge = bridge
        self._recorder = recorder
        self.dhcp: DhcpServer | None = None
        self.syslog: SyslogReceiver | None = None
        self.discovery: Discovery | None = None
        self.discovery_address = ""
        self._algo_lock = threading.Lock()
        self._algo_addresses: set[str] = set()
        self._probes: list[threading.Thread] = []
        self._sending = threading.Condition()
        self._sends = 0
        self.probed.connect(self._on_probed)

    # --- events ----------------------------------------------------------------------------------
    def sink(self, event: ev.Event) -> None:
        """Where the companions report: history (while a run is open) and the live view."""
        if isinstance(event, ev.LeaseGranted) and is_algo_mac(event.mac):
            self.note_algo_address(event.ip)
        if self._recorder is not None:
            self._recorder.record(event)
        self._bridge.post(event)

    def note_algo_address(self, address: str) -> None:
        """Remember that an Algo device uses ``address`` (zeroconf lists its web service)."""
        with self._algo_lock:
            self._algo_addresses.add(address)

    def is_algo_address(self, address: str) -> bool:
        """Whether an Algo device is known at ``address``; safe from any thread."""
        with self._algo_lock:
            return address in self._algo_addresses

    # --- DHCP ------------------------------------------------------------------------------------
    def start_dhcp(self, settings: DhcpSettings) -> bool:
        """Serve DHCP with ``settings``; False (and :attr:`failed`) when it cannot bind."""
        self.stop_dhcp()
        server = self._factories.dhcp(settings, self.sink)
        if not self._start(DHCP, server.start):
            return False
        self.dhcp = server
        self.changed.emit()
        return True

    def stop_dhcp(self) -> None:
        """Stop the DHCP server (leases stay on disk)."""
        server, self.dhcp = self.dhcp, None
        if server is not None:
            server.stop()
            self.changed.emit()

    # --- syslog ----------------------------------------------------------------------------------
    def start_syslog(self, address: str, port: int) -> bool:
        """Receive syslog at ``address:port``; False (and :attr:`failed`) when it cannot bind."""
        self.stop_syslog()
        receiver = self._factories.syslog(address, port, self.sink)
        if not self._start(SYSLOG, receiver.start):
            return False
        self.syslog = receiver
        self.changed.emit()
        return True

    def stop_syslog(self) -> None:
        """Stop receiving syslog."""
        receiver, self.syslog = self.syslog, None
        if receiver is not None:
            receiver.stop()
            self.changed.emit()

    # --- zeroconf --------------------------------------------------------------------------------
    def start_discovery(self, address: str) -> bool:
        """Join mDNS on the bench interface ``address`` and watch for servers and devices."""
        self.stop_discovery()
        if address in ("", "0.0.0.0"):
            self.failed.emit(
                ZEROCONF,
                ServerStartError(
                    errors.BAD_ADDRESS,
                    "zeroconf announces the bench on one interface only, and none is chosen",
                    ("Choose the bench interface under 'Listen on', then turn zeroconf on.",),
                    address=address,
                    port=5353,
                ),
            )
            return False
        discovery = self._factories.discovery(address, self.sink, self.is_algo_address)
        try:
            discovery.start()
        except OSError as error:  # zeroconf raises plain OSErrors for a bad interface
            discovery.stop()
            failure = errors.bind_error(error, service="zeroconf", address=address, port=5353)
            self.failed.emit(ZEROCONF, failure)
            return False
        self.discovery, self.discovery_address = discovery, address
        self.changed.emit()
        return True

    def stop_discovery(self) -> None:
        """Withdraw the announcement and leave mDNS."""
        discovery, self.discovery = self.discovery, None
        if discovery is not None:
            discovery.stop()
            self.changed.emit()
        self.join_probes()

    def advertise(self, port: int) -> None:
        """Announce the running bench as ``_tftp._udp`` on the zeroconf interface."""
        if self.discovery is not None:
            self.discovery.advertise(self.discovery_address, port, roles=self.roles())
            self.changed.emit()

    def withdraw(self) -> None:
        """Stop announcing the bench (the TFTP server stopped)."""
        if self.discovery is not None and self.discovery.advertised_name:
            self.discovery.withdraw()
            self.changed.emit()

    def roles(self) -> tuple[str, ...]:
        """What this bench offers, for the announcement's TXT record."""
        return ("tftp", *(name for name, on in ((DHCP, self.dhcp), (SYSLOG, self.syslog)) if on))

    def probe_model(self, device: FoundService) -> None:
        """Read ``device``'s model from its web page on a thread of ours; :attr:`probed` tells."""
        discovery = self.discovery
        if discovery is None:
            return

        def probe() -> None:
            self.probed.emit(device, discovery.probe_model(device))

        thread = threading.Thread(target=probe, name="algodesk-probe", daemon=True)
        self._probes.append(thread)
        thread.start()

    @Slot(object, str)
    def _on_probed(self, _device: FoundService, _model: str) -> None:
        self._probes = [t for t in self._probes if t.is_alive()]

    def join_probes(self) -> None:
        """Wait for model probes still running (each ends within its HTTP timeout)."""
        for thread in self._probes:
            thread.join(timeout=5.0)
        self._probes = []

    # --- check-sync ------------------------------------------------------------------------------
    def send_check_sync(self, targets: list[NotifyTarget]) -> list[NotifyResult]:
        """NOTIFY ``targets`` and wait for the answers (blocks: call it off the GUI thread)."""
        with self._sending:
            self._sends += 1
        try:
            return self._factories.check_sync(targets, self.sink)
        finally:
            with self._sending:
                self._sends -= 1
                self._sending.notify_all()

    def wait_for_check_sync(self, timeout: float = 10.0) -> bool:
        """Wait until no check-sync is out (each ends within its timeout); False if one still is."""
        with self._sending:
            return self._sending.wait_for(lambda: self._sends == 0, timeout)

    # --- all -------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every companion (the window is closing), letting a check-sync finish."""
        self.wait_for_check_sync()
        self.stop_discovery()
        self.stop_syslog()
        self.stop_dhcp()

    def _start(self, service: str, start: Callable[[], None]) -> bool:
        try:
            start()
        except ServerStartError as error:
            self.failed.emit(service, error)
            return False
        return True
