"""Files we write keep who may read them: a save keeps the file's mode, a new file gets the
umask's, and only an explicit stage-1 export (it holds a password) is for its owner alone.

Every writer is exercised: ``set``, ``set -o``, ``md5``, ``incremental`` and ``stage1`` on the
command line; the editor's Save, "Save as provisioning file", device export and the Stage 1 page's
export in the window. Plus the atomic-save rules: ``kill -9`` mid-save leaves the old file whole,
and a link out of the folder is not written through.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from algodesk.cli import main
from algodesk.core.fileio import SymlinkOutsideFolder, atomic_write
from tests import cli_run

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "fpbx-8196-2025__algom_mac_.conf"
UMASK = 0o022


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def known_umask() -> Iterator[None]:
    """The umask a packaged desktop session has; restored afterwards."""
    previous = os.umask(UMASK)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    target = tmp_path / "algom0022EE010203.conf"
    shutil.copy(SAMPLE, target)
    return target


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_run.run_cli(*args, umask=UMASK)


# --- the writer itself -----------------------------------------------------------------------


@pytest.mark.parametrize("before", [0o644, 0o640, 0o664, 0o600, 0o444])
def test_replacing_a_file_keeps_its_mode(tmp_path: Path, before: int) -> None:
    target = tmp_path / "algop8186.conf"
    target.write_bytes(b"old\n")
    target.chmod(before)
    atomic_write(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert mode(target) == before


def test_replacing_a_file_keeps_its_owner_where_we_may(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root may give a file to another user")
    target = tmp_path / "algop8186.conf"
    target.write_bytes(b"old\n")
    os.chown(target, 4321, 4321)  # tftpd-hpa's files belong to its own user
    atomic_write(target, b"new\n")
    assert (target.stat().st_uid, target.stat().st_gid) == (4321, 4321)


def test_a_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    atomic_write(tmp_path / "new.conf", b"x\n")
    assert mode(tmp_path / "new.conf") == 0o666 & ~UMASK


def test_a_secret_file_is_for_its_owner_only_new_or_replaced(tmp_path: Path) -> None:
    atomic_write(tmp_path / "new.conf", b"x\n", secret=True)
    assert mode(tmp_path / "new.conf") == 0o600
    old = tmp_path / "old.conf"
    old.write_bytes(b"x\n")
    old.chmod(0o644)
    atomic_write(old, b"y\n", secret=True)
    assert mode(old) == 0o600


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    atomic_write(tmp_path / "a.conf", b"x\n")
    assert [p.name for p in tmp_path.iterdir()] == ["a.conf"]


def test_a_link_inside_the_folder_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "algop8186-real.conf"
    real.write_bytes(b"old\n")
    real.chmod(0o640)
    link = tmp_path / "algop8186.conf"
    link.symlink_to(real.name)
    assert atomic_write(link, b"new\n") == link
    assert link.is_symlink() and real.read_bytes() == b"new\n" and mode(real) == 0o640


def test_a_link_out_of_the_folder_is_refused_and_said(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.conf"
    old = b"prov.use = 1\n"
    outside.write_bytes(old)
    folder = tmp_path / "bench"
    folder.mkdir()
    link = folder / "algop8186.conf"
    link.symlink_to(outside)
    with pytest.raises(SymlinkOutsideFolder) as caught:
        atomic_write(link, b"new\n")
    assert caught.value.filename == str(link) and "outside its folder" in str(caught.value)
    assert outside.read_bytes() == old and link.is_symlink()
    result = run_cli("set", str(link), "prov.use=0")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "outside its folder" in result.stderr and outside.read_bytes() == old


def test_errors_name_the_file_not_the_temporary_one(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: a read-only folder is writable")
        with pytest.raises(PermissionError) as caught:
            atomic_write(folder / "a.conf", b"x\n")
        assert caught.value.filename == str(folder / "a.conf")
    finally:
        folder.chmod(0o755)


# --- every command-line writer ---------------------------------------------------------------


@pytest.mark.parametrize("before", [0o644, 0o664])
def test_set_in_place_keeps_the_mode(conf: Path, before: int) -> None:
    conf.chmod(before)
    result = run_cli("set", str(conf), "prov.use=0")
    assert result.returncode == 0, result.stderr
    assert mode(conf) == before


def test_set_output_new_and_existing(conf: Path, tmp_path: Path) -> None:
    new = tmp_path / "algop8196.conf"
    assert run_cli("set", str(conf), "prov.use=0", "-o", str(new)).returncode == 0
    assert mode(new) == 0o644
    new.chmod(0o640)
    assert run_cli("set", str(conf), "prov.use=1", "-o", str(new)).returncode == 0
    assert mode(new) == 0o640


def test_md5_and_incremental_get_the_umask_mode(conf: Path, tmp_path: Path) -> None:
    assert run_cli("md5", str(conf)).returncode == 0
    assert mode(conf.with_suffix(".md5")) == 0o644
    edited = tmp_path / "edited.conf"
    assert run_cli("set", str(conf), "prov.use=0", "-o", str(edited)).returncode == 0
    out = tmp_path / "algop8196-i.conf"
    result = run_cli("incremental", str(conf), str(edited), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert mode(out) == 0o644 and mode(tmp_path / "algop8196-i.md5") == 0o644


def test_stage1_export_is_for_the_owner_only_and_says_so(
    home: Path,
    tmp_path: Path,
    memory_keyring: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        main(
            [
                *("profile", "create", "bench", "--server", "https://prov.example.com/algo"),
                *("--user", "algo", "--products", "8186"),
            ]
        )
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("S3cr3t-Mode-Canary\n"))
    out = tmp_path / "export"
    assert main(["stage1", "--profile", "bench", "--out", str(out), "--password-stdin"]) == 0
    assert {p.name: mode(p) for p in out.iterdir()} == {
        "algop8186.conf": 0o600,
        "algop8186.md5": 0o600,
    }
    assert "mode 600" in capsys.readouterr().out
    # The profile itself holds no secret: an ordinary file.
    assert mode(home / "config" / "profiles" / "bench.json") == 0o644


# --- kill -9 during a save -------------------------------------------------------------------

# Runs ``set -o`` with fsync held: the new bytes are in the temporary file, the target not yet
# replaced. The test kills the process there, the worst moment for a non-atomic writer.
_HELD_SAVE = """
import os, sys, time
from pathlib import Path
ready = Path(sys.argv[1])
real_fsync = os.fsync
def held_fsync(fd):
    real_fsync(fd)
    ready.write_text("writing")
    time.sleep(60)
os.fsync = held_fsync
from algodesk.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_kill_9_during_set_output_leaves_the_old_file_whole(conf: Path, tmp_path: Path) -> None:
    target = tmp_path / "algop8196.conf"
    old = b"prov.use = 1\n" * 5000
    target.write_bytes(old)
    target.chmod(0o644)
    ready = tmp_path / "ready"
    command = ["set", str(conf), "prov.use=0", "-o", str(target)]
    process = subprocess.Popen(
        [sys.executable, "-c", _HELD_SAVE, str(ready), *command],
        umask=UMASK,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists(), "the save never reached its write"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert target.read_bytes() == old and mode(target) == 0o644
    # A later save succeeds and replaces it whole.
    assert run_cli("set", str(conf), "prov.use=0", "-o", str(target)).returncode == 0
    assert b"prov.use = 0" in target.read_bytes()
