"""The fleet benchmark: N device-like clients booting at once over a 1 Gbit/s link.

The server runs in one network namespace, N busybox ``tftp`` clients (blksize 512 or 1428, as
embedded devices ask) in another, joined by a veth pair whose both ends are limited to 1 Gbit/s
with ``tc ... tbf``. Each client fetches a config, its md5 and a firmware, one after the other,
and every download is md5-checked. Ours (one engine thread, and worker processes) and tftpd-hpa
are measured side by side in one run.

Figures per (server, N, blksize): makespan (first request to last client done), makespan over
the link's limit (bytes * 8 / rate: 1.00 is the physical floor), server CPU seconds per 1,000
blocks (a cgroup of its own: tftpd-hpa's forked children count), and the server's peak resident
memory (summed over its processes: workers and forked children included).

Needs root (namespaces, tc, cgroups), busybox and tftpd-hpa; skips cleanly otherwise. Namespaces
carry this process's PID and are always deleted; every run is bounded in time.

    sudo uv run python tests/bench/tftp_fleet.py --devices 10 50 200 --blksize 512 1428
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.bench._tftp_peers import (
    TFTPD_HPA,
    CpuGroup,
    busybox_argv,
    exit_on_sigterm,
    have,
    load_line,
    make_file,
    make_root,
    md5_of,
)

SERVER_IP, CLIENT_IP = "10.77.0.1", "10.77.0.2"
PORT = 6969
RATE_BITS = 1_000_000_000
CONFIG, MD5, FIRMWARE = "algop8186.conf", "algop8186.md5", "algo-8186-9.9.9.sfw"

# Our server; at exit it writes why transfers failed or requests were refused (argv[5]).
_OURS = """
import collections, json, signal, sys, threading
from pathlib import Path
from algodesk.core import events as ev
from algodesk.services.tftp import TftpServer, TftpSettings
endings = collections.Counter()
asked, waits = {}, []
def sink(event):
    if isinstance(event, ev.RequestReceived):
        asked[event.client] = event.time
    elif isinstance(event, ev.TransferStarted) and event.client in asked:
        waits.append(event.time - asked.pop(event.client))
    if isinstance(event, ev.TransferFailed):
        endings["failed: " + event.reason] += 1
    elif isinstance(event, ev.RequestRefused):
        endings["refused: " + event.detail] += 1
extra = json.loads(sys.argv[6])
server = TftpServer(Path(sys.argv[1]), address=sys.argv[2], port=int(sys.argv[3]), sink=sink,
                    settings=TftpSettings(workers=int(sys.argv[4]), **extra))
server.start()
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *args: done.set())
while not done.wait(0.5):
    pass
server.stop()
if waits:
    waits.sort()
    at = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))] * 1000
    endings[f"started after its request: p50 {at(0.5):.0f} ms, p99 {at(0.99):.0f} ms, "
            f"max {waits[-1] * 1000:.0f} ms, of"] = len(waits)
Path(sys.argv[5]).write_text(json.dumps(endings))
"""


def skip_reason() -> str:
    """Why this machine cannot run the benchmark ('' when it can)."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root (network namespaces, tc, cgroups)"
    missing = [t for t in ("ip", "tc") if shutil.which(t) is None]
    if not have("busybox-tftp"):
        missing.append("busybox tftp")
    if not Path(TFTPD_HPA).exists():
        missing.append("tftpd-hpa")
    return f"missing {', '.join(missing)}" if missing else ""


def _run(*argv: str, check: bool = True) -> None:
    subprocess.run(argv, check=check, capture_output=True, timeout=30)


@contextmanager
def link(prefix: str) -> Iterator[tuple[str, str]]:
    """Two namespaces joined by a veth pair limited to 1 Gbit/s each way; always deleted."""
    server, clients = f"{prefix}-srv", f"{prefix}-cli"
    made: list[str] = []
    try:
        for name in (server, clients):
            _run("ip", "netns", "add", name)
            made.append(name)
            _run("ip", "-n", name, "link", "set", "lo", "up")
        _run(
            "ip",
            "-n",
            server,
            "link",
            "add",
            "eth0",
            "type",
            "veth",
            "peer",
            "eth1",
            "netns",
            clients,
        )
        for name, dev, address in ((server, "eth0", SERVER_IP), (clients, "eth1", CLIENT_IP)):
            _run("ip", "-n", name, "addr", "add", f"{address}/24", "dev", dev)
            _run("ip", "-n", name, "link", "set", dev, "up")
            _run(
                "ip",
                "netns",
                "exec",
                name,
                "tc",
                "qdisc",
                "add",
                "dev",
                dev,
                "root",
                "tbf",
                "rate",
                "1gbit",
                "burst",
                "256kb",
                "latency",
                "20ms",
            )
        yield server, clients
    finally:
        for name in reversed(made):
            _run("ip", "netns", "del", name, check=False)


