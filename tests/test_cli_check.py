"""``algodesk check``: human and JSON output, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from algodesk.cli import main
from algodesk.core import md5

DEVICE = "algom0022EE010203.conf"
GOOD = b"prov.use = 1\nsip.proxy = pbx.example.net\n"


def put(folder: Path, name: str, data: bytes = GOOD, *, with_md5: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    if with_md5:
        (folder / md5.md5_name(name)).write_bytes(md5.format_md5(md5.md5_hex(data)))


def test_clean_folder_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    put(tmp_path, DEVICE)
    assert main(["check", str(tmp_path)]) == 0
    assert (
        capsys.readouterr().out == "no problems found (as a folder on its own, served over TFTP)\n"
    )


def test_warnings_and_info_alone_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    put(tmp_path, "algop8186.conf", GOOD + b"prov.use = 1\n")
    assert main(["check", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("0 errors, 1 warning, 1 info (")


def test_an_error_exits_1_with_location_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(tmp_path, DEVICE, GOOD + b"prov.use = yes\n", with_md5=False)
    assert main(["check", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["error", "md5-missing", f"{DEVICE}:"]
    assert lines[1] == f"  fix: algodesk md5 {DEVICE}  (writes algom0022EE010203.md5)"
    assert any(line.startswith(f"warning value-invalid {DEVICE}:3: ") for line in lines)
    assert lines[-1].startswith("1 error, 2 warnings, 0 info (")


def test_json_lists_finding_dicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    put(tmp_path, DEVICE, GOOD + b"prov.data.tone = t.zip\n")
    assert main(["check", str(tmp_path), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert findings == [
        {
            "severity": "error",
            "code": "data-missing",
            "file": DEVICE,
            "line": 3,
            "message": "prov.data.tone names t.zip; devices ask for t.zip, which is not there",
            "fix": "put t.zip in the firmware folder",
        }
    ]


def test_json_of_a_clean_folder_is_an_empty_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(tmp_path, DEVICE)
    assert main(["check", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_firmware_dir_is_where_data_files_are_looked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configs, firmware = tmp_path / "configs", tmp_path / "firmware"
    put(configs, DEVICE, GOOD + b"prov.data.tone = t.zip\n")
    put(firmware, "t.zip", b"tones")
    assert main(["check", str(configs), "--firmware-dir", str(firmware)]) == 0
    assert main(["check", str(configs)]) == 1
    assert "data-missing" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["missing", "a-file"])
def test_bad_folders_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    (tmp_path / "a-file").write_text("x")
    assert main(["check", str(tmp_path / bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("algodesk check: error: ") and "not a folder" in captured.err


def test_bad_firmware_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    put(tmp_path, DEVICE)
    assert main(["check", str(tmp_path), "--firmware-dir", str(tmp_path / "nope")]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_protocol_decides_whether_config_md5s_are_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(tmp_path, DEVICE, with_md5=False)
    assert main(["check", str(tmp_path)]) == 1
    assert main(["check", str(tmp_path), "--protocol", "https"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "no problems found (as a folder on its own, served over HTTPS)"
    )


def test_method_switch_under_dhcp_is_an_error_unless_the_folder_speaks_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put(tmp_path, DEVICE, GOOD + b"prov.download.method = ftp\n")
    assert main(["check", str(tmp_path)]) == 1
    assert "method-switch-dhcp" in capsys.readouterr().out
    assert main(["check", str(tmp_path), "--protocol", "ftp"]) == 0


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = capsys.readouterr().out
    assert "0 when no error" in out and "1 when any error" in out and "2 when DIR" in out
