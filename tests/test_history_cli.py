"""Headless history: ``serve`` keeps runs as the app does; ``algodesk history`` reads them."""

from __future__ import annotations

import csv
import gc
import io
import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from algodesk.cli import main
from algodesk.commands import history as history_command
from algodesk.core import tracker
from algodesk.core.events import Event, RequestReceived
from algodesk.core.tracker import Tracker
from algodesk.services import paths
from algodesk.services.history import HistoryStore
from tests.cli_run import run_cli
from tests.test_tftp_serve_cli import CONFIG, _stop, serving
from tests.tftp_helpers import RawClient

MAC = "0022EE010203"
PRETTY = "00:22:EE:01:02:03"


def _bench_run(root: Path, *extra: str) -> tuple[list[str], list[str]]:
    """Serve ``root``; a device asks for its own file (missing), then the generic one; another
    address asks for a file that is not there. Returns serve's lines up to and after Ctrl+C."""
    with serving(str(root), *extra) as (process, port):
        with RawClient(port) as device:
            assert device.fetch(f"algom{MAC}.conf")[0] == b""
            assert device.fetch("algop8188.conf")[0] == CONFIG
        with RawClient(port, source="127.0.0.2") as stranger:
            assert stranger.fetch("nothing-here.bin")[0] == b""
        assert process.stdout is not None
        seen = []
        while "nothing-here.bin" not in (line := process.stdout.readline()):
            assert line, "serve ended early"
            seen.append(line.rstrip("\n"))
        rest, _err = _stop(process)
    return [*seen, line.rstrip("\n")], rest


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "algop8188.conf").write_bytes(CONFIG)
    return folder


def test_serve_names_the_mac_and_counts_devices_as_the_live_view(root: Path) -> None:
    seen, rest = _bench_run(root)
    sending = next(line for line in seen if " sending algop8188.conf" in line)
    assert "127.0.0.1:" in sending and f" {PRETTY} #" in sending
    refused = next(line for line in seen if "nothing-here.bin" in line)
    assert "127.0.0.2:" in refused and PRETTY not in refused
    # two devices made a request, one of them only refused; one line per summary, plurals right
    assert rest[-1].startswith("summary: 2 devices, 1 file, ")
    assert " in 1 transfer (0 failed, 2 refused)" in rest[-1]
    assert rest[-2] == "history: run 1 (algodesk history show 1)"


def test_serve_keeps_the_run_in_the_apps_history_and_history_reads_it(
    root: Path, tmp_path: Path
) -> None:
    _bench_run(root)
    with HistoryStore(paths.resolve().history_file) as store:
        (run,) = store.runs()
        assert run.ended is not None and run.root == str(root) and run.address == "127.0.0.1"
        assert [d.mac for d in store.devices(run.run_id)] == [MAC]

    listing = run_cli("history", "list")
    assert listing.returncode == 0, listing.stderr
    (line,) = listing.stdout.splitlines()
    assert line.split()[0] == "1" and "1 device, 1 transfer" in line and str(root) in line

    shown = run_cli("history", "show", "last")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert f"  {PRETTY}  8188  127.0.0.1  1 boot  " in text
    assert "received: algop8188.conf" in text
    assert f"not received: algom{MAC}.conf (not found)" in text
    assert "2 devices" in text  # the stranger at 127.0.0.2 made a request too

    out = tmp_path / "run.csv"
    exported = run_cli("history", "export", "1", "--csv", "-o", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    mine = [r for r in rows if r["mac"] == PRETTY]
    assert [(r["requested"], r["outcome"]) for r in mine] == [
        (f"algom{MAC}.conf", "not found"),
        ("algop8188.conf", "served"),
    ]
    assert all(r["status"] and r["stage"] for r in mine)  # a set of "" would be truthy

    as_json = run_cli("history", "export", "last", "--json")
    assert as_json.returncode == 0, as_json.stderr
    devices = json.loads(as_json.stdout)
    device = next(d for d in devices if d["mac"] == PRETTY)
    assert [f["served"] for f in device["files"]] == ["", "algop8188.conf"]
    assert device["stage"] and device["status"]


def test_no_history_keeps_nothing(root: Path) -> None:
    _seen, rest = _bench_run(root, "--no-history")
    assert rest[-1].startswith("summary: 2 devices")
    assert not any(line.startswith("history:") for line in rest)
    assert not paths.resolve().history_file.exists()
    listing = run_cli("history", "list")
    assert (listing.returncode, listing.stdout) == (0, "no runs yet\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "7"], "no run 7 in "),
        (["show", "seven"], "RUN must be a run's number or 'last', not 'seven'"),
        (["export", "last", "--json"], "no runs in "),
        (["export", "1"], "one of the arguments --csv --json is required"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    args: list[str], message: str, root: Path
) -> None:
    with HistoryStore(paths.resolve().ensure().history_file):
        pass  # an empty history file
    result = run_cli("history", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert message in lines[-1]
    if args[0] != "export" or "--json" in args:
        assert len(lines) == 1, result.stderr


def test_reading_with_no_history_yet_is_an_error_not_a_new_file() -> None:
    result = run_cli("history", "show", "last")
    assert result.returncode == 2
    assert result.stderr.startswith("algodesk history: error: no history yet: ")
    assert len(result.stderr.splitlines()) == 1
    assert not paths.resolve().history_file.exists()


def test_help_says_which_actions_exit_2_without_history() -> None:
    result = run_cli("history", "--help")
    assert "for show and export, 2 when there is no such run or no history yet" in result.stdout
    assert run_cli("history", "list").returncode == 0  # no history yet: list still exits 0


def test_show_and_export_count_devices_not_a_shared_addresss_row(
    root: Path, tmp_path: Path
) -> None:
    # Two MACs boot from one address: the generic request goes to the address's pooled row,
    # which is no device (the Live page and `show` say 2 devices; export used to say 3).
    other = "0022EE010204"
    with serving(str(root)) as (process, port):
        with RawClient(port) as device:
            device.fetch(f"algom{MAC}.conf")
            device.fetch(f"algom{other}.conf")
            assert device.fetch("algop8188.conf")[0] == CONFIG
        assert process.stdout is not None
        while " sending algop8188.conf" not in (line := process.stdout.readline()):
            assert line, "serve ended early"
        _stop(process)
    shown = run_cli("history", "show", "last")
    assert "(several devices at 127.0.0.1)" in shown.stdout
    assert "\n2 devices\n" in shown.stdout
    exported = run_cli("history", "export", "last", "--json", "-o", str(tmp_path / "run.json"))
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr.strip().endswith("run 1, 2 devices")


def test_reading_a_run_holds_off_the_cycle_collector_then_resumes_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A bench day's events all stay alive while a run is read: collections then walk them for
    # nothing (tests/bench/bench_day.py measures it).
    with HistoryStore(paths.resolve().ensure().history_file) as store:
        run = store.start_run("/bench", "127.0.0.1", 69)
        store.record(RequestReceived(client=("10.0.0.5", 5000), filename=f"algom{MAC}.conf"))
        store.end_run(run)
    collecting: list[bool] = []

    def replay(events: Iterable[Event]) -> Tracker:
        collecting.append(gc.isenabled())
        return tracker.replay(events)

    monkeypatch.setattr(history_command, "replay", replay)
    for action in (["show", "last"], ["export", "last", "--csv"]):
        assert main(["history", *action]) == 0
    assert PRETTY in capsys.readouterr().out
    assert collecting == [False, False]
    assert gc.isenabled()
