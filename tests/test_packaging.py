"""Packaging without building: what the spec puts in, the icons, the version resource, portable mode.

The bundle itself is built and run by ``packaging/build.py`` (minutes, not a unit test); these
tests keep its inputs honest in seconds.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

import algodesk
from algodesk.commands import table
from algodesk.core import catalog, resources
from algodesk.services import paths

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"


def _load(name: str, file: str) -> ModuleType:
    """A module of packaging/, which is no package (``packaging`` is PyPA's library)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, PACKAGING / file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# Under the names build.py and the spec import them by (they run with packaging/ on sys.path).
contents = _load("bundle_contents", "bundle_contents.py")
make_icons = _load("make_icons", "make_icons.py")
build = _load("algodesk_packaging_build", "build.py")  # "build" is PyPA's build tool


def _qt_modules_in_source() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "algodesk").rglob("*.py"):
        found.update(re.findall(r"PySide6\.(Qt\w+)", path.read_text(encoding="utf-8")))
    return found


def _top_level_imports() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "algodesk").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    return names


# --- what goes into the bundle -----------------------------------------------------------------


def test_every_module_loaded_by_name_is_a_hidden_import() -> None:
    hidden = set(contents.own_modules())
    assert set(table.COMMAND_MODULES) <= hidden
    assert {"algodesk.app", "algodesk.selftest", "algodesk.cli"} <= hidden
    assert "algodesk.__main__" not in hidden  # the entry script; importing it runs the app


def test_no_qt_module_in_use_is_excluded() -> None:
    used = _qt_modules_in_source()
    assert used, "the scan found no PySide6 import at all"
    assert used <= set(contents.QT_MODULES_USED), f"add {used - set(contents.QT_MODULES_USED)}"
    excluded = set(contents.excluded_modules())
    assert not {f"PySide6.{name}" for name in used} & excluded
    assert {"PySide6.QtQml", "PySide6.QtNetwork", "PySide6.QtWebEngineCore"} <= excluded


def test_no_module_algodesk_imports_is_excluded() -> None:
    imported = _top_level_imports()
    for excluded in contents.excluded_modules():
        clash = {name for name in imported if name == excluded or name.startswith(excluded + ".")}
        assert not clash, f"{excluded} is excluded from the bundle but algodesk imports {clash}"


def test_every_qt_module_in_use_has_a_trimming_hook() -> None:
    hooks = {path.name for path in contents.HOOKS.glob("hook-*.py")}
    assert hooks == {f"hook-PySide6.{name}.py" for name in contents.QT_MODULES_USED}


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/plugins/platforms/qwindows.dll",
        "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
        "PySide6/plugins/styles/qmodernwindowsstyle.dll",
        "PySide6/Qt/plugins/styles/libqmacstyle.dylib",
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
        "PySide6/Qt/plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so",
        "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so",
        "PySide6/Qt/lib/libQt6Widgets.so.6",
        "PySide6/Qt/lib/libQt6Svg.so.6",
        "PySide6/Qt/lib/libQt6DBus.so.6",
        "PySide6/Qt6Gui.dll",
        "PySide6/Qt/lib/QtWidgets.framework/Versions/A/QtWidgets",
        "algodesk/_resources/catalog.tsv",
        "libcrypto.so.3",
    ],
)
def test_kept(dest: str) -> None:
    assert contents.keep_qt_file(dest)


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/translations/qtbase_de.qm",
        "PySide6\\translations\\qt_fr.qm",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "PySide6/Qt/plugins/imageformats/libqpdf.so",
        "PySide6/plugins/imageformats/qpdf.dll",
        "PySide6/Qt/plugins/platforms/libqeglfs.so",
        "PySide6/Qt/plugins/platforms/libqvnc.so",
        "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
        "PySide6/Qt/plugins/tls/libqopensslbackend.so",
        "PySide6/Qt/plugins/sqldrivers/libqsqlite.so",
        "PySide6/Qt/lib/libQt6Quick.so.6",
        "PySide6/Qt/lib/libQt6Network.so.6",
        "PySide6/Qt6Qml.dll",
        "PySide6/Qt/lib/QtQml.framework/Versions/A/QtQml",
    ],
)
def test_dropped(dest: str) -> None:
    assert not contents.keep_qt_file(dest)


def test_hook_entries_are_judged_by_their_destination() -> None:
    xcb = ("/venv/PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/plugins/platforms")
    gtk = (
        "/venv/PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "PySide6/Qt/plugins/platformthemes",
    )
    assert contents.keep_hook_entry(xcb)
    assert not contents.keep_hook_entry(gtk)


