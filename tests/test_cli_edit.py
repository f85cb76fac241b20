"""The editing commands: set, diff, incremental, md5."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from algodesk.cli import main
from algodesk.core import md5

SAMPLE = Path(__file__).parent / "data" / "fpbx-8196-2025__algom_mac_.conf"


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    target = tmp_path / "algom0022EE010203.conf"
    shutil.copy(SAMPLE, target)
    return target


def test_set_in_place_changes_one_line(conf: Path) -> None:
    before = conf.read_bytes()
    assert main(["set", str(conf), "prov.use=0"]) == 0
    after = conf.read_bytes()
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert changed == [(b"prov.use = 1", b"prov.use = 0")]


def test_set_to_output_leaves_input_alone(conf: Path, tmp_path: Path) -> None:
    before = conf.read_bytes()
    out = tmp_path / "out.conf"
    assert main(["set", str(conf), "log.server=10.1.1.1", "-o", str(out)]) == 0
    assert conf.read_bytes() == before
    assert b"log.server = 10.1.1.1\n" in out.read_bytes()


@pytest.mark.parametrize("args", [["a=1"], ["=1"], ["novalue"]])
def test_bad_input_exits_2_and_writes_nothing(
    conf: Path, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    before = conf.read_bytes()
    if args == ["a=1"]:
        code = main(["set", str(conf.with_name("missing.conf")), *args])
    else:
        code = main(["set", str(conf), *args])
    assert code == 2
    assert conf.read_bytes() == before
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error" in err


def test_set_refuses_a_binary_file(tmp_path: Path) -> None:
    blob = tmp_path / "algo-8180-5.4f.sfw"
    blob.write_bytes(b"\x00\x01binary")
    assert main(["set", str(blob), "a=1"]) == 2
    assert blob.read_bytes() == b"\x00\x01binary"


def test_diff_exit_codes(conf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.conf"
    shutil.copy(conf, other)
    assert main(["diff", str(conf), str(other)]) == 0
    assert main(["set", str(other), "prov.use=0", "new.key=5", "--add"]) == 0
    capsys.readouterr()
    assert main(["diff", str(conf), str(other)]) == 1
    out = capsys.readouterr().out
    assert "+ new.key = 5" in out and "~ prov.use: '1' -> '0'" in out


def test_incremental_writes_i_file_and_md5(conf: Path, tmp_path: Path) -> None:
    edited = tmp_path / "edited" / conf.name
    edited.parent.mkdir()
    shutil.copy(conf, edited)
    assert main(["set", str(edited), "prov.use=0", "zz.new=1", "--add"]) == 0
    assert main(["incremental", str(conf), str(edited)]) == 0
    inc = edited.with_name("algom0022EE010203-i.conf")
    assert inc.read_bytes() == b"prov.use = 0\nzz.new = 1\n"
    assert md5.verify(inc.with_name("algom0022EE010203-i.md5").read_bytes(), inc.read_bytes())


def test_md5_write_and_verify(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["md5", str(conf), "--verify"]) == 1
    assert "MISSING" in capsys.readouterr().out
    assert main(["md5", str(conf)]) == 0
    assert main(["md5", str(conf), "--verify"]) == 0
    conf.write_bytes(conf.read_bytes() + b"x = 1\n")
    assert main(["md5", str(conf), "--verify"]) == 1
    assert main(["md5", str(conf.with_name("nope"))]) == 2


def test_python_dash_m_and_no_subcommand_do_not_fail() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "algodesk", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "algodesk" in result.stdout


@pytest.mark.parametrize(
    ("assignment", "said"),
    [
        ("prov.use=maybe", "prov.use must be 0 or 1, not 'maybe'"),
        ("audio.page.vol=abc", "audio.page.vol must be a level"),
        ("totally.new.key=1", "totally.new.key is neither in"),
        ("prov.usee=1", "did you mean prov.use"),
        ("PROV.USE=0", "did you mean prov.use"),
    ],
)
def test_set_refuses_what_the_editor_refuses(conf: Path, assignment: str, said: str) -> None:
    before = conf.read_bytes()
    result = subprocess.run(
        [sys.executable, "-m", "algodesk", "set", str(conf), assignment],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and said in result.stderr, result.stderr
    assert conf.read_bytes() == before


def test_set_adds_an_unknown_key_only_when_asked_and_keeps_keys_in_the_file(
    conf: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.conf"
    assert main(["set", str(conf), "totally.new.key=1", "--add", "-o", str(out)]) == 0
    assert b"totally.new.key = 1\n" in out.read_bytes()
    # Now in the file: setting it again needs no --add, as the GUI editor edits any key shown.
    assert main(["set", str(out), "totally.new.key=2"]) == 0
    assert b"totally.new.key = 2\n" in out.read_bytes()
    # A known key that is not in the file yet is an ordinary addition.
    assert main(["set", str(conf), "log.server=10.1.1.1", "-o", str(out)]) == 0
