"""Bad input ends in one line on stderr and exit 2, nothing written; a closed pipe ends quietly;
no display (or a missing Qt library) is said before Qt aborts."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from algodesk import display
from algodesk.cli import main
from tests.cli_run import run_cli

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "fpbx-8196-2025__algom_mac_.conf"


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    target = tmp_path / "algom0022EE010203.conf"
    shutil.copy(SAMPLE, target)
    return target


def assert_one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("note:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0]


def test_set_output_into_a_missing_folder(conf: Path, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "x.conf"
    result = run_cli("set", str(conf), "prov.use=0", "-o", str(target))
    assert_one_line(result, str(target), "No such file or directory")
    assert not target.parent.exists()


def test_set_output_under_a_file_instead_of_a_folder(conf: Path) -> None:
    target = conf / "x.conf"
    result = run_cli("set", str(conf), "prov.use=0", "-o", str(target))
    assert_one_line(result, str(target), "Not a directory")


def test_incremental_into_a_missing_folder(conf: Path, tmp_path: Path) -> None:
    target = tmp_path / "nowhere" / "algop8196-i.conf"
    result = run_cli("incremental", str(conf), str(conf), "-o", str(target))
    assert_one_line(result, str(target), "No such file or directory")


def test_md5_in_a_read_only_folder(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # Root writes into any folder it may chmod; sysfs refuses new files even to root.
        source = Path("/sys/kernel/mm/transparent_hugepage/enabled")
        if not source.is_file():
            pytest.skip("no read-only folder a root test can use")
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        source = folder / "algop8186.conf"
        source.write_bytes(b"prov.use = 1\n")
        folder.chmod(0o555)
    result = run_cli("md5", str(source))
    assert_one_line(result, str(source.with_suffix(".md5")))
    assert "Failed to execute" not in result.stderr


def test_disk_full_is_one_line_and_leaves_the_file_alone(
    conf: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = conf.read_bytes()

    def full(_fd: int) -> None:  # write-back errors surface at fsync on a full disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("algodesk.core.fileio.os.fsync", full)
    assert main(["set", str(conf), "prov.use=0"]) == 2
    err = capsys.readouterr().err
    assert err == f"algodesk set: error: {conf}: No space left on device\n"
    assert conf.read_bytes() == before
    assert [p.name for p in conf.parent.iterdir()] == [conf.name]


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    for index in range(40):  # enough findings that the output is more than one write
        (tmp_path / f"algop81{index:02d}.conf").write_bytes(b"prov.use = 1\n")
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away before the first line, as `| head -0` does
    try:
        result = subprocess.run(
            [sys.executable, "-m", "algodesk", "check", str(tmp_path), "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == 141


def test_no_display_is_said_before_qt_starts() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    result = run_cli(env=env)
    if not sys.platform.startswith("linux"):
        pytest.skip("only Linux can lack a display")
    assert result.returncode == 2
    assert result.stderr.startswith("algodesk: no display found; for headless use run `algodesk")
    assert "serve" in result.stderr and "check" in result.stderr and "--help" in result.stderr


def test_a_missing_xcb_library_is_named_with_the_readme_pointer() -> None:
    def find(name: str) -> str | None:
        return None if name == "xcb-cursor" else f"lib{name}.so"

    message = display.problem({"DISPLAY": ":0"}, platform="linux", find_library=find)
    assert "libxcb-cursor0" in message and "README" in message
    assert display.problem({"DISPLAY": ":0"}, platform="linux", find_library=lambda _n: "x") == ""
    assert display.problem({}, platform="win32") == ""
    assert display.problem({"QT_QPA_PLATFORM": "offscreen"}, platform="linux") == ""


def test_a_qt_import_failing_on_a_system_library_is_named() -> None:
    error = ImportError("libEGL.so.1: cannot open shared object file: No such file or directory")
    message = display.import_problem(error)
    assert "libEGL.so.1" in message and "README" in message
    assert display.import_problem(ImportError("cannot import name 'x'")) == ""
