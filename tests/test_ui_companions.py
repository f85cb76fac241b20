"""The bench network companions in the whole app, on loopback only: DHCP leases reaching the Live
view, syslog lines on their device and the Syslog page, check-sync from the Live table, zeroconf
announcing the bench and listing devices; refused ports and rival servers in the banner."""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel
from zeroconf import Zeroconf

from algodesk.app import Composition, compose
from algodesk.core import dhcp_packet as dp
from algodesk.core.dhcp_packet import MessageType, Option
from algodesk.core.diagnosis import Level
from algodesk.core.events import LeaseGranted, SyslogLine
from algodesk.core.md5 import md5_hex
from algodesk.services import errors
from algodesk.services.checksync import check_sync
from algodesk.services.dhcp import DhcpServer, DhcpSettings
from algodesk.services.discovery import HTTP_TYPE, TFTP_TYPE, Discovery
from algodesk.services.paths import AppPaths, beside
from algodesk.services.settings import Settings, SettingsStore
from algodesk.services.syslog import SyslogReceiver
from algodesk.services.tftp_client import tftp_fetcher
from algodesk.ui import network_wiring
from algodesk.ui.live.device_model import Column
from algodesk.ui.live.syslog_model import HEADERS
from algodesk.ui.network.companions_control import CompanionFactories
from algodesk.ui.network.dhcp_dialog import DhcpDialog
from tests.loopback_peers import LOOPBACK, announce, sip_device

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication

MAC = "0022EE000042"
CONFIG = b"prov.use = 1\nlog.server = 127.0.0.1\n"


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    """A private home serving a generic 8186 config, the toolbar on loopback."""
    paths = beside(tmp_path / "home", portable=False).ensure()
    (paths.bench_dir / "algop8186.conf").write_bytes(CONFIG)
    (paths.bench_dir / "algop8186.md5").write_text(md5_hex(CONFIG) + "\n")
    SettingsStore(paths.settings_file).save(
        Settings(folder=str(paths.bench_dir), interface="lo", address=LOOPBACK, port=0)
    )
    return paths


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def loopback(
    tmp_path: Path,
    *,
    dhcp_port: int = 0,
    client_port: int = 68,
    probe_port: int | None = None,
    syslog: Callable[[str, int, object], SyslogReceiver] | None = None,
) -> CompanionFactories:
    """The companions on loopback high ports: replies never broadcast, no pings (127/8 answers
    every one), the rival probe only when a test gives it a port to go to."""

    def dhcp(settings: DhcpSettings, sink) -> DhcpServer:
        settings = replace(settings, ping_check=False, detect_other_servers=probe_port is not None)
        return DhcpServer(
            settings,
            sink,
            leases_path=tmp_path / "leases.json",
            bind_address=LOOPBACK,
            server_port=dhcp_port,
            client_port=client_port,
            probe_port=probe_port,
            probe_seconds=2.0,
            redirect_to=LOOPBACK,
        )

    return CompanionFactories(
        dhcp=dhcp,
        syslog=syslog or (lambda _address, port, sink: SyslogReceiver(LOOPBACK, port, sink)),
        discovery=lambda _address, sink, is_algo: Discovery(
            sink, interfaces=[LOOPBACK], is_algo_address=is_algo
        ),
        check_sync=lambda targets, sink: check_sync(targets, timeout=1.0, sink=sink),
    )


@pytest.fixture
def launch(qtbot, app_paths: AppPaths) -> Iterator[Callable[[CompanionFactories], Composition]]:
    """Builds the app with the given companions; closes it (servers, threads) afterwards."""
    made: list[Composition] = []

    def build(factories: CompanionFactories) -> Composition:
        parts = compose(app_paths, companion_factories=factories)
        made.append(parts)
        parts.window.show()
        qtbot.waitExposed(parts.window)
        return parts

    try:
        yield build
    finally:
        for parts in made:
            parts.window.close()
            parts.close()


def serve(parts: Composition) -> int:
    parts.window.toolbar.start_action.trigger()
    server = parts.control.server
    assert server is not None, parts.window.banner.details.text()
    return server.port


