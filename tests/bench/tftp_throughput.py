"""Throughput of our TFTP engine against tftpd-hpa and tftpy's stock server, on loopback.

N concurrent curl clients each fetch one file (16 MiB by default) at blksize 512 and 1428 from
each server in turn; every download is md5-checked. Prints aggregate MiB/s and the server's CPU
seconds per run, then, on the last line, ours/tftpd-hpa at N=50, blksize 1428.

    uv run python tests/bench/tftp_throughput.py [--quick] [--servers ours,tftpd-hpa,tftpy]
        [--ours workers=1]

``ours`` runs with its default settings (on Linux: one worker process per CPU, at most 4). A
server may carry settings of our engine after ``@``, e.g. ``--servers ours,ours@workers=1`` to
compare the single-process engine side by side (the ratio column stays ``ours``/tftpd-hpa).
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import _tftp_peers as peers

MIB = 1 << 20


@dataclass(frozen=True)
class Run:
    """One measured round: a server, a block size, N clients."""

    server: str
    blksize: int
    clients: int
    seconds: float
    cpu_seconds: float
    mib: float

    @property
    def mib_per_second(self) -> float:
        """Aggregate throughput of all clients together."""
        return self.mib / self.seconds


def measure(
    server: peers.ServerProcess,
    name: str,
    md5: str,
    size: int,
    blksize: int,
    clients: int,
    out: Path,
) -> Run:
    """Start ``clients`` curls at once, wait for all, check every file; returns the figures."""
    outputs = [out / f"{server.name}-{blksize}-{clients}-{i}.bin" for i in range(clients)]
    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            peers.curl_argv(server.port, name, target, blksize),
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for target in outputs
    ]
    errors = [proc.communicate()[1] for proc in procs]
    seconds = time.perf_counter() - started
    # Forked transfer children (tftpd-hpa) may still be exiting after their final ACK.
    time.sleep(0.2)
    cpu = server.cpu_seconds() - cpu_before
    bad = [
        f"{target.name}: exit {proc.returncode} {error.decode(errors='replace').strip()}"
        for proc, target, error in zip(procs, outputs, errors, strict=True)
        if proc.returncode != 0 or peers.md5_of(target) != md5
    ]
    for target in outputs:
        target.unlink(missing_ok=True)
    if bad:
        raise SystemExit(f"{server.name}: {len(bad)} bad downloads, e.g. {bad[0]}")
    return Run(server.name, blksize, clients, seconds, cpu, clients * size / MIB)


def _median(runs: list[Run]) -> Run:
    """The round with the median time (its CPU figure comes with it)."""
    return sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


def main() -> None:
    """Run the benchmark and print the table and the headline ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 MiB file, N = 1 and 10")
    parser.add_argument("--size", type=float, help="file size in MiB (default 16)")
    parser.add_argument("--clients", help="comma-separated N values (default 1,10,50)")
    parser.add_argument("--blksizes", default="512,1428", help="comma-separated block sizes")
    parser.add_argument("--servers", default="ours,tftpd-hpa,tftpy", help="comma-separated")
    parser.add_argument("--repeat", type=int, default=1, help="rounds per setting (median)")
    parser.add_argument(
        "--ours",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a TftpSettings field for our engine, e.g. workers=2 (repeatable)",
    )
    args = parser.parse_args()
    size = int((args.size or (4 if args.quick else 16)) * MIB)
    clients = [int(n) for n in (args.clients or ("1,10" if args.quick else "1,10,50")).split(",")]
    blksizes = [int(b) for b in args.blksizes.split(",")]
    servers = args.servers.split(",")
    ours_settings = dict(item.split("=", 1) for item in args.ours)

    peers.exit_on_sigterm()
    print(peers.load_line("at start"))
    print(f"file {size / MIB:g} MiB, curl clients, loopback")
    if ours_settings:
        print(f"ours with {ours_settings}")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="algodesk-bench-") as tmp, ExitStack() as stack:
        root = peers.make_root(Path(tmp) / "root")
        out = Path(tmp) / "out"
        out.mkdir()
        md5 = peers.make_file(root, "bench.bin", size)
        started: list[peers.ServerProcess] = []
        for label in servers:
            name, _, extra = label.partition("@")
            settings = dict(ours_settings) if name == "ours" else {}
            settings.update(item.split("=", 1) for item in extra.split(",") if item)
            try:
                server = stack.enter_context(peers.SERVERS[name](root, **settings))
            except (RuntimeError, OSError) as error:
                print(f"{label}: could not start: {error}")
                continue
            server.name = label
            started.append(server)
            if not server.counts_children:
                print(f"{label}: no cgroup; CPU excludes children the server never waited for")
        # Servers take turns at each setting, so a change in the machine's load (it is shared)
        # hits them alike; with --repeat, each figure is the median of the rounds.
        for blksize in blksizes:
            for n in clients:
                rounds: dict[str, list[Run]] = {server.name: [] for server in started}
                for _ in range(args.repeat):
                    for server in started:
                        rounds[server.name].append(
                            measure(server, "bench.bin", md5, size, blksize, n, out)
                        )
                for measured in rounds.values():
                    run = _median(measured)
                    runs.append(run)
                    print(
                        f"  {run.server:<10} blksize {blksize:>5}  N={n:<3}"
                        f" {run.mib_per_second:8.1f} MiB/s  {run.seconds:7.2f} s"
                        f"  server CPU {run.cpu_seconds:6.2f} s",
                        flush=True,
                    )
    print(peers.load_line("at end"))
    print_table(runs, servers, blksizes, clients)


def print_table(
    runs: list[Run], servers: list[str], blksizes: list[int], clients: list[int]
) -> None:
    """The summary table and, last, the headline ratio."""
    by_key = {(r.server, r.blksize, r.clients): r for r in runs}
    header = f"{'blksize':>7} {'N':>3} " + "".join(
        f"{s + ' MiB/s':>17}{'CPU s':>8}" for s in servers
    )
    print()
    print(header + f"{'ours/hpa':>10}")
    for blksize in blksizes:
        for n in clients:
            line = f"{blksize:>7} {n:>3} "
            for server in servers:
                run = by_key.get((server, blksize, n))
                line += (
                    f"{run.mib_per_second:>17.1f}{run.cpu_seconds:>8.2f}"
                    if run
                    else f"{'-':>17}{'-':>8}"
                )
            line += f"{_ratio(by_key, blksize, n):>10}"
            print(line)
    n, blksize = max(clients), 1428 if 1428 in blksizes else max(blksizes)
    print(f"ratio ours/tftpd-hpa N={n} blksize={blksize}: {_ratio(by_key, blksize, n)}")


def _ratio(by_key: dict[tuple[str, int, int], Run], blksize: int, n: int) -> str:
    ours, hpa = by_key.get(("ours", blksize, n)), by_key.get(("tftpd-hpa", blksize, n))
    if ours is None or hpa is None:
        return "n/a"
    return f"{ours.mib_per_second / hpa.mib_per_second:.2f}"


if __name__ == "__main__":
    main()
