"""The app opened from a command line (``--folder DIR --bind --port --start``) and a run that
``serve`` recorded headless, opened in the app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from algodesk.app import Composition, open_bench
from algodesk.services import paths
from algodesk.services.history import HistoryStore
from algodesk.ui.live.device_model import Column
from tests.cli_run import run_cli
from tests.conftest_qt import running_app
from tests.test_history_cli import PRETTY, _bench_run
from tests.test_tftp_serve_cli import CONFIG

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    bench = tmp_path / "bench-7"
    bench.mkdir()
    (bench / "algop8188.conf").write_bytes(CONFIG)
    return bench


@pytest.fixture
def app(qtbot) -> Iterator[Composition]:
    with running_app(qtbot, paths.resolve()) as parts:
        yield parts


def test_open_bench_serves_the_folder_given_at_once(app: Composition, folder: Path) -> None:
    assert open_bench(app.window, folder=folder, address="127.0.0.1", port=0, start=True)
    server = app.control.server
    assert server is not None and server.address == "127.0.0.1"
    assert app.window.folder == folder
    assert str(folder) in app.window.serving_label.text()


def test_an_address_not_on_this_computer_is_said_not_served_elsewhere(
    app: Composition, folder: Path
) -> None:
    assert not open_bench(app.window, folder=folder, address="192.0.2.77", port=0, start=True)
    assert not app.control.running
    assert "192.0.2.77 is not an address of this computer" in app.window.banner.title.text()


def test_the_app_opens_a_run_recorded_by_headless_serve(
    qtbot, folder: Path, app_after_serve: Composition
) -> None:
    live = app_after_serve.window.live
    assert live.runs.count() == 2  # the live bench, and the run serve kept
    assert "Run 1:" in live.runs.itemText(1) and "bench-7" in live.runs.itemText(1)
    live.show_run(1)
    model = live.devices.model()

    def cells() -> set[str]:
        return {model.data(model.index(row, Column.MAC)) for row in range(model.rowCount())}

    qtbot.waitUntil(lambda: PRETTY in cells(), timeout=5000)
    row = next(r for r in range(model.rowCount()) if model.data(model.index(r, 0)) == PRETTY)
    assert model.data(model.index(row, Column.FILES)) == "1"
    assert model.data(model.index(row, Column.PRODUCT)) == "8188"


@pytest.fixture
def app_after_serve(qtbot, folder: Path) -> Iterator[Composition]:
    _bench_run(folder)
    with running_app(qtbot, paths.resolve()) as parts:
        yield parts


def test_the_command_line_opens_the_app_serving_and_keeps_the_run(folder: Path) -> None:
    env = {**os.environ, "ALGODESK_EXIT_WHEN_SHOWN": "1"}
    args = ["--folder", str(folder), "--bind", "127.0.0.1", "--port", "0", "--start"]
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    assert "main window shown" in result.stdout
    with HistoryStore(paths.resolve().history_file) as store:
        (run,) = store.runs()
    assert (run.root, run.address) == (str(folder), "127.0.0.1")
    assert run.ended is not None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--folder", "/no/such/folder"], "algodesk: error: --folder: not a folder: "),
        (["--port", "70000"], "algodesk: error: --port must be 0..65535, not 70000"),
        (["--start", "check", "."], "algodesk: error: --folder, --port, --bind and --start"),
    ],
)
def test_bad_app_options_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and len(result.stderr.splitlines()) == 1