def rows(model) -> list[list[str]]:
    return [
        [model.data(model.index(r, c)) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def dhcp_exchange(client: socket.socket, port: int, mac: str) -> str:
    """DISCOVER, OFFER, REQUEST, ACK from ``client``; returns the address leased."""
    chaddr = bytes.fromhex(mac)

    def send(kind: MessageType, options: list[tuple[int, bytes]]) -> dp.DhcpPacket:
        packet = dp.request_packet(kind, xid=7, chaddr=chaddr, options=options)
        client.sendto(packet.encode(), (LOOPBACK, port))
        return dp.decode(client.recv(2048))

    offer = send(MessageType.DISCOVER, [])
    assert offer.message_type is MessageType.OFFER
    ack = send(
        MessageType.REQUEST,
        [
            (Option.REQUESTED_IP, dp.ip_value(offer.yiaddr)),
            (Option.SERVER_ID, dp.ip_value(LOOPBACK)),
        ],
    )
    assert ack.message_type is MessageType.ACK
    assert ack.text_option(Option.TFTP_SERVER_NAME) == LOOPBACK  # option 66: the bench
    return ack.yiaddr


@pytest.fixture
def dhcp_client() -> Iterator[socket.socket]:
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind((LOOPBACK, 0))
    client.settimeout(5)
    try:
        yield client
    finally:
        client.close()


# --- DHCP -----------------------------------------------------------------------------------


def test_lease_shows_the_device_before_its_first_request_and_is_kept(
    launch, tmp_path: Path, dhcp_client: socket.socket, qtbot
) -> None:
    parts = launch(loopback(tmp_path, client_port=dhcp_client.getsockname()[1]))
    window, network = parts.window, parts.network
    assert network is not None and parts.companions is not None
    panel = network.panel
    assert not panel.dhcp_toggle.isChecked()  # off until turned on
    serve(parts)
    run_id = parts.control.run_id
    panel.dhcp_toggle.setChecked(True)
    dhcp = parts.companions.dhcp
    assert dhcp is not None and panel.dhcp_toggle.isChecked()
    assert dhcp.settings.server_address == LOOPBACK  # the toolbar's interface
    assert "pool 127.0.0.100 – 127.0.0.149" in panel.dhcp_status.text()

    leased = dhcp_exchange(dhcp_client, dhcp.port, MAC)
    assert leased == "127.0.0.100"
    model = window.live.device_model()
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    (row,) = rows(model)
    assert (row[Column.MAC], row[Column.IP]) == ("00:22:EE:00:00:42", "127.0.0.100")
    assert row[Column.STAGE] == "address only"
    qtbot.waitUntil(lambda: "1 lease granted" in panel.dhcp_status.text())

    panel.dhcp_toggle.setChecked(False)
    assert parts.companions.dhcp is None and "Off" in panel.dhcp_status.text()
    window.toolbar.stop_action.trigger()
    assert parts.history is not None and run_id is not None
    parts.history.flush()
    stored = [e for e in parts.history.events(run_id) if isinstance(e, LeaseGranted)]
    assert [(e.mac, e.ip) for e in stored] == [("00:22:EE:00:00:42", "127.0.0.100")]


def test_dhcp_port_in_use_is_shown_and_leaves_tftp_serving(launch, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind((LOOPBACK, 0))
        taken = holder.getsockname()[1]
        parts = launch(loopback(tmp_path, dhcp_port=taken))
        serve(parts)
        assert parts.network is not None
        panel = parts.network.panel
        panel.dhcp_toggle.setChecked(True)
    banner = parts.window.banner
    assert not panel.dhcp_toggle.isChecked()
    assert banner.isVisible()
    assert banner.title.text().endswith(
        f"Port {taken} is already in use (the bench DHCP server)</b>"
    )
    assert "Another DHCP server runs on this computer" in banner.details.text()
    assert banner.action_labels() == ["Try again"]
    assert parts.control.running  # the TFTP server is not the one that failed
    banner.trigger("Try again")  # the port is free now
    assert panel.dhcp_toggle.isChecked() and not banner.isVisible()


def test_dhcp_needs_one_interface(launch, tmp_path: Path, qtbot) -> None:
    parts = launch(loopback(tmp_path))
    assert parts.network is not None
    panel, banner = parts.network.panel, parts.window.banner
    parts.window.toolbar.interfaces.setCurrentIndex(0)  # "All interfaces"
    panel.dhcp_toggle.setChecked(True)
    assert not panel.dhcp_toggle.isChecked()
    assert "do not fit this interface" in banner.title.text()
    assert "answers on one interface: choose it under" in banner.details.text()
    banner.trigger("DHCP settings…")
    dialog = panel.findChild(DhcpDialog)
    assert dialog is not None and dialog.isVisible() and not banner.isVisible()
    assert dialog.pool_start.placeholderText() == "automatic: on the bench subnet"
    dialog.reject()


def test_another_dhcp_server_is_a_warning_in_the_banner(
    launch, tmp_path: Path, qtbot, dhcp_client: socket.socket
) -> None:
    """A fake rival on loopback answers the bench's start-up DISCOVER with an OFFER."""
    watch_port = dhcp_client.getsockname()[1]
    dhcp_client.close()  # the server's probe listens on this port now
    rival = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rival.bind((LOOPBACK, 0))
    rival.settimeout(5)

    def answer() -> None:
        with contextlib.suppress(OSError):
            discover = dp.decode(rival.recvfrom(2048)[0])
            offer = dp.reply_packet(
                discover, MessageType.OFFER, server_id="127.0.0.2", yiaddr="127.0.0.200"
            )
            rival.sendto(offer.encode(), (LOOPBACK, watch_port))

    thread = threading.Thread(target=answer, name="algodesk-test-rival", daemon=True)
    thread.start()
    try:
        parts = launch(
            loopback(tmp_path, client_port=watch_port, probe_port=rival.getsockname()[1])
        )
        assert parts.network is not None
        panel, banner = parts.network.panel, parts.window.banner
        panel.dhcp_toggle.setChecked(True)
        qtbot.waitUntil(banner.isVisible, timeout=5000)
        assert banner.level is Level.WARNING
        assert "Another DHCP server is on the bench network" in banner.title.text()
        assert "server id 127.0.0.2" in banner.details.text()
        qtbot.waitUntil(lambda: "another DHCP server is active" in panel.warnings.text())
        assert panel.dhcp_toggle.isChecked()  # a warning, not a failure
    finally:
        thread.join(timeout=5)
        rival.close()


# --- syslog ---------------------------------------------------------------------------------


def send_syslog(port: int, *lines: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as device:
        device.bind((LOOPBACK, 0))
        for line in lines:
            device.sendto(line, (LOOPBACK, port))


def test_syslog_lines_reach_their_device_the_syslog_page_and_the_history(
    launch, tmp_path: Path, qtbot
) -> None:
    parts = launch(loopback(tmp_path))
    window, network = parts.window, parts.network
    assert network is not None and parts.companions is not None
    panel = network.panel
    panel.syslog_port.setValue(0)  # any free port
    port = serve(parts)
    assert tftp_fetcher(LOOPBACK, port, timeout=2.0)(f"algom{MAC}.conf") is None  # names it
    panel.syslog_toggle.setChecked(True)
    receiver = parts.companions.syslog
    assert receiver is not None and receiver.port > 0
    send_syslog(
        receiver.port,
        b"<134>Jan  2 03:04:05 algo-8186 provisioning: config applied, admin.pwd=hunter2",
        b"<11>Jan  2 03:04:06 algo-8186 provisioning: md5 mismatch for algop8186.conf",
    )
    window.pages.setCurrentWidget(network.syslog_page)  # a hidden page catches up when shown
    page = network.syslog_model
    qtbot.waitUntil(lambda: page.rowCount() == 2)
    shown = rows(page)
    assert [r[HEADERS.index("Device")] for r in shown] == ["00:22:EE:00:00:42"] * 2
    assert [r[HEADERS.index("Severity")] for r in shown] == ["info", "err"]
    assert shown[0][-1] == "config applied, admin.pwd=****"
    assert "hunter2" not in str(shown)
    qtbot.waitUntil(lambda: "2 lines from 1 sender" in panel.syslog_status.text())

    network.syslog_page.severity.setCurrentIndex(network.syslog_page.severity.findData(3))
    assert network.syslog_page.filter.rowCount() == 1

    live = window.live
    live.select_row(0)
    qtbot.waitUntil(lambda: live.device_syslog.model.rowCount() == 2)
    send_syslog(receiver.port, b"<134>Jan  2 03:04:07 algo-8186 sip: registered 1001")
    qtbot.waitUntil(lambda: live.device_syslog.model.rowCount() == 3)
    assert live.device_syslog.model.data(live.device_syslog.model.index(2, 3)) == "registered 1001"

    run_id = parts.control.run_id
    window.toolbar.stop_action.trigger()
    assert parts.history is not None and run_id is not None
    parts.history.flush()
    stored = [e for e in parts.history.events(run_id) if isinstance(e, SyslogLine)]
    assert len(stored) == 3 and "hunter2" not in str(stored)
    window.reload_runs()
    live.show_run(run_id)  # a stored run replays its lines onto the device
    assert not live.showing_live
    live.select_row(0)
    assert live.device_syslog.model.rowCount() == 3


class _Unprivileged(SyslogReceiver):
    """A receiver as an unprivileged user gets it: ports below 1024 refused."""

    def start(self) -> None:
        if self.port < 1024:
            error = PermissionError(errno.EACCES, "Permission denied")
            raise errors.bind_error(error, service="syslog", address=self.address, port=self.port)
        super().start()


def test_refused_syslog_port_offers_a_high_port(
    launch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    high = free_port()
    monkeypatch.setattr(network_wiring, "SYSLOG_HIGH_PORT", high)
    parts = launch(
        loopback(tmp_path, syslog=lambda _a, port, sink: _Unprivileged(LOOPBACK, port, sink))
    )
    assert parts.network is not None and parts.companions is not None
    panel, banner = parts.network.panel, parts.window.banner
    assert panel.syslog_port.value() == 514
    panel.syslog_toggle.setChecked(True)
    assert not panel.syslog_toggle.isChecked()
    assert "Not allowed to use port 514 (the syslog receiver)" in banner.title.text()
    assert "setcap" in banner.details.text()
    assert banner.action_labels() == [f"Use port {high} for syslog", "Try again"]
    banner.trigger(f"Use port {high} for syslog")
    receiver = parts.companions.syslog
    assert receiver is not None and receiver.port == high
    assert panel.syslog_toggle.isChecked() and not panel.syslog_port.isEnabled()
    assert parts.window.settings.syslog_port == high
    assert SettingsStore(parts.window.services.paths.settings_file).load().syslog_port == high


# --- check-sync -----------------------------------------------------------------------------


@pytest.fixture
def sip_port() -> Iterator[int]:
    """A loopback device that answers every NOTIFY with 200 OK."""
    with sip_device() as port:
        yield port


def test_checksync_the_devices_selected_in_the_live_table(
    launch, tmp_path: Path, qtbot, sip_port: int
) -> None:
    parts = launch(loopback(tmp_path))
    assert parts.network is not None and parts.companions is not None
    port = sip_port
    # Two devices the bench DHCP leased: one answers, on the other (IPv6 loopback) nothing
    # listens, which the system reports at once.
    for mac, ip in (("00:22:EE:00:00:01", LOOPBACK), ("00:22:EE:00:00:02", "::1")):
        parts.companions.sink(LeaseGranted(mac=mac, ip=ip, lease_seconds=600))
    live = parts.window.live
    qtbot.waitUntil(lambda: live.device_model().rowCount() == 2)
    selection = live.devices.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for row in (0, 1):
        selection.select(live.device_model().index(row, 0), flags)
    assert [d.ip for d in live.selected_devices()] == [LOOPBACK, "::1"]

    parts.network.checksync_action.trigger()
    dialog = parts.network.wiring.checksync_dialog
    assert dialog is not None and dialog.isVisible()
    assert rows(dialog.model) == [
        ["00:22:EE:00:00:01", LOOPBACK, "", ""],
        ["00:22:EE:00:00:02", "::1", "", ""],
    ]
    dialog.port.setValue(port)
    dialog.extension.setText("1001")
    dialog.extension.textEdited.emit("1001")
    dialog.reboot.setChecked(True)
    dialog.send_button.click()
    qtbot.waitUntil(lambda: dialog.model.result(1) is not None, timeout=5000)
    answers = [dialog.model.data(dialog.model.index(r, 3)) for r in range(2)]
    assert answers[0].startswith("200 OK")
    assert answers[1] == "nothing listens on its SIP port (port unreachable)"
    assert "1 of 2 accepted, 0 refused, 1 did not answer" in dialog.summary.text()
    log = parts.window.log.model
    parts.window.pages.setCurrentWidget(parts.window.log)
    qtbot.waitUntil(
        lambda: any("check-sync 127.0.0.1" in str(r) and "200 OK" in str(r) for r in rows(log))
    )
    dialog.close()
    assert SettingsStore(parts.window.services.paths.settings_file).load().checksync_port == port


# --- zeroconf -------------------------------------------------------------------------------


def test_zeroconf_setting_announces_the_bench_warns_and_lists_devices(
    launch,
    tmp_path: Path,
    app_paths: AppPaths,
    qtbot,
    rival_zeroconf: Zeroconf,
    device_page: int,
) -> None:
    assert not Settings().zeroconf  # off unless the user turns it on
    store = SettingsStore(app_paths.settings_file)
    store.save(replace(store.load(), zeroconf=True))
    parts = launch(loopback(tmp_path))
    assert parts.network is not None and parts.companions is not None
    panel, banner = parts.network.panel, parts.window.banner
    discovery = parts.companions.discovery
    assert discovery is not None and panel.zeroconf_toggle.isChecked()  # the saved setting
    assert discovery.advertised_name == ""  # nothing to announce before serving

    port = serve(parts)
    name = discovery.advertised_name
    assert name.endswith(TFTP_TYPE)
    info = rival_zeroconf.get_service_info(TFTP_TYPE, name, timeout=5000)
    assert info is not None and info.port == port
    assert info.properties[b"app"] == b"algodesk"
    assert "announcing" in panel.zeroconf_status.text()

    announce(rival_zeroconf, TFTP_TYPE, "tftpd64 at desk 3", 69)
    qtbot.waitUntil(banner.isVisible, timeout=10000)
    assert "Another provisioning server is active" in banner.title.text()
    assert f"{LOOPBACK}:69" in banner.details.text()

    announce(rival_zeroconf, HTTP_TYPE, "Algo 8186 Horn 0022EE010203", device_page)
    found = panel.discovered_model
    qtbot.waitUntil(lambda: found.rowCount() == 1, timeout=10000)
    assert rows(found) == [
        ["Algo 8186 Horn 0022EE010203", f"{LOOPBACK}:{device_page}", "not probed"]
    ]
    panel.discovered.selectRow(0)
    panel.probe_button.click()
    qtbot.waitUntil(lambda: found.data(found.index(0, 2)) == "8186", timeout=5000)
    assert panel.probe_button.isEnabled()

    parts.window.toolbar.stop_action.trigger()
    assert discovery.advertised_name == ""  # withdrawn with the server
    panel.zeroconf_toggle.setChecked(False)
    assert parts.companions.discovery is None
    assert not store.load().zeroconf


def test_zeroconf_needs_one_interface(launch, tmp_path: Path) -> None:
    parts = launch(loopback(tmp_path))
    assert parts.network is not None
    parts.window.toolbar.interfaces.setCurrentIndex(0)
    parts.network.panel.zeroconf_toggle.setChecked(True)
    assert not parts.network.panel.zeroconf_toggle.isChecked()
    assert "Zeroconf needs the bench interface" in parts.window.banner.title.text()


def test_closing_the_app_stops_every_companion(launch, tmp_path: Path) -> None:
    parts = launch(loopback(tmp_path))
    assert parts.network is not None and parts.companions is not None
    panel = parts.network.panel
    panel.syslog_port.setValue(0)
    panel.syslog_toggle.setChecked(True)
    panel.dhcp_toggle.setChecked(True)
    panel.zeroconf_toggle.setChecked(True)
    companions = parts.companions
    assert companions.dhcp and companions.syslog and companions.discovery
    assert companions.roles() == ("tftp", "dhcp", "syslog")
    dialog = parts.network.wiring.open_checksync()
    # A port that is open but never answers: the NOTIFY stays out until its timeout. (A closed
    # port answers with ICMP unreachable, which ends the send at once: "nothing listens".)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        dialog.new_address.setText("127.0.0.1")
        dialog.new_address.returnPressed.emit()
        dialog.port.setValue(silent.getsockname()[1])
        dialog.send()
        assert dialog.worker.running
        parts.window.close()
        parts.close()
    assert companions.dhcp is None and companions.syslog is None and companions.discovery is None
    assert not any(t.name == "algodesk-checksync" for t in threading.enumerate())


def test_view_menu_reaches_the_syslog_page_and_brings_the_panel_back(
    launch, tmp_path: Path
) -> None:
    parts = launch(loopback(tmp_path))
    window, network = parts.window, parts.network
    assert network is not None
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    actions = {action.text(): action for action in view.actions()}
    actions["S&yslog page"].trigger()
    assert window.pages.currentWidget() is network.syslog_page
    assert network.dock.isVisible()
    network.dock.close()
    assert not network.dock.isVisible()
    actions["Bench &network panel"].trigger()
    assert network.dock.isVisible()
