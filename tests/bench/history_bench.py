"""History store benchmark: events/s recorded and committed, record() cost, close() time, size.

Run: ``uv run python tests/bench/history_bench.py [--boots N] [--threads T]``. Producers play
device boots (request, transfer started, three progress, finished) from T threads, as TFTP and
DHCP threads would. The last line is the headline: events committed per second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from algodesk.core.events import (
    Event,
    RequestReceived,
    Source,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from algodesk.services.history import HistoryStore


def boot(i: int) -> list[Event]:
    """The events of one config fetch by device ``i``."""
    mac = f"0022EE{i:06X}"
    client = (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", 40000 + i % 20000)
    name = f"algom{mac}.conf"
    progress = [
        TransferProgress(transfer_id=i, client=client, served=name, bytes_sent=b, size=9000)
        for b in (2048, 4096, 8192)
    ]
    return [
        RequestReceived(client=client, filename=name, options={"blksize": "1468"}),
        TransferStarted(
            transfer_id=i,
            client=client,
            requested=name,
            served=name,
            source=Source.DISK,
            size=9000,
            options={"blksize": "1468"},
            md5="d41d8cd98f00b204e9800998ecf8427e",
        ),
        *progress,
        TransferFinished(transfer_id=i, client=client, served=name, bytes_sent=9000, duration=0.1),
    ]


def throughput(folder: Path, boots: int, threads: int) -> tuple[float, float, int, int]:
    """(events/s committed, mean record() µs, events stored, file bytes)."""
    prepared = [boot(i) for i in range(boots)]
    per_thread = [prepared[n::threads] for n in range(threads)]
    record_times: list[float] = []
    store = HistoryStore(folder / "throughput.sqlite3")
    run = store.start_run("/bench", "127.0.0.1", 6969)

    def produce(share: list[list[Event]]) -> None:
        count, begin = 0, time.perf_counter()
        for events in share:
            for event in events:
                store.record(event)
                count += 1
        record_times.append((time.perf_counter() - begin) / max(count, 1))

    workers = [
        threading.Thread(target=produce, args=(share,), name=f"algodesk-bench-{n}")
        for n, share in enumerate(per_thread)
    ]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    store.flush()
    elapsed = time.perf_counter() - start
    stored = len(store.events(run))
    store.close()
    size = sum(p.stat().st_size for p in folder.glob("throughput.sqlite3*"))
    recorded = sum(len(events) for events in prepared)
    return recorded / elapsed, statistics.mean(record_times) * 1e6, stored, size


def close_times(folder: Path, trials: int) -> tuple[float, float]:
    """(max close() ms with nothing queued, max close() ms with a full batch queued)."""
    idle, busy = [], []
    for trial in range(trials):
        for pending, out in ((0, idle), (500, busy)):
            store = HistoryStore(folder / f"close-{trial}-{pending}.sqlite3")
            store.start_run("/bench", "127.0.0.1", 6969)
            for i in range(pending // 4):
                for event in boot(i)[:2] + boot(i)[-2:]:
                    store.record(event)
            begin = time.perf_counter()
            store.close()
            out.append((time.perf_counter() - begin) * 1000)
    return max(idle), max(busy)


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--boots", type=int, default=20000, help="device boots to record")
    parser.add_argument("--threads", type=int, default=4, help="producer threads")
    parser.add_argument("--trials", type=int, default=10, help="close() trials")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="algodesk-history-bench-") as tmp:
        folder = Path(tmp)
        rate, record_us, stored, size = throughput(folder, args.boots, args.threads)
        idle_ms, busy_ms = close_times(folder, args.trials)
    print(f"recorded {args.boots * 6} events from {args.threads} threads, stored {stored}")
    print(f"record() mean cost per call: {record_us:.1f} µs")
    print(f"file size: {size / max(stored, 1):.0f} bytes per stored event")
    print(f"close(): max {idle_ms:.1f} ms idle, max {busy_ms:.1f} ms with 500 events queued")
    print(
        f"history: {rate:,.0f} events/s recorded and committed "
        f"({rate * stored / (args.boots * 6):,.0f} stored/s; progress is dropped)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
