"""Benchmark: the GUI while a device floods the syslog receiver.

The whole app runs offscreen in this process with the syslog receiver on 127.0.0.1 and the
Syslog page on screen; a subprocess (this file with ``--send``) sends syslog lines from
127.0.0.1 at a steady rate, where a device is known (so every line is attached to it and named
on the page). A 10 ms QTimer probes the GUI event loop: how late each tick fires is the latency
a technician would feel. Also reported: lines received and shown (the page keeps the newest
5000), and how long after the last line was sent the page showed it.

    uv run python tests/bench/gui_syslog_flood.py [--rate 2000] [--duration 20]

The last line is the headline: the p99 GUI latency.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

LOOPBACK = "127.0.0.1"
LAST = b"flood finished"


def send(port: int, rate: int, duration: float) -> None:
    """Send ``rate`` lines a second for ``duration`` seconds, then the closing line."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        started = time.monotonic()
        sent = 0
        while (elapsed := time.monotonic() - started) < duration:
            due = int(elapsed * rate)
            while sent < due:
                line = f"<134>Jan  2 09:14:01 algo-8186 audio: buffer {sent} underrun, sip.u1.pwd=x"
                sock.sendto(line.encode(), (LOOPBACK, port))
                sent += 1
            time.sleep(0.002)
        sock.sendto(b"<131>Jan  2 09:14:02 algo-8186 audio: " + LAST, (LOOPBACK, port))
        print(sent + 1, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000, help="lines a second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of flood")
    parser.add_argument("--send", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send:
        send(args.send, args.rate, args.duration)
        return

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from algodesk.app import compose, real_companions
    from algodesk.core.events import LeaseGranted
    from algodesk.services.paths import beside
    from algodesk.services.settings import Settings, SettingsStore
    from algodesk.services.syslog import SyslogReceiver
    from algodesk.ui.network.companions_control import CompanionFactories
    from tests.bench._latency import LatencyProbe

    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory(prefix="algodesk-syslog-bench-") as home:
        paths = beside(Path(home), portable=False).ensure()
        SettingsStore(paths.settings_file).save(
            Settings(
                folder=str(paths.bench_dir),
                interface="lo",
                address=LOOPBACK,
                port=0,
                syslog_port=0,
            )
        )
        real = real_companions(paths.data_dir / "leases.json")
        factories = CompanionFactories(
            dhcp=real.dhcp,
            syslog=lambda _address, port, sink: SyslogReceiver(LOOPBACK, port, sink),
            discovery=real.discovery,
            check_sync=real.check_sync,
        )
        parts = compose(paths, companion_factories=factories)
        window, network, companions = parts.window, parts.network, parts.companions
        assert network is not None and companions is not None
        window.resize(1400, 900)
        window.show()
        window.pages.setCurrentWidget(network.syslog_page)
        companions.sink(LeaseGranted(mac="00:22:EE:10:00:01", ip=LOOPBACK, lease_seconds=600))
        network.panel.syslog_toggle.setChecked(True)
        receiver = companions.syslog
        assert receiver is not None, window.banner.details.text()

        probe = LatencyProbe()
        sender = subprocess.Popen(
            [
                sys.executable,
                __file__,
                *("--send", str(receiver.port)),
                *("--rate", str(args.rate)),
                *("--duration", str(args.duration)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        model = network.syslog_model
        sent_done: list[float] = []

        def shown_last() -> bool:
            line = model.line(model.rowCount() - 1)
            return line is not None and line.message.endswith(LAST.decode())

        def watch() -> None:  # a slot must return None: PySide mis-counts a bool result
            if sender.poll() is not None and not sent_done:
                sent_done.append(time.monotonic())
            if sent_done and (shown_last() or time.monotonic() - sent_done[0] > 10):
                app.quit()

        watcher = QTimer()
        watcher.setInterval(5)
        watcher.timeout.connect(watch)
        started = time.monotonic()
        try:
            probe.start()
            watcher.start()
            app.exec()
            probe.stop()
            watcher.stop()
            sent = int((sender.stdout.read() if sender.stdout else "0").strip() or 0)
        finally:
            if sender.poll() is None:
                sender.kill()
                sender.wait()
        seconds = time.monotonic() - started
        caught_up = time.monotonic() - sent_done[0] if sent_done else float("nan")
        received, rows = receiver.received, model.rowCount()
        attached = len(next(iter(window.feed.tracker.devices.values())).syslog)
        masked = all("pwd=x" not in str(model.line(r)) for r in range(rows))
        window.close()
        parts.close()

    print(
        f"flood: {sent} lines sent at {args.rate}/s for {args.duration:g} s ({seconds:.1f} s run)"
    )
    print(
        f"received {received} ({100 * received / max(sent, 1):.1f} %), page rows {rows} "
        f"(bounded), device keeps {attached}, secrets masked: {masked}"
    )
    print(f"last line on the page {1000 * caught_up:.0f} ms after the sender finished")
    print(probe.summary())
    print(f"p99 GUI latency: {probe.p99():.1f} ms")


if __name__ == "__main__":
    main()
