"""Rosters: each row's check, one algom<MAC>.conf per row served from memory over TFTP, and the
Live page listing the roster's devices as expected until each one shows up."""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from algodesk.core import md5
from algodesk.core.catalog import MASK
from algodesk.core.config import ConfigDocument
from algodesk.core.device import Stage
from algodesk.core.diagnosis import Level
from algodesk.core.profile import BenchProfile
from algodesk.core.roster import parse_roster
from algodesk.core.tracker import NOT_SEEN, Tracker
from algodesk.services.credentials import CredentialStore
from algodesk.services.profiles import ProfileStore
from algodesk.services.tftp import TftpServer, TftpSettings
from algodesk.services.tftp_client import fetch_file
from algodesk.ui.bridge import EventBridge
from algodesk.ui.live.device_model import Column as DeviceColumn
from algodesk.ui.live.feed import LiveFeed
from algodesk.ui.server_control import ServerControl
from algodesk.ui.stage1.roster_model import Column, RosterModel
from algodesk.ui.stage1.roster_page import BenchPage
from tests.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication

PASSWORD = "S3cr3t-Roster-Canary"
SIP_SECRET = "Sip-Roster-Canary"
ROSTER = (
    "mac,product,sip.u1.user,sip.u1.pwd,admin.devname\n"
    f"00:22:ee:01:02:03,8186,2001,{SIP_SECRET},lobby\n"
    "0022EE010204,8301,2002,,hall\n"
    "not-a-mac,8186,2003,,broken\n"
    "00-22-EE-01-02-03,8186,2004,,twice\n"
    "001122334455,9999,2005,,foreign\n"
)
LOBBY, HALL, FOREIGN = "0022EE010203", "0022EE010204", "001122334455"


def test_roster_model_shows_each_line_and_its_check(qtmodeltester) -> None:
    model = RosterModel()
    model.set_roster(parse_roster(ROSTER))
    qtmodeltester.check(model)
    lines = [model.line(row) for row in range(model.rowCount())]
    assert [line.line for line in lines] == [2, 3, 4, 5, 6]
    assert model.data(model.index(0, Column.MAC)) == "00:22:EE:01:02:03"
    assert model.data(model.index(0, Column.FILE)) == f"algom{LOBBY}.conf"
    parameters = model.data(model.index(0, Column.PARAMETERS))
    assert f"sip.u1.pwd={MASK}" in parameters and SIP_SECRET not in parameters
    assert model.data(model.index(0, Column.CHECK)) == "ok"
    assert lines[2].level is Level.ERROR and "not a MAC address" in lines[2].check
    assert lines[3].level is Level.ERROR and "already on line 2" in lines[3].check
    assert lines[4].level is Level.WARNING and "not an Algo MAC" in lines[4].check
    check = model.index(4, Column.CHECK)
    assert model.data(check, Qt.ItemDataRole.ForegroundRole) is not None
    model.set_roster(parse_roster("name\nx\n"))
    assert model.rowCount() == 1 and model.data(model.index(0, Column.MAC)) == "(header)"


@dataclass
class Bench:
    page: BenchPage
    control: ServerControl
    feed: LiveFeed
    profiles: ProfileStore
    folder: Path

    @property
    def port(self) -> int:
        server = self.control.server
        assert server is not None
        return server.port


@pytest.fixture
def bench(qtbot, tmp_path: Path) -> Iterator[Bench]:
    """A profile with a password, the page, and a live feed over our engine on 127.0.0.1."""
    profiles = ProfileStore(tmp_path / "profiles")
    profiles.save(
        BenchProfile(
            name="bench",
            host="prov.example.com",
            cfgpath="algo",
            user="algo",
            products=("8186", "8301"),
            has_password=True,
        )
    )
    credentials = CredentialStore(MemoryKeyring())
    credentials.set_password("bench", PASSWORD)
    bridge = EventBridge()
    feed = LiveFeed(bridge, Tracker(), interval_ms=50)

    def make_server(root: Path, address: str, port: int, sink) -> TftpServer:
        return TftpServer(root, address, port, sink=sink, settings=TftpSettings(auto_md5=False))

    control = ServerControl(make_server, bridge)
    page = BenchPage(profiles, credentials, control, feed.tracker)
    qtbot.addWidget(page)
    folder = tmp_path / "bench"
    folder.mkdir()
    try:
        yield Bench(page, control, feed, profiles, folder)
    finally:
        control.stop()
        feed.stop()


def roster_file(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER, encoding="utf-8")
    return path


