"""Resident memory of the engine processes while each serves a 50 MB firmware (loopback).

Each engine (the one thread, or each worker process) reads a file it serves into its own cache,
so with N workers a firmware is held N times. One engine by default keeps one copy.

    uv run python tests/bench/tftp_worker_rss.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from algodesk.services.tftp import TftpServer, TftpSettings
from algodesk.services.tftp.workers import worker
from tests.tftp_helpers import DATA, RawClient

SIZE = 50_000_000


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1000
    return 0.0


def measure(root: Path, workers: int) -> list[float]:
    """RSS (MB) of each engine process with one client of the firmware per engine."""
    server = TftpServer(root, "127.0.0.1", 0, settings=TftpSettings(workers=workers))
    server.start()
    try:
        pids = server.worker_pids() or [os.getpid()]
        clients = [RawClient(server.port, timeout=60) for _ in pids]
        try:
            for client in clients:  # the balancer gives each idle engine one client
                client.rrq("firmware.sfw")
            for client in clients:
                assert client.recv().opcode == DATA
            time.sleep(0.5)
            return [_rss_mb(pid) for pid in pids]
        finally:
            for client in clients:
                client.close()
    finally:
        server.stop()


def main() -> int:
    if not worker.AVAILABLE:
        print("skipped: worker processes are Linux's")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "firmware.sfw").write_bytes(os.urandom(SIZE))
        totals = {}
        for workers in (1, 2, 4):
            rss = measure(root, workers)
            totals[workers] = sum(rss)
            each = ", ".join(f"{value:.0f}" for value in rss)
            print(f"workers={workers}: RSS per engine process [{each}] MB, total {sum(rss):.0f} MB")
    print(
        f"serving a 50 MB file: one engine {totals[1]:.0f} MB, "
        f"2 workers {totals[2]:.0f} MB, 4 workers {totals[4]:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
