"""Whether the window can open here, asked before Qt is loaded.

Qt aborts the whole process (exit 134, a message about plugins) when it finds no display or a
system library its platform plugin needs is missing; a technician on a headless bench box or a
fresh Linux install deserves one plain line instead, saying what to do.
"""

from __future__ import annotations

import ctypes.util
import os
import re
import sys
from collections.abc import Callable, Mapping

HEADLESS_HINT = (
    "for headless use run `algodesk serve`, `check`, `simulate`, `set` and the other commands "
    "(see --help)"
)
README_LIBRARIES = "the README's Quick start lists the system libraries Qt needs on Linux"

# What Qt's X11 platform plugin (xcb) loads, by the name ``ctypes.util.find_library`` takes,
# with the Debian/Ubuntu package that holds it (as the README lists them).
XCB_LIBRARIES = {
    "xcb-cursor": "libxcb-cursor0",
    "xcb-icccm": "libxcb-icccm4",
    "xcb-keysyms": "libxcb-keysyms1",
    "xcb-shape": "libxcb-shape0",
    "xcb-randr": "libxcb-randr0",
    "xcb-render-util": "libxcb-render-util0",
    "xcb-image": "libxcb-image0",
    "xcb-xkb": "libxcb-xkb1",
    "xkbcommon-x11": "libxkbcommon-x11-0",
}


def problem(
    environ: Mapping[str, str] | None = None,
    *,
    platform: str | None = None,
    find_library: Callable[[str], str | None] = ctypes.util.find_library,
) -> str:
    """Why the window cannot open here, in one line, or "" when nothing is known against it."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return ""  # Windows and macOS always have a display; an explicit plugin is the user's.
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return f"no display found; {HEADLESS_HINT}"
    if env.get("WAYLAND_DISPLAY") or getattr(sys, "frozen", False):
        # Qt picks Wayland first; a bundle carries its own copies of the xcb libraries.
        return ""
    missing = [package for name, package in XCB_LIBRARIES.items() if not find_library(name)]
    if missing:
        return (
            f"the window needs system libraries that are missing: {', '.join(missing)} "
            f"(install them; {README_LIBRARIES}), or {HEADLESS_HINT}"
        )
    return ""


def import_problem(error: ImportError) -> str:
    """One line for a Qt import that failed on a missing shared library, or "" if it did not."""
    match = re.search(r"(lib[\w.+-]+\.so[\w.]*)", str(error))
    if match is None:
        return ""
    return f"Qt cannot load the system library {match.group(1)}; install it ({README_LIBRARIES})"
