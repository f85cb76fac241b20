"""The main window end to end: serve on loopback, real transfers, banner, folder, export, history."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import socket
import stat
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from algodesk import app as app_module
from algodesk.app import Composition, compose
from algodesk.core import diagnosis
from algodesk.core.checks import FOLDER_ON_ITS_OWN, Finding, Severity
from algodesk.core.device import Stage
from algodesk.core.events import ServerFailed
from algodesk.core.md5 import md5_hex
from algodesk.core.tracker import Outcome, Tracker
from algodesk.services import errors
from algodesk.services.paths import AppPaths, beside
from algodesk.services.settings import Settings, SettingsStore
from algodesk.services.tftp import TftpSettings
from algodesk.services.tftp_client import tftp_fetcher
from algodesk.ui.bridge import EventBridge
from algodesk.ui.folder.page import FolderPage
from algodesk.ui.live.device_model import Column
from algodesk.ui.live.feed import LiveFeed
from algodesk.ui.main_window import MainWindow, WindowServices
from algodesk.ui.server_control import ServerControl
from tests.conftest_qt import running_app
from tests.tftp_helpers import MODES

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication

MAC = "0022EE000001"
CONFIG = b"prov.use = 1\nsip.proxy = pbx.example\n"


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    """A private home: nothing touches the user's real folders."""
    paths = beside(tmp_path / "home", portable=False).ensure()
    folder = paths.bench_dir
    (folder / "algop8186.conf").write_bytes(CONFIG)
    (folder / "algop8186.md5").write_text(md5_hex(CONFIG) + "\n")
    SettingsStore(paths.settings_file).save(
        Settings(folder=str(folder), interface="lo", address="127.0.0.1", port=0)
    )
    return paths


@pytest.fixture
def bench(qtbot, app_paths: AppPaths) -> Iterator[Composition]:
    """The whole app, as ``uv run algodesk`` builds it, closed (server and history) afterwards."""
    with running_app(qtbot, app_paths) as parts:
        yield parts


@pytest.fixture(params=MODES)
def bench_in_mode(
    qtbot, app_paths: AppPaths, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Composition]:
    """The app with its engine pinned to one serving mode (one thread, or two workers)."""
    monkeypatch.setattr(app_module, "TftpSettings", partial(TftpSettings, workers=request.param))
    with running_app(qtbot, app_paths) as parts:
        yield parts


def serve(parts: Composition) -> int:
    parts.window.toolbar.start_action.trigger()
    assert parts.control.running, parts.window.banner.details.text()
    server = parts.control.server
    assert server is not None
    return server.port


def boot_device(port: int) -> None:
    """A factory device's first boot, over real TFTP on loopback."""
    fetch = tftp_fetcher("127.0.0.1", port, timeout=2.0)
    assert fetch(f"algom{MAC}.conf") is None
    assert fetch("algop8186.conf") == CONFIG
    assert fetch("algop8186.md5") == md5_hex(CONFIG).encode() + b"\n"


def test_start_and_stop_from_the_toolbar(bench_in_mode: Composition) -> None:
    bench = bench_in_mode
    window = bench.window
    assert window.toolbar.start_action.isEnabled()
    port = serve(bench)
    assert port > 0
    assert f"127.0.0.1:{port}" in window.serving_label.text()
    assert not window.toolbar.start_action.isEnabled()
    assert not window.toolbar.port.isEnabled()
    window.toolbar.stop_action.trigger()
    assert not bench.control.running
    assert window.serving_label.text() == "Stopped"
    assert window.toolbar.start_action.isEnabled()


