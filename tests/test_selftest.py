"""``algodesk --self-test``: every check passes here, and each failure is reported, not hidden."""

from __future__ import annotations

import io
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from algodesk import cli, selftest
from algodesk.core import resources
from algodesk.services import tftp_client

pytestmark = pytest.mark.usefixtures("qapp")


def _run(*checks: tuple[str, selftest.Check]) -> tuple[int, str]:
    out = io.StringIO()
    code = selftest.run(out, checks) if checks else selftest.run(out)
    return code, out.getvalue()


def test_every_check_passes_from_source() -> None:
    code, report = _run()
    assert code == 0, report
    for name, _check in selftest.CHECKS:
        assert f"ok    {name}" in report
    assert report.splitlines()[-1].startswith(f"self-test passed: {len(selftest.CHECKS)} checks")


def test_a_failure_is_reported_and_the_next_check_still_runs() -> None:
    def broken(_scratch: Path) -> str:
        raise ValueError("the bundle lost its catalog")

    code, report = _run(("broken", broken), ("fine", lambda _scratch: "all good"))
    assert code == 1
    assert "FAIL  broken   ValueError: the bundle lost its catalog" in report
    assert "ok    fine     all good" in report
    assert report.splitlines()[-1].startswith("self-test FAILED: broken")


def test_checks_get_their_own_scratch_folder_which_is_removed() -> None:
    seen: list[Path] = []

    def record(scratch: Path) -> str:
        assert scratch.is_dir() and not any(scratch.iterdir())
        (scratch / "left-over").write_text("x")
        seen.append(scratch)
        return "recorded"

    assert _run(("one", record), ("two", record))[0] == 0
    assert seen[0] != seen[1]
    assert not any(path.exists() for path in seen)


def test_imports_fail_when_modules_loaded_by_name_are_not_seen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import pkgutil

    monkeypatch.setattr(pkgutil, "walk_packages", lambda *_args, **_kw: iter(()))
    with pytest.raises(RuntimeError, match=r"algodesk\.app"):
        selftest.check_imports(tmp_path)


def test_missing_catalog_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(resources, "SEARCH_PATH", (tmp_path,))
    code, report = _run(("catalog", selftest.check_catalog))
    assert code == 1
    assert "FAIL  catalog  CatalogError" in report


def test_tftp_check_compares_what_came_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    assert "md5 matches" in selftest.check_tftp(tmp_path / "a")
    (tmp_path / "b").mkdir()
    monkeypatch.setattr(tftp_client, "fetch_file", lambda *_args, **_kw: b"not the file")
    with pytest.raises(RuntimeError, match="expected"):
        selftest.check_tftp(tmp_path / "b")


def test_tftp_check_says_when_the_file_is_not_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(tftp_client, "fetch_file", lambda *_args, **_kw: None)
    with pytest.raises(RuntimeError, match="does not exist"):
        selftest.check_tftp(tmp_path)


def test_keyring_without_backend_is_reported_not_failed(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        detail = selftest.check_keyring(tmp_path)
    finally:
        keyring.set_keyring(previous)
    assert "in memory" in detail
    assert "SecretService" in detail  # found through keyring's entry points


def test_keyring_without_metadata_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **_kw: [])
    with pytest.raises(RuntimeError, match="metadata"):
        selftest.check_keyring(tmp_path)


@pytest.mark.parametrize(
    ("system", "wanted"),
    [("linux", ("xcb", "wayland")), ("win32", ("windows",)), ("darwin", ("cocoa",)), ("os2", ())],
)
def test_native_platforms(system: str, wanted: tuple[str, ...]) -> None:
    assert selftest.native_platforms(system) == wanted


def test_plugin_needing_a_system_library_is_a_note() -> None:
    wayland = Path("plugins/platforms/libqwayland.so")
    shell = Path("plugins/wayland-shell-integration/libxdg-shell.so")
    error = "Cannot load library {}: libwayland-cursor.so.0: cannot open shared object file: x"
    broken, needs = selftest.sort_plugin_failures(
        {wayland: error.format(wayland), shell: error.format(shell)}, ("xcb", "wayland")
    )
    assert broken == []
    assert needs == {"libwayland-cursor.so.0": [wayland, shell]}


def test_plugin_missing_a_qt_library_is_a_bundle_fault() -> None:
    pdf = Path("plugins/imageformats/libqpdf.so")
    error = f"Cannot load library {pdf}: libQt6Pdf.so.6: cannot open shared object file: x"
    broken, needs = selftest.sort_plugin_failures({pdf: error}, ("xcb", "wayland"))
    assert broken == [f"imageformats/libqpdf.so: {error}"]
    assert needs == {}


def test_windows_load_errors_are_bundle_faults() -> None:
    style = Path("plugins/styles/qmodernwindowsstyle.dll")
    broken, _needs = selftest.sort_plugin_failures(
        {style: "The specified module could not be found."}, ("windows",)
    )
    assert len(broken) == 1


def test_no_usable_native_platform_is_a_bundle_fault() -> None:
    xcb = Path("plugins/platforms/libqxcb.so")
    error = f"Cannot load library {xcb}: libxcb-cursor.so.0: cannot open shared object file: x"
    broken, _needs = selftest.sort_plugin_failures({xcb: error}, ("xcb",))
    assert broken == ["no usable xcb platform plugin"]


def test_cli_flag_runs_the_self_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selftest, "run", lambda: 7)
    assert cli.main(["--self-test"]) == 7
    assert "--self-test" in cli.build_parser().format_help()
