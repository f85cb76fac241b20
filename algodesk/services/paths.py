"""Where algodesk keeps its files: config, data, logs and the default bench folder.

Normally the platform's folders (platformdirs). Portable mode, for a USB stick: a file named
``portable`` next to the executable (beside ``algodesk.app`` on macOS; next to the entry script
when run from source) keeps everything beside it, in ``algodesk-data/``. ``ALGODESK_HOME`` does the same for any folder (tests, screenshots, a second
bench on one computer).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "algodesk"
PORTABLE_MARKER = "portable"
HOME_VARIABLE = "ALGODESK_HOME"
_PORTABLE_FOLDER = "algodesk-data"


@dataclass(frozen=True, slots=True)
class AppPaths:
    """The folders and files of one algodesk installation."""

    config_dir: Path
    data_dir: Path
    log_dir: Path
    bench_dir: Path
    portable: bool = False

    @property
    def settings_file(self) -> Path:
        """The versioned JSON settings."""
        return self.config_dir / "settings.json"

    @property
    def window_state_file(self) -> Path:
        """Window geometry and layout (a QSettings INI file)."""
        return self.config_dir / "window.ini"

    @property
    def history_file(self) -> Path:
        """The SQLite history of bench runs."""
        return self.data_dir / "history.sqlite3"

    def ensure(self) -> AppPaths:
        """Create every folder (the default bench folder too, on first start); returns self."""
        for folder in (self.config_dir, self.data_dir, self.log_dir, self.bench_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def entry_dir() -> Path:
    """The folder of the running executable (frozen) or of the entry script."""
    if getattr(sys, "frozen", False):
        return frozen_dir(Path(sys.executable))
    entry = sys.argv[0] if sys.argv and sys.argv[0] else sys.executable
    return Path(entry).resolve().parent


def frozen_dir(executable: Path) -> Path:
    """The folder a bundled app's user sees it in: the executable's, or beside a macOS ``.app``.

    ``sys.executable`` is the bundle's own program in both the one-folder and the one-file
    builds (never the one-file's temporary unpacking folder); on macOS it lies inside
    ``algodesk.app/Contents/MacOS/``, where nobody would put the ``portable`` marker.
    """
    folder = executable.resolve().parent
    bundle = folder.parent.parent
    if folder.name == "MacOS" and folder.parent.name == "Contents" and bundle.suffix == ".app":
        return bundle.parent
    return folder


def beside(root: Path, *, portable: bool = True) -> AppPaths:
    """Every folder under ``root`` (portable layout)."""
    return AppPaths(
        config_dir=root / "config",
        data_dir=root / "data",
        log_dir=root / "logs",
        bench_dir=root / "bench",
        portable=portable,
    )


def resolve(environ: Mapping[str, str] | None = None, *, start_dir: Path | None = None) -> AppPaths:
    """The paths to use: ``ALGODESK_HOME``, then portable mode, then the platform's folders."""
    environ = os.environ if environ is None else environ
    home = environ.get(HOME_VARIABLE, "").strip()
    if home:
        return beside(Path(home).expanduser(), portable=False)
    start = start_dir or entry_dir()
    if (start / PORTABLE_MARKER).is_file():
        return beside(start / _PORTABLE_FOLDER)
    documents = Path(platformdirs.user_documents_dir())
    return AppPaths(
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)),
        bench_dir=documents / "algodesk bench",
    )
