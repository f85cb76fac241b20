"""Memory of the engine processes while they serve a 50 MB firmware to clients at once (loopback).

For one engine (this process) and 2 and 4 worker processes, one client per engine downloads the
whole file (blksize 1428, windowsize 16, md5-checked) and holds back its last ACK until every
client has every block: then every engine is serving the file at once, all of it touched. At
that moment each engine process's RSS and PSS are read (``/proc/PID/smaps_rollup``: PSS splits
a page shared by N processes N ways, so summed PSS is what the engines cost the machine), with
the copies of the file the engines hold: distinct file-backed maps of the file's size across the
processes, plus each process holding it read whole (anonymous memory of at least the file's
size). The parent of worker processes (the app itself) is not counted. The last line is the
headline: summed PSS with 2 workers.

    uv run python tests/bench/tftp_worker_rss.py
"""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from algodesk.services.tftp import TftpServer, TftpSettings
from algodesk.services.tftp.workers import worker
from tests.tftp_helpers import DATA, LOOPBACK, OACK, RRQ, ack, parse, request

SIZE = 50_000_000
BLKSIZE = 1428
WINDOW = 16
_POLL = 0.01


def _rollup(pid: int) -> tuple[float, float]:
    """RSS and PSS of ``pid`` in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if parts and parts[0] in ("Rss:", "Pss:"):
            values[parts[0]] = int(parts[1]) / 1000
    return values["Rss:"], values["Pss:"]


def _copies(pids: list[int]) -> int:
    """Copies of the file the processes hold (see the module docstring)."""
    mapped: set[tuple[str, str]] = set()
    copies = 0
    for pid in pids:
        holds = False
        for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
            fields = line.split()
            start, end = (int(value, 16) for value in fields[0].split("-"))
            if fields[4] != "0" and end - start >= SIZE:
                mapped.add((fields[3], fields[4]))
                holds = True
        anonymous = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                anonymous = int(line.split()[1]) * 1024
        if not holds and anonymous >= SIZE:
            copies += 1
    return copies + len(mapped)


def _download(port: int, digests: list[str], everyone: threading.Barrier) -> None:
    """Fetch the firmware, hashing it as it comes (this process holds none of it); the last
    ACK waits until every client (and the measurement) passed ``everyone``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        sock.settimeout(60)
        sock.sendto(
            request(RRQ, "firmware.sfw", blksize=BLKSIZE, windowsize=WINDOW), (LOOPBACK, port)
        )
        packet, peer = sock.recvfrom(70000)
        assert parse(packet).opcode == OACK, parse(packet)
        sock.sendto(ack(0), peer)
        digest = hashlib.md5(usedforsecurity=False)
        expected, in_window = 1, 0
        while True:
            packet = sock.recv(70000)
            opcode, block = struct.unpack_from("!HH", packet)
            assert opcode == DATA, parse(packet)
            if block != expected & 0xFFFF:  # a lost or repeated block: ask from the last one
                sock.sendto(ack((expected - 1) & 0xFFFF), peer)
                in_window = 0
                continue
            digest.update(packet[4:])
            expected += 1
            in_window += 1
            last = len(packet) - 4 < BLKSIZE
            if last:
                digests.append(digest.hexdigest())
                everyone.wait()
            if last or in_window == WINDOW:
                sock.sendto(ack(block), peer)
                in_window = 0
            if last:
                return


def measure(root: Path, workers: int, expected: str) -> tuple[list[tuple[float, float]], int]:
    """Per engine process (RSS, PSS) in MB while all serve the whole file, and the copies."""
    server = TftpServer(root, "127.0.0.1", 0, settings=TftpSettings(workers=workers))
    server.start()
    try:
        pids = server.worker_pids() or [os.getpid()]
        digests: list[str] = []
        everyone = threading.Barrier(len(pids) + 1, timeout=120)
        clients = [
            threading.Thread(target=_download, args=(server.port, digests, everyone)) for _ in pids
        ]
        for client in clients:  # the balancer gives each idle engine one client
            client.start()
        while everyone.n_waiting < len(pids):  # every client has every block
            if not any(client.is_alive() for client in clients):
                raise SystemExit(f"workers={workers}: a download failed")
            time.sleep(_POLL)
        sample = [_rollup(pid) for pid in pids]
        copies = _copies(pids)
        everyone.wait()
        for client in clients:
            client.join()
        if digests != [expected] * len(pids):
            raise SystemExit(f"workers={workers}: {len(digests)} downloads, md5 wrong or missing")
        return sample, copies
    finally:
        server.stop()


def main() -> int:
    if not worker.AVAILABLE:
        print("skipped: worker processes are Linux's")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = os.urandom(SIZE)
        (root / "firmware.sfw").write_bytes(data)
        expected = hashlib.md5(data, usedforsecurity=False).hexdigest()
        del data
        summed = {}
        for workers in (1, 2, 4):
            peak, copies = measure(root, workers, expected)
            rss = ", ".join(f"{value:.0f}" for value, _pss in peak)
            pss = ", ".join(f"{value:.0f}" for _rss, value in peak)
            summed[workers] = sum(value for _rss, value in peak)
            print(
                f"workers={workers}: RSS [{rss}] MB (sum {sum(v for v, _p in peak):.0f}), "
                f"PSS [{pss}] MB (sum {summed[workers]:.0f}), copies of the file held: {copies}"
            )
    print(
        f"serving a 50 MB file, summed PSS with 2 workers: {summed[2]:.0f} MB "
        f"(one engine {summed[1]:.0f} MB, 4 workers {summed[4]:.0f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
