"""``algodesk simulate DIR``: output and exit codes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from algodesk.cli import main

MAC = "00:22:EE:01:02:03"


def write(folder: Path, name: str, data: bytes, *, md5: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    if md5:
        digest = hashlib.md5(data).hexdigest()
        (folder / f"{name.rsplit('.', 1)[0]}.md5").write_text(f"{digest}\n")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["simulate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_steady_folder_prints_the_trace_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "algop8188.conf", b"admin.pwd = s3cret\nprov.version.firmware = 5.4f\n")
    write(tmp_path, "algo-8188-5.4f.sfw", b"image", md5=False)
    code, out, err = run(capsys, str(tmp_path), "--mac", MAC, "--product", "8188")
    lines = out.splitlines()
    assert code == 0, out + err
    assert lines[0] == "boot 1"
    assert "  algom0022EE010203.conf: not found" in lines
    assert "    algop8188.conf applied (full config); reboot" in lines
    assert "  -- reboot --" in lines
    assert "    firmware 5.4f installed; reboot" in lines
    assert lines[-1] == "steady after 3 boots (2 reboots)"
    assert "s3cret" not in out


def test_ignored_config_exits_1_with_the_diagnosis_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "algop8188.conf", b"a = 1\n", md5=False)
    code, out, _ = run(capsys, str(tmp_path), "--mac", MAC, "--product", "8188")
    assert code == 1
    assert "    md5 missing: algop8188.conf ignored" in out.splitlines()
    assert out.splitlines()[-1] == (
        "never steady: algop8188.conf is never applied: algop8188.md5 is missing"
    )


def test_protocol_partial_and_firmware_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configs, firmware = tmp_path / "cfg", tmp_path / "fw"
    write(configs, "algom0022EE010203-i.conf", b"prov.data.tone = t.zip\n", md5=False)
    write(firmware, "t.zip", b"tones")
    code, out, _ = run(
        capsys,
        str(configs),
        "--firmware-dir",
        str(firmware),
        "--mac",
        "0022ee010203",
        "--product",
        "8188",
        "--partial",
        "--protocol",
        "http",
    )
    assert code == 0, out
    assert "    t.zip stored (prov.data.tone)" in out.splitlines()
    assert ".md5: not found" not in out


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "algop8188.conf", b"sip.u1.pwd = hunter2\n")
    code, out, _ = run(capsys, str(tmp_path), "--mac", MAC, "--product", "8188", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["steady"] is True and doc["boots"] == 2
    assert doc["steps"][0] == {
        "kind": "request",
        "boot": 1,
        "stage": "looking for config",
        "file": "algom0022EE010203.conf",
        "found": None,
        "size": None,
        "md5": "",
        "message": "",
    }
    assert doc["steps"][-1]["kind"] == "done"
    assert doc["final_state"]["applied_config_size"] == len(b"sip.u1.pwd = hunter2\n")
    assert doc["files"] == 4  # the config and its md5, twice
    assert "hunter2" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mac", "00:22:EE:01:02", "--product", "8188"], "not a MAC address"),
        (["--mac", MAC, "--product", "81"], "not a product ID"),
        (["--mac", MAC, "--product", "8188", "--max-boots", "0"], "--max-boots"),
    ],
)
def test_bad_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, str(tmp_path), *argv)
    assert code == 2 and out == ""
    assert err.startswith("algodesk simulate: error: ") and message in err


def test_missing_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, str(tmp_path / "nope"), "--mac", MAC, "--product", "8188")
    assert code == 2 and "no such folder" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", "--mac", MAC, "--product", "8188"])
    assert exit_info.value.code == 2


def test_unknown_product_and_foreign_mac_warn_but_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, str(tmp_path), "--mac", "AA:BB:CC:00:00:01", "--product", "9999")
    assert code == 0
    assert "AA:BB:CC:00:00:01 is not an Algo MAC" in err
    assert "9999 is not a known Algo product" in err
    assert "  algop9999.conf: not found" in out


def test_devices_from_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "algop8188.conf", b"a = 1\n")
    code, out, _ = run(capsys, str(tmp_path), "--product", "8188", "--devices", "2")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:3]] == [
        "00:22:EE:00:00:01",
        "00:22:EE:00:00:02",
    ]
    assert out.splitlines()[-1].startswith("2 devices: 2 steady, 0 not; 8 files, ")
    code, _, err = run(
        capsys, str(tmp_path), "--product", "8188", "--devices", "2", "--mac", "00:22:EE:FF:FF:FF"
    )
    assert code == 2 and "cannot derive 2 Algo MACs" in err


def test_without_mac_one_device_is_simulated_with_a_mac_that_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, str(tmp_path), "--product", "8188")
    assert code == 0  # an empty folder: nothing to apply
    assert "no --mac given: the device is 00:22:EE:00:00:01" in err
    assert "algom0022EE000001.conf" in out


@pytest.mark.parametrize(
    ("files", "said"),
    [
        # guide §7.3 / domain.md §4: another method while the server still comes from DHCP
        ({"algop8188.conf": b"prov.download.method = http\n"}, "asks this server over HTTP"),
        # guide §5.5: only X.md5 is asked for
        ({"algop8188.conf": b"a = 1\n", "algop8188.conf.md5": None}, "algop8188.md5 is missing"),
        # guide §9: the .fw path needs prov.download.bundle = 1
        (
            {"algop8188.conf": b"prov.version.firmware = 4.1\n", "algo-8188-4.1.fw": b"img"},
            "algo-8188-4.1.sfw is missing",
        ),
    ],
)
def test_guide_faults_exit_1_naming_the_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, bytes | None],
    said: str,
) -> None:
    for name, data in files.items():
        if data is None:  # the md5 of the config before it, under the name given
            data = hashlib.md5(files["algop8188.conf"] or b"").hexdigest().encode() + b"\n"
        (tmp_path / name).write_bytes(data)
    config = files["algop8188.conf"] or b""
    if "algop8188.conf.md5" not in files:
        (tmp_path / "algop8188.md5").write_bytes(hashlib.md5(config).hexdigest().encode() + b"\n")
    code = main(["simulate", str(tmp_path), "--product", "8188", "--mac", "00:22:EE:01:02:03"])
    assert code == 1
    assert said in capsys.readouterr().out.splitlines()[-1]
