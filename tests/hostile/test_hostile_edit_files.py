"""Point 11: ``set`` and ``diff`` read only regular files of a config's size, and never replace a
file that changed while they edited it. Each refusal is one line on stderr and exit status 2.

FIFO and device probes run in a subprocess with a deadline: the bug they guard against is a hang.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from algodesk.cli import main
from algodesk.commands import edit
from algodesk.core.readfile import MAX_CONFIG_BYTES
from tests.cli_run import run_cli

SAMPLE = Path(__file__).parents[1] / "data" / "fpbx-8196-2025__algom_mac_.conf"


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    target = tmp_path / "algom0022EE010203.conf"
    shutil.copy(SAMPLE, target)
    return target


def one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert all(word in lines[0] for word in words), lines[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("command", ["set", "diff"])
def test_a_fifo_is_refused_not_waited_on(tmp_path: Path, conf: Path, command: str) -> None:
    fifo = tmp_path / "pipe.conf"
    os.mkfifo(fifo)
    args = [str(fifo), "prov.use=0"] if command == "set" else [str(conf), str(fifo)]
    one_line_error(run_cli(command, *args), "not a regular file")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("command", ["set", "diff"])
def test_a_device_is_refused_not_read_forever(conf: Path, command: str) -> None:
    args = ["/dev/zero", "prov.use=0"] if command == "set" else [str(conf), "/dev/zero"]
    one_line_error(run_cli(command, *args), "not a regular file")


def test_a_file_larger_than_a_config_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.conf"
    with big.open("wb") as handle:
        handle.write(b"a = 1\n")
        handle.truncate(MAX_CONFIG_BYTES + 1)
    assert main(["set", str(big), "prov.use=0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"larger than {MAX_CONFIG_BYTES >> 20} MiB" in err[0], err
    assert big.stat().st_size == MAX_CONFIG_BYTES + 1


def test_a_file_changed_while_editing_is_not_replaced(
    conf: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another program appends between our read and our replace (as a logger would)."""
    original = edit.atomic_write

    def append_then_write(path: Path, data: bytes, **kwargs: object) -> Path:
        with conf.open("ab") as handle:
            handle.write(b"appended.by.someone = 1\n")
        return original(path, data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(edit, "atomic_write", append_then_write)
    assert main(["set", str(conf), "prov.use=0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "changed while editing; nothing written" in err[0], err
    assert conf.read_bytes().endswith(b"appended.by.someone = 1\n")
    assert b"prov.use = 1" in conf.read_bytes()


def test_set_on_a_link_writes_through_and_keeps_the_mode(conf: Path) -> None:
    conf.chmod(0o640)
    link = conf.with_name("link.conf")
    link.symlink_to(conf.name)
    assert main(["set", str(link), "prov.use=0"]) == 0
    assert link.is_symlink()
    assert b"prov.use = 0" in conf.read_bytes()
    assert stat.S_IMODE(conf.stat().st_mode) == 0o640


def test_set_on_a_link_out_of_its_folder_is_refused(tmp_path: Path, conf: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    link = inner / "link.conf"
    link.symlink_to(conf)
    before = conf.read_bytes()
    one_line_error(run_cli("set", str(link), "prov.use=0"), "outside its folder")
    assert link.is_symlink() and conf.read_bytes() == before
