"""Where the CPU goes per packet when N curl clients fetch from one server on loopback.

For one server (ours, tftpd-hpa, tftpy) and one setting, prints the server's and the clients'
user and system CPU microseconds per DATA packet, the machine's idle share, and interrupts and
context switches per packet. On a machine whose clients share the CPUs with the server, the
throughput is about (CPUs x (1 - idle)) / (server + clients per packet): this tells which term
to work on. The server's split comes from its cgroup (root); without one, from its own
/proc/<pid>/stat (its forked children are then missing: tftpd-hpa's are).

    uv run python tests/bench/tftp_cpu_split.py [--server ours] [--clients 10] [--blksize 512]
        [--size 32] [--ours workers=1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import _tftp_peers as peers

MIB = 1 << 20


def _machine() -> tuple[list[int], int, int]:
    """CPU time columns of all CPUs, interrupts and context switches so far."""
    cpu: list[int] = []
    interrupts = switches = 0
    with open("/proc/stat") as stat:
        for line in stat:
            name, *values = line.split()
            if name == "cpu":
                cpu = [int(value) for value in values]
            elif name == "intr":
                interrupts = int(values[0])
            elif name == "ctxt":
                switches = int(values[0])
    return cpu, interrupts, switches


def main() -> None:
    """Run one setting and print the split; the last line is the total CPU per packet."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="ours", choices=sorted(peers.SERVERS))
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--blksize", type=int, default=512)
    parser.add_argument("--size", type=float, default=32, help="file size in MiB")
    parser.add_argument("--ours", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.ours) if args.server == "ours" else {}
    size = int(args.size * MIB)
    packets = args.clients * (size // args.blksize + 1)

    peers.exit_on_sigterm()
    print(peers.load_line("at start"))
    with tempfile.TemporaryDirectory(prefix="algodesk-bench-") as tmp:
        root = peers.make_root(Path(tmp) / "root")
        out = Path(tmp) / "out"
        out.mkdir()
        md5 = peers.make_file(root, "bench.bin", size)
        with peers.SERVERS[args.server](root, **settings) as server:
            user0, system0 = server.cpu_split()
            cpu0, interrupts0, switches0 = _machine()
            started = time.perf_counter()
            targets = [out / f"{i}.bin" for i in range(args.clients)]
            procs = [
                subprocess.Popen(
                    peers.curl_argv(server.port, "bench.bin", target, args.blksize),
                    stdin=subprocess.DEVNULL,
                )
                for target in targets
            ]
            usage = [os.wait4(proc.pid, 0)[2] for proc in procs]
            seconds = time.perf_counter() - started
            cpu1, interrupts1, switches1 = _machine()
            time.sleep(0.2)  # forked transfer children (tftpd-hpa) may still be exiting
            user1, system1 = server.cpu_split()
        bad = [target.name for target in targets if peers.md5_of(target) != md5]
        if bad:
            raise SystemExit(f"{args.server}: {len(bad)} bad downloads")

    def per_packet(seconds: float) -> float:
        return seconds / packets * 1e6

    deltas = [after - before for before, after in zip(cpu0, cpu1, strict=True)]
    idle = deltas[3] / max(1, sum(deltas))
    server_us = per_packet(user1 - user0) + per_packet(system1 - system0)
    client_user = per_packet(sum(u.ru_utime for u in usage))
    client_system = per_packet(sum(u.ru_stime for u in usage))
    label = f"{args.server}{' ' + str(settings) if settings else ''}"
    print(f"{label}: N={args.clients} blksize={args.blksize} {args.size:g} MiB each")
    print(f"  {args.clients * size / MIB / seconds:.1f} MiB/s, {packets} DATA packets")
    print(
        f"  server  user {per_packet(user1 - user0):5.2f}  sys {per_packet(system1 - system0):5.2f}"
        " us/packet"
    )
    print(f"  clients user {client_user:5.2f}  sys {client_system:5.2f} us/packet")
    print(
        f"  idle {idle:.0%}, interrupts {(interrupts1 - interrupts0) / packets:.2f}/packet,"
        f" context switches {(switches1 - switches0) / packets:.2f}/packet"
    )
    print(
        f"CPU per packet: server {server_us:.2f} us + clients {client_user + client_system:.2f} us"
    )


if __name__ == "__main__":
    main()
