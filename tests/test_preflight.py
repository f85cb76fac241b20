"""``algodesk preflight`` against real stage-2 servers on loopback, one verdict per case."""

from __future__ import annotations

import contextlib
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from algodesk.cli import main
from algodesk.core import config as config_files
from algodesk.core.preflight import Failure, FetchRecord, Target, verdict
from algodesk.core.profile import BenchProfile
from algodesk.services.preflight.plan import build_plan
from algodesk.services.preflight.runner import DeviceStart, Preflight, PreflightPlan
from algodesk.services.tftp import TftpServer
from tests.memory_keyring import MemoryKeyring
from tests.stage2_servers import (
    DEVICE_MAC,
    HOST_NAME,
    PASSWORD,
    USER,
    closed_port,
    ftp_server,
    http_server,
    make_certificates,
    self_signed,
    silent_listener,
    write_site,
)

DEVICE = "00:22:EE:01:02:03"
ALL = ["--mac", DEVICE, "--product", "8186", "--product", "8186", "--product", "8188",
       "--product", "8301"]  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated(home: Path, memory_keyring: MemoryKeyring) -> None:
    """Profiles in a temporary home, passwords in memory."""


def create_profile(
    monkeypatch: pytest.MonkeyPatch,
    server: str,
    *,
    validate: bool = False,
    ca: Path | None = None,
    password: str = PASSWORD,
    name: str = "acme",
) -> None:
    args = ["profile", "create", name, "--server", server, "--user", USER,
            "--products", "8186,8188,8301", "--fwpath", "algo/fw", "--replace"]  # fmt: skip
    if validate:
        args.append("--validate-cert")
    if ca is not None:
        args += ["--ca", str(ca)]
    assert main(args) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    assert main(["profile", "set-password", name]) == 0


@contextlib.contextmanager
def stage2(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    *,
    certificate: Any = None,
    mode: str = "files",
    **profile: Any,
) -> Iterator[int]:
    """The site served over ``method`` on loopback and profile ``acme`` pointing at it."""
    served = (
        ftp_server(site)
        if method == "ftp"
        else http_server(site, certificate=certificate, mode=mode)
    )
    with served as port:
        write_site(site, server=f"127.0.0.1:{port}", method=method, port=port)
        create_profile(monkeypatch, f"{method}://127.0.0.1:{port}/algo", **profile)
        yield port


def trusted(certificates: Any) -> dict[str, Any]:
    """HTTPS with the test CA's certificate, validated by devices, the CA named in the profile."""
    return {"certificate": certificates.good, "validate": True, "ca": certificates.ca_file}


def preflight(
    capsys: pytest.CaptureFixture[str], *extra: str, targets: list[str] | None = None
) -> tuple[int, list[dict[str, Any]]]:
    capsys.readouterr()
    code = main(["preflight", "--profile", "acme", "--json", *(targets or ALL), *extra])
    out = capsys.readouterr().out
    return code, json.loads(out)


