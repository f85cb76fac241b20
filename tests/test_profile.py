"""BenchProfile: validation and JSON round trip; it never holds a password."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algodesk.core.profile import BenchProfile, ProfileError


def make(**changes: Any) -> BenchProfile:
    settings: dict[str, Any] = {"name": "bench", "host": "prov.example.com", "products": ("8186",)}
    settings.update(changes)
    return BenchProfile(**settings)


def test_defaults_and_derived_values() -> None:
    profile = make(cfgpath="algo/cfg", user="algo")
    assert profile.method == "https"
    assert profile.firmware_path == "algo/cfg"
    assert profile.server_url == "https://algo@prov.example.com/algo/cfg"
    assert make(fwpath="fw").firmware_path == "fw"
    assert make(fwpath="").firmware_path == ""
    assert make().server_url == "https://prov.example.com"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"name": ""}, "profile name"),
        ({"name": "../evil"}, "profile name"),
        ({"name": "con"}, "profile name"),
        ({"name": "trailing."}, "profile name"),
        ({"host": "has space"}, "host"),
        ({"host": "h.example:0"}, "port"),
        ({"method": "sftp"}, "download method"),
        ({"cfgpath": "/lead"}, "leading or trailing"),
        ({"cfgpath": "trail/"}, "leading or trailing"),
        ({"fwpath": "a//b"}, "firmware path"),
        ({"user": "a b"}, "user name"),
        ({"products": ()}, "at least one product"),
        ({"products": ("8186",), "any_product": True}, "not both"),
        ({"products": ("8186", "8186")}, "twice"),
        ({"products": ("81a6",)}, "product ID"),
        ({"extras": (("prov.auth.pwd", "x"),)}, "set-password"),
        ({"extras": (("prov.server.static", "x"),)}, "--server"),
        ({"extras": (("sip.u1.pwd", "x"),)}, "secret"),
        ({"extras": (("admin.pwd", "x"),)}, "secret"),
        ({"extras": (("bad key", "x"),)}, "parameter name"),
        ({"extras": (("log.server", "a\nb"),)}, "span lines"),
        ({"extras": (("log.server", "a"), ("log.server", "b"))}, "twice"),
    ],
)
def test_invalid_settings_refused(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ProfileError, match=fragment):
        make(**changes)


def test_accepted_settings() -> None:
    make(name="Site A-2_b.1", host="10.0.0.5:8080", products=("8190S", "9999"))
    make(host="[fd00::1]", products=(), any_product=True)
    make(extras=(("prov.version.firmware", "5.4f"), ("prov.sync.wdays", "1,2,3,")))


def test_json_has_no_password_field() -> None:
    data = make(has_password=True).to_dict()
    assert data["has_password"] is True
    assert not any("pwd" in key or "password" in key.replace("has_password", "") for key in data)


def test_from_json_refusals() -> None:
    good = make().to_dict()
    with pytest.raises(ProfileError, match="JSON"):
        BenchProfile.from_json("{")
    with pytest.raises(ProfileError, match="not an algodesk profile"):
        BenchProfile.from_json("[]")
    with pytest.raises(ProfileError, match="not an algodesk profile"):
        BenchProfile.from_json(json.dumps({**good, "format": "other"}))
    with pytest.raises(ProfileError, match="newer"):
        BenchProfile.from_json(json.dumps({**good, "version": 99}))
    with pytest.raises(ProfileError, match="must be"):
        BenchProfile.from_json(json.dumps({**good, "any_product": "yes"}))
    with pytest.raises(ProfileError, match="must be text"):
        BenchProfile.from_json(json.dumps({**good, "products": [8186]}))
    with pytest.raises(ProfileError, match="secret"):
        BenchProfile.from_json(json.dumps({**good, "extras": {"sip.u1.pwd": "x"}}))


def test_unknown_fields_from_a_newer_minor_change_are_ignored() -> None:
    data = {**make().to_dict(), "colour": "blue"}
    assert BenchProfile.from_dict(data) == make()


_products = st.lists(st.from_regex(r"\d{4}S?", fullmatch=True), unique=True, min_size=1, max_size=4)
_extras = st.dictionaries(
    st.sampled_from(
        ["prov.version.firmware", "log.server", "sip.interop.checksync", "prov.sync.time"]
    ),
    st.from_regex(r"[A-Za-z0-9.,:\-]{0,12}", fullmatch=True),
)


@given(
    method=st.sampled_from(["ftp", "http", "https"]),
    products=st.none() | _products,
    extras=_extras,
    fwpath=st.none() | st.sampled_from(["", "fw", "a/b"]),
    flags=st.tuples(st.booleans(), st.booleans()),
    user=st.sampled_from(["", "algo", "x.y-z"]),
)
def test_json_round_trip(
    method: str,
    products: list[str] | None,
    extras: dict[str, str],
    fwpath: str | None,
    flags: tuple[bool, bool],
    user: str,
) -> None:
    profile = BenchProfile(
        name="round trip",
        host="prov.example.com",
        method=method,
        cfgpath="algo/cfg",
        fwpath=fwpath,
        user=user,
        products=tuple(products or ()),
        any_product=products is None,
        extras=tuple(extras.items()),
        validate_cert=flags[0],
        base_file="/bench/backup.conf",
        has_password=flags[1],
    )
    assert BenchProfile.from_json(profile.to_json()) == profile