def test_real_transfer_shows_device_stage_and_outcome(bench_in_mode: Composition, qtbot) -> None:
    bench = bench_in_mode
    boot_device(serve(bench))
    live = bench.window.live
    model = live.device_model()

    def applied() -> bool:  # the cell, which the feed rewrites in slices after the tracker
        return model.rowCount() == 1 and (
            model.data(model.index(0, Column.STAGE)) == Stage.APPLYING.value
        )

    qtbot.waitUntil(applied, timeout=5000)
    assert model.rowCount() == 1
    cells = [model.data(model.index(0, c)) for c in Column]
    assert cells[Column.MAC] == "00:22:EE:00:00:01"
    assert cells[Column.PRODUCT] == "8186"
    assert cells[Column.IP] == "127.0.0.1"
    assert cells[Column.STAGE] == Stage.APPLYING.value
    assert cells[Column.FILES] == "2"
    assert cells[Column.STATUS] == "Applying the config and rebooting"
    live.select_row(0)
    timeline = live.timeline.model()
    outcomes = [timeline.data(timeline.index(r, 6)) for r in range(timeline.rowCount())]
    assert outcomes == ["not found", "served", "served"]
    assert "generic file for 8186" in live.details.text()
    transfers = bench.window.transfers.table.model()
    assert transfers.rowCount() == 0  # a hidden page catches up when shown
    bench.window.pages.setCurrentWidget(bench.window.transfers)
    qtbot.waitUntil(lambda: transfers.rowCount() == 3)
    assert bench.window.feed.counts() == (1, 0, 0)


def test_port_in_use_banner_offers_a_dry_run(bench: Composition) -> None:
    window = bench.window
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        taken = holder.getsockname()[1]
        window.toolbar.port.setValue(taken)
        window.toolbar.start_action.trigger()
        assert not bench.control.running
        assert window.banner.isVisible()
        assert window.banner.title.text().count(f"Port {taken} is already in use") == 1
        assert "already in use" in window.banner.details.text()
        assert "ss -ulpn" in window.banner.details.text()  # the remedy, on Linux
        assert window.banner.action_labels() == ["Use port 6969 for a dry run", "Try again"]
        window.banner.trigger("Use port 6969 for a dry run")
    assert window.toolbar.port.value() == 6969
    # 6969 may be taken on a shared machine: then the banner offers any free port instead
    if not bench.control.running:
        assert "Use any free port for a dry run" in window.banner.action_labels()
    else:  # the problem is gone; the banner now says where the dry run serves
        assert "Dry run on" in window.banner.title.text()


class _Refusing:
    """A server that cannot bind: permission denied, as for port 69 without privileges."""

    def __init__(self, port: int) -> None:
        self.address, self.port = "0.0.0.0", port

    def start(self) -> None:
        raise errors.bind_error(
            PermissionError(13, "Permission denied"), service="tftp", address="", port=self.port
        )

    def stop(self) -> None:
        """Nothing runs."""


def test_permission_denied_banner(qtbot, app_paths: AppPaths) -> None:
    bridge = EventBridge()
    feed = LiveFeed(bridge, Tracker())
    control = ServerControl(lambda _root, _address, port, _sink: _Refusing(port), bridge)
    window = MainWindow(
        WindowServices(
            feed=feed,
            control=control,
            settings=Settings(),
            settings_store=SettingsStore(app_paths.settings_file),
            paths=app_paths,
            list_interfaces=list,
            check_folder=lambda _folder: [],
        )
    )
    qtbot.addWidget(window)
    window.toolbar.port.setValue(69)
    assert not window.start_serving()
    assert "Not allowed to use port 69" in window.banner.title.text()
    assert "setcap" in window.banner.details.text()
    assert window.banner.action_labels()[0] == "Use port 6969 for a dry run"
    feed.stop()


def test_engine_failure_while_serving_shows_banner_and_stops(bench: Composition, qtbot) -> None:
    serve(bench)
    bridge = bench.window.feed.parent().findChild(EventBridge)
    assert bridge is not None
    bridge.post(
        ServerFailed(
            service="tftp",
            address="10.9.9.9",
            port=69,
            code=errors.BAD_ADDRESS,
            message="tftp: cannot bind 10.9.9.9:69",
            remedies=errors.bad_address_remedies(),
        )
    )
    qtbot.waitUntil(lambda: not bench.control.running, timeout=3000)
    banner = bench.window.banner
    assert banner.isVisible()
    assert "interface gone" in banner.title.text()
    assert "Listen on all interfaces" in banner.action_labels()


