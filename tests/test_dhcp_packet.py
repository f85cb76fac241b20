"""The DHCP codec: round trips, real-world quirks, and malformed bytes."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algodesk.core import dhcp_packet as dp
from algodesk.core.dhcp_packet import DhcpError, DhcpPacket, MessageType, Option

ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
no_trailing_nul = st.binary(max_size=64).map(lambda b: b.rstrip(b"\0"))

packets = st.builds(
    DhcpPacket,
    op=st.sampled_from([dp.BOOTREQUEST, dp.BOOTREPLY]),
    xid=st.integers(0, 2**32 - 1),
    chaddr=st.binary(max_size=16),
    htype=st.integers(0, 255),
    hops=st.integers(0, 255),
    secs=st.integers(0, 65535),
    flags=st.integers(0, 65535),
    ciaddr=ipv4,
    yiaddr=ipv4,
    siaddr=ipv4,
    giaddr=ipv4,
    sname=no_trailing_nul,
    file=st.binary(max_size=128).map(lambda b: b.rstrip(b"\0")),
    options=st.dictionaries(
        st.integers(1, 254).filter(lambda c: c != Option.OVERLOAD),
        st.binary(max_size=600),
        max_size=12,
    ).map(lambda d: tuple(d.items())),
)


@given(packets)
def test_round_trip(packet: DhcpPacket) -> None:
    assert dp.decode(packet.encode()) == packet


@given(st.binary(max_size=700))
def test_arbitrary_bytes_decode_or_raise_dhcp_error(data: bytes) -> None:
    with contextlib.suppress(DhcpError):
        dp.decode(data)


@given(packets, st.integers(0, 700), st.binary(max_size=8))
def test_corrupted_packets_decode_or_raise_dhcp_error(
    packet: DhcpPacket, position: int, junk: bytes
) -> None:
    raw = bytearray(packet.encode())
    position %= len(raw)
    raw[position : position + len(junk)] = junk
    with contextlib.suppress(DhcpError):
        dp.decode(bytes(raw))


def test_long_option_is_split_and_joined() -> None:
    value = bytes(range(256)) * 2
    packet = dp.request_packet(
        MessageType.DISCOVER, xid=1, chaddr=b"\x00\x22\xee\x01\x02\x03", options=[(43, value)]
    )
    raw = packet.encode()
    # 512 bytes need three instances of option 43 on the wire.
    assert raw.count(b"\x2b\xff") >= 2
    assert dp.decode(raw).option(43) == value


def _raw(options: bytes, *, sname: bytes = b"", file: bytes = b"") -> bytes:
    header = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        1,
        1,
        6,
        0,
        0xDEADBEEF,
        0,
        0x8000,
        bytes(4),
        bytes(4),
        bytes(4),
        bytes(4),
        bytes.fromhex("0022ee010203"),
        sname,
        file,
    )
    return header + dp.MAGIC_COOKIE + options


def test_decode_reads_the_fields_clients_send() -> None:
    options = bytes([53, 1, 3, 50, 4, 10, 0, 0, 7, 54, 4, 10, 0, 0, 1, 55, 3, 1, 66, 160, 0, 0])
    packet = dp.decode(_raw(options + bytes([12, 4]) + b"spk1" + bytes([255])))
    assert packet.message_type is MessageType.REQUEST
    assert packet.mac == "0022EE010203"
    assert packet.broadcast
    assert packet.ip_option(Option.REQUESTED_IP) == "10.0.0.7"
    assert packet.ip_option(Option.SERVER_ID) == "10.0.0.1"
    assert packet.requested_options == (1, 66, 160)
    assert packet.text_option(Option.HOSTNAME) == "spk1"


def test_missing_end_and_padding_are_tolerated() -> None:
    packet = dp.decode(_raw(bytes([0, 0, 53, 1, 1, 0])))
    assert packet.message_type is MessageType.DISCOVER


def test_overloaded_file_and_sname_hold_options() -> None:
    file = bytes([66, 8]) + b"10.0.0.1" + bytes([255])
    sname = bytes([12, 3]) + b"abc" + bytes([255])
    packet = dp.decode(_raw(bytes([53, 1, 1, 52, 1, 3, 255]), sname=sname, file=file))
    assert packet.text_option(Option.TFTP_SERVER_NAME) == "10.0.0.1"
    assert packet.text_option(Option.HOSTNAME) == "abc"
    assert packet.option(Option.OVERLOAD) is None
    assert packet.sname == b""
    assert packet.file == b""


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "too short"),
        (_raw(b"")[:-1], "too short"),
        (_raw(b"")[:236] + b"\x00\x00\x00\x00", "cookie"),
        (_raw(bytes([53, 4, 1])), "past the end"),
        (_raw(bytes([53])), "no length"),
        (_raw(bytes([52, 1, 9])), "overload"),
        (bytes([1, 1, 17]) + _raw(b"")[3:], "exceeds 16"),
        (bytes([3]) + _raw(b"")[1:], "op must be"),
    ],
)
def test_malformed_packets_raise(raw: bytes, reason: str) -> None:
    with pytest.raises(DhcpError, match=reason):
        dp.decode(raw)


def test_reply_copies_what_rfc_2131_says() -> None:
    request = dp.request_packet(
        MessageType.REQUEST, xid=7, chaddr=bytes.fromhex("0022ee010203"), broadcast=True
    )
    ack = dp.reply_packet(
        request,
        MessageType.ACK,
        server_id="10.0.0.1",
        yiaddr="10.0.0.9",
        options=[(Option.LEASE_TIME, dp.u32_value(3600))],
    )
    assert (ack.op, ack.xid, ack.chaddr, ack.flags) == (dp.BOOTREPLY, 7, request.chaddr, 0x8000)
    assert ack.message_type is MessageType.ACK
    assert ack.ip_option(Option.SERVER_ID) == "10.0.0.1"
    assert ack.u32_option(Option.LEASE_TIME) == 3600
    nak = dp.reply_packet(request, MessageType.NAK, server_id="10.0.0.1", yiaddr="10.0.0.9")
    assert nak.yiaddr == dp.ZERO_IP


def test_option_values() -> None:
    packet = dp.request_packet(
        MessageType.DISCOVER,
        xid=1,
        chaddr=b"\x01" * 6,
        options=[
            (Option.TFTP_SERVER_ADDRESSES, dp.ip_list_value(["10.0.0.1", "10.0.0.2"])),
            (Option.PROVISIONING_SERVER, dp.text_value("tftp://10.0.0.1/algo")),
            (Option.ROUTER, b"\x01\x02\x03"),
        ],
    )
    assert packet.ip_list_option(Option.TFTP_SERVER_ADDRESSES) == ["10.0.0.1", "10.0.0.2"]
    assert packet.text_option(Option.PROVISIONING_SERVER) == "tftp://10.0.0.1/algo"
    assert packet.ip_list_option(Option.ROUTER) is None  # not a multiple of 4
    assert packet.ip_option(Option.SERVER_ID) is None
    assert len(packet.encode()) >= 300


def test_invalid_packets_cannot_be_built() -> None:
    with pytest.raises(DhcpError):
        DhcpPacket(op=1, xid=1, chaddr=b"", options=((53, b"\x01"), (53, b"\x02")))
    with pytest.raises(DhcpError):
        DhcpPacket(op=1, xid=1, chaddr=bytes(17))
    with pytest.raises(DhcpError):
        DhcpPacket(op=1, xid=1, chaddr=b"", options=((255, b""),))
