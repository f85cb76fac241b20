"""``algodesk profile ...`` and ``algodesk stage1``: profiles on disk, password in the keyring."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from algodesk.cli import main
from algodesk.core import config, md5, names
from algodesk.services.credentials import SERVICE, keyring_user
from tests.memory_keyring import MemoryKeyring

DATA = Path(__file__).parent / "data"
SECRET = "S3cr3t-Cli-Canary"


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def feed(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def create(*extra: str) -> int:
    return main(
        [
            "profile",
            "create",
            "bench",
            "--server",
            "https://prov.example.com/algo/cfg",
            "--user",
            "algo",
            "--products",
            "8186,8301",
            *extra,
        ]
    )


def create_with_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The profile ``bench`` with ``SECRET`` stored; what that printed is read away."""
    assert create() == 0
    feed(monkeypatch, SECRET + "\n")
    assert main(["profile", "set-password", "bench"]) == 0
    capsys.readouterr()


def test_create_list_show_delete(
    home: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create("--set", "prov.version.firmware=5.4f", "sip.interop.checksync=always-reboot") == 0
    saved = json.loads((home / "config" / "profiles" / "bench.json").read_text())
    assert saved["host"] == "prov.example.com"
    assert saved["cfgpath"] == "algo/cfg"
    assert saved["extras"] == {
        "prov.version.firmware": "5.4f",
        "sip.interop.checksync": "always-reboot",
    }
    assert "set-password" in capsys.readouterr().err

    assert main(["profile", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {
            "name": "bench",
            "server": "https://algo@prov.example.com/algo/cfg",
            "products": "8186,8301",
            "password": "empty: user algo has no password, devices would log in without one",
            "password_place": "empty",
            "password_advice": "set one with `algodesk profile set-password bench`, or give "
            "--allow-empty-password to serve, stage1 or preflight if the server takes none",
        }
    ]
    assert main(["profile", "show", "bench"]) == 0
    shown = capsys.readouterr().out
    assert "prov.server.static = prov.example.com\n" in shown
    assert "prov.version.firmware = 5.4f\n" in shown

    assert create() == 2
    assert "--replace" in capsys.readouterr().err
    assert create("--method", "https", "--replace") == 0
    assert main(["profile", "delete", "bench"]) == 0
    assert main(["profile", "delete", "bench"]) == 2
    assert main(["profile", "list"]) == 0
    assert "no profiles" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--server", "sftp://h/x", "--products", "8186"], "not a stage-2 method"),
        (["--server", "h.example", "--products", "81x6"], "product ID"),
        (["--server", "h.example", "--any-product", "--set", "admin.pwd=x"], "secret"),
        (["--server", "h.example", "--any-product", "--set", "novalue"], "KEY=VALUE"),
        (["--server", "h.example", "--any-product", "--base", "/nonexistent.conf"], "no such"),
    ],
)
def test_create_refusals(
    home: Path, args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", "create", "bench", *args]) == 2
    assert fragment in capsys.readouterr().err
    assert not (home / "config" / "profiles" / "bench.json").exists()


def test_password_in_url_refused_not_echoed(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["profile", "create", "b", "--server", f"ftp://algo:{SECRET}@h.example/", "--any-product"]
    )
    assert code == 2
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    assert not any(SECRET in p.read_text() for p in home.rglob("*") if p.is_file())


def test_set_password_goes_to_the_keyring_only(
    home: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert create() == 0
    feed(monkeypatch, SECRET + "\n")
    assert main(["profile", "set-password", "bench"]) == 0
    assert memory_keyring.entries[(SERVICE, keyring_user("bench"))] == SECRET
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    assert json.loads((home / "config" / "profiles" / "bench.json").read_text())["has_password"]
    assert not any(SECRET in p.read_text() for p in home.rglob("*") if p.is_file())

    assert main(["profile", "show", "bench", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["has_password"] is True
    assert "prov.auth.pwd = " in shown["stage1_preview"]
    assert SECRET not in json.dumps(shown)

    assert main(["profile", "set-password", "bench", "--clear"]) == 0
    assert memory_keyring.entries == {}
    assert not json.loads((home / "config" / "profiles" / "bench.json").read_text())["has_password"]


def test_set_password_without_keyring_stores_nothing(
    home: Path,
    no_keyring: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert create() == 0
    feed(monkeypatch, SECRET + "\n")
    assert main(["profile", "set-password", "bench"]) == 2
    captured = capsys.readouterr()
    assert "keyring" in captured.err
    assert SECRET not in captured.out + captured.err
    assert not any(SECRET in p.read_text() for p in home.rglob("*") if p.is_file())
    saved = json.loads((home / "config" / "profiles" / "bench.json").read_text())
    assert saved["has_password"] is False


def test_set_password_refuses_bad_input(
    home: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert create() == 0
    feed(monkeypatch, "\n")
    assert main(["profile", "set-password", "bench"]) == 2
    feed(monkeypatch, " padded\n")
    assert main(["profile", "set-password", "bench"]) == 2
    assert main(["profile", "set-password", "missing"]) == 2
    assert memory_keyring.entries == {}


def test_stage1_export(
    home: Path,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create_with_password(monkeypatch, capsys)
    out = tmp_path / "export"
    assert main(["stage1", "--profile", "bench", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "in clear" in captured.err
    assert SECRET not in captured.out + captured.err
    assert sorted(p.name for p in out.iterdir()) == [
        "algop8186.conf",
        "algop8186.md5",
        "algop8301.conf",
        "algop8301.md5",
    ]
    content = (out / "algop8186.conf").read_bytes()
    assert config.ConfigDocument.from_bytes(content).get("prov.auth.pwd") == SECRET
    assert md5.verify((out / "algop8186.md5").read_bytes(), content)


def test_stage1_export_asks_the_keyring_once(
    home: Path,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A desktop keyring may prompt to unlock, or cross D-Bus, on every lookup.
    create_with_password(monkeypatch, capsys)
    lookups: list[str] = []
    real = memory_keyring.get_password

    def get_password(service: str, username: str) -> str | None:
        lookups.append(username)
        return real(service, username)

    monkeypatch.setattr(memory_keyring, "get_password", get_password)
    assert main(["stage1", "--profile", "bench", "--out", str(tmp_path / "export")]) == 0
    assert lookups == [keyring_user("bench")]


def test_stage1_export_with_base_roster_and_stdin_password(
    home: Path,
    tmp_path: Path,
    no_keyring: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = DATA / "fpbx-8186-2025__algo_mac_.conf"
    assert create("--base", str(base)) == 0
    roster = tmp_path / "roster.csv"
    roster.write_text("mac,product,admin.devname\n00:22:ee:01:02:03,8186,lobby\nbad,8186,x\n")
    out = tmp_path / "export"
    feed(monkeypatch, SECRET + "\n")
    code = main(
        [
            "stage1",
            "--profile",
            "bench",
            "--out",
            str(out),
            "--roster",
            str(roster),
            "--password-stdin",
            "--md5sum",
        ]
    )
    assert code == 1  # a roster row was skipped
    err = capsys.readouterr().err
    assert "line 3" in err
    device = out / names.device_name("0022EE010203")
    doc = config.ConfigDocument.from_bytes(device.read_bytes())
    assert doc.get("admin.devname") == "lobby"
    assert doc.get("prov.auth.pwd") == SECRET
    assert len(doc.keys()) == len(config.load(base).keys())
    assert (out / "algom0022EE010203.md5").read_text().split()[1] == "algom0022EE010203.conf"


def test_stage1_without_a_readable_password(
    home: Path, tmp_path: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create() == 0
    path = home / "config" / "profiles" / "bench.json"
    path.write_text(path.read_text().replace('"has_password": false', '"has_password": true'))
    assert main(["stage1", "--profile", "bench", "--out", str(tmp_path / "x")]) == 2
    assert "set-password" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_every_place_says_where_the_password_is(
    home: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create_with_password(monkeypatch, capsys)
    assert main(["profile", "list"]) == 0
    assert "password: in the keyring" in capsys.readouterr().out
    # The keyring lost it (another machine, a wiped keyring): said, with what to do.
    memory_keyring.entries.clear()
    assert main(["profile", "show", "bench"]) == 0
    captured = capsys.readouterr()
    assert "password: missing: not in the keyring" in captured.out
    assert "profile set-password bench" in captured.err
    assert main(["stage1", "--profile", "bench", "--out", str(home / "x")]) == 2
    err = capsys.readouterr().err
    assert "missing: not in the keyring" in err and "--password-stdin" in err


def test_without_a_keyring_a_stored_flag_is_not_called_stored(
    home: Path,
    no_keyring: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert create() == 0
    profile = home / "config" / "profiles" / "bench.json"
    saved = json.loads(profile.read_text())
    saved["has_password"] = True  # stored on a machine that had a keyring
    profile.write_text(json.dumps(saved))
    capsys.readouterr()
    assert main(["profile", "list"]) == 0
    captured = capsys.readouterr()
    assert "stored" not in captured.out
    assert "missing: this computer has no usable keyring" in captured.out
    assert "--password-stdin" in captured.err and "install a keyring" in captured.err


def test_a_user_without_a_password_is_refused_unless_allowed(
    home: Path, tmp_path: Path, memory_keyring: MemoryKeyring, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create() == 0
    capsys.readouterr()
    assert main(["profile", "show", "bench"]) == 0
    assert "warning: bench: password empty" in capsys.readouterr().err
    out = tmp_path / "export"
    assert main(["stage1", "--profile", "bench", "--out", str(out)]) == 2
    assert "--allow-empty-password" in capsys.readouterr().err
    assert not out.exists()
    assert main(["serve", "--profile", "bench", "--port", "0"]) == 2
    assert "--allow-empty-password" in capsys.readouterr().err
    code = main(["stage1", "--profile", "bench", "--out", str(out), "--allow-empty-password"])
    assert code == 0
    assert b"prov.auth.pwd = \n" in (out / "algop8186.conf").read_bytes()


def test_a_tftp_stage2_server_can_be_a_profile(capsys: pytest.CaptureFixture[str]) -> None:
    # domain.md §8: TFTP is a valid stage-2 method (guide §2, §4.2: any method a device knows)
    assert main(["profile", "create", "tftp2", "--server", "10.0.0.5", "--method", "tftp",
                 "--products", "8186"]) == 0  # fmt: skip
    assert main(["profile", "show", "tftp2"]) == 0
    assert "prov.download.method = tftp" in capsys.readouterr().out
