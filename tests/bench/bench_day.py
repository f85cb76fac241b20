"""Benchmark: a long bench day compressed — N device boots through the tracker, history and GUI.

Each virtual device gets a DHCP lease and boots twice (a factory boot that fetches the generic
config and its md5, then the boot after applying it), so 100,000 boots are 50,000 devices over
a simulated ten-hour day. Three parts, each in its own process so their memory is their own:

- ``tracker``: the events folded into a Tracker (as ``serve`` and the window do) and recorded
  into a history file: resident memory sampled every 10 % of the boots, and its slope;
- ``gui``: the same events through the window's LiveFeed and models (offscreen), memory again;
- ``export``: ``algodesk history export last --csv`` of that run, timed, and the history
  file's size per boot.

    uv run python tests/bench/bench_day.py [--boots 100000] [--part all|tracker|gui|export]

The last line is the headline: the export's wall time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from algodesk.core.events import (
    Event,
    LeaseGranted,
    RefusalReason,
    RequestReceived,
    RequestRefused,
    Source,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from algodesk.core.md5 import md5_hex
from tests.bench._memory import rss_mb

CONFIG = b"prov.use = 1\nsip.proxy = pbx.example\n"
DAY_SECONDS = 10 * 3600
SAMPLES = 10


def day(boots: int) -> Iterator[list[Event]]:
    """Each boot's events, in the order of the day (devices boot one after another)."""
    start = 1_800_000_000.0
    step = DAY_SECONDS / max(boots, 1)
    transfer_id = 0
    md5 = md5_hex(CONFIG)
    for n in range(boots):
        device, second = divmod(n, 2)
        mac = f"0022EE{device:06X}"
        ip = f"10.{device >> 16 & 255}.{device >> 8 & 255}.{device & 255}"
        now = start + n * step
        port = 40000 + n % 20000
        events: list[Event] = []
        if not second:
            events.append(LeaseGranted(time=now, mac=mac, ip=ip, lease_seconds=3600))
        client = (ip, port)
        name = f"algom{mac}.conf"
        events.append(RequestReceived(time=now, client=client, filename=name))
        events.append(
            RequestRefused(time=now, client=client, filename=name, reason=RefusalReason.NOT_FOUND)
        )
        for offset, (file, size) in enumerate(
            (("algop8186.conf", len(CONFIG)), ("algop8186.md5", 33))
        ):
            transfer_id += 1
            client = (ip, port + offset + 1)
            t = now + 0.1 * (offset + 1)
            events.append(RequestReceived(time=t, client=client, filename=file))
            events.append(
                TransferStarted(
                    time=t,
                    transfer_id=transfer_id,
                    client=client,
                    requested=file,
                    served=file,
                    source=Source.DISK if offset == 0 else Source.AUTO_MD5,
                    size=size,
                    md5=md5 if offset == 0 else "",
                )
            )
            events.append(
                TransferProgress(
                    time=t + 0.02,
                    transfer_id=transfer_id,
                    client=client,
                    served=file,
                    bytes_sent=size // 2,
                    size=size,
                )
            )
            events.append(
                TransferFinished(
                    time=t + 0.05,
                    transfer_id=transfer_id,
                    client=client,
                    served=file,
                    bytes_sent=size,
                    duration=0.05,
                )
            )
        yield events


