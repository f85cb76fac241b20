"""``algodesk --self-test``: does this installation work, end to end, without the network?

Meant for a freshly built or installed bundle (packaging/build.py runs it) and for people
reporting a problem. Every check runs even after one fails; the report says what each found and
the exit code is 0 only when all passed. Nothing leaves the computer: the TFTP check serves on
127.0.0.1 to the built-in client, the window opens offscreen unless ``QT_QPA_PLATFORM`` says
otherwise, and every file goes to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import pkgutil
import platform
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import algodesk
from algodesk import __version__

# The Qt platform plugin each system's desktop needs, by sys.platform prefix.
NATIVE_PLATFORMS = {"linux": ("xcb", "wayland"), "win": ("windows",), "darwin": ("cocoa",)}
# The offscreen platform says this of every top-level window; it is no fault of ours.
_KNOWN_QT_NOISE = frozenset({"This plugin does not support propagateSizeHints()"})
# "Cannot load library X: libwayland-cursor.so.0: cannot open shared object file" (Linux).
_MISSING_LIBRARY = re.compile(r": ([^:\s]+): cannot open shared object file")
_QT_LIBRARY = re.compile(r"Qt6|Qt\w*\.framework|pyside6|shiboken6", re.IGNORECASE)
_TFTP_FILE_SIZE = 100_000  # several dozen blocks: a real transfer, still instant on loopback


@dataclass(frozen=True, slots=True)
class Result:
    """One check's outcome: ``detail`` says what it found, or why it failed."""

    name: str
    ok: bool
    detail: str


Check = Callable[[Path], str]
"""A check gets a private scratch folder, returns a short finding and raises when it fails."""


def frozen() -> bool:
    """Whether this is a PyInstaller bundle rather than a Python environment."""
    return bool(getattr(sys, "frozen", False))


def check_imports(_scratch: Path) -> str:
    """Every algodesk module imports (the bundle must hold the ones loaded by name)."""
    from algodesk.commands.table import COMMAND_MODULES, register_all

    names = [
        info.name
        for info in pkgutil.walk_packages(algodesk.__path__, "algodesk.")
        if not info.name.endswith("__main__")  # importing it would run the app
    ]
    for name in names:
        importlib.import_module(name)
    register_all(argparse.ArgumentParser().add_subparsers())  # every sub-command registers
    # Modules loaded by name are the ones a bundle can lose; the walk must see them too.
    unseen = {*COMMAND_MODULES, "algodesk.app"} - set(names)
    if unseen:
        raise RuntimeError(f"modules not found among the {len(names)}: {', '.join(sorted(unseen))}")
    import PySide6
    from PySide6.QtCore import qVersion

    return (
        f"{len(names)} algodesk modules, Python {platform.python_version()}, "
        f"PySide6 {PySide6.__version__}, Qt {qVersion()}"
    )


def check_catalog(_scratch: Path) -> str:
    """The parameter catalog ships and loads."""
    from algodesk.core.catalog import Catalog, catalog_path

    path = catalog_path()
    return f"{len(Catalog.load(path))} parameters from {path}"


def check_qt_plugins(_scratch: Path) -> str:
    """The desktop's platform plugin is there; in a bundle, every Qt plugin it ships loads."""
    from PySide6.QtCore import QLibraryInfo, QPluginLoader

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    available = sorted(_plugin_name(path) for path in _plugin_files(plugins / "platforms"))
    wanted = native_platforms(sys.platform)
    if wanted and not set(wanted) & set(available):
        raise RuntimeError(f"no {' or '.join(wanted)} platform plugin in {plugins}")
    detail = f"platforms: {', '.join(available)}"
    if not frozen():
        return detail  # a development environment's plugins are PySide6's business
    files = list(_plugin_files(plugins))
    failures = {}
    for path in files:
        loader = QPluginLoader(str(path))
        if not loader.load():
            failures[path] = loader.errorString()
    broken, needs_system = sort_plugin_failures(failures, wanted)
    if broken:
        raise RuntimeError("plugins that do not load: " + "; ".join(broken))
    detail += f"; {len(files) - len(failures)} of {len(files)} bundled plugins load"
    for library, paths in sorted(needs_system.items()):
        folders = sorted({path.parent.name for path in paths})
        detail += f"; {len(paths)} {'/'.join(folders)} plugins need {library} from the system"
    return detail


def native_platforms(system: str) -> tuple[str, ...]:
    """The Qt platform plugins that can show windows on ``system`` (a ``sys.platform``)."""
    for prefix, names in NATIVE_PLATFORMS.items():
        if system.startswith(prefix):
            return names
    return ()


def sort_plugin_failures(
    failures: Mapping[Path, str], wanted: tuple[str, ...]
) -> tuple[list[str], dict[str, list[Path]]]:
    """Split plugin load errors into bundle faults and plugins waiting for a system library.

    A Linux plugin may need a system library the build machine lacked (Wayland's, built on an
    X11 host): it is fine until that desktop is used, and that desktop has the library. Any other
    error, a missing Qt library above all, is the bundle's fault; so is having no plugin at all
    that can show a window on this system.
    """
    broken: list[str] = []
    needs_system: dict[str, list[Path]] = {}
    for path, error in failures.items():
        missing = _MISSING_LIBRARY.search(error)
        if missing and not _QT_LIBRARY.search(missing.group(1)):
            needs_system.setdefault(missing.group(1), []).append(path)
        else:
            broken.append(f"{path.parent.name}/{path.name}: {error}")
    waiting = {_plugin_name(path) for paths in needs_system.values() for path in paths}
    waiting &= {_plugin_name(path) for path in failures if path.parent.name == "platforms"}
    if wanted and set(wanted) <= waiting:
        broken.append(f"no usable {' or '.join(wanted)} platform plugin")
    return broken, needs_system


