"""Recovery from packet loss: our TFTP engine against tftpd-hpa, through the lossy relay.

busybox tftp (an embedded client that sends no ``timeout`` option, so the server's own
retransmission timer decides) fetches a 2 MiB file at blksize 1428 through the relay at 2% loss
each way, once per seed, after lossless runs through the same relay. Prints per-run figures and
medians; the cost per lost packet is (time - lossless time) / packets dropped. Last line e.g.
``loss 2%: ours 0.41 s, tftpd-hpa 6.3 s, ratio 0.065, 18 ms per lost packet``. ``--direction``
drops one way only, to split the cost: ``to-client`` loses DATA, ``to-server`` loses ACKs.

    uv run python tests/bench/tftp_loss.py [--runs 5] [--loss 0.02] [--servers ours,tftpd-hpa]
        [--direction both|to-client|to-server] [--ours min_timeout=0.03]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import _tftp_peers as peers

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.lossy_relay import Direction, Impairment, LossyRelay

BLKSIZE = 1428
SIZE = 2 << 20
NAME = "loss.bin"


@dataclass(frozen=True)
class Fetch:
    """One busybox download through the relay."""

    seconds: float
    dropped: int


def fetch_through_relay(
    server: peers.ServerProcess, md5: str, out: Path, loss: float, seed: int, direction: str
) -> Fetch:
    """Fetch the file with busybox through a relay dropping ``loss`` (``direction``: one way or
    "both"); md5-checked."""
    target = out / f"{server.name}-{seed}.bin"
    up = loss if direction in ("both", Direction.TO_SERVER) else 0.0
    down = loss if direction in ("both", Direction.TO_CLIENT) else 0.0
    relay = LossyRelay(
        (peers.HOST, server.port),
        to_server=Impairment(drop=up),
        to_client=Impairment(drop=down),
        seed=seed,
    )
    with relay:
        started = time.perf_counter()
        result = peers.fetch(peers.busybox_argv(relay.port, NAME, target, BLKSIZE), timeout=600)
        seconds = time.perf_counter() - started
        dropped = relay.counts().dropped
    ok = result.returncode == 0 and peers.md5_of(target) == md5
    target.unlink(missing_ok=True)
    if not ok:
        detail = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
        raise SystemExit(f"{server.name} seed {seed}: download failed or corrupt: {detail[0]}")
    return Fetch(seconds, dropped)


@dataclass(frozen=True)
class Summary:
    """Medians for one server."""

    lossless: float
    lossy: float
    dropped: float
    per_lost_ms: float


def bench_server(
    server: peers.ServerProcess, md5: str, out: Path, loss: float, runs: int, direction: str
) -> Summary:
    """Lossless runs, then one lossy run per seed; prints each and returns the medians."""
    clean = [
        fetch_through_relay(server, md5, out, 0.0, seed, direction).seconds for seed in range(runs)
    ]
    lossless = statistics.median(clean)
    print(f"  {server.name:<10} lossless: median {lossless:.3f} s of {runs}", flush=True)
    fetches = []
    for seed in range(1, runs + 1):
        fetch = fetch_through_relay(server, md5, out, loss, seed, direction)
        fetches.append(fetch)
        cost = (fetch.seconds - lossless) / fetch.dropped * 1000 if fetch.dropped else 0.0
        print(
            f"  {server.name:<10} seed {seed}: {fetch.seconds:7.3f} s, {fetch.dropped:3} dropped,"
            f" {cost:7.1f} ms per lost packet",
            flush=True,
        )
    costs = [(f.seconds - lossless) / f.dropped * 1000 for f in fetches if f.dropped]
    return Summary(
        lossless,
        statistics.median(f.seconds for f in fetches),
        statistics.median(f.dropped for f in fetches),
        statistics.median(costs) if costs else 0.0,
    )


def main() -> None:
    """Run the benchmark and print the per-run lines, the medians and the headline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="seeds per server (default 5)")
    parser.add_argument("--loss", type=float, default=0.02, help="drop probability each way")
    parser.add_argument("--servers", default="ours,tftpd-hpa", help="comma-separated")
    parser.add_argument(
        "--direction",
        choices=["both", Direction.TO_CLIENT.value, Direction.TO_SERVER.value],
        default="both",
        help="which way packets are dropped (to-client: DATA, to-server: ACKs)",
    )
    parser.add_argument(
        "--ours",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a TftpSettings field for our engine, e.g. min_timeout=0.05 (repeatable)",
    )
    args = parser.parse_args()
    ours_settings = dict(item.split("=", 1) for item in args.ours)
    if not peers.have("busybox-tftp"):
        raise SystemExit("busybox with its tftp applet is needed")

    peers.exit_on_sigterm()
    print(peers.load_line("at start"))
    way = "each way" if args.direction == "both" else args.direction
    print(f"busybox tftp, {SIZE >> 20} MiB, blksize {BLKSIZE}, {args.loss:.0%} loss {way}")
    if ours_settings:
        print(f"ours with {ours_settings}")
    summaries: dict[str, Summary] = {}
    with tempfile.TemporaryDirectory(prefix="algodesk-bench-") as tmp:
        root = peers.make_root(Path(tmp) / "root")
        out = Path(tmp) / "out"
        out.mkdir()
        md5 = peers.make_file(root, NAME, SIZE)
        for name in args.servers.split(","):
            settings = ours_settings if name == "ours" else {}
            try:
                server = peers.SERVERS[name](root, **settings)
            except (RuntimeError, OSError) as error:
                print(f"{name}: could not start: {error}")
                continue
            with server:
                summaries[name] = bench_server(
                    server, md5, out, args.loss, args.runs, args.direction
                )

    print(peers.load_line("at end"))
    print()
    print(f"{'server':<10} {'lossless s':>10} {'lossy s':>9} {'dropped':>8} {'ms/lost':>8}")
    for name, s in summaries.items():
        print(
            f"{name:<10} {s.lossless:>10.3f} {s.lossy:>9.3f} {s.dropped:>8.0f} {s.per_lost_ms:>8.1f}"
        )
    ours, hpa = summaries.get("ours"), summaries.get("tftpd-hpa")
    ratio = f"{ours.lossy / hpa.lossy:.3f}" if ours and hpa else "n/a"
    print(
        f"loss {args.loss:.0%}: ours {ours.lossy:.2f} s"
        if ours
        else f"loss {args.loss:.0%}: ours n/a",
        f"tftpd-hpa {hpa.lossy:.2f} s" if hpa else "tftpd-hpa n/a",
        f"ratio {ratio}",
        f"{ours.per_lost_ms:.0f} ms per lost packet" if ours else "n/a ms per lost packet",
        sep=", ",
    )


if __name__ == "__main__":
    main()
