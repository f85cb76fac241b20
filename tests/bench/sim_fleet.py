"""Benchmark: N virtual devices booting at once against a TFTP server on loopback.

Each device fetches a realistic generic config (a 16 KB sample) and its md5 three times, a
firmware image and a tone file with its md5, as a factory device does on the bench (config
applied, firmware installed, tones stored: two reboots). Servers run in their own processes
(our engine, tftpd-hpa), started and stopped by PID. Prints one line per server; the last line
is the headline: our engine's files per second.

    uv run python tests/bench/sim_fleet.py [--devices 200] [--firmware-kib 512] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from algodesk.core.md5 import write_md5
from algodesk.core.simulator import DeviceState, device_macs
from algodesk.services.sim_fleet import SimFleet
from algodesk.services.tftp_client import tftp_fetcher
from tests.bench import _tftp_peers as peers

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "fpbx-8196-2025__algom_mac_.conf"
PRODUCT = "8196"
VERSION = "5.4f"


def make_bench_root(path: Path, firmware_kib: int) -> Path:
    """A bench folder with a generic config that names firmware and tones."""
    root = peers.make_root(path)
    lines = [
        line
        for line in SAMPLE.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        if not line.startswith(
            ("prov.version.firmware", "prov.data.", "prov.server", "prov.download")
        )
    ]
    lines += [f"prov.version.firmware = {VERSION}", "prov.data.tone = tones.zip"]
    config = root / f"algop{PRODUCT}.conf"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
    write_md5(config)
    peers.make_file(root, f"algo-{PRODUCT}-{VERSION}.sfw", firmware_kib * 1024, seed=1)
    peers.make_file(root, "tones.zip", 200 * 1024, seed=2)
    write_md5(root / "tones.zip")
    for file in root.iterdir():
        file.chmod(0o644)
    return root


def run_fleet(port: int, devices: int) -> tuple[float, int, int, int]:
    """Boot ``devices`` at once; returns (seconds, steady, files, bytes)."""
    states = [
        DeviceState(mac=mac, product=PRODUCT, firmware="5.3")
        for mac in device_macs("00:22:EE:00:00:01", devices)
    ]
    fleet = SimFleet(
        states, lambda cancel: tftp_fetcher(peers.HOST, port, timeout=1.0, cancel=cancel)
    )
    started = time.perf_counter()
    fleet.start()
    try:
        fleet.wait()
    finally:
        fleet.stop()
    seconds = time.perf_counter() - started
    totals = fleet.totals()
    return seconds, totals.steady, totals.files, totals.bytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--firmware-kib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3, help="median of this many runs")
    parser.add_argument("--servers", default="tftpd-hpa,ours", help="comma-separated")
    args = parser.parse_args()
    headline = ""
    with tempfile.TemporaryDirectory(prefix="algodesk-bench-") as tmp:
        root = make_bench_root(Path(tmp) / "root", args.firmware_kib)
        for name in args.servers.split(","):
            if name == "tftpd-hpa" and not peers.have(peers.TFTPD_HPA):
                print("tftpd-hpa: not installed, skipped")
                continue
            with peers.SERVERS[name](root) as server:
                runs = [run_fleet(server.port, args.devices) for _ in range(args.rounds)]
                cpu = server.cpu_seconds()
            seconds = statistics.median(r[0] for r in runs)
            steady = min(r[1] for r in runs)
            files, size = runs[0][2], runs[0][3]
            line = (
                f"{name}: {steady}/{args.devices} devices steady; {files} files, "
                f"{size / 1e6:.1f} MB in {seconds:.2f} s (median of {args.rounds}) = "
                f"{files / seconds:.0f} files/s, {size / 1e6 / seconds:.1f} MB/s; "
                f"server CPU {cpu:.2f} s for {args.rounds} runs"
            )
            print(line, flush=True)
            if name == "ours":
                headline = f"ours: {files / seconds:.0f} files/s ({args.devices} devices)"
    if headline:
        print(headline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
