"""Puts the bench network companions into the main window.

A "Bench network" dock (the panel), a Syslog page, a "Check-sync…" action on the Live table,
and the banner for what goes wrong: a port refused (with a high port offered for syslog), DHCP
settings that do not fit the interface, another DHCP or provisioning server on the segment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFrame, QScrollArea

from algodesk.core import events as ev
from algodesk.core.diagnosis import Level
from algodesk.core.names import is_algo_mac
from algodesk.services import errors
from algodesk.services.errors import ServerStartError
from algodesk.ui.bridge import EventBridge
from algodesk.ui.live.syslog_model import SyslogModel
from algodesk.ui.live.syslog_page import SyslogPage
from algodesk.ui.main_window import MainWindow
from algodesk.ui.network.checksync_dialog import CheckSyncDialog
from algodesk.ui.network.companions_control import DHCP, SYSLOG, Companions
from algodesk.ui.network.companions_panel import CompanionsPanel
from algodesk.ui.widgets import text
from algodesk.ui.widgets.banner import Action

PANEL_WIDTH = 380
SYSLOG_HIGH_PORT = 5514
"""Offered when port 514 is refused (no privileges, or a system syslog daemon has it)."""
SLICE_SECONDS = 0.008
"""Longest stretch the Syslog page spends adding rows before the event loop runs again."""
_NAMES = {DHCP: "the bench DHCP server", SYSLOG: "the syslog receiver", "zeroconf": "zeroconf"}
_RIVALS = {
    "dhcp-other-server": (
        "Another DHCP server is on the bench network",
        (
            "Devices take whichever offer comes first, and only the bench's names it in "
            "option 66: stop the other server on this segment (a router, dnsmasq, Internet "
            "Sharing), or turn the bench DHCP off and set option 66 there.",
        ),
    ),
    "zeroconf-other-server": (
        "Another provisioning server is active",
        (
            "Devices may be provisioned by it instead of this bench: stop it, or make sure "
            "DHCP option 66 names this bench.",
        ),
    ),
}


@dataclass(slots=True)
class CompanionsUi:
    """The pieces added to the window (tests and screenshots reach them here)."""

    panel: CompanionsPanel
    dock: QDockWidget
    syslog_model: SyslogModel
    syslog_page: SyslogPage
    checksync_action: QAction
    wiring: _Wiring
    show_syslog: QAction
    show_panel: QAction


def install(window: MainWindow, companions: Companions, bridge: EventBridge) -> CompanionsUi:
    """Add the dock, the Syslog page, the check-sync action and the banner hooks to ``window``.

    ``bridge`` is the one that carries every service's events to the GUI thread.
    """
    feed, toolbar = window.feed, window.toolbar
    panel = CompanionsPanel(
        companions,
        bridge,
        window.settings,
        window.save_settings,
        toolbar.interfaces.current_address,
    )
    dock = QDockWidget("Bench network", window)
    dock.setObjectName("bench-network-dock")
    # scrolling, so the panel never makes the window taller than a laptop screen
    scroller = QScrollArea(dock)
    scroller.setWidgetResizable(True)
    scroller.setFrameShape(QFrame.Shape.NoFrame)
    scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroller.setWidget(panel)
    dock.setWidget(scroller)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resizeDocks([dock], [PANEL_WIDTH], Qt.Orientation.Horizontal)

    def device_at(ip: str) -> str:
        device = feed.tracker.device_for_ip(ip)
        return text.mac(device.mac) if device is not None and device.mac else ""

    syslog_model = SyslogModel(device_at, window)
    syslog_page = SyslogPage(syslog_model, window)
    window.pages.addTab(syslog_page, "Syslog")
    show_syslog = QAction("S&yslog page", window)
    show_syslog.triggered.connect(lambda: window.pages.setCurrentWidget(syslog_page))
    dock.toggleViewAction().setText("Bench &network panel")

    action = QAction("Check-sync…", window.live.devices)
    action.setShortcut(QKeySequence("Ctrl+Shift+K"))
    action.setToolTip("Ask the selected devices to re-provision now (SIP NOTIFY)")
    window.live.devices.addAction(action)
    window.live.devices.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    wiring = _Wiring(window, companions, bridge, panel, syslog_page)
    action.triggered.connect(wiring.on_checksync_requested)
    panel.checksync_requested.connect(wiring.on_checksync_requested)
    return CompanionsUi(
        panel, dock, syslog_model, syslog_page, action, wiring, show_syslog, dock.toggleViewAction()
    )


class _Wiring(QObject):
    """The slots that tie the companions to the window's banner, pages and server."""

    def __init__(
        self,
        window: MainWindow,
        companions: Companions,
        bridge: EventBridge,
        panel: CompanionsPanel,
        syslog_page: SyslogPage,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._companions = companions
        self._panel = panel
        self._syslog_page = syslog_page
        self._syslog = syslog_page.model
        self.checksync_dialog: CheckSyncDialog | None = None
        companions.failed.connect(self._on_companions_failed)
        panel.dhcp_refused.connect(self._on_panel_dhcp_refused)
        bridge.events_received.connect(self._on_bridge_events_received)
        window.feed.refreshed.connect(self._on_feed_refreshed)
        window.pages.currentChanged.connect(self._on_pages_current_changed)
        self._showing = QTimer(self)
        self._showing.setSingleShot(True)
        self._showing.setInterval(0)
        self._showing.timeout.connect(self._show_syslog)
        window.control.started.connect(self._on_control_started)
        window.control.stopped.connect(self._on_control_stopped)
        if window.settings.zeroconf:
            panel.start_zeroconf()

    @Slot(str, object)
    def _on_companions_failed(self, service: str, error: ServerStartError) -> None:
        port = error.port
        titles = {
            errors.PORT_IN_USE: f"Port {port} is already in use ({_NAMES[service]})",
            errors.PERMISSION_DENIED: f"Not allowed to use port {port} ({_NAMES[service]})",
            errors.BAD_ADDRESS: f"{_NAMES[service].capitalize()} needs the bench interface",
        }
        actions: list[Action] = []
        panel = self._panel
        if service == SYSLOG and error.code in (errors.PORT_IN_USE, errors.PERMISSION_DENIED):
            high = SYSLOG_HIGH_PORT if port != SYSLOG_HIGH_PORT else 0
            label = f"Use port {high} for syslog" if high else "Use any free port for syslog"
            actions.append((label, lambda: panel.use_syslog_port(high)))
        retry = {DHCP: panel.start_dhcp, SYSLOG: panel.start_syslog}.get(service)
        if retry is not None:
            actions.append(("Try again", partial(self._retry, retry)))
        self._window.banner.show_problem(
            titles.get(error.code, f"{_NAMES[service].capitalize()} could not start"),
            error.message,
            error.remedies,
            actions,
        )

    def _retry(self, start: Callable[[], bool]) -> None:
        self._window.banner.clear()
        start()

    @Slot(str)
    def _on_panel_dhcp_refused(self, reason: str) -> None:
        self._window.banner.show_problem(
            "The bench DHCP settings do not fit this interface",
            reason,
            ("Choose the bench interface under 'Listen on', or change the pool.",),
            (("DHCP settings…", self._edit_dhcp),),
        )

    def _edit_dhcp(self) -> None:
        self._window.banner.clear()
        self._panel.edit_dhcp()

    @Slot(object)
    def _on_bridge_events_received(self, events: list[ev.Event]) -> None:
        lines = [event for event in events if isinstance(event, ev.SyslogLine)]
        if lines:
            self._syslog.append(lines)
        for event in events:
            if isinstance(event, ev.ServiceNotice) and event.code in _RIVALS:
                self._warn_rival(event)

    def _warn_rival(self, notice: ev.ServiceNotice) -> None:
        banner = self._window.banner
        if banner.isVisible() and banner.level is Level.ERROR:
            return  # a failure the user must act on stays in sight; the panel lists the warning
        title, remedies = _RIVALS[notice.code]
        banner.show_problem(title, notice.message, remedies, (), level=Level.WARNING)

    @Slot()
    def _on_feed_refreshed(self) -> None:
        self._show_syslog()
        if self._companions.discovery is not None:
            for device in self._window.feed.tracker.devices.values():
                if device.ip and is_algo_mac(device.mac):
                    self._companions.note_algo_address(device.ip)

    @Slot(int)
    def _on_pages_current_changed(self, _index: int) -> None:
        self._show_syslog()

    @Slot()
    def _show_syslog(self) -> None:
        """Add queued lines to the page in slices (hidden, its bounded queue just waits)."""
        if self._window.pages.currentWidget() is not self._syslog_page:
            return
        self._syslog.flush(SLICE_SECONDS)
        if self._syslog.pending and not self._showing.isActive():
            self._showing.start()

    @Slot(str, int)
    def _on_control_started(self, _address: str, port: int) -> None:
        self._panel.serving(port)

    @Slot()
    def _on_control_stopped(self) -> None:
        self._panel.serving(None)

    @Slot()
    def on_checksync_requested(self) -> None:
        """Open the check-sync dialog (a slot returns None: PySide mis-counts results)."""
        self.open_checksync()

    def open_checksync(self) -> CheckSyncDialog:
        """The check-sync dialog for the devices selected in the Live table."""
        rows = [
            (text.mac(device.mac) if device.mac else "", device.ip)
            for device in self._window.live.selected_devices()
            if device.ip
        ]
        dialog = CheckSyncDialog(
            rows, self._window.settings, self._companions.send_check_sync, self._window
        )
        dialog.finished.connect(self._on_checksync_dialog_finished)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.checksync_dialog = dialog
        dialog.open()
        return dialog

    @Slot(int)
    def _on_checksync_dialog_finished(self, _result: int) -> None:
        self._window.save_settings()  # port and extension
