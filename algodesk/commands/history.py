"""``algodesk history``: the bench runs kept by the app and by ``serve``, read without a window.

``list`` shows the runs; ``show RUN`` and ``export RUN`` replay a run's events through the same
tracker the Live page uses, so what each device received and its final state read as the app
shows them (``export`` writes the app's own CSV/JSON export).
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from algodesk.commands import CommandError, print_json
from algodesk.core import export
from algodesk.core.fileio import atomic_write
from algodesk.core.names import MacError, format_mac
from algodesk.core.tracker import Outcome, TrackedDevice, replay
from algodesk.core.wording import count
from algodesk.services import paths
from algodesk.services.history import HistoryError, HistoryStore, RunInfo

_EPILOG = """\
RUN is a run's number (from `algodesk history list`) or `last`. The history is the one the app
keeps (its data folder); `algodesk serve` adds a run to it unless given --no-history.
Exit status: 0; for show and export, 2 when there is no such run or no history yet (list then
says "no runs yet" and exits 0).
"""


def register(subparsers: Any) -> None:
    """Add the ``history`` sub-command and its ``list``, ``show`` and ``export``."""
    p = subparsers.add_parser(
        "history",
        help="list, show and export the bench runs kept by the app and by serve",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the runs, newest last")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="each device of a run: what it received, how it ended")
    show.add_argument("run", metavar="RUN", help="a run's number, or 'last'")
    show.add_argument("--json", action="store_true", help="print JSON (as export --json)")
    show.set_defaults(handler=run_show)
    out = actions.add_parser("export", help="a run's devices and files as CSV or JSON")
    out.add_argument("run", metavar="RUN", help="a run's number, or 'last'")
    kind = out.add_mutually_exclusive_group(required=True)
    kind.add_argument("--csv", action="store_true", help="one row per request (the app's CSV)")
    kind.add_argument("--json", action="store_true", help="devices with their files")
    out.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here, not stdout")
    out.set_defaults(handler=run_export)


def open_history(err: TextIO) -> HistoryStore | None:
    """The app's history store for ``serve`` to record into; None (and a warning) if unusable."""
    path = paths.resolve().ensure().history_file
    try:
        return HistoryStore(path)
    except HistoryError as error:
        print(f"warning: runs will not be kept this time: {error}", file=err)
        return None


def _reader() -> HistoryStore:
    path = paths.resolve().history_file
    if not path.is_file():
        raise CommandError(f"no history yet: {path} does not exist")
    try:
        return HistoryStore(path)
    except HistoryError as error:
        raise CommandError(str(error)) from None


def _pick(store: HistoryStore, text: str) -> RunInfo:
    runs = store.runs()
    if text.strip().lower() == "last":
        if not runs:
            raise CommandError(f"no runs in {store.path}")
        return runs[-1]
    if not text.strip().isdigit():
        raise CommandError(f"RUN must be a run's number or 'last', not {text!r}")
    wanted = int(text)
    for run in runs:
        if run.run_id == wanted:
            return run
    raise CommandError(f"no run {wanted} in {store.path} (see: algodesk history list)")


def _devices(store: HistoryStore, run: RunInfo) -> list[TrackedDevice]:
    return list(replay(store.stream_events(run.run_id)).devices.values())


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while a stored run is read, replayed and written out.

    A bench day's replay builds millions of objects (50,000 devices and their requests) that
    all stay alive until the command ends: each collection the allocations trigger walks them
    again and frees nothing (a 100,000-boot export: 17.0 -> 14.9 s). The command is short;
    collection resumes.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _stamp(when: float | None) -> str:
    return export.iso(when) if when is not None else ""


def run_list(args: argparse.Namespace) -> int:
    """``algodesk history list``."""
    if not paths.resolve().history_file.is_file():
        if args.json:
            print_json([])
        else:
            print("no runs yet")
        return 0
    with _reader() as store:
        runs = store.runs()
    if args.json:
        print_json([_run_dict(run) for run in runs])
        return 0
    if not runs:
        print("no runs yet")
    for run in runs:
        ended = f"until {_stamp(run.ended)}" if run.ended is not None else "(not ended)"
        print(
            f"{run.run_id:>5}  {_stamp(run.started)} {ended}  {count(run.devices, 'device')}, "
            f"{count(run.transfers, 'transfer')}  {run.root or '(virtual files only)'} "
            f"on {run.address}:{run.port}"
        )
    return 0


def _run_dict(run: RunInfo) -> dict[str, Any]:
    return {
        "run": run.run_id,
        "started": _stamp(run.started),
        "ended": _stamp(run.ended) or None,
        "folder": run.root,
        "address": run.address,
        "port": run.port,
        "devices": run.devices,
        "transfers": run.transfers,
    }


def run_show(args: argparse.Namespace) -> int:
    """``algodesk history show RUN``."""
    with _reader() as store, _collector_paused():
        run = _pick(store, args.run)
        devices = _devices(store, run)
    if args.json:
        sys.stdout.write(export.to_json(devices))
        return 0
    ended = f"until {_stamp(run.ended)}" if run.ended is not None else "(not ended)"
    print(
        f"run {run.run_id}: {_stamp(run.started)} {ended}, {run.root} on {run.address}:{run.port}"
    )
    print(_device_count(devices))
    for device in devices:
        print(_device_line(device))
        received = [e.served or e.requested for e in device.timeline if e.outcome is Outcome.SERVED]
        missed = [
            f"{e.requested} ({e.outcome.value})"
            for e in device.timeline
            if e.outcome not in (Outcome.SERVED, Outcome.SENDING, Outcome.REQUESTED)
        ]
        print(f"    received: {', '.join(received) or 'nothing'}")
        if missed:
            print(f"    not received: {', '.join(missed)}")
    return 0


def _device_count(devices: list[TrackedDevice]) -> str:
    """``3 devices``: a shared address's row of unattributed requests is no device."""
    return count(sum(1 for d in devices if not d.pooled), "device")


def _device_line(device: TrackedDevice) -> str:
    if device.pooled:
        name = f"(several devices at {device.ip})"
    else:
        try:
            name = format_mac(device.mac) if device.mac else f"(unknown at {device.ip})"
        except MacError:
            name = device.mac
    stage = device.stage.value if device.stage is not None else "-"
    return (
        f"  {name}  {device.product or '-'}  {device.ip}  {count(device.boots, 'boot')}  "
        f"{stage}: {device.status[1]}"
    )


def run_export(args: argparse.Namespace) -> int:
    """``algodesk history export RUN --csv|--json [-o FILE]``."""
    with _reader() as store, _collector_paused():
        run = _pick(store, args.run)
        devices = _devices(store, run)
        content = export.to_json(devices) if args.json else export.to_csv(devices)
    if args.output is None:
        sys.stdout.write(content)
        return 0
    try:
        atomic_write(args.output, content.encode("utf-8"))
    except OSError as error:
        raise CommandError(f"cannot write {args.output}: {error.strerror or error}") from None
    print(
        f"wrote {args.output}: run {run.run_id}, {_device_count(devices)}",
        file=sys.stderr,
    )
    return 0