def test_folder_findings_shown(bench: Composition, app_paths: AppPaths, qtbot) -> None:
    folder = app_paths.bench_dir
    (folder / "algop8188.conf").write_bytes(CONFIG)
    (folder / "algom0022ee000002.conf").write_bytes(CONFIG)  # lower-case MAC: never requested
    page = bench.window.folder_page
    page.refresh()
    rows = {r.name: r for r in page.model.rows()}
    assert rows["algop8186.conf"].md5_state == "matches"
    assert all(f.severity.value != "error" for f in rows["algop8186.conf"].findings)
    assert rows["algop8188.conf"].findings, "no md5 for algop8188.conf should be a finding"
    assert rows["algom0022ee000002.conf"].findings
    row = list(rows).index("algom0022ee000002.conf")
    index = page.model.index(row, 4)
    shown = page.model.data(index)
    assert shown and "\n" not in shown  # one line; the tooltip and details hold it all
    tooltip = page.model.data(index, Qt.ItemDataRole.ToolTipRole)
    assert all(f.message in tooltip for f in rows["algom0022ee000002.conf"].findings)
    page.table.setCurrentIndex(index)
    assert all(f.message in page.details.text() for f in rows["algom0022ee000002.conf"].findings)
    assert "error" in page.summary.text() or "warning" in page.summary.text()
    assert "folder:" in bench.window.warnings_label.text()


def test_the_folder_summary_says_1_note_not_1_notes(qtbot, tmp_path: Path) -> None:
    (tmp_path / "algop8186.conf").write_bytes(CONFIG)
    found = [
        Finding(Severity.ERROR, "e", "algop8186.conf", None, "bad", "fix"),
        Finding(Severity.WARNING, "w", "algop8186.conf", None, "odd", "fix"),
        Finding(Severity.INFO, "i", "algop8186.conf", None, "note", "fix"),
    ]
    page = FolderPage(lambda _folder: found)
    qtbot.addWidget(page)
    page.set_folder(tmp_path)
    assert page.summary.text() == (
        "1 file: 1 error, 1 warning, 1 note. Judged as this bench serves it."
    )


def test_a_long_folder_summary_wraps_instead_of_widening_the_window(qtbot, tmp_path: Path) -> None:
    # Files shadowed by Stage 1's memory are named in the summary: on one line it made the
    # page (and every page with it) wider than a 1366-pixel screen, pushing the dock off it.
    # A deep folder's path must not do it either.
    folder = tmp_path / ("provisioning-folder-of-the-customer-site-" * 3) / "bench"
    folder.mkdir(parents=True)
    shadowed = [f"algop81{n:02d}.conf" for n in range(12)]
    for name in shadowed:
        (folder / name).write_bytes(CONFIG)
    page = FolderPage(lambda _folder: [])
    qtbot.addWidget(page)
    page.set_folder(folder)
    page.set_memory_files(shadowed)
    assert "also served from memory" in page.summary.text()
    assert page.minimumSizeHint().width() < 700


def test_the_folder_details_pane_shows_a_file_s_findings_without_scrolling(
    qtbot, tmp_path: Path
) -> None:
    # The page as it sits in a 1366x768 window: the details pane got a sixth of the height,
    # two lines, and a file with three findings needed its scroll bar.
    (tmp_path / "algop8186.conf").write_bytes(CONFIG)
    long = "a finding long enough to wrap once at this width " * 3
    found = [
        Finding(Severity.ERROR, "e", "algop8186.conf", None, long, "fix it"),
        Finding(Severity.WARNING, "w", "algop8186.conf", 3, long, "fix it"),
        Finding(Severity.INFO, "i", "algop8186.conf", None, "a note", ""),
    ]
    page = FolderPage(lambda _folder: found)
    qtbot.addWidget(page)
    page.resize(960, 650)
    page.show()
    page.set_folder(tmp_path)
    page.table.selectRow(0)
    qtbot.waitUntil(lambda: "a note" in page.details.text())
    details = page.details
    needed = details.heightForWidth(page.details_area.viewport().width())
    assert needed <= page.details_area.viewport().height(), "the details need scrolling"


