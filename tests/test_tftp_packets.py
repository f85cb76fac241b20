"""Request parsing and option negotiation of the TFTP engine."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algodesk.services.tftp import packets
from algodesk.services.tftp.negotiate import negotiate
from algodesk.services.tftp.settings import TftpSettings
from tests.tftp_helpers import request


def test_request_with_options_keeps_client_spelling_and_first_value() -> None:
    data = request(1, "algop8188.conf", "OCTET", BlkSize=1024, tsize=0, blksize=9)
    parsed = packets.parse_request(data)
    assert (parsed.opcode, parsed.filename, parsed.mode) == (1, "algop8188.conf", "octet")
    assert parsed.options == {"blksize": "1024", "tsize": "0"}
    assert parsed.option_names["blksize"] == "BlkSize"


def test_trailing_nul_padding_is_tolerated() -> None:
    parsed = packets.parse_request(request(1, "a.conf") + b"\0\0")
    assert parsed.filename == "a.conf" and parsed.options == {}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x00\x01", "too short"),
        (b"\x00\x03abc\0octet\0", "not a request"),
        (b"\x00\x01abc", "NUL"),
        (b"\x00\x01abc\0octet", "not NUL-terminated"),
        (b"\x00\x01abc\0octet\0x", "end with NUL"),
        (b"\x00\x01\0octet\0", "empty file name"),
        (b"\x00\x01a\0mail\0", "unsupported mode"),
        (b"\x00\x01a\0octet\0blksize\0", "option without a value"),
    ],
)
def test_malformed_requests_say_why(data: bytes, why: str) -> None:
    with pytest.raises(packets.MalformedPacket, match=why):
        packets.parse_request(data)


def test_non_utf8_name_decodes_instead_of_failing() -> None:
    parsed = packets.parse_request(b"\x00\x01caf\xe9.conf\0octet\0")
    assert parsed.filename == "caf\xe9.conf"


@given(st.binary(max_size=600))
def test_parser_raises_only_malformed(data: bytes) -> None:
    with contextlib.suppress(packets.MalformedPacket):
        packets.parse_request(data)


def test_error_packet_is_ascii_and_terminated() -> None:
    packet = packets.error_packet(1, "nicht gefunden: ä")
    assert packet[:4] == b"\x00\x05\x00\x01" and packet.endswith(b"\0")
    assert packets.parse_error(packet) == (1, "nicht gefunden: ?")


def _names(options: dict[str, str]) -> dict[str, str]:
    return {key: key for key in options}


def test_only_requested_and_supported_options_are_acknowledged() -> None:
    options = {"tsize": "0", "multicast": "1", "utimeout": "5"}
    agreed = negotiate(options, _names(options), 1234, TftpSettings())
    assert agreed.reply == {"tsize": "1234"}
    assert (agreed.blksize, agreed.windowsize, agreed.timeout) == (512, 1, None)


def test_nothing_requested_means_no_oack() -> None:
    assert negotiate({}, {}, 10, TftpSettings()).reply == {}


@pytest.mark.parametrize(
    ("asked", "cap", "agreed"),
    [("1024", 1468, "1024"), ("65464", 1468, "1468"), ("99999", 65464, "65464"), ("8", 512, "8")],
)
def test_blksize_is_capped(asked: str, cap: int, agreed: str) -> None:
    options = {"blksize": asked}
    result = negotiate(options, _names(options), 0, TftpSettings(max_blksize=cap))
    assert result.reply == {"blksize": agreed} and result.blksize == int(agreed)


@pytest.mark.parametrize("bad", ["7", "0", "abc", "", " 512", "+512", "1_024", "9" * 5000])
def test_invalid_blksize_is_left_out(bad: str) -> None:
    options = {"blksize": bad}
    result = negotiate(options, _names(options), 0, TftpSettings())
    assert result.reply == {} and result.blksize == 512


def test_timeout_declined_by_default_and_honoured_when_accepted() -> None:
    options = {"timeout": "3"}
    assert negotiate(options, _names(options), 0, TftpSettings()).reply == {}
    accepting = TftpSettings(accept_timeout_option=True)
    agreed = negotiate(options, _names(options), 0, accepting)
    assert agreed.reply == {"timeout": "3"} and agreed.timeout == 3.0
    for bad in ("0", "256"):
        assert negotiate({"timeout": bad}, {"timeout": "timeout"}, 0, accepting).reply == {}


def test_windowsize_is_capped() -> None:
    options = {"windowsize": "500"}
    agreed = negotiate(options, _names(options), 0, TftpSettings(max_windowsize=16))
    assert agreed.reply == {"windowsize": "16"} and agreed.windowsize == 16
    assert (
        negotiate({"windowsize": "0"}, {"windowsize": "windowsize"}, 0, TftpSettings()).reply == {}
    )


def test_settings_validate_their_bounds() -> None:
    with pytest.raises(ValueError):
        TftpSettings(max_blksize=7)
    with pytest.raises(ValueError):
        TftpSettings(min_timeout=2.0, initial_timeout=1.0)
