"""What goes into the PyInstaller bundle, as plain data the spec and the tests share.

PyInstaller's analysis follows ``import`` statements; it cannot see modules imported by name at
run time (``commands.table.COMMAND_MODULES``, ``algodesk.app``), entry points (keyring finds
its backends through package metadata) or modules imported from compiled code (zeroconf's Cython modules).
The rest of this module trims what the analysis pulls in but algodesk never uses: Qt modules,
plugins and translations, which are most of a Qt bundle's size.

Stdlib only, no PyInstaller import: ``tests/test_packaging.py`` loads it directly.
"""

from __future__ import annotations

import re
from pathlib import Path

APP_NAME = "algodesk"
REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "algodesk"
ICONS = REPO / "packaging" / "icons"
HOOKS = REPO / "packaging" / "hooks"
VERSION_INFO = REPO / "packaging" / "version_info.txt"
CATALOG = REPO / "resources" / "catalog.tsv"
WINDOW_ICON = REPO / "resources" / "algodesk.png"
# catalog.catalog_path() looks beside the package, as in the wheel (pyproject force-include).
CATALOG_DEST = "algodesk/_resources"

# Packages whose every submodule ships: keyring loads its backends by entry point, zeroconf's
# compiled modules import their siblings where the analysis cannot see it, platformdirs picks
# its platform module at run time.
COLLECT_SUBMODULES = ("keyring.backends", "zeroconf", "platformdirs")
# Distributions whose metadata ships: keyring enumerates backends from its entry points.
COPY_METADATA = ("keyring",)

# The Qt bindings algodesk uses; every other PySide6 module is excluded.
QT_MODULES_USED = ("QtCore", "QtGui", "QtWidgets")
PYSIDE6_MODULES = (
    "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender",
    "QtAxContainer", "QtBluetooth", "QtCharts", "QtConcurrent", "QtCore", "QtDBus",
    "QtDataVisualization", "QtDesigner", "QtGraphs", "QtGraphsWidgets", "QtGui", "QtHelp",
    "QtHttpServer", "QtLocation", "QtMultimedia", "QtMultimediaWidgets", "QtNetwork",
    "QtNetworkAuth", "QtNfc", "QtOpenGL", "QtOpenGLWidgets", "QtPdf", "QtPdfWidgets",
    "QtPositioning", "QtPrintSupport", "QtQml", "QtQuick", "QtQuick3D", "QtQuickControls2",
    "QtQuickTest", "QtQuickWidgets", "QtRemoteObjects", "QtScxml", "QtSensors", "QtSerialBus",
    "QtSerialPort", "QtSpatialAudio", "QtSql", "QtStateMachine", "QtSvg", "QtSvgWidgets",
    "QtTest", "QtTextToSpeech", "QtUiTools", "QtWebChannel", "QtWebEngineCore",
    "QtWebEngineQuick", "QtWebEngineWidgets", "QtWebSockets", "QtWebView", "QtXml",
)  # fmt: skip
# Python modules algodesk never runs: GUI toolkits and tools of the stdlib, and the build and test
# tools the analysis reaches through optional imports (platformdirs' pytest plugin pulls in
# pytest and pygments; setuptools' distutils shim comes with them).
EXCLUDED_PYTHON = (
    "tkinter", "pydoc_data", "lib2to3", "idlelib", "ensurepip", "PySide6.scripts",
    "platformdirs.pytest_plugin", "pytest", "_pytest", "pluggy", "pygments", "setuptools",
    "pkg_resources", "_distutils_hack", "distutils", "pip", "wheel",
)  # fmt: skip

# Qt plugin folders with nothing algodesk uses (no QtNetwork, SQL, QML, printing, designer).
_DROPPED_PLUGIN_DIRS = (
    "designer", "egldeviceintegrations", "generic", "geometryloaders", "multimedia",
    "networkinformation", "position", "printsupport", "qmllint", "qmlls", "qmltooling",
    "renderers", "sceneparsers", "sqldrivers", "tls", "vectorimageformats",
    "wayland-graphics-integration-client", "wayland-graphics-integration-server", "webview",
)  # fmt: skip
# Single plugins (file name without extension): embedded and VNC platforms, image formats
# without a use, the virtual keyboard (it pulls in QtQuick) and the GTK theme (it would bundle
# the build machine's GTK).
_DROPPED_PLUGINS = re.compile(
    r"^(?:lib)?q?(?:eglfs|linuxfb|minimalegl|vkkhrdisplay|vnc|direct2d|pdf|tiff|webp|wbmp|tga|"
    r"qtvirtualkeyboardplugin|gtk3)$",
    re.IGNORECASE,
)
# Qt libraries (Linux libQt6X.so, Windows Qt6X.dll, macOS QtX.framework) that only the dropped
# plugins and modules link against.
_DROPPED_QT_LIBS = re.compile(
    r"(?:^|/)(?:lib)?Qt6?(?:Pdf|Qml|Quick|VirtualKeyboard|Network|Sql|PrintSupport|Designer|"
    r"EglFS|Labs|Lottie|ShaderTools|WaylandCompositor|WaylandEgl)"
)


def own_modules(package: Path = PACKAGE) -> list[str]:
    """Every algodesk module but ``__main__`` (the bundle's entry script), sorted."""
    names = []
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return sorted(names)


def excluded_modules() -> list[str]:
    """Python modules to leave out: unused PySide6 bindings and stdlib tools."""
    unused = [f"PySide6.{name}" for name in PYSIDE6_MODULES if name not in QT_MODULES_USED]
    return [*unused, *EXCLUDED_PYTHON]


def keep_qt_file(dest: str) -> bool:
    """Whether a bundled file (its destination path) stays; non-Qt files always do."""
    dest = dest.replace("\\", "/")
    if "PySide6/" not in dest:
        return True
    if "/translations/" in dest or dest.endswith(".qm"):
        return False  # algodesk is English only and installs no QTranslator
    if "/qml/" in dest:
        return False
    plugin_dir = re.search(r"/plugins/([^/]+)/", dest)
    if plugin_dir and plugin_dir.group(1) in _DROPPED_PLUGIN_DIRS:
        return False
    if plugin_dir and _DROPPED_PLUGINS.search(Path(dest).stem):
        return False
    return not _DROPPED_QT_LIBS.search(dest)


def keep_hook_entry(entry: tuple[str, str]) -> bool:
    """:func:`keep_qt_file` for a hook's ``(source file, destination folder)`` pair."""
    source, folder = entry
    return keep_qt_file(f"{folder}/{Path(source).name}")


def data_files() -> list[tuple[str, str]]:
    """``(source, destination folder)`` pairs for PyInstaller's ``datas``."""
    return [(str(CATALOG), CATALOG_DEST), (str(WINDOW_ICON), CATALOG_DEST)]


def icon_file(platform: str) -> Path | None:
    """The executable's icon for ``platform`` (Linux executables carry none)."""
    if platform.startswith("win"):
        return ICONS / "algodesk.ico"
    if platform == "darwin":
        return ICONS / "algodesk.icns"
    return None


def executables(platform: str) -> list[tuple[str, bool]]:
    """``(name, console)`` of each executable in the one-folder bundle.

    Windows gives a windowed program no console, so its ``print`` goes nowhere: the bundle adds
    ``algodesk-cli.exe``, a console twin for the sub-commands and the self-test. On macOS a
    windowed app run from a terminal still has its output; Linux has no such distinction.
    """
    if platform.startswith("win"):
        return [(APP_NAME, False), (f"{APP_NAME}-cli", True)]
    return [(APP_NAME, platform != "darwin")]