def test_catalog_goes_where_the_app_looks_for_it() -> None:
    (source, dest), *_ = contents.data_files()
    assert Path(source) == catalog.catalog_path() == ROOT / "resources" / "catalog.tsv"
    package_dir = Path(catalog.__file__).resolve().parents[1]
    assert resources.SEARCH_PATH[0] == package_dir.parent / dest
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"] == {
        "resources": dest
    }


@pytest.mark.parametrize(
    ("platform", "programs", "icon"),
    [
        ("win32", [("algodesk", False), ("algodesk-cli", True)], "algodesk.ico"),
        ("darwin", [("algodesk", False)], "algodesk.icns"),
        ("linux", [("algodesk", True)], None),
    ],
)
def test_programs_and_icons(platform: str, programs: list[tuple[str, bool]], icon: str | None):
    assert contents.executables(platform) == programs
    chosen = contents.icon_file(platform)
    assert (chosen.name if chosen else None) == icon
    assert chosen is None or chosen.is_file()


class _SpecRecorder:
    """Stands in for PyInstaller's build classes while the spec runs."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getitem__(self, kind: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> SimpleNamespace:
            self.calls.append((kind, args, kwargs))
            return SimpleNamespace(
                **{"scripts": [], "binaries": [], "datas": [], "pure": [], **kwargs}
            )

        return record

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [kwargs for name, _args, kwargs in self.calls if name == kind]


def _run_spec(monkeypatch: pytest.MonkeyPatch, platform: str, *args: str) -> _SpecRecorder:
    import PyInstaller.utils.hooks as hooks

    monkeypatch.setattr(hooks, "collect_submodules", lambda package: [f"{package}.found"])
    monkeypatch.setattr(hooks, "copy_metadata", lambda dist: [(f"{dist}.dist-info", dist)])
    recorder = _SpecRecorder()
    names = {kind: recorder[kind] for kind in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    spec = PACKAGING / "algodesk.spec"
    monkeypatch.setattr(sys, "argv", [str(spec), *args])
    monkeypatch.setattr(sys, "path", list(sys.path))  # the spec adds its folder
    monkeypatch.setattr(sys, "platform", platform)
    namespace = {"SPECPATH": str(PACKAGING), "__file__": str(spec), **names}
    exec(compile(spec.read_text(), str(spec), "exec"), namespace)
    return recorder


def test_spec_one_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _run_spec(monkeypatch, "linux")
    (analysis,) = recorder.of("Analysis")
    assert set(contents.own_modules()) <= set(analysis["hiddenimports"])
    assert {"keyring.backends.found", "zeroconf.found"} <= set(analysis["hiddenimports"])
    assert (str(contents.CATALOG), "algodesk/_resources") in analysis["datas"]
    assert ("keyring.dist-info", "keyring") in analysis["datas"]
    assert analysis["hookspath"] == [str(contents.HOOKS)]
    assert analysis["excludes"] == tuple(contents.excluded_modules())
    (program,) = recorder.of("EXE")
    assert program["name"] == "algodesk" and program["exclude_binaries"]
    assert [c["name"] for c in recorder.of("COLLECT")] == ["algodesk"]
    assert recorder.of("BUNDLE") == []


def test_spec_windows_adds_a_console_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _run_spec(monkeypatch, "win32")
    programs = {p["name"]: p["console"] for p in recorder.of("EXE")}
    assert programs == {"algodesk": False, "algodesk-cli": True}
    assert {p["version"] for p in recorder.of("EXE")} == {str(contents.VERSION_INFO)}
    assert {p["icon"] for p in recorder.of("EXE")} == {str(contents.ICONS / "algodesk.ico")}


def test_spec_macos_makes_an_app(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _run_spec(monkeypatch, "darwin")
    (bundle,) = recorder.of("BUNDLE")
    assert bundle["name"] == "algodesk.app"
    assert bundle["version"] == algodesk.__version__
    assert "NSLocalNetworkUsageDescription" in bundle["info_plist"]


def test_spec_one_file(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = _run_spec(monkeypatch, "linux", "--onefile")
    (program,) = recorder.of("EXE")
    assert program["name"] == "algodesk" and "exclude_binaries" not in program
    assert recorder.of("COLLECT") == []


# --- icons -------------------------------------------------------------------------------------


def _png(size: int) -> bytes:
    """A minimal PNG header of ``size`` x ``size`` (the writers only read IHDR)."""
    return make_icons.PNG_SIGNATURE + b"\0\0\0\rIHDR" + size.to_bytes(4, "big") * 2 + b"\x08\x06"


def _ico_entries(data: bytes) -> list[tuple[int, bytes]]:
    reserved, kind, count = int.from_bytes(data[0:2], "little"), data[2], data[4]
    assert (reserved, kind) == (0, 1)
    entries = []
    for n in range(count):
        entry = data[6 + 16 * n : 22 + 16 * n]
        width, height = entry[0] or 256, entry[1] or 256
        assert width == height
        size, offset = int.from_bytes(entry[8:12], "little"), int.from_bytes(entry[12:16], "little")
        entries.append((width, data[offset : offset + size]))
    return entries


def _icns_entries(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:4] == b"icns" and int.from_bytes(data[4:8], "big") == len(data)
    entries, at = [], 8
    while at < len(data):
        kind, length = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "big")
        entries.append((kind, data[at + 8 : at + length]))
        at += length
    assert at == len(data)
    return entries


def test_ico_writer_round_trip() -> None:
    data = make_icons.ico_bytes({256: _png(256), 16: _png(16)})
    assert [(size, make_icons.png_size(png)) for size, png in _ico_entries(data)] == [
        (16, (16, 16)),
        (256, (256, 256)),
    ]


def test_ico_refuses_what_it_cannot_describe() -> None:
    with pytest.raises(ValueError, match="512"):
        make_icons.ico_bytes({512: _png(512)})


def test_icns_writer_uses_each_size_for_its_types() -> None:
    data = make_icons.icns_bytes({16: _png(16), 32: _png(32)})
    assert [kind for kind, _png_data in _icns_entries(data)] == [b"icp4", b"icp5", b"ic11"]


def test_png_size_rejects_other_files() -> None:
    with pytest.raises(ValueError):
        make_icons.png_size(b"GIF89a....")


def test_committed_icons_are_complete() -> None:
    for size in make_icons.PNG_SIZES:
        png = (contents.ICONS / f"algodesk-{size}.png").read_bytes()
        assert make_icons.png_size(png) == (size, size)
    ico = _ico_entries((contents.ICONS / "algodesk.ico").read_bytes())
    assert [size for size, _png_data in ico] == list(make_icons.ICO_SIZES)
    assert all(make_icons.png_size(png) == (size, size) for size, png in ico)
    icns = dict(_icns_entries((contents.ICONS / "algodesk.icns").read_bytes()))
    assert set(icns) == {kind for kind, _size in make_icons.ICNS_TYPES}
    for kind, size in make_icons.ICNS_TYPES:
        assert make_icons.png_size(icns[kind]) == (size, size)


@pytest.mark.usefixtures("qapp")
@pytest.mark.parametrize("name", ["algodesk.ico", "algodesk.icns"])
def test_qt_reads_the_containers(name: str) -> None:
    from PySide6.QtGui import QImageReader

    reader = QImageReader(str(contents.ICONS / name))
    sizes = []
    for index in range(reader.imageCount()):
        reader.jumpToImage(index)
        image = reader.read()
        assert not image.isNull(), reader.errorString()
        sizes.append(image.width())
    assert max(sizes) == (256 if name.endswith(".ico") else 1024)


@pytest.mark.usefixtures("qapp")
def test_icons_match_the_svg() -> None:
    """After editing the SVG: uv run python packaging/make_icons.py (or build.py --icons)."""
    from PySide6.QtGui import QImage

    fresh, committed = QImage(), QImage()
    fresh.loadFromData(make_icons.render_pngs(make_icons.SVG, (64,))[64])
    committed.load(str(contents.ICONS / "algodesk-64.png"))
    assert fresh.size() == committed.size()
    changed = 0
    for x in range(64):
        for y in range(64):
            a, b = fresh.pixelColor(x, y), committed.pixelColor(x, y)
            channels = zip(a.getRgb(), b.getRgb(), strict=True)
            changed += max(abs(one - other) for one, other in channels) > 24
    # antialiasing may shift edge pixels between Qt versions; a changed drawing moves far more
    assert changed < 64 * 64 // 100, f"{changed} pixels differ"


# --- the Windows version resource ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "numbers"),
    [
        ("0.1.0", (0, 1, 0, 0)),
        ("1.2.3rc1", (1, 2, 3, 0)),
        ("2.0.dev4", (2, 0, 0, 0)),
        ("1.2.3.4.5", (1, 2, 3, 4)),
    ],
)
def test_version_tuple(version: str, numbers: tuple[int, int, int, int]) -> None:
    assert build.version_tuple(version) == numbers


def _evaluate_version_info(text: str) -> dict[str, Any]:
    """Evaluate the file as PyInstaller does, with its classes recording their arguments."""

    def node(kind: str):
        return lambda *args, **kwargs: {"kind": kind, "args": args, **kwargs}

    kinds = ("VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct")
    names = {kind: node(kind) for kind in (*kinds, "VarFileInfo", "VarStruct")}
    return eval(text, {"__builtins__": {}}, names)


def test_version_info_is_current_and_well_formed() -> None:
    text = build.render_version_info(algodesk.__version__)
    assert contents.VERSION_INFO.read_text() == text, "run: uv run python packaging/build.py"
    info = _evaluate_version_info(text)
    assert info["ffi"]["filevers"] == build.version_tuple(algodesk.__version__)
    (string_info, _var_info) = info["kids"]
    (table,) = string_info["args"][0]
    strings = dict(entry["args"] for entry in table["args"][1])
    assert strings["ProductVersion"] == strings["FileVersion"] == algodesk.__version__


# --- build.py helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "onefile", "program"),
    [
        ("linux", False, "algodesk/algodesk"),
        ("linux", True, "algodesk"),
        ("win32", False, "algodesk/algodesk-cli.exe"),
        ("win32", True, "algodesk.exe"),
        ("darwin", False, "algodesk.app/Contents/MacOS/algodesk"),
    ],
)
def test_program_to_test(platform: str, onefile: bool, program: str) -> None:
    assert build.bundle_program(Path("dist"), onefile, platform) == Path("dist", program)


def test_sample_folder_uses_device_names(tmp_path: Path) -> None:
    build.make_sample_folder(tmp_path)
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names and all(re.fullmatch(r"algop\d{4}\.conf", name) for name in names)
    assert "algop8186.conf" in names


def test_folder_size_counts_files_not_links(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"y" * 5)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert build.folder_size(tmp_path) == 15
    assert build.folder_size(tmp_path / "a") == 10


# --- portable mode in a bundle ----------------------------------------------------------------


def test_frozen_one_folder_looks_beside_the_program(tmp_path: Path) -> None:
    program = tmp_path / "algodesk" / "algodesk"
    program.parent.mkdir()
    program.write_bytes(b"")
    assert paths.frozen_dir(program) == tmp_path / "algodesk"


def test_frozen_macos_app_looks_beside_the_app(tmp_path: Path) -> None:
    program = tmp_path / "USB" / "algodesk.app" / "Contents" / "MacOS" / "algodesk"
    program.parent.mkdir(parents=True)
    program.write_bytes(b"")
    assert paths.frozen_dir(program) == tmp_path / "USB"


def test_a_macos_folder_outside_an_app_is_not_special(tmp_path: Path) -> None:
    program = tmp_path / "Contents" / "MacOS" / "algodesk"
    program.parent.mkdir(parents=True)
    program.write_bytes(b"")
    assert paths.frozen_dir(program) == program.parent


def test_portable_marker_beside_the_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    stick = tmp_path / "USB"
    program = stick / "algodesk.app" / "Contents" / "MacOS" / "algodesk"
    program.parent.mkdir(parents=True)
    program.write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(program))
    assert paths.entry_dir() == stick
    assert not paths.resolve({}).portable
    (stick / paths.PORTABLE_MARKER).write_text("")
    resolved = paths.resolve({})
    assert resolved.portable
    assert resolved.config_dir == stick / "algodesk-data" / "config"


def test_symlinked_program_finds_its_real_folder(tmp_path: Path) -> None:
    program = tmp_path / "opt" / "algodesk" / "algodesk"
    program.parent.mkdir(parents=True)
    program.write_bytes(b"")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "algodesk").symlink_to(program)
    assert paths.frozen_dir(tmp_path / "bin" / "algodesk") == program.parent


# --- the start-up benchmark's hook -------------------------------------------------------------


def test_exit_when_shown(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ALGODESK_EXIT_WHEN_SHOWN": "1",
        paths.HOME_VARIABLE: str(tmp_path),
        "QT_QPA_PLATFORM": "offscreen",
    }
    result = subprocess.run(
        [sys.executable, "-m", "algodesk"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "algodesk: main window shown"
    assert (tmp_path / "config" / "settings.json").exists()  # closed as a user would: saved
