"""The "Bench network" panel: DHCP, syslog and zeroconf on and off, what each is doing, and
check-sync for the devices selected in the Live table.

Toggles follow what really runs: a service that fails to start leaves its box unticked (the
window shows why in the banner). DHCP and syslog start off every time; zeroconf is a saved
setting because it only announces and listens.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from algodesk.core import events as ev
from algodesk.core.diagnosis import Level
from algodesk.services.dhcp import DhcpSettingsError
from algodesk.services.settings import Settings
from algodesk.ui.bridge import EventBridge
from algodesk.ui.network.companions_control import Companions
from algodesk.ui.network.dhcp_config import describe, dhcp_settings
from algodesk.ui.network.dhcp_dialog import DhcpDialog
from algodesk.ui.network.discovery_model import DiscoveredModel
from algodesk.ui.widgets import status_style, text
from algodesk.ui.widgets.table_view import table

WARNINGS_SHOWN = 4
SYNC_MS = 250
"""A flood of leases or syslog lines repaints the panel at most this often."""
_WATCHED = ("dhcp", "syslog", "discovery", "checksync")


def _label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setStyleSheet(f"color: {status_style.COLOURS[Level.INFO]}")
    return label


def _switch_box(box: QGroupBox, toggle: QCheckBox, beside: QWidget) -> QLabel:
    """Lay out ``box``: its on/off switch with ``beside`` on one row, a status line below;
    returns the status line."""
    row = QHBoxLayout()
    row.addWidget(toggle, 1)
    row.addWidget(beside)
    status = _label(box)
    layout = QVBoxLayout(box)
    layout.addLayout(row)
    layout.addWidget(status)
    return status


class CompanionsPanel(QWidget):
    """Controls and state of the companion services."""

    checksync_requested = Signal()
    """The user asked to check-sync the selected devices."""
    dhcp_refused = Signal(str)
    """The DHCP settings do not fit the bench address (the reason)."""

    def __init__(
        self,
        companions: Companions,
        bridge: EventBridge,
        settings: Settings,
        save_settings: Callable[[], None],
        bench_address: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        """Control ``companions`` for the bench at ``bench_address()`` (the toolbar's choice)."""
        super().__init__(parent)
        self.companions = companions
        self.settings = settings
        self._save = save_settings
        self._bench_address = bench_address
        self._serving_port: int | None = None
        self._leases: dict[str, str] = {}
        self._senders: set[str] = set()
        self._lines = 0
        self._warnings: list[str] = []
        self._probing = False
        self._sync_later = QTimer(self)
        self._sync_later.setSingleShot(True)
        self._sync_later.setInterval(SYNC_MS)
        self._sync_later.timeout.connect(self.sync)

        dhcp_box = QGroupBox("Bench DHCP", self)
        self.dhcp_toggle = QCheckBox("Lease addresses, name the bench", dhcp_box)
        self.dhcp_button = QPushButton("Settings…", dhcp_box)
        self.dhcp_button.clicked.connect(self._on_dhcp_button_clicked)
        self.dhcp_status = _switch_box(dhcp_box, self.dhcp_toggle, self.dhcp_button)

        syslog_box = QGroupBox("Syslog receiver", self)
        self.syslog_toggle = QCheckBox("Receive device logs, port", syslog_box)
        self.syslog_port = QSpinBox(syslog_box)
        self.syslog_port.setRange(0, 65535)
        self.syslog_port.setValue(settings.syslog_port)
        self.syslog_port.setToolTip("514 is what devices send to; 0: any free port (tests)")
        self.syslog_status = _switch_box(syslog_box, self.syslog_toggle, self.syslog_port)

        zeroconf_box = QGroupBox("zeroconf", self)
        self.zeroconf_toggle = QCheckBox("Announce the bench, watch the network", zeroconf_box)
        self.zeroconf_toggle.setToolTip(
            "Announce this bench (_tftp._udp) on the chosen interface only, warn of other "
            "provisioning servers, and list the Algo devices that announce a web page"
        )
        self.zeroconf_status = _label(zeroconf_box)
        self.discovered_model = DiscoveredModel(self)
        self.discovered = table(zeroconf_box)
        self.discovered.setModel(self.discovered_model)
        header = self.discovered.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)  # names are long
        self.discovered.setMinimumHeight(90)
        self.discovered.setMaximumHeight(160)
        self.probe_button = QPushButton("Probe model", zeroconf_box)
        self.probe_button.setToolTip("Ask the selected device's web page which model it is")
        self.probe_button.clicked.connect(self.probe_selected)
        box = QVBoxLayout(zeroconf_box)
        box.addWidget(self.zeroconf_toggle)
        box.addWidget(self.zeroconf_status)
        box.addWidget(self.discovered, 1)
        box.addWidget(self.probe_button)

        self.checksync_button = QPushButton("Check-sync selected devices…", self)
        self.checksync_button.setToolTip("Ask devices to re-provision now (SIP NOTIFY)")
        self.checksync_button.clicked.connect(self.checksync_requested)
        self.warnings = QLabel(self)
        self.warnings.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(dhcp_box)
        layout.addWidget(syslog_box)
        layout.addWidget(zeroconf_box)
        layout.addWidget(self.checksync_button)
        layout.addWidget(self.warnings)
        layout.addStretch(1)

        self.dhcp_toggle.toggled.connect(self._on_dhcp_toggle_toggled)
        self.syslog_toggle.toggled.connect(self._on_syslog_toggle_toggled)
        self.syslog_port.valueChanged.connect(self._on_syslog_port_value_changed)
        self.zeroconf_toggle.toggled.connect(self._on_zeroconf_toggle_toggled)
        companions.changed.connect(self.sync)
        companions.probed.connect(self._on_companions_probed)
        bridge.events_received.connect(self._on_bridge_events_received)
        self.sync()

    # --- DHCP ------------------------------------------------------------------------------------
    @Slot(bool)
    def _on_dhcp_toggle_toggled(self, on: bool) -> None:
        if on:
            self.start_dhcp()
        else:
            self.companions.stop_dhcp()

    def start_dhcp(self) -> bool:
        """Start DHCP with the saved choices on the toolbar's interface."""
        try:
            dhcp = dhcp_settings(self.settings, self._bench_address())
        except DhcpSettingsError as error:
            self.dhcp_refused.emit(str(error))
            self.sync()
            return False
        started = self.companions.start_dhcp(dhcp)
        self.sync()
        return started

    @Slot()
    def _on_dhcp_button_clicked(self) -> None:
        self.edit_dhcp()  # a slot returns None: PySide mis-counts results

    def edit_dhcp(self) -> DhcpDialog:
        """Open the DHCP settings; saving them restarts a running server with them."""
        dialog = DhcpDialog(self.settings, self._running_dhcp_address(), self)
        dialog.accepted.connect(self._on_dhcp_dialog_accepted)
        dialog.open()
        return dialog

    @Slot()
    def _on_dhcp_dialog_accepted(self) -> None:
        self._save()
        if self.companions.dhcp is not None:
            self.start_dhcp()
        self.sync()

    def _running_dhcp_address(self) -> str:
        dhcp = self.companions.dhcp
        address = dhcp.settings.server_address if dhcp is not None else self._bench_address()
        return "" if address == "0.0.0.0" else address

    # --- syslog ----------------------------------------------------------------------------------
    @Slot(bool)
    def _on_syslog_toggle_toggled(self, on: bool) -> None:
        if on:
            self.start_syslog()
        else:
            self.companions.stop_syslog()

    def start_syslog(self) -> bool:
        """Receive syslog on the toolbar's address and the panel's port."""
        started = self.companions.start_syslog(self._bench_address(), self.syslog_port.value())
        self.sync()
        return started

    def use_syslog_port(self, port: int) -> None:
        """Switch to ``port`` (the banner's offer after a refusal) and start receiving."""
        self.syslog_port.setValue(port)
        self.start_syslog()

    @Slot(int)
    def _on_syslog_port_value_changed(self, port: int) -> None:
        self.settings.syslog_port = port
        self._save()

    # --- zeroconf --------------------------------------------------------------------------------
    @Slot(bool)
    def _on_zeroconf_toggle_toggled(self, on: bool) -> None:
        self.settings.zeroconf = on
        self._save()
        if on:
            self.start_zeroconf()
        else:
            self.companions.stop_discovery()

    def start_zeroconf(self) -> bool:
        """Watch (and announce, while serving) on the toolbar's interface."""
        started = self.companions.start_discovery(self._bench_address())
        if started and self._serving_port is not None:
            self.companions.advertise(self._serving_port)
        self.sync()
        return started

    def serving(self, port: int | None) -> None:
        """The TFTP server started on ``port`` (None: it stopped): announce or withdraw."""
        self._serving_port = port
        if port is None:
            self.companions.withdraw()
        else:
            self.companions.advertise(port)

    @Slot()
    def probe_selected(self) -> None:
        """Probe the model of the device selected in the zeroconf list."""
        rows = self.discovered.selectionModel().selectedRows()
        device = self.discovered_model.device(rows[0].row()) if rows else None
        if device is not None:
            self._probing = True
            self.probe_button.setEnabled(False)
            self.zeroconf_status.setText(f"Asking {html.escape(device.where)} for its model…")
            self.companions.probe_model(device)

    @Slot(object, str)
    def _on_companions_probed(self, device: object, model: str) -> None:
        self._probing = False
        self.sync()
        if not model:
            where = getattr(device, "where", "the device")
            self.zeroconf_status.setText(f"{html.escape(where)} did not name its model")

    # --- state -----------------------------------------------------------------------------------
    @Slot(object)
    def _on_bridge_events_received(self, events: list[ev.Event]) -> None:
        dirty = False
        for event in events:
            if isinstance(event, ev.LeaseGranted):
                self._leases[event.mac] = event.ip
                dirty = True
            elif isinstance(event, ev.SyslogLine):
                self._lines += 1
                self._senders.add(event.client[0])
                dirty = True
            elif isinstance(event, ev.ServiceNotice) and event.service in _WATCHED:
                if event.level in ("warning", "error"):
                    self._warnings = [event.message, *self._warnings][:WARNINGS_SHOWN]
                dirty = True  # a warning to list, or a device zeroconf saw or probed
        if dirty and not self._sync_later.isActive():
            self._sync_later.start()

    @Slot()
    def sync(self) -> None:
        """Show what runs: ticks, status lines, devices seen, warnings."""
        companions = self.companions
        for toggle, on in (
            (self.dhcp_toggle, companions.dhcp is not None),
            (self.syslog_toggle, companions.syslog is not None),
            (self.zeroconf_toggle, companions.discovery is not None),
        ):
            toggle.blockSignals(True)
            toggle.setChecked(on)
            toggle.blockSignals(False)
        self.syslog_port.setEnabled(companions.syslog is None)
        self.dhcp_status.setText(self._dhcp_text())
        self.syslog_status.setText(self._syslog_text())
        discovery = companions.discovery
        self.discovered_model.set_devices(discovery.devices() if discovery else [])
        self.probe_button.setEnabled(discovery is not None and not self._probing)
        self.zeroconf_status.setText(self._zeroconf_text())
        colour = status_style.COLOURS[Level.WARNING]
        self.warnings.setText(
            "".join(f"<p style='color:{colour}'>⚠ {html.escape(w)}</p>" for w in self._warnings)
        )

    def _dhcp_text(self) -> str:
        dhcp = self.companions.dhcp
        if dhcp is None:
            return "Off. Devices keep whatever address they have."
        leases = text.count(len(self._leases), "lease")
        where = f"{dhcp.settings.server_address}:{dhcp.port}"
        return html.escape(f"Serving on {where}: {describe(dhcp.settings)}. {leases} granted.")

    def _syslog_text(self) -> str:
        receiver = self.companions.syslog
        if receiver is None:
            return "Off."
        return html.escape(
            f"Receiving on {receiver.address}:{receiver.port}: "
            f"{text.count(self._lines, 'line')} from {text.count(len(self._senders), 'sender')}."
        )

    def _zeroconf_text(self) -> str:
        discovery = self.companions.discovery
        if discovery is None:
            return "Off."
        name = discovery.advertised_name.split("._tftp._udp", 1)[0]
        announced = f"announcing “{name}”" if name else "not announcing (the server is stopped)"
        others = discovery.other_servers()
        rivals = f"; {text.count(len(others), 'other server')} seen" if others else ""
        return html.escape(f"On {self.companions.discovery_address}: {announced}{rivals}.")