class RssPeak:
    """The peak of the summed resident memory of a cgroup's processes (workers and forked
    children included), sampled every 50 ms on a thread of its own."""

    def __init__(self, group: CpuGroup) -> None:
        self._procs = group.path / "cgroup.procs"
        self.peak_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.05):
            total = 0
            for pid in self._procs.read_text().split():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            self.peak_kb = max(self.peak_kb, total)

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._done.set()
        self._thread.join()
        return self.peak_kb / 1000


@dataclass
class Result:
    server: str
    devices: int
    blksize: int
    makespan: float
    limit: float
    cpu: float
    blocks: int
    peak_mb: float
    bad: int
    endings: str = ""
    bad_files: str = ""
    """For each bad download: the file asked for and what came instead."""
    clients_failed: str = ""
    """What the clients that exited with an error printed (busybox: "timeout", an ERROR...)."""

    def row(self) -> str:
        per_k = self.cpu / self.blocks * 1000
        return (
            f"{self.server:<12} {self.devices:>4} {self.blksize:>5} {self.makespan:>8.2f} s "
            f"{self.makespan / self.limit:>6.2f}x {per_k:>7.3f} s {self.peak_mb:>7.1f} MB "
            f"{'all md5 ok' if not self.bad else f'{self.bad} BAD'} {self.endings}"
            f"{'; clients: ' + self.clients_failed if self.clients_failed else ''}"
            f"{'; bad: ' + self.bad_files if self.bad_files else ''}"
        ).rstrip()


def _what_came(
    wrong: list[tuple[int, str]],
    got: dict[tuple[int, str], str],
    sizes: dict[str, tuple[int, str]],
    out: Path,
) -> str:
    """``algop8186.conf <- algop8186.md5 (33 B)``: what each bad download received instead."""
    by_digest = {digest: name for name, (_size, digest) in sizes.items()}
    told = []
    for n, name in wrong:
        path = out / f"{n}-{name}"
        size = path.stat().st_size if path.exists() else -1
        told.append(f"{name} <- {by_digest.get(got[(n, name)], 'other bytes')} ({size} B)")
    return ", ".join(sorted(set(told)))


OURS_SETTINGS: dict[str, object] = {}  # --ours KEY=VALUE


def _server_argv(kind: str, root: Path) -> list[str]:
    if kind == "tftpd-hpa":
        return [TFTPD_HPA, "-L", "-s", str(root), "-a", f"{SERVER_IP}:{PORT}"]
    if kind == "python-floor":  # a yardstick: the least a Python server does per packet
        floor = Path(__file__).with_name("_python_floor.py")
        return [sys.executable, str(floor), str(root), str(PORT), SERVER_IP]
    workers = {"ours": "1", "ours-w2": "2"}[kind]
    endings = root.parent / "endings.json"
    extra = json.dumps(OURS_SETTINGS)
    return [
        sys.executable,
        "-c",
        _OURS,
        str(root),
        SERVER_IP,
        str(PORT),
        workers,
        str(endings),
        extra,
    ]