def status_of(feed: LiveFeed, mac: str) -> tuple[str, str]:
    model = feed.devices
    for row in range(model.rowCount()):
        device = model.device(row)
        if device is not None and device.mac == mac:
            stage = model.data(model.index(row, DeviceColumn.STAGE))
            return stage, model.data(model.index(row, DeviceColumn.STATUS))
    raise AssertionError(f"{mac} not on the Live page")


def test_serving_a_roster_marks_each_device_as_it_is_served(
    qtbot, bench: Bench, tmp_path: Path
) -> None:
    page = bench.page
    page.choose_roster_file = lambda: roster_file(tmp_path)
    roster = page.import_dialog()
    assert roster is not None and len(roster.rows) == 3
    assert "3 devices, 2 lines skipped" in page.roster_label.text()
    assert page.roster_model.rowCount() == 5
    assert page.serve(), page.status.text()  # the server is not running yet
    assert "served as soon as it starts" in page.status.text()
    assert "3 device files from the roster" in page.status.text()
    assert f"algom{LOBBY}.conf" in bench.control.virtual_files
    assert bench.control.start(bench.folder, "127.0.0.1", 0)  # files installed on start
    qtbot.waitUntil(lambda: "as soon as it starts" not in page.status.text())
    bench.feed.refresh()
    for mac in (LOBBY, HALL, FOREIGN):
        assert status_of(bench.feed, mac) == ("expected (roster)", NOT_SEEN)

    lobby = fetch_file("127.0.0.1", bench.port, f"algom{LOBBY}.conf", timeout=2.0)
    assert lobby is not None
    document = ConfigDocument.from_bytes(lobby)
    assert document.get("sip.u1.pwd") == SIP_SECRET
    assert document.get("admin.devname") == "lobby"
    assert document.get("prov.auth.pwd") == PASSWORD
    lobby_md5 = fetch_file("127.0.0.1", bench.port, f"algom{LOBBY}.md5", timeout=2.0)
    assert lobby_md5 is not None and md5.verify(lobby_md5, lobby)
    # the feed folds the engine's events and rewrites the row on its own timer
    qtbot.waitUntil(lambda: status_of(bench.feed, LOBBY)[0] != "expected (roster)")
    assert status_of(bench.feed, LOBBY)[1] != NOT_SEEN
    assert status_of(bench.feed, HALL) == ("expected (roster)", NOT_SEEN)
    assert list(bench.folder.iterdir()) == []  # nothing on disk

    # read from memory, the stage-1 file tells the tracker where the device went
    bench.feed.tracker.fetch = bench.control.virtual_file
    hall = fetch_file("127.0.0.1", bench.port, f"algom{HALL}.conf", timeout=2.0)
    assert hall is not None
    assert fetch_file("127.0.0.1", bench.port, f"algom{HALL}.md5", timeout=2.0) is not None
    qtbot.waitUntil(lambda: status_of(bench.feed, HALL)[0] == Stage.APPLYING.value)
    bench.feed.tracker.tick(math.inf)
    assert bench.feed.tracker.devices[HALL].stage is Stage.LEFT
    assert "handed-off" in {d.code for d in bench.feed.tracker.devices[HALL].diagnoses}

    page.stop_serving_files()
    assert bench.control.virtual_files == []
    assert fetch_file("127.0.0.1", bench.port, f"algom{FOREIGN}.conf", timeout=2.0) is None
    bench.feed.refresh()
    macs = {d.mac for d in bench.feed.devices.devices()}
    assert macs == {LOBBY, HALL}  # seen devices stay, the expected ones go


def test_export_warns_and_writes_only_when_confirmed(bench: Bench, tmp_path: Path) -> None:
    page = bench.page
    page.load_roster(roster_file(tmp_path))
    out = tmp_path / "export"
    out.mkdir()
    page.choose_export_folder = lambda: out
    page.confirm_export = lambda: False
    assert page.export_dialog() == []
    assert list(out.iterdir()) == []
    page.confirm_export = lambda: True
    written = page.export_dialog()
    names = sorted(path.name for path in written)
    assert f"algom{HALL}.conf" in names and "algop8301.conf" in names and "algop8186.md5" in names
    assert PASSWORD.encode() in (out / "algop8186.conf").read_bytes()
    assert "hold the password in clear" in page.status.text()
    if os.name == "posix":  # the export holds the password: for its owner alone, and said
        assert {stat.S_IMODE(path.stat().st_mode) for path in written} == {0o600}
        assert "mode 600" in page.status.text()


