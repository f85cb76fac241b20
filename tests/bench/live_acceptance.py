"""Acceptance run: the app under Xvfb, default settings, N simulated devices; does the view end right?

Starts its own Xvfb (stopped by PID), builds the app as ``uv run algodesk`` does in a private
home with default settings (serving a realistic folder on 127.0.0.1), boots
``algodesk simulate --server ... --devices N`` as a subprocess (each device from its own
loopback address, the default), then waits for the quiet time that settles a boot. It checks,
from what the window shows (table cells and status bar): every device reached a final state,
every transfer on the Transfers page ended, "Active transfers" is 0; then closes the window
and checks the history run ended. Screenshots of the Live and Transfers pages are saved.

    uv run python tests/bench/live_acceptance.py [--devices 50] [--out DIR]

The last line is the verdict.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "packaging"))

from screenshots import pump, start_xvfb

FINAL = ("Done", "Stage 1 done")
"""Status cells of a device whose boot is over (DONE, LEFT)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--display", default=":91")
    parser.add_argument("--out", type=Path, default=Path("acceptance-shots"))
    args = parser.parse_args()
    xvfb = start_xvfb(args.display)
    os.environ["DISPLAY"], os.environ["QT_QPA_PLATFORM"] = args.display, "xcb"
    try:
        verdict = run(args.devices, args.out, args.display)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    print(verdict)


def run(count: int, out: Path, display: str) -> str:
    from PySide6.QtWidgets import QApplication

    from algodesk.app import compose, open_bench
    from algodesk.services.history import HistoryStore
    from algodesk.services.paths import beside
    from algodesk.ui.live.device_model import Column
    from algodesk.ui.live.transfer_model import OUTCOME_COLUMN
    from tests.bench.virtual_devices import PRODUCT, make_bench_folder

    app = QApplication.instance() or QApplication(sys.argv)
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="algodesk-acceptance-") as home:
        paths = beside(Path(home), portable=False).ensure()
        make_bench_folder(paths.bench_dir, firmware_kib=2048)
        parts = compose(paths)
        window = parts.window
        window.show()
        if not open_bench(window, address="127.0.0.1", port=0, start=True):
            raise SystemExit(f"cannot serve: {window.banner.details.text()}")
        server = parts.control.server
        assert server is not None
        command = [sys.executable, "-m", "algodesk", "simulate"]
        command += ["--server", f"127.0.0.1:{server.port}", "--devices", str(count)]
        command += ["--product", PRODUCT, "--firmware", "5.3"]
        began = time.monotonic()
        simulate = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        while simulate.poll() is None:
            pump(app, 0.2)
        summary = (simulate.stdout.read() if simulate.stdout else "").strip().splitlines()[-1]
        print(f"simulate: {summary} (exit {simulate.returncode})")
        devices = window.feed.devices

        def statuses() -> list[str]:
            return [
                devices.data(devices.index(r, Column.STATUS)) for r in range(devices.rowCount())
            ]

        settle = window.feed.tracker.settle_seconds
        deadline = time.monotonic() + settle + 60
        while time.monotonic() < deadline and not (
            len(statuses()) == count and all(s.startswith(FINAL) for s in statuses())
        ):
            pump(app, 1.0)
        print(f"devices final after {time.monotonic() - began:.0f} s (settle time {settle:.0f} s)")
        window.pages.setCurrentWidget(window.live)
        pump(app, 1.0)
        shot(out / "acceptance-live.png", display)
        window.pages.setCurrentWidget(window.transfers)
        pump(app, 2.0)
        shot(out / "acceptance-transfers.png", display)
        shown = statuses()
        if len(shown) != count:
            problems.append(f"{len(shown)} device rows, not {count}")
        stuck = [s for s in shown if not s.startswith(FINAL)]
        if stuck:
            problems.append(f"{len(stuck)} devices not in a final state: {sorted(set(stuck))}")
        table = window.transfers.table.model()
        outcomes = [table.data(table.index(r, OUTCOME_COLUMN)) for r in range(table.rowCount())]
        unended = [o for o in outcomes if o in ("sending", "requested")]
        if unended:
            problems.append(f"{len(unended)} transfers shown unended")
        active = window.transfers_label.text()
        if "<b>0</b>" not in active:
            problems.append(f"status bar says {active}")
        print(f"transfers page: {len(outcomes)} rows, {len(unended)} unended; status bar: {active}")
        window.close()
        parts.close()
        with HistoryStore(paths.history_file) as store:
            runs = store.runs()
        if not runs or runs[-1].ended is None:
            problems.append("the history run did not end")
        else:
            print(f"history: run {runs[-1].run_id}, {runs[-1].devices} devices, ended")
    return "acceptance: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems))


def shot(path: Path, display: str) -> None:
    subprocess.run(["import", "-display", display, "-window", "root", str(path)], check=True)
    print(f"screenshot: {path}")


if __name__ == "__main__":
    main()