def _samples(boots: int) -> set[int]:
    return {boots * k // SAMPLES for k in range(1, SAMPLES + 1)}


def _slope(memory: list[tuple[int, float]]) -> str:
    """MB per 10,000 boots over the second half of the day (after start-up effects)."""
    half = memory[len(memory) // 2 - 1 :] if len(memory) > 2 else memory
    (b0, m0), (b1, m1) = half[0], half[-1]
    per = (m1 - m0) / max(b1 - b0, 1) * 10_000
    curve = "  ".join(f"{b // 1000}k:{m:.0f}" for b, m in memory)
    return f"RSS MB by boots: {curve}\nslope over the second half: {per:+.2f} MB per 10,000 boots"


def part_tracker(boots: int, history: Path) -> None:
    from algodesk.core.tracker import Tracker
    from algodesk.services.history import HistoryStore

    tracker = Tracker()
    store = HistoryStore(history)
    run = store.start_run("/bench", "0.0.0.0", 69)
    want, memory = _samples(boots), [(0, rss_mb())]
    began = time.perf_counter()
    for n, events in enumerate(day(boots), start=1):
        for event in events:
            tracker.apply(event)
            store.record(event)
        if n % 500 == 0:
            tracker.tick(events[-1].time)
            tracker.take_changes()
        if n in want:
            store.flush()
            memory.append((n, rss_mb()))
    store.end_run(run)
    store.close()
    seconds = time.perf_counter() - began
    devices, active, _attention = tracker.counts()
    print(
        f"tracker + history: {boots} boots in {seconds:.1f} s, {devices} devices, {active} active"
    )
    print(_slope(memory))


def part_gui(boots: int) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from algodesk.core.tracker import Tracker
    from algodesk.ui.bridge import EventBridge
    from algodesk.ui.live.feed import LiveFeed
    from algodesk.ui.live.page import LivePage
    from algodesk.ui.live.transfers_page import TransfersPage

    app = QApplication.instance() or QApplication(sys.argv)
    bridge = EventBridge()
    feed = LiveFeed(bridge, Tracker(), interval_ms=1_000_000)
    live, transfers = LivePage(feed), TransfersPage(feed.transfers)
    feed.show_pages(live=True, transfers=True, log=False)  # both pages on screen, not the Log
    for page in (live, transfers):
        page.resize(1400, 900)
        page.show()
    want, memory = _samples(boots), [(0, rss_mb())]
    began = time.perf_counter()
    for n, events in enumerate(day(boots), start=1):
        for event in events:
            bridge.post(event)
        if n % 200 == 0:
            app.processEvents()
            while feed.backlog:
                app.processEvents()
            feed.refresh()
            feed.finish()
            app.processEvents()
        if n in want:
            memory.append((n, rss_mb()))
    seconds = time.perf_counter() - began
    print(
        f"GUI (Live + Transfers pages, offscreen): {boots} boots in {seconds:.1f} s, "
        f"{feed.devices.rowCount()} device rows, {feed.transfers.rowCount()} transfer rows"
    )
    print(_slope(memory))
    feed.stop()


def part_export(boots: int, home: Path) -> None:
    history = home / "data" / "history.sqlite3"
    size = sum(p.stat().st_size for p in history.parent.glob("history.sqlite3*"))
    print(f"history file: {size / 1e6:.1f} MB for {boots} boots, {size / boots:.0f} bytes per boot")
    out = home / "day.csv"
    env = {**os.environ, "ALGODESK_HOME": str(home)}
    command = [sys.executable, "-m", "algodesk", "history", "export", "last", "--csv", "-o"]
    began = time.perf_counter()
    result = subprocess.run(
        [*command, str(out)], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"export failed: {result.stderr}")
    rows = out.read_text().count("\n") - 1
    print(f"export: {rows} rows, {out.stat().st_size / 1e6:.1f} MB of CSV")
    print(f"history export of the day: {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boots", type=int, default=100_000)
    parser.add_argument("--part", choices=("all", "tracker", "gui", "export"), default="all")
    parser.add_argument("--home", type=Path, help="(internal) the home the parts share")
    args = parser.parse_args()
    if args.part == "all":
        with tempfile.TemporaryDirectory(prefix="algodesk-day-") as home:
            for part in ("tracker", "gui", "export"):
                command = [sys.executable, __file__, "--boots", str(args.boots), "--part", part]
                subprocess.run([*command, "--home", home], check=True)
        return
    home = args.home or Path(tempfile.mkdtemp(prefix="algodesk-day-"))
    if args.part == "tracker":
        part_tracker(args.boots, home / "data" / "history.sqlite3")
    elif args.part == "gui":
        part_gui(args.boots)
    else:
        part_export(args.boots, home)


if __name__ == "__main__":
    main()