def _wait_bound(namespace: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        out = subprocess.run(
            ["ip", "netns", "exec", namespace, "ss", "-Hlun"], capture_output=True, text=True
        ).stdout
        if f"{SERVER_IP}:{PORT}" in out:
            return
        time.sleep(0.1)
    raise RuntimeError("server did not bind")


def run_one(
    kind: str,
    devices: int,
    blksize: int,
    root: Path,
    sizes: dict[str, tuple[int, str]],
    spaces: tuple[str, str],
    out: Path,
) -> Result:
    server_ns, client_ns = spaces
    cpu = CpuGroup.create(f"algodesk-fleet-{kind}")
    assert cpu is not None, "no cgroup for CPU accounting"
    memory: RssPeak | None = None
    process = subprocess.Popen(
        ["ip", "netns", "exec", server_ns, *_server_argv(kind, root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    clients: list[subprocess.Popen[bytes]] = []
    errors = out.parent / "client-errors"
    errors.mkdir(exist_ok=True)
    try:
        cpu.add(process.pid)  # ip netns exec execs the server: same PID
        _wait_bound(server_ns, process)
        memory = RssPeak(cpu)
        total = sum(size for size, _md5 in sizes.values()) * devices
        limit = total * 8 / RATE_BITS
        before = cpu.cpu_seconds()
        started = time.monotonic()
        for n in range(devices):
            steps = [
                " ".join(busybox_argv(PORT, name, out / f"{n}-{name}", blksize, SERVER_IP))
                for name in sizes
            ]
            with (errors / f"{n}.txt").open("wb") as stderr:
                clients.append(
                    subprocess.Popen(
                        ["ip", "netns", "exec", client_ns, "sh", "-c", " && ".join(steps)],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=stderr,
                    )
                )
        bound = limit * 20 + 60  # a run never outlasts this
        for client in clients:
            client.wait(timeout=max(1.0, bound - (time.monotonic() - started)))
        makespan = time.monotonic() - started
        used = cpu.cpu_seconds() - before
        got = {(n, name): md5_of(out / f"{n}-{name}") for n in range(devices) for name in sizes}
        wrong = [(n, name) for (n, name), digest in got.items() if digest != sizes[name][1]]
        bad = len(wrong)
        blocks = devices * sum(size // blksize + 1 for size, _md5 in sizes.values())
        peak = memory.stop()
        result = Result(kind, devices, blksize, makespan, limit, used, blocks, peak, bad)
        said = Counter(
            ((errors / f"{n}.txt").read_text(errors="replace").strip().splitlines() or ["?"])[-1]
            for n, client in enumerate(clients)
            if client.returncode
        )
        result.clients_failed = ", ".join(f"{count} {what!r}" for what, count in said.items())
        result.bad_files = _what_came(wrong, got, sizes, out)
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
                client.wait()
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for folder in (out, errors):
            for path in folder.iterdir():
                path.unlink()
        if memory is not None:
            memory.stop()
        cpu.remove()
    endings = root.parent / "endings.json"
    if endings.exists():
        counts = json.loads(endings.read_text())
        endings.unlink()
        result.endings = "; ".join(f"{n} {why}" for why, n in sorted(counts.items()))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--blksize", type=int, nargs="+", default=[512, 1428])
    parser.add_argument(
        "--servers",
        nargs="+",
        default=["ours", "ours-w2", "tftpd-hpa"],
        choices=["ours", "ours-w2", "tftpd-hpa", "python-floor"],
        help="python-floor: tests/bench/_python_floor.py, the least a Python server can do",
    )
    parser.add_argument("--firmware-mb", type=float, default=30.0)
    parser.add_argument(
        "--ours", nargs="*", default=[], metavar="KEY=VALUE", help="TftpSettings of ours (int)"
    )
    args = parser.parse_args(argv)
    for item in args.ours:
        key, _, value = item.partition("=")
        OURS_SETTINGS[key] = int(value)
    reason = skip_reason()
    if reason:
        print(f"skipped: {reason}")
        return 0
    exit_on_sigterm()
    print(load_line("before"))
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="algodesk-fleet-") as tmp:
        root = make_root(Path(tmp) / "root")
        out = Path(tmp) / "out"
        out.mkdir()
        sizes = {
            CONFIG: (1700, make_file(root, CONFIG, 1700, 1)),
            MD5: (33, make_file(root, MD5, 33, 2)),
            FIRMWARE: (
                int(args.firmware_mb * 1e6),
                make_file(root, FIRMWARE, int(args.firmware_mb * 1e6), 3),
            ),
        }
        with link(f"afl{os.getpid()}") as spaces:
            print(
                f"{'server':<12} {'N':>4} {'blk':>5} {'makespan':>10} {'/limit':>7} "
                f"{'CPU/1kblk':>9} {'peak':>10}"
            )
            for devices in args.devices:
                for blksize in args.blksize:
                    for kind in args.servers:
                        result = run_one(kind, devices, blksize, root, sizes, spaces, out)
                        results.append(result)
                        print(result.row(), flush=True)
    print(load_line("after"))
    worst = max(r.makespan / r.limit for r in results)
    print(f"fleet: {len(results)} runs, every download md5-checked, worst {worst:.2f}x the link")
    return 0


if __name__ == "__main__":
    sys.exit(main())
