"""Benchmark: the live view under 200 (or 500) devices booting at full speed, again and again.

The whole app runs offscreen in this process (window, TFTP engine in its default mode, history)
serving a realistic folder on 127.0.0.1; ``algodesk simulate --devices N`` boots the virtual
devices (each from its own loopback address by default, so the live view tells them apart) as a
subprocess, round after round until the soak time is over. A 10 ms QTimer
probes the GUI event loop: how late each tick fires is the latency a technician would feel.
Resident memory is sampled every second; growth compares the second quarter of the run with the
last one. Goals: p99 under 50 ms, RSS under 250 MB, no growth over a 10-minute soak.

    uv run python tests/bench/gui_liveview.py [--devices 200] [--duration 60] [--page live]
        [--workers N]   # engine worker processes instead of the app's engine thread
        [--devices-share 128]   # the virtual devices' CPU cgroup weight; 0: none

Latency is wall-clock: on a machine loaded by other work it measures the machine too (the load
average is printed); the GUI thread's own CPU time is printed as well. On a bench the devices
are other computers; here ``simulate`` runs a thread per device on the app's two CPUs, and 500
runnable threads would outweigh the app's few whatever their niceness. So, as root, they run in
a CPU cgroup of weight 128 (the app's threads weigh 1024 each): they get what the app leaves,
as the machine's idle share would be on a real bench. ``--devices-share 0`` measures without.

The last line is the headline: the p99 GUI latency.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from algodesk import app as app_module
from algodesk.app import compose
from algodesk.core.diagnosis import Level
from algodesk.services.paths import beside
from algodesk.services.settings import Settings, SettingsStore
from algodesk.services.tftp import TftpSettings
from algodesk.ui.main_window import PAGES
from tests.bench._latency import LatencyProbe
from tests.bench._memory import rss_mb
from tests.bench.virtual_devices import PRODUCT, make_bench_folder

BASE_MAC = "00:22:EE:10:00:00"
INSTALLED_FIRMWARE = "5.3"  # older than the folder's, so every boot fetches the firmware too


class DeviceGroup:
    """A CPU cgroup (v1 ``cpu.shares`` or v2 ``cpu.weight``) for the virtual devices' process.

    ``simulate`` runs a thread per device: 500 runnable threads outweigh the app's few on two
    CPUs whatever their niceness (nice is per thread), so only a group caps their share.
    """

    def __init__(self, path: Path, share: int, control: str) -> None:
        self.path, self.share, self.control = path, share, control

    @classmethod
    def create(cls, share: int) -> DeviceGroup | None:
        """A new group of ``share`` (v2: scaled to cpu.weight), or None without root/cgroups."""
        name = f"algodesk-devices-{os.getpid()}"
        for parent, control, value in (
            (Path("/sys/fs/cgroup/cpu"), "cpu.shares", share),
            (Path("/sys/fs/cgroup"), "cpu.weight", max(1, share * 100 // 1024)),
        ):
            if not (parent / "cgroup.procs").exists():
                continue
            try:
                (parent / name).mkdir()
                (parent / name / control).write_text(str(value))
            except OSError:
                continue
            return cls(parent / name, value, control)
        return None

    def describe(self) -> str:
        return f"in a CPU cgroup, {self.control} {self.share}"

    def add(self, pid: int) -> None:
        with contextlib.suppress(OSError):  # it may have ended already
            (self.path / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()


class Rounds:
    """Runs ``algodesk simulate`` for the fleet again and again until ``end`` (monotonic); each
    round writes its JSON summary into ``folder``."""

    def __init__(
        self, port: int, devices: int, end: float, folder: Path, group: DeviceGroup | None
    ) -> None:
        self.group = group
        self.command = [
            sys.executable,
            "-m",
            "algodesk",
            "simulate",
            "--server",
            f"127.0.0.1:{port}",
            "--devices",
            str(devices),
            "--mac",
            BASE_MAC,
            "--product",
            PRODUCT,
            "--firmware",
            INSTALLED_FIRMWARE,
            "--json",
        ]
        self.end = end
        self.totals: list[dict[str, float]] = []
        self.failures: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._output = folder / "round.json"

    def step(self) -> bool:
        """Collect a finished round and start the next; False once the soak is over."""
        process = self._process
        if process is not None:
            if process.poll() is None:
                return True
            self._collect(process.returncode)
            self._process = None
        if time.monotonic() >= self.end:
            return False
        # A file, not a pipe: 200 devices' JSON could fill a pipe nobody reads mid-round.
        with self._output.open("wb") as out:
            self._process = subprocess.Popen(self.command, stdout=out)
        if self.group is not None:
            self.group.add(self._process.pid)
        return True

    def kill(self) -> None:
        """Stop a round still running (by its PID)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def _collect(self, code: int) -> None:
        try:
            self.totals.append(json.loads(self._output.read_text())["totals"])
        except (OSError, ValueError, KeyError):
            self.failures.append(f"exit {code}, no totals")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="soak length in seconds")
    parser.add_argument(
        "--page",
        default="live",
        type=str.lower,
        choices=[page.lower() for page in PAGES],
        help="the page on screen during the run",
    )
    parser.add_argument(
        "--devices-share",
        type=int,
        default=128,
        metavar="SHARES",
        help="run the virtual devices in a CPU cgroup of this weight (root; the app's threads "
        "weigh 1024 each; 0: no group): on a bench they are other computers, here their "
        "thread per device shares the CPUs with the app",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="engine worker processes (default: the app's, one engine thread in its process)",
    )
    args = parser.parse_args()
    if args.workers is not None:  # the app builds its server with TftpSettings(...)
        app_module.TftpSettings = functools.partial(TftpSettings, workers=args.workers)

    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory(prefix="algodesk-gui-bench-") as home:
        paths = beside(Path(home), portable=False).ensure()
        make_bench_folder(paths.bench_dir)
        SettingsStore(paths.settings_file).save(
            Settings(folder=str(paths.bench_dir), interface="lo", address="127.0.0.1", port=0)
        )
        parts = compose(paths)
        window = parts.window
        window.resize(1400, 900)
        window.show()
        tabs = [window.pages.tabText(i).lower() for i in range(window.pages.count())]
        window.pages.setCurrentIndex(tabs.index(args.page))
        if not window.start_serving():
            raise SystemExit(f"cannot serve: {window.banner.details.text()}")
        server = parts.control.server
        assert server is not None
        probe = LatencyProbe()
        memory: list[float] = []
        sampler = QTimer()
        sampler.setInterval(1000)
        backlog: list[int] = []

        def sample() -> None:
            memory.append(rss_mb())
            backlog.append(window.feed.backlog)

        sampler.timeout.connect(sample)
        start_rss = rss_mb()
        started = time.monotonic()
        group = DeviceGroup.create(args.devices_share) if args.devices_share else None
        print(
            f"virtual devices: {group.describe() if group else 'same CPU share as the app'}",
            flush=True,
        )
        rounds = Rounds(server.port, args.devices, started + args.duration, Path(home), group)
        watcher = QTimer()
        watcher.setInterval(200)

        def check_rounds() -> None:  # a slot must return None: PySide mis-counts a bool result
            if not rounds.step():
                app.quit()

        watcher.timeout.connect(check_rounds)
        try:
            rounds.step()
            probe.start()
            sampler.start()
            watcher.start()
            gui_cpu = (
                time.thread_time()
            )  # the GUI thread's own CPU: what load elsewhere cannot inflate
            app.exec()
            gui_cpu = time.thread_time() - gui_cpu
            probe.stop()
            for timer in (sampler, watcher):
                timer.stop()
        finally:
            rounds.kill()
            if group is not None:
                group.remove()
        seconds = time.monotonic() - started
        feed = window.feed
        devices, _active, attention = feed.counts()
        boots = sum(d.boots for d in feed.tracker.devices.values())
        flags = Counter(
            d.code
            for device in feed.tracker.devices.values()
            for d in device.diagnoses
            if d.level.rank >= Level.WARNING.rank
        )
        parts.window.close()
        parts.close()

    quarter = max(1, len(memory) // 4)
    early = statistics.median(memory[quarter : 2 * quarter] or memory or [0.0])
    late = statistics.median(memory[-quarter:] or [0.0])
    print(f"page on screen: {args.page}")
    print(f"devices: {args.devices} virtual, {devices} in the live view, {attention} flagged")
    if flags:
        print("flags: " + ", ".join(f"{code} {count}" for code, count in flags.most_common()))
    steady = sum(int(t["steady"]) for t in rounds.totals)
    booted = sum(int(t["devices"]) for t in rounds.totals)
    round_s = statistics.median([t["seconds"] for t in rounds.totals] or [0.0])
    print(
        f"rounds: {len(rounds.totals)} in {seconds:.0f} s (median {round_s:.1f} s), "
        f"{steady}/{booted} devices steady, {boots} boots seen"
    )
    if rounds.failures:
        print("rounds without totals: " + "; ".join(rounds.failures))
    print(
        f"events to the GUI: {feed.events_seen} ({feed.events_seen / seconds:.0f}/s), "
        f"backlog max {max(backlog, default=0)}, at the end {backlog[-1] if backlog else 0}"
    )
    print(probe.summary())
    print(
        f"GUI thread CPU: {gui_cpu:.1f} s in {seconds:.0f} s ({100 * gui_cpu / seconds:.0f} % of a "
        f"core), {1000 * gui_cpu / max(feed.events_seen, 1):.2f} ms per event"
    )
    # The machine may be shared: a load far above its cores starves the GUI thread too.
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"RSS (MB): start {start_rss:.0f}  peak {max(memory, default=0):.0f}  "
        f"second quarter {early:.0f}  last quarter {late:.0f}  growth {late - early:+.1f}"
    )
    print(f"p99 GUI latency: {probe.p99():.1f} ms")


if __name__ == "__main__":
    main()