def by_target(verdicts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {(v["mac"] or f"{v['product']} generic"): v for v in verdicts}


@pytest.fixture
def certificates(tmp_path: Path) -> Any:
    return make_certificates(tmp_path)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    return root


def test_https_with_test_ca_and_basic_auth_judges_every_device(
    site: Path, certificates: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "https", **trusted(certificates)):
        code, verdicts = preflight(capsys, "--firmware", "8186=5.3")
    assert code == 1
    found = by_target(verdicts)
    device = found[DEVICE]
    assert device["ok"], device
    assert device["verdict"] == (
        "will apply algom0022EE010203.conf (no md5 over HTTPS, as devices do), "
        "install firmware 5.4f, fetch tones.zip"
    )
    assert any("validates against the profile's CA file" in e for e in device["evidence"])
    assert any(e.startswith("certificate: ") and HOST_NAME in e for e in device["evidence"])
    firmware = next(r for r in device["requests"] if r["name"] == "algo-8186-5.4f.sfw")
    assert (firmware["path"], firmware["size"], firmware["probed"]) == (
        "algo/fw/algo-8186-5.4f.sfw",
        200_004,
        True,
    )
    generic = found["8186 generic"]
    assert generic["ok"] and generic["verdict"].startswith("will apply algop8186.conf")
    assert any("secret" in note for note in generic["config_notes"])  # the document checks ran
    missing = found["8188 generic"]
    assert (missing["ok"], missing["failure"]) == (False, Failure.FIRMWARE_MISSING.value)
    assert "9.9z" in missing["verdict"]
    none = found["8301 generic"]
    assert none["failure"] == Failure.NO_CONFIG.value
    assert none["verdict"] == "fails: algop8301.conf not found (HTTP 404)"


def test_firmware_is_downloaded_whole_only_with_full_and_unknown_firmware_would_install(
    site: Path, certificates: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "https", **trusted(certificates)):
        code, verdicts = preflight(capsys, "--full", targets=["--mac", DEVICE, "--product", "8186"])
    assert code == 0
    (device,) = verdicts
    assert "would install firmware 5.4f" in device["verdict"]
    firmware = next(r for r in device["requests"] if r["name"] == "algo-8186-5.4f.sfw")
    assert firmware["probed"] is False and firmware["md5"]


def test_a_device_without_its_own_file_and_no_generic_says_both(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "http"):
        code, verdicts = preflight(
            capsys, targets=["--mac", "00:22:EE:0A:0B:0C", "--product", "8301"]
        )
    assert code == 1
    assert verdicts[0]["verdict"] == (
        "fails: algop8301.conf not found (HTTP 404) and no per-device file (algom0022EE0A0B0C.conf)"
    )


def test_wrong_password_is_401_with_the_user(
    site: Path, certificates: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "https", **trusted(certificates), password="not-the-password"):
        code, verdicts = preflight(capsys)
    assert code == 1
    assert {v["failure"] for v in verdicts} == {Failure.AUTH.value}
    assert verdicts[0]["verdict"].startswith("fails: 401 with user algo")


def test_self_signed_certificate_fails_only_when_devices_validate(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(
        site, monkeypatch, "https", certificate=self_signed(tmp_path), validate=True
    ) as port:
        code, verdicts = preflight(capsys, targets=["--mac", DEVICE, "--product", "8186"])
        assert code == 1
        assert verdicts[0]["failure"] == Failure.TLS_SELF_SIGNED.value
        assert verdicts[0]["verdict"] == (
            "fails: the certificate for 127.0.0.1 is self-signed and devices validate it "
            "(prov.download.cert = 1)"
        )
        assert any("self-signed" in e and "valid 2000-01-01" in e for e in verdicts[0]["evidence"])
        create_profile(monkeypatch, f"https://127.0.0.1:{port}/algo", validate=False, name="acme2")
        capsys.readouterr()
        code = main(["preflight", "--profile", "acme2", "--json", "--mac", DEVICE, "--product",
                     "8186"])  # fmt: skip
        quiet = json.loads(capsys.readouterr().out)
    assert code == 0, quiet
    assert any("devices do not validate it" in e for e in quiet[0]["evidence"])


def test_expired_certificate(
    site: Path, certificates: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(
        site,
        monkeypatch,
        "https",
        certificate=certificates.expired,
        validate=True,
        ca=certificates.ca_file,
    ):
        code, verdicts = preflight(capsys, targets=["--product", "8186"])
    assert code == 1
    assert verdicts[0]["failure"] == Failure.TLS_EXPIRED.value
    assert "expired on 2021-01-01" in verdicts[0]["verdict"]


def test_host_name_mismatch(
    site: Path, certificates: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    other = certificates.ca.issue_cert("other.example")
    with stage2(
        site, monkeypatch, "https", certificate=other, validate=True, ca=certificates.ca_file
    ):
        code, verdicts = preflight(capsys, targets=["--product", "8186"])
    assert code == 1
    assert verdicts[0]["failure"] == Failure.TLS_NAME.value
    assert verdicts[0]["verdict"].startswith(
        "fails: name mismatch: the certificate is for other.example, not 127.0.0.1"
    )


def test_login_page_with_200(site: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    with stage2(site, monkeypatch, "http", mode="login"):
        code, verdicts = preflight(capsys, targets=["--product", "8186"])
    assert code == 1
    (verdict,) = verdicts
    assert verdict["failure"] == Failure.LOGIN_PAGE.value
    assert "text/html (a login page?) for algom0022EEFFFFFE.conf" in verdict["verdict"]
    assert "page title: Sign in - Acme portal" in verdict["evidence"]


def test_redirect_is_its_own_verdict_and_hides_the_token(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "http", mode="redirect"):
        code, verdicts = preflight(capsys, targets=["--product", "8186"])
    assert code == 1
    assert verdicts[0]["failure"] == Failure.REDIRECT.value
    assert "https://portal:****@sso.acme.example/login" in verdicts[0]["verdict"]
    assert "token" not in json.dumps(verdicts) and "Redirect-Secret" not in json.dumps(verdicts)


def test_timeout(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    with silent_listener() as port:
        create_profile(monkeypatch, f"http://127.0.0.1:{port}/algo")
        code, verdicts = preflight(capsys, "--timeout", "0.3", targets=["--product", "8186"])
    assert code == 1
    assert verdicts[0]["failure"] == Failure.TIMEOUT.value
    assert verdicts[0]["verdict"] == f"fails: no answer from 127.0.0.1:{port} within 0.3 s"


def test_connection_refused(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    port = closed_port()
    create_profile(monkeypatch, f"https://127.0.0.1:{port}/algo", validate=True)
    code, verdicts = preflight(capsys, targets=["--product", "8186"])
    assert code == 1
    assert verdicts[0]["failure"] == Failure.REFUSED.value


def test_dns_failure(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        # No query leaves the machine: the name fails here, as an unknown name would.
        if host == "prov.acme.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    create_profile(monkeypatch, "http://prov.acme.invalid/algo")
    code, verdicts = preflight(capsys, targets=["--product", "8186"])
    assert code == 1
    assert verdicts[0]["failure"] == Failure.DNS.value
    assert "prov.acme.invalid does not resolve" in verdicts[0]["verdict"]


def test_ftp_login_paths_and_firmware_size(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "ftp") as port:
        code, verdicts = preflight(capsys, targets=["--mac", DEVICE, "--product", "8186"])
        assert code == 0, verdicts
        assert "install" in verdicts[0]["verdict"] and "fetch tones.zip" in verdicts[0]["verdict"]
        firmware = next(r for r in verdicts[0]["requests"] if r["name"].endswith(".sfw"))
        assert (firmware["detail"], firmware["size"]) == ("FTP SIZE", 200_004)
        create_profile(monkeypatch, f"ftp://127.0.0.1:{port}/algo", password="wrong")
        code, verdicts = preflight(capsys, targets=["--product", "8186"])
    assert code == 1
    assert verdicts[0]["failure"] == Failure.AUTH.value
    assert verdicts[0]["verdict"] == "fails: the FTP server refused user algo (530)"


def tftp_stage1(port: int) -> bytes:
    return (
        "prov.use = 1\nprov.server.method = static\n"
        f"prov.server.static = 127.0.0.1:{port}\nprov.download.method = tftp\n"
        "prov.download.cfgpath = algo\nprov.download.fwpath = algo/fw\n"
    ).encode()


def test_tftp_checks_config_md5_files(site: Path) -> None:
    server = TftpServer(site, "127.0.0.1", 0)
    server.start()
    try:
        write_site(site, server=f"127.0.0.1:{server.port}", method="tftp", port=server.port)
        stage1 = tftp_stage1(server.port)
        plan = PreflightPlan(
            devices=(
                DeviceStart(Target("8186", DEVICE_MAC), stage1, "5.4f"),
                DeviceStart(Target("8186"), stage1),
                DeviceStart(Target("8186", DEVICE_MAC), stage1, "5.3"),
            ),
            password="",
            timeout=4.0,
        )
        device, generic, upgrading = Preflight(plan).run()
    finally:
        server.stop()
    assert device.ok, device
    assert device.summary == (
        "will apply algom0022EE010203.conf (md5 ok), fetch tones.zip"
    )  # 5.4f runs already: nothing to install
    assert upgrading.summary == (
        "will apply algom0022EE010203.conf (md5 ok), install firmware 5.4f, fetch tones.zip"
    )
    (image,) = [r for r in upgrading.fetches if r.name.endswith(".sfw")]
    assert (image.size, image.probed, image.detail) == (200_004, True, "TFTP tsize")
    assert (generic.ok, generic.failure) == (False, Failure.MD5_MISMATCH)
    assert generic.summary == "fails: algop8186.md5 does not match algop8186.conf"


def test_tftp_to_a_port_nobody_listens_on_is_refused() -> None:
    stage1 = tftp_stage1(closed_port())
    plan = PreflightPlan((DeviceStart(Target("8186"), stage1),), password="", timeout=2.0)
    (verdict,) = Preflight(plan).run()
    assert verdict.failure is Failure.REFUSED, verdict


def test_nothing_is_written_unless_save(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "http"):
        before = sorted(tmp_path.rglob("*"))
        preflight(capsys, targets=["--mac", DEVICE, "--product", "8186"])
        assert sorted(tmp_path.rglob("*")) == before
        saved = tmp_path / "saved"
        preflight(capsys, "--save", str(saved), targets=["--mac", DEVICE, "--product", "8186"])
    config = saved / DEVICE_MAC / "algo" / f"algom{DEVICE_MAC}.conf"
    assert config.read_bytes() == (site / "algo" / f"algom{DEVICE_MAC}.conf").read_bytes()
    assert not (saved / DEVICE_MAC / "algo" / "fw" / "algo-8186-5.4f.sfw").exists()  # probed


@pytest.mark.parametrize(
    "arguments",
    [
        ["--mac", DEVICE],
        ["--mac", "nonsense", "--product", "8186"],
        ["--product", "81x6"],
        ["--firmware", "8186="],
        ["--timeout", "0"],
        ["--product", "8186", "--ca", "/nonexistent/ca.pem"],
        ["--product", "8186", "--firmware", "8186=5.4f", "--ca", __file__],  # not a certificate
    ],
)
def test_bad_input_exits_2(
    arguments: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    create_profile(monkeypatch, "https://127.0.0.1:9/algo")
    assert main(["preflight", "--profile", "acme", *arguments]) == 2
    assert main(["preflight", "--profile", "nobody", "--product", "8186"]) == 2


def test_human_output_names_the_verdict_and_the_evidence(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "http"):
        capsys.readouterr()
        code = main(["preflight", "--profile", "acme", "--product", "8301"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL 8301 (generic files): fails: algop8301.conf not found (HTTP 404)" in out
    assert "algo/algop8301.conf: not found (HTTP 404" in out
    assert out.rstrip().endswith("1 device: 0 will complete stage 2, 1 will not")


def test_incremental_files_are_asked_for_only_with_partial_provisioning(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "http") as port:
        (site / "algo" / "algop8301-i.conf").write_bytes(b"sip.proxy = pbx.acme.example\n")
        code, plain = preflight(capsys, targets=["--product", "8301"])
        assert code == 1 and plain[0]["failure"] == Failure.NO_CONFIG.value
        assert main(["profile", "create", "acme", "--server", f"http://127.0.0.1:{port}/algo",
                     "--user", USER, "--products", "8301", "--fwpath", "algo/fw", "--replace",
                     "--set", "prov.i=1"]) == 0  # fmt: skip
        code, partial = preflight(capsys, targets=["--product", "8301"])
    assert code == 0, partial
    assert partial[0]["verdict"].startswith("will apply algop8301-i.conf")


def test_a_data_file_without_its_md5_is_never_fetched(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "http"):
        (site / "algo" / "fw" / "tones.md5").unlink()
        code, verdicts = preflight(capsys, targets=["--mac", DEVICE, "--product", "8186"])
    assert code == 1
    assert verdicts[0]["failure"] == Failure.DATA_FILE.value
    assert "tones.zip (prov.data.tone) is never fetched" in verdicts[0]["verdict"]


def test_a_config_that_changes_the_login_is_noted_without_showing_it(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "http"):
        code, same = preflight(capsys, targets=["--mac", DEVICE, "--product", "8186"])
        assert code == 0 and not any("logs in" in n for n in same[0]["config_notes"])
        device_file = site / "algo" / f"algom{DEVICE_MAC}.conf"
        device_file.write_text(
            device_file.read_text().replace(f"prov.auth.pwd = {PASSWORD}", "prov.auth.pwd = New-9")
        )
        code, changed = preflight(capsys, targets=["--mac", DEVICE, "--product", "8186"])
    notes = changed[0]["config_notes"]
    assert any("logs in with another password (prov.auth.pwd)" in n for n in notes), notes
    assert "New-9" not in json.dumps(changed) and PASSWORD not in json.dumps(changed)


def test_a_config_that_leaves_the_server_to_dhcp_is_noted(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "http"):
        code, static = preflight(capsys, targets=["--mac", DEVICE, "--product", "8186"])
        assert code == 0 and not any("DHCP" in n for n in static[0]["config_notes"])
        device_file = site / "algo" / f"algom{DEVICE_MAC}.conf"
        kept = [
            line
            for line in device_file.read_text().splitlines()
            if not line.startswith("prov.server.")
        ]
        device_file.write_text("\n".join(kept) + "\n")  # back to DHCP for the server
        code, verdicts = preflight(capsys, targets=["--mac", DEVICE, "--product", "8186"])
    assert code == 0, verdicts
    assert "fetch tones.zip" in verdicts[0]["verdict"]
    assert any(
        "takes the server from DHCP" in note and "assumed that is this server" in note
        for note in verdicts[0]["config_notes"]
    )


def test_a_server_without_head_is_asked_for_the_first_byte(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    with stage2(site, monkeypatch, "http", mode="no-head"):
        code, verdicts = preflight(capsys, targets=["--mac", DEVICE, "--product", "8186"])
    assert code == 0, verdicts
    (image,) = [r for r in verdicts[0]["requests"] if r["name"].endswith(".sfw")]
    assert (image["size"], image["probed"]) == (200_004, True)


def test_config_notes_judge_the_config_as_served_over_the_preflights_protocol() -> None:
    # An FTP server's config naming FTP switches nothing; the notes used to judge it as TFTP.
    config = b"prov.download.method = ftp\n"
    record = FetchRecord("algop8186.conf", "/algop8186.conf", True, len(config), data=config)
    for protocol, switched in (("ftp", False), ("tftp", True)):
        found = verdict(
            Target("8186"), None, [record], protocol=protocol, firmware_known=False
        ).config_notes
        assert any("prov.download.method = ftp while" in note for note in found) is switched


def test_a_data_file_under_a_firmware_path_is_a_data_file_failure_not_firmware() -> None:
    # The kind comes from the step the device stopped in, not from words in the diagnosis:
    # "firmware/t.zip ... firmware/t.md5 missing" once read as missing firmware.
    from algodesk.core.md5 import format_md5, md5_hex
    from algodesk.core.preflight import GENERIC_MAC
    from algodesk.core.simulator import DeviceState, simulate

    config = b"prov.download.fwpath = firmware\nprov.data.tone = t.zip\n"
    files = {
        "algop8186.conf": config,
        "algop8186.md5": format_md5(md5_hex(config)),
        "firmware/t.zip": b"tones",
    }
    result = simulate(DeviceState(mac=GENERIC_MAC, product="8186"), files.get)
    assert not result.steady and "firmware/t.md5 missing" in (result.diagnosis or "")
    found = verdict(Target("8186"), result, [], protocol="tftp", firmware_known=False)
    assert found.failure is Failure.DATA_FILE


def test_the_plan_reads_the_profiles_base_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = tmp_path / "backup.conf"
    base.write_text("prov.use = 1\nsip.proxy = pbx.example\n")
    profile = BenchProfile(
        name="acme", host="127.0.0.1", products=("8186",), has_password=True, base_file=str(base)
    )
    real, reads = config_files.load, []

    def load(path: Path) -> config_files.ConfigDocument:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(config_files, "load", load)
    plan = build_plan(profile, PASSWORD, None, [Target("8186"), Target("8301")])
    assert len(plan.devices) == 2
    assert reads == [base]  # the bench's files and the fallback config share one parse
