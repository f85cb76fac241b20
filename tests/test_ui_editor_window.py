"""The Editor and Stage 1 pages in the app as ``uv run algodesk`` builds it: menus, the close
guard, and a roster served from memory by the window's own server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from algodesk.app import Composition, compose
from algodesk.core.profile import BenchProfile
from algodesk.core.tracker import NOT_SEEN
from algodesk.services.credentials import CredentialStore
from algodesk.services.paths import AppPaths, beside
from algodesk.services.settings import Settings, SettingsStore
from algodesk.services.tftp_client import fetch_file
from algodesk.ui.editor.files import Unsaved
from algodesk.ui.live.device_model import Column as DeviceColumn
from algodesk.ui.provisioning_wiring import ProvisioningPages
from tests.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication

PASSWORD = "S3cr3t-Window-Canary"
ON_DISK = b"prov.use = 1\nsip.proxy = pbx.example\n"


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    """A private home on loopback: nothing touches the user's real folders."""
    paths = beside(tmp_path / "home", portable=False).ensure()
    (paths.bench_dir / "algop8186.conf").write_bytes(ON_DISK)
    SettingsStore(paths.settings_file).save(
        Settings(folder=str(paths.bench_dir), interface="lo", address="127.0.0.1", port=0)
    )
    return paths


@pytest.fixture
def app(qtbot, app_paths: AppPaths) -> Iterator[Composition]:
    """The whole app with an in-memory keyring, closed (server, history) afterwards."""
    parts = compose(app_paths, credentials=CredentialStore(MemoryKeyring()))
    try:
        parts.window.show()
        qtbot.waitExposed(parts.window)
        yield parts
    finally:
        assert parts.provisioning is not None
        parts.provisioning.editor.ask_unsaved = lambda _name: Unsaved.DISCARD
        parts.window.close()
        parts.close()


def pages(app: Composition) -> ProvisioningPages:
    assert app.provisioning is not None
    return app.provisioning


def test_pages_and_menu_entries(app: Composition) -> None:
    window = app.window
    titles = [window.pages.tabText(i) for i in range(window.pages.count())]
    assert "Editor" in titles and "Stage 1" in titles
    file_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&File")
    labels = [a.text() for a in file_menu.actions() if not a.isSeparator()]
    assert labels[:3] == ["&Open folder…", "Open &config file…", "New two-stage &profile…"]
    new_profile = file_menu.actions()[2]
    new_profile.trigger()
    bench = pages(app).bench
    assert window.pages.currentWidget() is bench
    assert bench.wizard is not None and bench.wizard.isVisible()
    bench.wizard.reject()


def test_closing_asks_about_unsaved_edits(app: Composition, tmp_path: Path) -> None:
    editor = pages(app).editor
    path = tmp_path / "backup.conf"
    path.write_bytes(ON_DISK)
    assert editor.open_file(path)
    editor.model.set_value("prov.use", "0")
    editor.ask_unsaved = lambda _name: Unsaved.CANCEL
    assert not app.window.close()
    assert app.window.isVisible() and app.control is not None
    editor.ask_unsaved = lambda _name: Unsaved.SAVE
    assert app.window.close()
    assert path.read_bytes() == b"prov.use = 0\nsip.proxy = pbx.example\n"


def test_the_live_view_reads_files_served_from_memory(app: Composition) -> None:
    tracker = app.window.feed.tracker
    assert tracker.fetch is not None
    assert tracker.fetch("algop8186.conf") == ON_DISK
    app.control.serve_virtual({"algop8186.conf": b"prov.use = 0\n"})
    assert tracker.fetch("algop8186.conf") == b"prov.use = 0\n"  # memory first, as the engine
    app.control.serve_virtual({})
    assert tracker.fetch("algop8186.conf") == ON_DISK


def test_a_roster_served_by_the_window_s_server(
    qtbot, app: Composition, app_paths: AppPaths, tmp_path: Path
) -> None:
    bench = pages(app).bench
    bench.profiles.save(
        BenchProfile(name="bench", host="prov.example.com", products=("8186",), has_password=True)
    )
    bench.credentials.set_password("bench", PASSWORD)
    bench.reload_profiles(select="bench")
    roster = tmp_path / "roster.csv"
    roster.write_text("mac,product\n00:22:ee:00:00:01,8186\n00:22:ee:00:00:02,8186\n")
    assert bench.load_roster(roster) is not None
    app.window.toolbar.start_action.trigger()
    assert app.control.running
    assert bench.serve(), bench.status.text()
    server = app.control.server
    assert server is not None
    served = fetch_file("127.0.0.1", server.port, "algop8186.conf", timeout=2.0)
    assert served is not None and PASSWORD.encode() in served  # memory wins over the disk file
    assert (app_paths.bench_dir / "algop8186.conf").read_bytes() == ON_DISK
    assert fetch_file("127.0.0.1", server.port, "algom0022EE000001.conf", timeout=2.0)
    devices = app.window.live.device_model()

    def statuses() -> dict[str, str]:  # the cells on screen, not the tracker behind them
        found = {}
        for row in range(devices.rowCount()):
            mac = devices.data(devices.index(row, DeviceColumn.MAC)).replace(":", "")
            found[mac] = devices.data(devices.index(row, DeviceColumn.STATUS))
        return found

    qtbot.waitUntil(lambda: statuses().get("0022EE000001", NOT_SEEN) != NOT_SEEN)
    assert statuses()["0022EE000002"] == NOT_SEEN