def test_simulate_dialog_shows_the_trace(bench: Composition) -> None:
    dialog = bench.window.folder_page.open_simulator()
    assert dialog is not None
    try:
        # The product the folder's configs are for, not the first of the list.
        assert dialog.product.currentData() == "8186"
        dialog.mac.setText("00:22:EE:00:00:09")
        dialog.run()
        assert dialog.simulation is not None and dialog.simulation.steady
        assert "teady after 2 boots" in dialog.outcome.text()
        files = [
            dialog.trace.data(dialog.trace.index(r, 3)) for r in range(dialog.trace.rowCount())
        ]
        assert "algom0022EE000009.conf" in files and "algop8186.md5" in files
        dialog.mac.setText("not a mac")
        dialog.run()
        assert dialog.trace.rowCount() == 0
        assert "not a MAC" in dialog.outcome.text()
    finally:
        dialog.close()


def test_export_devices_as_csv_and_json(bench: Composition, qtbot, tmp_path: Path) -> None:
    boot_device(serve(bench))
    model = bench.window.live.device_model()
    qtbot.waitUntil(lambda: model.data(model.index(0, Column.FILES)) == "2")
    bench.window.export_devices(tmp_path / "devices.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "devices.csv").read_text())))
    assert [(r["mac"], r["requested"], r["outcome"]) for r in rows] == [
        ("00:22:EE:00:00:01", f"algom{MAC}.conf", "not found"),
        ("00:22:EE:00:00:01", "algop8186.conf", "served"),
        ("00:22:EE:00:00:01", "algop8186.md5", "served"),
    ]
    assert rows[1]["md5"] == md5_hex(CONFIG)
    assert rows[1]["size"] == str(len(CONFIG))
    assert rows[1]["product"] == "8186"
    if os.name == "posix":  # an export is an ordinary file: the umask's mode, not 0600
        umask = os.umask(0o022)
        os.umask(umask)
        assert stat.S_IMODE((tmp_path / "devices.csv").stat().st_mode) == 0o666 & ~umask
    bench.window.export_devices(tmp_path / "devices.json")
    document = json.loads((tmp_path / "devices.json").read_text())
    assert [f["outcome"] for f in document[0]["files"]] == ["not found", "served", "served"]


def test_history_reload_shows_an_earlier_run(bench: Composition, qtbot) -> None:
    boot_device(serve(bench))
    model = bench.window.live.device_model()
    qtbot.waitUntil(lambda: model.data(model.index(0, Column.FILES)) == "2")
    bench.window.toolbar.stop_action.trigger()
    assert bench.history is not None
    bench.history.flush()
    bench.window.reload_runs()
    live = bench.window.live
    assert live.runs.count() == 2
    assert "1 device, 2 transfers" in live.runs.itemText(1)
    run_id = live.runs.itemData(1)
    live.show_run(run_id)
    assert not live.showing_live
    stored = live.device_model()
    assert stored is not bench.window.feed.devices
    assert stored.rowCount() == 1
    device = stored.device(0)
    assert device is not None and device.mac == MAC
    assert [e.outcome for e in device.timeline] == [
        Outcome.NOT_FOUND,
        Outcome.SERVED,
        Outcome.SERVED,
    ]
    live.select_row(0)
    assert live.timeline.model().rowCount() == 3
    live.show_run(None)
    assert live.showing_live and live.device_model() is bench.window.feed.devices


def test_window_state_and_settings_are_remembered(qtbot, app_paths: AppPaths) -> None:
    first = compose(app_paths)
    try:
        first.window.show()
        first.window.resize(first.window.width(), 501)  # the offscreen screen is 800x600
        first.window.pages.setCurrentIndex(3)
        first.window.toolbar.port.setValue(6970)
    finally:
        first.window.close()
        first.close()
    assert app_paths.window_state_file.is_file()
    second = compose(app_paths)
    try:
        assert second.window.pages.currentIndex() == 3
        assert second.window.height() == 501
        assert second.window.toolbar.interfaces.current_address() == "127.0.0.1"
        assert second.window.settings.recent_folders[0] == str(app_paths.bench_dir)
    finally:
        second.window.close()
        second.close()


def test_about_box_names_versions(bench: Composition) -> None:
    about = bench.window.about_text()
    assert "algodesk 0.1.0" in about and "Qt 6." in about and "Python 3." in about


def test_first_start_opens_the_default_bench_folder(qtbot, tmp_path: Path) -> None:
    paths = beside(tmp_path / "fresh", portable=False)
    parts = compose(paths)
    try:
        assert paths.bench_dir.is_dir()
        assert parts.window.folder == paths.bench_dir
        assert parts.window.settings.folder == str(paths.bench_dir)
    finally:
        parts.window.close()
        with contextlib.suppress(Exception):
            parts.close()


def test_export_devices_opens_in_documents_then_the_last_export_folder(
    bench: Composition, app_paths: AppPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = bench.window
    assert window.export_folder() == app_paths.bench_dir.parent
    assert window.export_folder() != app_paths.data_dir
    offered: list[str] = []
    target = tmp_path / "reports" / "devices.csv"
    target.parent.mkdir()

    def choose(_parent, _title, start, _filter):
        offered.append(start)
        return str(target), "CSV (*.csv)"

    monkeypatch.setattr("algodesk.ui.main_window.QFileDialog.getSaveFileName", choose)
    window.export_dialog()
    assert offered == [str(app_paths.bench_dir.parent / "devices.csv")]
    assert target.is_file()
    window.export_dialog()
    assert offered[-1] == str(target.parent / "devices.csv")


def test_a_dry_run_serves_on_the_toolbar_s_address_and_says_so(bench: Composition) -> None:
    window = bench.window
    assert window.toolbar.interfaces.current_address() == "127.0.0.1"
    window.dry_run()
    if not bench.control.running:
        pytest.skip("port 6969 is taken on this machine")
    server = bench.control.server
    assert server is not None and server.address == "127.0.0.1" and server.port == 6969
    assert window.banner.isVisible()
    assert "Dry run on 127.0.0.1, port 6969" in window.banner.title.text()


def test_any_free_port_shows_the_real_port_and_keeps_the_choice(
    bench: Composition, app_paths: AppPaths
) -> None:
    window = bench.window
    window._any_port()
    assert bench.control.running
    server = bench.control.server
    assert server is not None and server.port != 0
    real = server.port
    assert window.toolbar.port.value() == real  # not "Port 0"
    assert f"port {real}" in window.banner.title.text()
    assert SettingsStore(app_paths.settings_file).load().port == 0  # the choice, for next time
    window.stop_serving()
    window.start_serving()  # the run keeps its port
    server = bench.control.server
    assert server is not None and server.port == real
    assert SettingsStore(app_paths.settings_file).load().port == 0
    window.stop_serving()
    window.toolbar.port.setValue(7070)
    assert window.toolbar.port_choice() == 7070


def test_the_port_in_use_banner_gives_window_advice(bench: Composition) -> None:
    window = bench.window
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        window.toolbar.port.setValue(holder.getsockname()[1])
        window.toolbar.start_action.trigger()
        details = window.banner.details.text()
    assert "--port" not in details and "--bind" not in details
    assert "the toolbar&#x27;s Port box" in details or "the toolbar's Port box" in details


def test_first_start_shows_what_to_do_next_on_the_live_page(
    bench: Composition, app_paths: AppPaths, qtbot
) -> None:
    live = bench.window.live
    assert live.stack.currentWidget() is live.empty
    said = live.empty.text()
    assert "No device yet" in said and str(app_paths.bench_dir) in said
    assert "Start serving" in said and "algom&lt;MAC&gt;.conf" in said
    port = serve(bench)
    assert f"port {port}" in live.empty.text() and "127.0.0.1" in live.empty.text()
    bench.window.stop_serving()
    live.empty.linkActivated.emit("algodesk:dry-run")  # the link to the dry-run port
    assert bench.window.toolbar.port.value() == 6969
    if bench.control.running:
        boot_device(bench.control.server.port)  # type: ignore[union-attr]
        qtbot.waitUntil(lambda: live.stack.currentWidget() is not live.empty)


def test_the_status_column_keeps_the_file_name_and_the_mac_stays_first(
    bench: Composition,
) -> None:
    live = bench.window.live
    header = live.devices.horizontalHeader()
    metrics = live.devices.fontMetrics()
    assert header.sectionSize(Column.STATUS) > metrics.horizontalAdvance(
        "md5 wrong: algom0022EE010203.conf ignored"
    )
    assert header.logicalIndex(0) == Column.MAC and header.logicalIndex(1) == Column.STATUS
    # the case mismatch names the file that is there, and fits (it showed "algom…conf: only …")
    case = diagnosis.case_mismatch("algom0022EE010203.conf", "algom0022ee010203.conf").headline
    assert "algom0022ee010203.conf" in case
    assert header.sectionSize(Column.STATUS) > metrics.horizontalAdvance(case) + 24  # the icon
    assert header.sectionSize(Column.STAGE) > metrics.horizontalAdvance(Stage.LEFT.value)


def test_the_status_bar_counts_in_words(bench: Composition) -> None:
    bench.window.folder_page.checked.emit(1, 1)
    assert "folder: 1 error, 1 warning" in bench.window.warnings_label.text()
    bench.window.folder_page.checked.emit(2, 0)
    assert "folder: 2 errors, 0 warnings" in bench.window.warnings_label.text()


def test_the_folder_page_writes_the_md5_its_finding_asks_for(qtbot, tmp_path: Path) -> None:
    from algodesk.core.checks import check_folder

    (tmp_path / "algop8186.conf").write_bytes(CONFIG)
    # as a folder on its own: a missing md5 is an error (the page says which verdict it shows)
    page = FolderPage(check_folder, verdict=FOLDER_ON_ITS_OWN.label)
    qtbot.addWidget(page)
    page.set_folder(tmp_path)
    rows = page.model.rows()
    row = next(r for r in rows if r.name == "algop8186.conf")
    assert [f.code for f in row.findings if f.severity is Severity.ERROR] == ["md5-missing"]
    assert page.md5_actions(row) == ["algop8186.conf"]  # the file's context menu offers it
    assert page.md5_button.isHidden()
    page.table.setCurrentIndex(page.model.index(rows.index(row), 0))
    assert not page.md5_button.isHidden()
    assert page.md5_button.text() == "Write algop8186.md5"
    page.md5_button.click()
    assert (tmp_path / "algop8186.md5").read_bytes() == md5_hex(CONFIG).encode() + b"\n"
    assert page.summary.text().startswith("Wrote algop8186.md5.")
    row = next(r for r in page.model.rows() if r.name == "algop8186.conf")
    assert not [f for f in row.findings if f.code == "md5-missing"]


def test_the_live_view_writes_the_md5_its_diagnosis_asks_for(qtbot, app_paths: AppPaths) -> None:
    folder = app_paths.bench_dir
    (folder / "algop8186.md5").unlink()
    store = SettingsStore(app_paths.settings_file)
    settings = store.load()
    settings.auto_md5 = False
    store.save(settings)
    with running_app(qtbot, app_paths) as bench:
        fetch = tftp_fetcher("127.0.0.1", serve(bench), timeout=2.0)
        assert fetch(f"algom{MAC}.conf") is None
        assert fetch("algop8186.conf") == CONFIG
        assert fetch("algop8186.md5") is None
        live = bench.window.live
        model = live.device_model()

        def diagnosed() -> bool:
            device = model.device(0)
            return device is not None and any(d.code == "md5-missing" for d in device.diagnoses)

        qtbot.waitUntil(diagnosed, timeout=5000)
        live.select_row(0)
        qtbot.waitUntil(lambda: not live.md5_button.isHidden(), timeout=5000)
        assert live.md5_button.text() == "Write algop8186.md5"
        # a button the size of its words under the diagnosis, not a bar across the page
        assert live.md5_button.width() < live.width() // 2
        live.md5_button.click()
        assert (folder / "algop8186.md5").read_bytes() == md5_hex(CONFIG).encode() + b"\n"
        assert live.md5_button.text() == "Wrote algop8186.md5."
        # the device still lacks it until its next boot: a refresh keeps what was done on show
        bench.window.feed.refreshed.emit()
        assert live.md5_button.text() == "Wrote algop8186.md5."


def test_the_folder_page_shows_files_on_the_firmware_path(qtbot, tmp_path: Path) -> None:
    from algodesk.core.checks import check_folder

    config = b"prov.use = 1\nprov.download.fwpath = firmware\nprov.data.tone = t.zip\n"
    (tmp_path / "algop8186.conf").write_bytes(config)
    (tmp_path / "algop8186.md5").write_text(md5_hex(config) + "\n")
    (tmp_path / "firmware").mkdir()
    (tmp_path / "firmware" / "t.zip").write_bytes(b"tones")
    page = FolderPage(check_folder, auto_md5=False, verdict=FOLDER_ON_ITS_OWN.label)
    qtbot.addWidget(page)
    page.set_folder(tmp_path)
    assert page.summary.text().endswith("Judged as a folder on its own.")
    rows = {r.name: r for r in page.model.rows()}
    assert "firmware/t.zip" in rows and rows["firmware/t.zip"].md5_state == "missing"
    [finding] = [f for f in rows["algop8186.conf"].findings if f.code == "data-md5-missing"]
    assert "firmware/t.md5" in finding.message and finding.md5_for == "firmware/t.zip"
    (tmp_path / "firmware" / "t.md5").write_text(md5_hex(b"tones") + "\n")
    page.refresh()
    rows = {r.name: r for r in page.model.rows()}
    assert rows["firmware/t.zip"].md5_state == "matches"
    assert not [f for f in rows["algop8186.conf"].findings if f.severity is Severity.ERROR]


@pytest.mark.parametrize("auto_md5", [True, False])
def test_folder_page_and_its_simulator_give_one_verdict(
    qtbot, tmp_path: Path, auto_md5: bool
) -> None:
    from algodesk.core.checks import bench_context, check_folder

    (tmp_path / "algop8186.conf").write_bytes(CONFIG)  # no md5: the bench may answer it
    checker = partial(check_folder, context=bench_context(auto_md5=auto_md5))
    page = FolderPage(checker, auto_md5=auto_md5)
    qtbot.addWidget(page)
    page.set_folder(tmp_path)
    errors = [f for r in page.model.rows() for f in r.findings if f.severity is Severity.ERROR]
    dialog = page.open_simulator()
    assert dialog is not None
    try:
        dialog.run()
        assert dialog.simulation is not None
        assert dialog.simulation.steady is (not errors)
        assert dialog.simulation.steady is auto_md5
    finally:
        dialog.close()


def test_settings_are_loaded_once_and_shared(
    qtbot, app_paths: AppPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[Settings] = []
    real_load = SettingsStore.load

    def load(self: SettingsStore) -> Settings:
        loads.append(real_load(self))
        return loads[-1]

    monkeypatch.setattr(SettingsStore, "load", load)
    with running_app(qtbot, app_paths) as parts:
        assert len(loads) == 1
        assert parts.window.settings is loads[0]  # what app.py's server factory reads too


def test_the_menu_bar_is_the_composition_roots_table(bench: Composition) -> None:
    window = bench.window
    assert bench.provisioning is not None and bench.network is not None
    table = app_module.menu_table(window.menu_actions, bench.provisioning, bench.network)
    shown = [
        (action.text(), [a for a in action.menu().actions() if not a.isSeparator()])
        for action in window.menuBar().actions()
    ]
    assert shown == [(title, [a for a in entries if a is not None]) for title, entries in table]
    assert [title for title, _entries in shown] == ["&File", "&Server", "&View", "&Help"]
