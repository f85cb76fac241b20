"""``algodesk serve``: the bench TFTP server without the GUI, one line per event."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from algodesk.commands import CommandError
from algodesk.commands.history import open_history
from algodesk.commands.profile import add_password_stdin, serving_files
from algodesk.commands.stop_wait import StopWait
from algodesk.core import event_text
from algodesk.core import events as ev
from algodesk.core.masking import mask_fields, mask_secrets
from algodesk.core.names import MacError, format_mac
from algodesk.core.tracker import Tracker
from algodesk.core.wording import count
from algodesk.services import paths
from algodesk.services.dhcp import (
    DhcpServer,
    DhcpSettings,
    DhcpSettingsError,
    find_bench_address,
    parse_pool,
)
from algodesk.services.errors import ServerStartError
from algodesk.services.history import HistoryStore, RunRecording
from algodesk.services.line_output import LineOutput
from algodesk.services.syslog import SyslogReceiver
from algodesk.services.tftp import TftpServer, TftpSettings, TftpStats

_EPILOG = """\
Prints one line per request and transfer (JSON lines with --json). Ctrl+C or SIGTERM stops the
server and prints a summary. Exit status: 0 after a clean stop; 2 when the folder or an option is
wrong or the port cannot be bound (the message names the port and what to do about it).
"""


def register(subparsers: Any) -> None:
    """Add the ``serve`` sub-command."""
    p = subparsers.add_parser(
        "serve",
        help="serve a folder read-only over TFTP and print what devices fetch",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "folder",
        type=Path,
        nargs="?",
        metavar="DIR",
        help="folder to serve (read-only; optional with --profile)",
    )
    p.add_argument("--bind", default="0.0.0.0", metavar="ADDR", help="address (default: all)")
    p.add_argument("--port", type=int, default=69, help="UDP port (default: 69)")
    p.add_argument("--json", action="store_true", help="print events as JSON lines")
    p.add_argument(
        "--max-blksize", type=int, default=1468, metavar="N", help="cap for blksize (8..65464)"
    )
    p.add_argument("--no-auto-md5", action="store_true", help="do not generate missing .md5 files")
    p.add_argument(
        "--case-fallback",
        action="store_true",
        help="serve ABC.conf for a request of abc.conf (off: names are exact, as on the "
        "customer's server, and such a request is refused naming the near file)",
    )
    p.add_argument("--progress", action="store_true", help="also print progress lines")
    p.add_argument(
        "--no-history",
        action="store_true",
        help="do not keep this run in the history (kept by default, as the app does; "
        "read it with `algodesk history`)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="engine processes behind the port (Linux; default 1: one thread; "
        "0: one per CPU, at most 4)",
    )
    extra = p.add_argument_group("bench DHCP and syslog (each off unless asked for)")
    extra.add_argument(
        "--dhcp", metavar="FIRST-LAST", help="lease this pool to Algo devices, naming the bench"
    )
    extra.add_argument(
        "--option66", metavar="VALUE", help="option 66 host or URL (default: bench; 'off': none)"
    )
    extra.add_argument(
        "--option150", metavar="IP,...", nargs="?", const="", help="send option 150 (bench)"
    )
    extra.add_argument(
        "--option160", metavar="VALUE", nargs="?", const="", help="send option 160 (bench)"
    )
    extra.add_argument(
        "--dhcp-any-vendor", action="store_true", help="answer every MAC, not only 00:22:EE"
    )
    extra.add_argument(
        "--syslog", metavar="PORT", type=int, nargs="?", const=514, help="receive syslog (514)"
    )
    stage1 = p.add_argument_group("two-stage bench: stage-1 files served from memory")
    stage1.add_argument("--profile", metavar="NAME", help="serve this profile's stage-1 config")
    stage1.add_argument(
        "--roster", type=Path, metavar="CSV", help="with --profile: an algom<MAC>.conf per row"
    )
    add_password_stdin(stage1)
    p.set_defaults(handler=run_serve)


class EventPrinter:
    """Prints events as they come, from any thread, one whole line at a time.

    It folds them into a tracker as the Live page does, so a line names the device's MAC once
    known (from a file name or a DHCP lease) and the summary counts devices as the window does.
    """

    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool, progress: bool) -> None:
        self._out = out
        self._err = err
        self._json = as_json
        self._progress = progress
        self._lock = threading.Lock()
        self._tracker = Tracker()
        # Events come on the engine's and services' threads: they must never wait on a reader.
        self._output = LineOutput()

    def start(self) -> None:
        """From now on lines go through a bounded queue (dropped and counted when full)."""
        self._output.start()

    def stop(self) -> None:
        """Write what is queued, waiting a few seconds at most for a reader that fell behind."""
        self._output.stop()

    def __call__(self, event: ev.Event) -> None:
        """The sink: format ``event`` and print it."""
        with self._lock:
            self._tracker.apply(event)
            self._tracker.take_changes()  # nobody reads them: keep memory flat
            mac = self._mac(event)
        if self._json:
            self._write(self._out, json.dumps(mask_fields(event.to_dict())))
            return
        if isinstance(event, ev.TransferProgress) and not self._progress:
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
        if isinstance(event, ev.ServerFailed):
            lines = [f"error: {event.message}"] + [f"  - {fix}" for fix in event.remedies]
            self._write(self._err, "\n".join(lines))
            return
        line = event_text.line(event)
        peer = event_text.address(event.client) if isinstance(event, _DEVICE_EVENTS) else ""
        if mac and line.startswith(peer):
            line = f"{peer} {mac}{line[len(peer) :]}"
        self._write(self._out, f"{stamp} {mask_secrets(line)}")

    def _mac(self, event: ev.Event) -> str:
        """The MAC of the device an event comes from, when the tracker knows it for certain."""
        if not isinstance(event, _DEVICE_EVENTS):
            return ""
        device = self._tracker.device_for_ip(event.client[0])
        if device is None or not device.mac:
            return ""
        try:
            return format_mac(device.mac)
        except MacError:
            return device.mac

    def summary(self, stats: TftpStats, run_id: int | None = None) -> None:
        """Print the closing summary (devices counted as the Live page counts them)."""
        with self._lock:
            devices = self._tracker.counts()[0]
        if self._json:
            fields = {**_stats_dict(stats), "devices": devices, "history_run": run_id}
            self._write(self._out, json.dumps({"event": "summary", **fields}))
            return
        if run_id is not None:
            self._write(self._out, f"history: run {run_id} (algodesk history show {run_id})")
        self._write(
            self._out,
            f"summary: {count(devices, 'device')}, {count(stats.files, 'file')}, "
            f"{count(stats.bytes_sent, 'byte')} in {count(stats.done, 'transfer')} "
            f"({stats.failed} failed, {stats.refused} refused)",
        )

    def _write(self, stream: TextIO, line: str) -> None:
        self._output.write(stream, line)


_DEVICE_EVENTS = (
    ev.RequestReceived,
    ev.RequestRefused,
    ev.TransferStarted,
    ev.TransferProgress,
    ev.TransferFinished,
    ev.TransferFailed,
    ev.SyslogLine,
)


def _stats_dict(stats: TftpStats) -> dict[str, int]:
    return {name: getattr(stats, name) for name in stats.__dataclass_fields__}


def run_serve(args: argparse.Namespace) -> int:
    """``algodesk serve DIR``: serve until SIGINT/SIGTERM, then print a summary."""
    folder: Path | None = args.folder
    if folder is None and not args.profile:
        raise CommandError("give a folder to serve, or --profile NAME")
    if folder is not None and not folder.is_dir():
        raise CommandError(f"not a folder: {folder}")
    if (args.roster or args.password_stdin) and not args.profile:
        raise CommandError("--roster and --password-stdin need --profile")
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be 0..65535, not {args.port}")
    try:
        settings = TftpSettings(
            max_blksize=args.max_blksize,
            auto_md5=not args.no_auto_md5,
            case_fallback=args.case_fallback,
            workers=args.workers,
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    stage1 = (
        serving_files(
            args.profile,
            args.roster,
            password_stdin=args.password_stdin,
            allow_empty_password=args.allow_empty_password,
        )
        if args.profile
        else None
    )
    printer = EventPrinter(sys.stdout, sys.stderr, as_json=args.json, progress=args.progress)
    history: HistoryStore | None = None
    recording: RunRecording | None = None  # opened once the options are known to be good

    waiting: StopWait | None = None  # how the main thread waits, once serving
    ended: list[ev.Event] = []  # the TFTP server's own end (a worker or the engine died)

    def sink(event: ev.Event) -> None:
        if recording is not None:
            recording.record(event)
        printer(event)
        if isinstance(event, ev.ServerStopped | ev.ServerFailed) and event.service == "tftp":
            ended.append(event)
            if waiting is not None:
                waiting.wake()

    server = TftpServer(folder, args.bind, args.port, sink=sink, settings=settings)
    if stage1 is not None:
        stage1.install(server)
    companions = _companions(args, sink)
    if not args.no_history:
        history = open_history(sys.stderr)
        recording = RunRecording(history) if history is not None else None
    # The handler only flips a flag: taking a lock (Event.set) inside a signal handler can
    # deadlock against the main thread holding that same lock.
    stop_requested: list[int] = []
    previous = {sig: signal.getsignal(sig) for sig in _stop_signals()}
    for sig in previous:
        signal.signal(sig, lambda number, _frame: stop_requested.append(number))
    printer.start()
    waiting = StopWait()
    try:
        try:
            server.start()
            if recording is not None:
                recording.open(str(folder or ""), server.address, server.port)
            for companion in companions:
                companion.start()
        except ServerStartError:
            return 2  # the printer has shown the message and remedies
        while not stop_requested and not ended and server.running:
            waiting.wait()
    finally:
        for companion in reversed(companions):
            companion.stop()
        server.stop()
        run_id = recording.run_id if recording is not None else None
        if recording is not None:
            recording.close()
        if history is not None:
            history.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        waiting.close()
        printer.stop()  # the summary below is written directly, after every queued line
    printer.summary(server.stats(), run_id)
    return 0


def _companions(args: argparse.Namespace, sink: ev.Sink) -> list[DhcpServer | SyslogReceiver]:
    """The DHCP server and syslog receiver asked for, checked before anything starts."""
    companions: list[DhcpServer | SyslogReceiver] = []
    if args.dhcp:
        try:
            first, size = parse_pool(args.dhcp)
            bench = args.bind if args.bind not in ("", "0.0.0.0") else find_bench_address(first)
            if not bench:
                raise CommandError(f"no interface here is on the subnet of {first}: give --bind")
            settings = DhcpSettings(
                server_address=bench,
                pool_start=first,
                pool_size=size,
                option66=args.option66 != "off",
                option66_value="" if args.option66 in (None, "off") else args.option66,
                option150=args.option150 is not None,
                option150_addresses=tuple(a for a in (args.option150 or "").split(",") if a),
                option160=args.option160 is not None,
                option160_value=args.option160 or "",
                algo_only=not args.dhcp_any_vendor,
            )
        except DhcpSettingsError as error:
            raise CommandError(str(error)) from None
        leases = paths.resolve().data_dir / "dhcp-leases.json"
        companions.append(DhcpServer(settings, sink, leases_path=leases))
    if args.syslog is not None:
        if not 0 <= args.syslog <= 65535:
            raise CommandError(f"--syslog port must be 0..65535, not {args.syslog}")
        companions.append(SyslogReceiver(args.bind, args.syslog, sink))
    return companions


def _stop_signals() -> list[signal.Signals]:
    wanted = ["SIGINT", "SIGTERM", "SIGBREAK"]
    return [getattr(signal, name) for name in wanted if hasattr(signal, name)]
