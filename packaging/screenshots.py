"""Render each page of the app to PNG for the README, under Xvfb, with realistic content.

Starts ``Xvfb :99 -screen 0 1400x900x24`` (and stops it by PID), serves a bench folder on
127.0.0.1 and boots a few virtual devices from their own loopback addresses (a finished fleet,
a stage-1 hand-off, a missing md5, a missing config, one device still downloading firmware),
then grabs the Live, Transfers, Folder and Log pages, the simulate dialog and an error banner;
then the Editor (a backup being edited, its diff), the two-stage wizard and the Stage 1 page
serving a roster (passwords in an in-memory keyring, never the real one).

    uv run python packaging/screenshots.py [--out docs/screenshots] [--display :99]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STAGE1 = (
    "prov.use = 1\n"
    "prov.server.method = static\n"
    "prov.server.static = 10.20.0.5\n"
    "prov.download.method = ftp\n"
    "prov.download.cfgpath = algo\n"
    "prov.auth.user = bench\n"
)
DEVICE = "prov.use = 1\nsip.proxy = pbx.example.com\nsip.u1.user = 2001\nsip.u1.dname = Lobby\n"
# The editor's sample backup: an integrator template with its placeholders filled (one wrong).
BACKUP_VALUES = {
    "http_auth_username": "algo",
    "algo_firmware_path": "app/firmware",
    "algo_download_method": "ftps",
    "domain_name": "prov.example.com",
    "algo_8186_version_firmware": "5.3.4",
    "admin_password": "algo",
    "algo_inbound_timeout": "30",
}


WINDOW_SIZE = (1366, 768)
"""The window size of the shots: the most common laptop screen (also checked at 1920x1080)."""


def start_xvfb(display: str, size: tuple[int, int] = WINDOW_SIZE) -> subprocess.Popen[bytes]:
    """Start Xvfb on ``display`` (a screen a little larger than ``size``) and wait for it."""
    screen = f"{size[0] + 40}x{size[1] + 40}x24"
    server = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", screen, "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket_path = Path(f"/tmp/.X11-unix/X{display.lstrip(':')}")
    deadline = time.monotonic() + 10
    while not socket_path.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit(f"Xvfb did not start on {display}")
        time.sleep(0.05)
    return server


def make_folder(folder: Path) -> None:
    """Generic files for 8196 (firmware, tones), 8180 (stage 1), 8186 (md5 missing), a device
    file, and a misnamed file for the folder checks."""
    from algodesk.core.md5 import md5_hex, write_md5
    from tests.bench.virtual_devices import make_bench_folder

    make_bench_folder(folder, firmware_kib=384)
    (folder / "algop8180.conf").write_text(STAGE1)
    write_md5(folder / "algop8180.conf")
    (folder / "algop8186.conf").write_text(DEVICE)  # no md5: devices will ignore it
    (folder / "algom0022EE400001.conf").write_text(DEVICE)
    write_md5(folder / "algom0022EE400001.conf")
    (folder / "algom0022ee400002.conf").write_text(DEVICE)  # lower-case MAC: never requested
    (folder / "algop8189.conf").write_text(DEVICE)  # its md5 misnamed (guide §5.5: X.md5)
    (folder / "algop8189.conf.md5").write_text(md5_hex(DEVICE.encode()) + "\n")
    (folder / "algop8180 (1).conf").write_text(STAGE1)  # a copy no device requests


def pump(app: object, seconds: float) -> None:
    """Run the event loop for ``seconds``."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def capture(out: Path, size: tuple[int, int] = WINDOW_SIZE) -> list[Path]:
    """Build the app, drive devices, save one PNG per page; returns the files written."""
    from PySide6.QtWidgets import QApplication

    from algodesk.app import compose
    from algodesk.services.credentials import CredentialStore
    from algodesk.services.paths import beside
    from algodesk.services.settings import Settings, SettingsStore
    from tests.bench.virtual_devices import run_fleet
    from tests.memory_keyring import MemoryKeyring

    app = QApplication.instance() or QApplication(sys.argv)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="algodesk-shots-") as home:
        paths = beside(Path(home), portable=False).ensure()
        folder = paths.bench_dir
        make_folder(folder)
        SettingsStore(paths.settings_file).save(
            Settings(
                folder=str(folder), interface="lo", address="127.0.0.1", port=0, auto_md5=False
            )
        )
        parts = compose(paths, credentials=CredentialStore(MemoryKeyring()))
        window = parts.window
        window.feed.tracker.settle_seconds = 3.0
        window.resize(*size)
        window.show()
        fleets = []

        def shot(name: str, grab: Callable[[], object]) -> None:
            pump(app, 0.6)
            path = out / f"{name}.png"
            pixmap = grab()
            pixmap.save(str(path))  # type: ignore[attr-defined]
            written.append(path)

        try:
            shot("first-start", window.grab)  # the Live page before any device: what to do
            if not window.start_serving():
                raise SystemExit(window.banner.details.text())
            server = parts.control.server
            assert server is not None
            port = server.port
            fleets = [
                run_fleet(port, 4, first=0, base_mac="00:22:EE:10:00:01"),
                run_fleet(port, 2, first=4, base_mac="00:22:EE:20:00:01", product="8180"),
                run_fleet(port, 1, first=6, base_mac="00:22:EE:30:00:01", product="8186"),
                # 40:00:02 asks for algom0022EE400002.conf; only the lower-case name is there
                run_fleet(port, 2, first=7, base_mac="00:22:EE:40:00:01", product="8198"),
                run_fleet(port, 1, first=9, base_mac="00:22:EE:50:00:01", product="8188"),
            ]
            slow = run_fleet(port, 1, first=10, base_mac="00:22:EE:10:00:05", ack_delay=0.06)
            fleets.append(slow)
            for fleet in fleets[:-1]:
                while not fleet.wait(0.05):
                    pump(app, 0.05)
            pump(app, 4.0)  # quiet devices settle: done, handed off
            window.live.select_row(_row_of(window, "0022EE300001"))  # the 8186: md5 missing
            folder_page = window.folder_page
            for row, item in enumerate(folder_page.model.rows()):
                if item.name == "algop8186.conf":  # md5 missing: the finding and its button
                    folder_page.table.selectRow(row)

            for index, name in enumerate(("live", "transfers", "folder", "log")):
                window.pages.setCurrentIndex(index)
                shot(name, window.grab)
            window.pages.setCurrentIndex(0)
            window.live.select_row(_row_of(window, "0022EE400002"))  # names are case-sensitive
            shot("live-case", window.grab)
            dialog = window.folder_page.open_simulator()
            assert dialog is not None
            dialog.mac.setText("00:22:EE:10:00:99")
            dialog.product.setCurrentIndex(dialog.product.findData("8196"))
            dialog.firmware.setText("5.3")
            dialog.run()
            shot("simulate", dialog.grab)
            dialog.close()
            provisioning_shots(parts, Path(home), shot)
            slow.stop()
            window.stop_serving()
            window.pages.setCurrentIndex(0)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
                holder.bind(("127.0.0.1", 0))
                window.toolbar.port.setValue(holder.getsockname()[1])
                window.start_serving()
                shot("banner", window.grab)
        finally:
            for fleet in fleets:
                fleet.stop()
            window.close()
            parts.close()
    return written


