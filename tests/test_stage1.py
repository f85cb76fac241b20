"""Stage-1 configs: server parsing, minimal and backup-based builds, masking, files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algodesk.core import config, md5, names
from algodesk.core.profile import BenchProfile
from algodesk.core.stage1 import (
    ServerTarget,
    Stage1Error,
    build_stage1,
    check_password,
    parse_server,
    preview,
)

DATA = Path(__file__).parent / "data"
PASSWORD = "S3cr3t-Stage1-Canary"
PROVISIONING_KEYS = {
    "prov.use",
    "prov.server.method",
    "prov.server.static",
    "prov.download.method",
    "prov.download.cfgpath",
    "prov.download.fwpath",
    "prov.download.cert",
    "prov.auth.user",
    "prov.auth.pwd",
}


def make_profile(**changes: object) -> BenchProfile:
    settings: dict[str, object] = {
        "name": "bench",
        "host": "prov.example.com",
        "method": "https",
        "cfgpath": "algo/cfg",
        "user": "algo",
        "products": ("8186", "8301"),
    }
    settings.update(changes)
    return BenchProfile(**settings)  # type: ignore[arg-type]


# --- parse_server ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "method", "expected"),
    [
        (
            "https://prov.example.com/algo/cfg",
            None,
            ServerTarget("https", "prov.example.com", "algo/cfg"),
        ),
        (
            "HTTP://prov.example.com/algo/cfg/",
            None,
            ServerTarget("http", "prov.example.com", "algo/cfg"),
        ),
        ("ftp://algo@10.0.0.5/files", None, ServerTarget("ftp", "10.0.0.5", "files", "algo")),
        ("prov.example.com", None, ServerTarget("https", "prov.example.com")),
        ("prov.example.com", "ftp", ServerTarget("ftp", "prov.example.com")),
        ("192.168.1.1/files", "http", ServerTarget("http", "192.168.1.1", "files")),
        ("algo@192.168.1.1", "ftp", ServerTarget("ftp", "192.168.1.1", "", "algo")),
        ("https://host.example:8443/a/b", None, ServerTarget("https", "host.example:8443", "a/b")),
        ("http://[fd00::5]:8080/p", None, ServerTarget("http", "[fd00::5]:8080", "p")),
        ("  https://h.example/  ", None, ServerTarget("https", "h.example", "")),
    ],
)
def test_parse_server(text: str, method: str | None, expected: ServerTarget) -> None:
    assert parse_server(text, method=method) == expected


def test_a_tftp_stage2_server_is_accepted() -> None:
    target = parse_server("tftp://10.0.0.5:6969/algo")
    assert (target.method, target.host, target.cfgpath) == ("tftp", "10.0.0.5:6969", "algo")


def test_parse_server_user_option_fills_in() -> None:
    assert parse_server("https://h.example/x", user="algo").user == "algo"
    assert parse_server("ftp://algo@h.example/x", user="algo").user == "algo"


@pytest.mark.parametrize(
    ("text", "method", "user", "fragment"),
    [
        ("sftp://10.0.0.5/algo", None, None, "not a stage-2 method"),
        ("https://h.example/x", "ftp", None, "URL says https"),
        ("ftp://bob@h.example/x", None, "alice", "names user"),
        ("https://h.example/x?y=1", None, None, "query"),
        ("https://h.example/x#frag", None, None, "query"),
        ("https://bad host/x", None, None, "host"),
        ("https://h.example:99999/x", None, None, "port"),
        ("https://h.example/a/../b", None, None, "config path"),
        ("", None, None, "no server"),
    ],
)
def test_parse_server_refusals(
    text: str, method: str | None, user: str | None, fragment: str
) -> None:
    with pytest.raises(Stage1Error, match=fragment):
        parse_server(text, method=method, user=user)


@pytest.mark.parametrize("text", ["ftp://algo:Hunter2-pw@h.example/x", "algo:Hunter2-pw@h.example"])
def test_password_in_url_refused_and_not_echoed(text: str) -> None:
    with pytest.raises(Stage1Error) as caught:
        parse_server(text)
    assert "Hunter2-pw" not in str(caught.value)
    assert "Hunter2-pw" not in repr(caught.value)


_label = st.from_regex(r"[a-z0-9]([a-z0-9\-]{0,10}[a-z0-9])?", fullmatch=True)
_segment = st.from_regex(r"[A-Za-z0-9._\-]{1,8}", fullmatch=True).filter(
    lambda s: s not in (".", "..")
)


@given(
    method=st.sampled_from(["ftp", "http", "https"]),
    host=st.lists(_label, min_size=1, max_size=4).map(".".join),
    port=st.none() | st.integers(1, 65535),
    path=st.lists(_segment, max_size=4).map("/".join),
    user=st.sampled_from(["", "algo", "bench.user"]),
)
def test_server_url_round_trip(
    method: str, host: str, port: int | None, path: str, user: str
) -> None:
    hostport = f"{host}:{port}" if port else host
    profile = make_profile(method=method, host=hostport, cfgpath=path, user=user)
    again = parse_server(profile.server_url)
    assert again == ServerTarget(method, hostport, path, user)


# --- build ----------------------------------------------------------------------------------


def test_minimal_holds_only_provisioning_keys_sorted() -> None:
    stage1 = build_stage1(make_profile(), PASSWORD)
    doc = config.ConfigDocument.from_bytes(stage1.to_bytes())
    values = doc.as_dict()
    assert set(values) == PROVISIONING_KEYS
    assert values == {
        "prov.use": "1",
        "prov.server.method": "static",
        "prov.server.static": "prov.example.com",
        "prov.download.method": "https",
        "prov.download.cfgpath": "algo/cfg",
        "prov.download.fwpath": "algo/cfg",
        "prov.download.cert": "0",
        "prov.auth.user": "algo",
        "prov.auth.pwd": PASSWORD,
    }
    keys = [line.key.encode() for line in doc.params()]
    assert keys == sorted(keys)
    assert b"\r" not in stage1.to_bytes()
    assert stage1.to_bytes().endswith(b"\n")
    assert stage1.to_bytes().isascii()


def test_options_reach_the_file() -> None:
    profile = make_profile(
        method="ftp",
        host="10.0.0.5:2121",
        fwpath="firmware",
        validate_cert=True,
        extras=(("prov.version.firmware", "5.4f"), ("sip.interop.checksync", "always-reboot")),
    )
    values = config.ConfigDocument.from_bytes(build_stage1(profile).to_bytes()).as_dict()
    assert values["prov.download.method"] == "ftp"
    assert values["prov.server.static"] == "10.0.0.5:2121"
    assert values["prov.download.fwpath"] == "firmware"
    assert values["prov.download.cert"] == "1"
    assert values["prov.version.firmware"] == "5.4f"
    assert values["sip.interop.checksync"] == "always-reboot"
    assert values["prov.auth.pwd"] == ""


@pytest.mark.parametrize(
    "sample", ["fpbx-8186-2025__algo_mac_.conf", "fpbx-8301-2026__algom_mac_.conf"]
)
def test_base_keeps_every_other_byte(sample: str) -> None:
    base = config.load(DATA / sample)
    stage1 = build_stage1(make_profile(), PASSWORD, base)
    result = config.ConfigDocument.from_bytes(stage1.to_bytes())
    delta = config.diff(base, result)
    touched = {k for k, _ in delta.added} | {c.key for c in delta.changed}
    assert touched <= PROVISIONING_KEYS
    assert not delta.removed
    assert result.get("prov.auth.pwd") == PASSWORD
    assert result.get("prov.server.method") == "static"
    # Lines of keys we did not set are byte-for-byte the base's lines.
    untouched_before = [ln.to_text() for ln in base.lines if ln.key not in PROVISIONING_KEYS]
    untouched_after = [ln.to_text() for ln in result.lines if ln.key not in PROVISIONING_KEYS]
    assert untouched_after == untouched_before


def test_base_is_not_modified() -> None:
    base = config.load(DATA / "fpbx-8186-2025__algo_mac_.conf")
    before = base.to_bytes()
    build_stage1(make_profile(), PASSWORD, base)
    assert base.to_bytes() == before


def test_any_product_names_every_product() -> None:
    stage1 = build_stage1(make_profile(products=(), any_product=True), PASSWORD)
    assert stage1.products == tuple(names.PRODUCTS)
    files = stage1.files()
    assert {n for n in files if n.endswith(".conf")} == {
        names.generic_name(p) for p in names.PRODUCTS
    }


def test_files_carry_matching_md5() -> None:
    stage1 = build_stage1(make_profile(), PASSWORD)
    files = stage1.files(conf_md5=True)
    assert set(files) == {
        "algop8186.conf",
        "algop8186.md5",
        "algop8186.conf.md5",
        "algop8301.conf",
        "algop8301.md5",
        "algop8301.conf.md5",
    }
    for name in ("algop8186.conf", "algop8301.conf"):
        assert files[name] == stage1.to_bytes()
        assert md5.verify(files[md5.md5_name(name)], files[name])
        assert md5.verify(files[f"{name}.md5"], files[name])
    assert files["algop8186.md5"] == (md5.md5_hex(stage1.to_bytes()) + "\n").encode()
    md5sum = stage1.files(md5sum_style=True)["algop8186.md5"]
    assert md5sum.decode().split() == [md5.md5_hex(stage1.to_bytes()), "algop8186.conf"]


# --- secrets --------------------------------------------------------------------------------


def test_preview_masks_the_password_and_base_secrets() -> None:
    base = config.ConfigDocument.from_text(
        "admin.pwd = Adm1n-Canary\nsip.u1.pwd = Sip-Canary\nx.y = 1\n"
    )
    stage1 = build_stage1(make_profile(), PASSWORD, base)
    shown = stage1.preview()
    for secret in (PASSWORD, "Adm1n-Canary", "Sip-Canary"):
        assert secret in stage1.to_bytes().decode()
        assert secret not in shown
    assert "prov.auth.pwd = " in shown
    assert "x.y = 1\n" in shown
    assert "prov.auth.user = algo\n" in shown


def test_preview_keeps_empty_secrets_empty() -> None:
    doc = config.ConfigDocument.from_text("prov.auth.pwd = \nadmin.pwd =\n")
    assert preview(doc) == "prov.auth.pwd = \nadmin.pwd =\n"


def test_repr_never_holds_the_password() -> None:
    stage1 = build_stage1(make_profile(), PASSWORD)
    assert PASSWORD not in repr(stage1)
    assert PASSWORD not in str(stage1)


@pytest.mark.parametrize(
    "bad", ["line\nbreak-Canary", "tab\x01-Canary", " lead-Canary", "trail-Canary "]
)
def test_unusable_password_refused_without_showing_it(bad: str) -> None:
    with pytest.raises(Stage1Error) as caught:
        check_password(bad)
    assert "Canary" not in str(caught.value)
    with pytest.raises(Stage1Error):
        build_stage1(make_profile(), bad)


def test_password_with_hash_and_spaces_inside_survives() -> None:
    password = "a #b=c d"
    stage1 = build_stage1(make_profile(), password)
    parsed = config.ConfigDocument.from_bytes(stage1.to_bytes())
    assert parsed.get("prov.auth.pwd") == password


# --- warnings -------------------------------------------------------------------------------


def test_warnings() -> None:
    assert build_stage1(make_profile(), PASSWORD).warnings == ()
    unknown = build_stage1(make_profile(products=("8186", "9999")))
    assert any("9999" in w for w in unknown.warnings)
    clear = build_stage1(make_profile(method="http"), PASSWORD)
    assert any("clear" in w for w in clear.warnings)
    nouser = build_stage1(make_profile(user=""), PASSWORD)
    assert any("no user" in w for w in nouser.warnings)
    # TFTP is a valid stage-2 method (domain.md §8); a login means nothing there (guide §2)
    tftp = build_stage1(make_profile(method="tftp"), PASSWORD)
    assert [w for w in tftp.warnings if "TFTP takes no user name" in w]
    assert tftp.document.get("prov.download.method") == "tftp"
    assert build_stage1(make_profile(method="tftp", user="")).warnings == ()
    other = build_stage1(make_profile(extras=(("admin.devname", "x"),)))
    assert any("admin.devname" in w for w in other.warnings)
    base = config.ConfigDocument.from_text("admin.pwd = Adm1n-Canary\n")
    with_base = build_stage1(make_profile(), PASSWORD, base)
    assert any("admin.pwd" in w for w in with_base.warnings)
    assert not any("Adm1n-Canary" in w for w in with_base.warnings)
