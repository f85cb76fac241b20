"""Device rosters: CSV parsing, row validation and one algom<MAC>.conf per device."""

from __future__ import annotations

from pathlib import Path

from algodesk.core import config, md5
from algodesk.core.roster import Severity, device_configs, parse_roster

DATA = Path(__file__).parent / "data"
SIP_SECRET = "Sip-Roster-Canary"


def messages(text: str) -> list[str]:
    return [str(issue) for issue in parse_roster(text).issues]


def test_valid_roster() -> None:
    roster = parse_roster(
        "MAC,Product,sip.u1.user,sip.u1.pwd,admin.devname\n"
        f"00:22:ee:01:02:03,8186,1001,{SIP_SECRET},lobby\n"
        "0022EE010204,8301,1002,,\n"
    )
    assert roster.issues == ()
    first, second = roster.rows
    assert (first.mac, first.product, first.line) == ("0022EE010203", "8186", 2)
    assert first.params == (
        ("sip.u1.user", "1001"),
        ("sip.u1.pwd", SIP_SECRET),
        ("admin.devname", "lobby"),
    )
    # Empty cells leave the base's value alone.
    assert second.params == (("sip.u1.user", "1002"),)
    assert roster.expected_products() == {"0022EE010203": "8186", "0022EE010204": "8301"}
    assert SIP_SECRET not in repr(roster)


def test_separators_bom_quotes_and_blank_lines() -> None:
    text = '\ufeffmac;sip.u1.dname\n"00-22-EE-0A-0B-0C";"Hall; east"\n\n0022.ee0a.0b0d;x\n'
    roster = parse_roster(text)
    assert roster.issues == ()
    assert [r.mac for r in roster.rows] == ["0022EE0A0B0C", "0022EE0A0B0D"]
    assert roster.rows[0].params == (("sip.u1.dname", "Hall; east"),)
    tabbed = parse_roster("mac\tproduct\n0022EE000001\t8188\n")
    assert tabbed.rows[0].product == "8188"


def test_row_errors_skip_the_row() -> None:
    roster = parse_roster(
        "mac,product\n0022EE000001,8186\nnot-a-mac,8186\n,8186\n00:22:EE:00:00:01,8188\n"
    )
    assert [r.mac for r in roster.rows] == ["0022EE000001"]
    errors = [str(i) for i in roster.errors]
    assert errors == [
        "error: line 3, mac: not a MAC address: 'not-a-mac'; row skipped",
        "error: line 4, mac: no MAC address; row skipped",
        "error: line 5, mac: 00:22:EE:00:00:01 already on line 2; row skipped",
    ]


def test_warnings_keep_the_row() -> None:
    roster = parse_roster("mac,product,zz.not.a.key\n001122334455,7777,1,extra\n")
    assert len(roster.rows) == 1
    assert roster.errors == ()
    text = " | ".join(str(i) for i in roster.issues)
    assert "not an Algo MAC" in text
    assert "unknown product '7777'" in text
    assert "zz.not.a.key: not a known parameter" in text
    assert "more cells than columns" in text
    assert all(i.severity is Severity.WARNING for i in roster.issues)


def test_header_problems() -> None:
    assert messages("") == ["error: line 1: the roster is empty"]
    assert messages("product,sip.u1.user\n8186,1\n") == [
        "error: line 1: no 'mac' column in the header"
    ]
    roster = parse_roster("mac,bad key,sip.u1.user,sip.u1.user,\n0022EE000001,a,b,c,d\n")
    assert roster.rows[0].params == (("sip.u1.user", "b"),)
    text = [str(i) for i in roster.issues]
    assert "error: line 1, bad key: not a parameter name; column ignored" in text
    assert "error: line 1, sip.u1.user: column repeated; later one ignored" in text
    assert "warning: line 1, #5: column ignored: no name" in text


def test_multiline_value_is_an_error_and_secrets_are_not_shown() -> None:
    roster = parse_roster(f'mac,sip.u1.pwd,sip.u1.user\n0022EE000001,"{SIP_SECRET}\nx",1\n')
    assert roster.rows == ()
    assert len(roster.errors) == 1
    assert SIP_SECRET not in str(roster.errors[0])


def test_device_configs_from_a_base() -> None:
    base = config.load(DATA / "fpbx-8196-2025__algom_mac_.conf")
    roster = parse_roster(
        "mac,sip.u1.user,sip.u1.pwd,admin.devname\n"
        f"0022EE010203,1001,{SIP_SECRET},lobby\n"
        "0022EE010204,1002,,\n"
    )
    files = device_configs(roster, base)
    assert set(files) == {
        "algom0022EE010203.conf",
        "algom0022EE010203.md5",
        "algom0022EE010204.conf",
        "algom0022EE010204.md5",
    }
    first = config.ConfigDocument.from_bytes(files["algom0022EE010203.conf"])
    delta = config.diff(base, first)
    assert {c.key: c.new for c in delta.changed} | dict(delta.added) == {
        "sip.u1.user": "1001",
        "sip.u1.pwd": SIP_SECRET,
        "admin.devname": "lobby",
    }
    assert not delta.removed
    for name in ("algom0022EE010203.conf", "algom0022EE010204.conf"):
        assert md5.verify(files[md5.md5_name(name)], files[name])
    second = config.ConfigDocument.from_bytes(files["algom0022EE010204.conf"])
    assert second.get("sip.u1.pwd") == base.get("sip.u1.pwd")
    assert "algom0022EE010203.conf.md5" in device_configs(roster, base, conf_md5=True)
    # The base document is not changed by building.
    assert base.to_bytes() == (DATA / "fpbx-8196-2025__algom_mac_.conf").read_bytes()