def provisioning_shots(parts: object, home: Path, shot: Callable[..., None]) -> None:
    """The Editor with a backup being edited and its diff, the wizard, the Stage 1 page."""
    from algodesk.ui.editor.files import Unsaved

    pages = parts.provisioning  # type: ignore[attr-defined]
    window = parts.window  # type: ignore[attr-defined]
    editor, bench = pages.editor, pages.bench
    backup = home / "lobby-8186-backup.conf"
    template = (ROOT / "tests" / "data" / "fpbx-8186-2025__algo_mac_.conf").read_text()
    backup.write_text(re.sub(r"\{\$([^}]*)\}", lambda m: BACKUP_VALUES.get(m[1], ""), template))
    window.pages.setCurrentWidget(editor)
    editor.open_file(backup)
    editor.model.set_value("audio.page.vol", "-12dB")
    editor.model.set_value("sip.interop.checksync", "always-reboot")
    editor.model.set_value("prov.version.firmware", "5.4f")
    editor.tree.collapseAll()
    for row in range(editor.filter.rowCount()):
        index = editor.filter.index(row, 0)
        if editor.model.group_at(editor.filter.mapToSource(index)) in ("prov", "audio"):
            editor.tree.expand(index)
    editor.show_key("prov.version.firmware")
    shot("editor", window.grab)
    diff = editor.compare_with_opened()
    shot("editor-diff", diff.grab)
    diff.close()
    editor.ask_unsaved = lambda _name: Unsaved.DISCARD  # the window closes without asking

    window.pages.setCurrentWidget(bench)
    wizard = bench.new_profile()
    wizard.products_page.name.setText("lobby bench")
    wizard.products_page.choose(("8186", "8301"), False)
    wizard.next()
    wizard.server_page.server.setText("https://prov.example.com/algo/config")
    wizard.server_page.user.setText("algo")
    wizard.server_page.password.setText("not-a-real-password")
    shot("wizard-server", wizard.grab)
    wizard.next()
    wizard.extras_page.firmware.setText("5.4f")
    wizard.extras_page.checksync.setCurrentIndex(2)
    wizard.extras_page.syslog.setText("10.20.0.9")
    wizard.next()
    shot("wizard", wizard.grab)
    wizard.accept()
    roster = home / "roster.csv"
    roster.write_text(
        "mac,product,sip.u1.user,sip.u1.pwd,admin.devname\n"
        "00:22:ee:60:00:01,8186,2001,pw-2001,lobby-1\n"
        "00:22:ee:60:00:02,8186,2002,pw-2002,lobby-2\n"
        "0022EE600003,8301,2003,,paging-hall\n"
        "00:22:ee:60:00:zz,8186,2004,,typo\n"
        "00:11:22:33:44:55,8186,2005,,not-algo\n"
    )
    bench.load_roster(roster)
    bench.serve()
    shot("stage1", window.grab)
    window.pages.setCurrentWidget(window.live)
    window.live.devices.scrollToBottom()
    shot("live-roster", window.grab)  # the roster's devices: expected, not seen yet


def _row_of(window: object, mac: str) -> int:
    model = window.live.device_model()  # type: ignore[attr-defined]
    for row in range(model.rowCount()):
        device = model.device(row)
        if device is not None and device.mac == mac:
            return int(row)
    return 0


def run(
    capture_into: Callable[[Path, tuple[int, int]], list[Path]], description: str, display: str
) -> None:
    """Parse ``--out``/``--display``, run ``capture_into`` on its own Xvfb, print what it wrote."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--display", default=display)
    parser.add_argument(
        "--size",
        default=f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}",
        help="window size WIDTHxHEIGHT (default %(default)s; check 1920x1080 too)",
    )
    args = parser.parse_args()
    width, _x, height = args.size.partition("x")
    size = (int(width), int(height))
    xvfb = start_xvfb(args.display, size)
    try:
        os.environ["DISPLAY"] = args.display
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        for path in capture_into(args.out, size):
            print(path)
    finally:
        xvfb.terminate()
        try:
            xvfb.wait(5)
        except subprocess.TimeoutExpired:
            xvfb.kill()
            xvfb.wait()


def main() -> None:
    run(capture, __doc__.splitlines()[0], ":99")


if __name__ == "__main__":
    main()