def check_window(scratch: Path) -> str:
    """The app composes with its real services and its main window shows and closes."""
    from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from algodesk.app import compose
    from algodesk.services.paths import beside

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "algodesk"])
    warnings: list[str] = []

    def collect(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
        if kind != QtMsgType.QtDebugMsg and message not in _KNOWN_QT_NOISE:
            warnings.append(message)

    previous = qInstallMessageHandler(collect)
    try:
        parts = compose(beside(scratch / "home", portable=False))
        try:
            parts.window.show()
            app.processEvents()
            if not parts.window.isVisible():
                raise RuntimeError("the main window did not become visible")
            title = parts.window.windowTitle()
        finally:
            parts.window.close()
            parts.close()
            app.processEvents()
    finally:
        qInstallMessageHandler(previous)
    if warnings:
        raise RuntimeError("Qt warned: " + "; ".join(warnings))
    return f"main window '{title}' shown and closed ({QApplication.platformName()})"


def check_tftp(scratch: Path) -> str:
    """The TFTP engine serves a file on 127.0.0.1 that the built-in client reads back intact."""
    from algodesk.services.tftp import TftpServer
    from algodesk.services.tftp_client import fetch_file

    content = secrets.token_bytes(_TFTP_FILE_SIZE)
    root = scratch / "tftp"
    root.mkdir()
    (root / "algop8186.conf").write_bytes(content)
    server = TftpServer(root, "127.0.0.1", 0)
    started = time.perf_counter()
    server.start()
    try:
        fetched = fetch_file("127.0.0.1", server.port, "algop8186.conf", timeout=2.0)
    finally:
        server.stop()
    elapsed = time.perf_counter() - started
    if fetched is None:
        raise RuntimeError("the server said the file does not exist")
    expected, got = hashlib.md5(content).hexdigest(), hashlib.md5(fetched).hexdigest()
    if got != expected:
        raise RuntimeError(f"md5 {got} of {len(fetched)} bytes read, expected {expected}")
    return f"{len(content)} bytes served on 127.0.0.1:{server.port}, md5 matches ({elapsed:.2f} s)"


def check_keyring(_scratch: Path) -> str:
    """keyring knows its backends (its metadata ships) and reports the one in use."""
    from importlib.metadata import entry_points

    from algodesk.services.credentials import CredentialStore

    backends = sorted(entry.name for entry in entry_points(group="keyring.backends"))
    if not backends:
        raise RuntimeError("keyring finds no backends: its package metadata is missing")
    reason = CredentialStore(on_unavailable=lambda _message: None).unavailable_reason
    where = "passwords go to the system keyring" if reason is None else f"{reason}: in memory"
    return f"{where}; backends known: {', '.join(backends)}"


def check_paths(_scratch: Path) -> str:
    """Reports where the app keeps its files (portable mode or the platform's folders)."""
    from algodesk.services import paths

    resolved = paths.resolve()
    mode = "portable" if resolved.portable else "per user"
    return f"{mode}: config {resolved.config_dir}, data {resolved.data_dir}"


CHECKS: tuple[tuple[str, Check], ...] = (
    ("imports", check_imports),
    ("catalog", check_catalog),
    ("qt", check_qt_plugins),
    ("window", check_window),
    ("tftp", check_tftp),
    ("keyring", check_keyring),
    ("paths", check_paths),
)


def run_checks(checks: tuple[tuple[str, Check], ...] = CHECKS) -> Iterator[Result]:
    """Run each check in its own scratch folder; a failure never stops the next one."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory(prefix="algodesk-selftest-") as folder:
        for index, (name, check) in enumerate(checks):
            scratch = Path(folder) / str(index)
            scratch.mkdir()
            try:
                yield Result(name, True, check(scratch))
            except Exception as error:  # the report is the point: show it, go on
                yield Result(name, False, f"{type(error).__name__}: {error}")


def run(out: TextIO | None = None, checks: tuple[tuple[str, Check], ...] = CHECKS) -> int:
    """Run the self-test, print the report to ``out``; returns 0 when every check passed."""
    out = out or sys.stdout
    kind = "bundle" if frozen() else "source"
    where = sys.executable if frozen() else str(Path(algodesk.__file__).parent)
    print(f"algodesk {__version__} self-test ({kind}: {where})", file=out, flush=True)
    started = time.perf_counter()
    failed = []
    for result in run_checks(checks):
        print(f"  {'ok' if result.ok else 'FAIL':<5} {result.name:<8} {result.detail}", file=out)
        out.flush()
        if not result.ok:
            failed.append(result.name)
    elapsed = time.perf_counter() - started
    if failed:
        print(f"self-test FAILED: {', '.join(failed)} ({elapsed:.1f} s)", file=out, flush=True)
        return 1
    print(f"self-test passed: {len(checks)} checks in {elapsed:.1f} s", file=out, flush=True)
    return 0


def _plugin_files(folder: Path) -> Iterator[Path]:
    suffixes = {".so", ".dll", ".dylib"}
    return (path for path in sorted(folder.rglob("*")) if path.suffix in suffixes)


def _plugin_name(path: Path) -> str:
    """A platform plugin's name: ``libqxcb.so`` -> ``xcb``, ``qwindows.dll`` -> ``windows``."""
    return path.stem.removeprefix("lib").removeprefix("q")