def test_a_password_that_is_gone_is_said_not_served(bench: Bench) -> None:
    bench.page.credentials.delete_password("bench")
    assert not bench.page.serve()
    # said as it is (the keyring works, it just lacks the password), not guessed at
    said = bench.page.status.text()
    assert "No password for bench (missing: not in the keyring)" in said
    assert "algodesk was restarted" not in said
    assert bench.control.virtual_files == []


def test_the_profile_summary_says_where_the_password_is_and_what_the_file_starts_from(
    bench: Bench,
) -> None:
    summary = bench.page.summary.text()
    assert "password in the keyring" in summary
    assert "minimal stage-1 config" in summary  # as `profile show` says it, not a bare "minimal"


def test_an_unreadable_roster_is_said(bench: Bench, tmp_path: Path) -> None:
    assert bench.page.load_roster(tmp_path / "missing.csv") is None
    assert "cannot read the roster" in bench.page.roster_label.text()
    bench.page.load_roster(roster_file(tmp_path))
    bench.page.clear_roster()
    assert bench.page.roster is None and bench.page.roster_model.rowCount() == 0


def test_profiles_made_elsewhere_show_when_the_page_is_shown(bench: Bench, qtbot) -> None:
    page = bench.page
    bench.profiles.save(BenchProfile(name="from-cli", host="10.0.0.5", products=("8180",)))
    assert page.profile_box.findText("from-cli") < 0
    page.show()
    qtbot.waitExposed(page)
    assert page.profile_box.findText("from-cli") >= 0
    assert page.profile_box.currentText() == "bench"  # the choice is kept


def test_delete_profile_forgets_its_password(bench: Bench) -> None:
    page = bench.page
    page.delete_profile()
    assert bench.profiles.names() == []
    assert page.credentials.get_password("bench") is None
    assert not page.serve_button.isEnabled()
    assert "New profile" in page.summary.text()


def test_importing_a_roster_while_serving_serves_the_new_roster(
    bench: Bench, tmp_path: Path
) -> None:
    page = bench.page
    assert page.serve(), page.status.text()  # the profile alone: no device files
    assert not any(name.startswith("algom") for name in bench.control.virtual_files)
    page.load_roster(roster_file(tmp_path))
    assert f"algom{LOBBY}.conf" in bench.control.virtual_files
    assert "3 device files from the roster" in page.status.text()
    page.clear_roster()
    assert not any(name.startswith("algom") for name in bench.control.virtual_files)


def test_a_file_served_from_memory_over_one_on_disk_is_said(
    bench: Bench, qtbot, tmp_path: Path
) -> None:
    from algodesk.core.checks import check_folder
    from algodesk.ui.folder.page import FolderPage

    (bench.folder / "algop8186.conf").write_bytes(b"prov.use = 1\n")
    folder_page = FolderPage(check_folder)
    qtbot.addWidget(folder_page)
    folder_page.set_folder(bench.folder)
    bench.control.virtual_changed.connect(
        lambda: folder_page.set_memory_files(bench.control.virtual_files)
    )
    assert bench.control.start(bench.folder, "127.0.0.1", 0)
    assert bench.page.serve()
    said = bench.page.status.text()
    assert "algop8186.conf is also in" in said and "copy served from memory" in said
    assert "algop8186.conf is also served from memory" in folder_page.summary.text()
    rows = {row.name: row for row in folder_page.model.rows()}
    assert "served from memory instead" in rows["algop8186.conf"].what
    bench.page.stop_serving_files()
    assert "served from memory" not in folder_page.summary.text()


def test_the_bench_folder_check_counts_the_files_served_from_memory(bench: Bench, qtbot) -> None:
    from algodesk.core.checks import BenchChecker
    from algodesk.ui.folder.page import FolderPage

    folder_page = FolderPage(BenchChecker(auto_md5=True))
    qtbot.addWidget(folder_page)
    folder_page.set_folder(bench.folder)
    codes = {f.code for row in folder_page.model.rows() for f in row.findings}
    bench.control.virtual_changed.connect(
        lambda: folder_page.set_memory_files(bench.control.virtual_files)
    )
    assert bench.control.start(bench.folder, "127.0.0.1", 0)
    assert bench.page.serve()
    served = {f.code for row in folder_page.model.rows() for f in row.findings}
    assert "folder-no-configs" not in served  # the stage-1 configs are served from memory
    assert ("folder-no-configs" in codes) is not any(
        n.endswith(".conf") for n in os.listdir(bench.folder)
    )
