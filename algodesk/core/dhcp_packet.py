"""DHCP messages (RFC 2131) and their options (RFC 2132), encoded and decoded without I/O.

Decoding is strict about structure (a packet either decodes or raises ``DhcpError``) and lenient
about what clients commonly get wrong (a missing END option, trailing padding). Options are kept in
wire order with their raw bytes; long options split over several instances (RFC 3396) are joined on
decode and split again on encode, and options carried in an overloaded ``sname``/``file`` field
(option 52) are folded into the option list.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum

BOOTREQUEST = 1
BOOTREPLY = 2
MAGIC_COOKIE = b"\x63\x82\x53\x63"
BROADCAST_FLAG = 0x8000
ZERO_IP = "0.0.0.0"

_HEADER = struct.Struct("!BBBBIHH4s4s4s4s16s64s128s")
HEADER_SIZE = _HEADER.size  # 236 bytes before the magic cookie
_PAD = 0
_END = 255


class MessageType(IntEnum):
    """Option 53 values."""

    DISCOVER = 1
    OFFER = 2
    REQUEST = 3
    DECLINE = 4
    ACK = 5
    NAK = 6
    RELEASE = 7
    INFORM = 8


class Option(IntEnum):
    """Option codes this project reads or writes."""

    SUBNET_MASK = 1
    ROUTER = 3
    DNS = 6
    HOSTNAME = 12
    REQUESTED_IP = 50
    LEASE_TIME = 51
    OVERLOAD = 52
    MESSAGE_TYPE = 53
    SERVER_ID = 54
    PARAMETER_REQUEST_LIST = 55
    MESSAGE = 56
    MAX_MESSAGE_SIZE = 57
    RENEWAL_TIME = 58
    REBINDING_TIME = 59
    VENDOR_CLASS = 60
    CLIENT_ID = 61
    TFTP_SERVER_NAME = 66
    BOOTFILE_NAME = 67
    TFTP_SERVER_ADDRESSES = 150  # Cisco: a list of IPv4 addresses
    PROVISIONING_SERVER = 160  # Polycom/Algo: a host or URL as text


class DhcpError(ValueError):
    """Bytes that are not a well-formed DHCP message."""


@dataclass(frozen=True, slots=True)
class DhcpPacket:
    """One BOOTP/DHCP message.

    ``chaddr`` holds exactly ``hlen`` bytes. ``sname`` and ``file`` hold their text without the
    NUL padding. ``options`` maps code to raw value in wire order; codes are unique (PAD and END
    are framing, not options).
    """

    op: int
    xid: int
    chaddr: bytes
    htype: int = 1
    hops: int = 0
    secs: int = 0
    flags: int = 0
    ciaddr: str = ZERO_IP
    yiaddr: str = ZERO_IP
    siaddr: str = ZERO_IP
    giaddr: str = ZERO_IP
    sname: bytes = b""
    file: bytes = b""
    options: tuple[tuple[int, bytes], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.op not in (BOOTREQUEST, BOOTREPLY):
            raise DhcpError(f"op must be 1 or 2, not {self.op}")
        if len(self.chaddr) > 16:
            raise DhcpError("chaddr longer than 16 bytes")
        if len(self.sname) > 64 or len(self.file) > 128:
            raise DhcpError("sname or file too long")
        codes = [code for code, _ in self.options]
        if len(set(codes)) != len(codes):
            raise DhcpError("an option code appears twice")
        if any(not 0 < code < 255 for code in codes):
            raise DhcpError("option codes must be within 1..254")

    # -- reading ----------------------------------------------------------------------------

    def option(self, code: int) -> bytes | None:
        """The raw value of option ``code``, or None."""
        for candidate, value in self.options:
            if candidate == code:
                return value
        return None

    @property
    def message_type(self) -> MessageType | None:
        """Option 53 as a ``MessageType`` (None when absent or unknown)."""
        value = self.option(Option.MESSAGE_TYPE)
        if value is None or len(value) != 1:
            return None
        try:
            return MessageType(value[0])
        except ValueError:
            return None

    @property
    def broadcast(self) -> bool:
        """The client asked for broadcast replies (RFC 2131 flags)."""
        return bool(self.flags & BROADCAST_FLAG)

    @property
    def mac(self) -> str:
        """``chaddr`` as ``0022EE010203`` for Ethernet, else its hex."""
        return self.chaddr.hex().upper()

    def ip_option(self, code: int) -> str | None:
        """An option holding one IPv4 address (e.g. 50, 54), or None if absent or malformed."""
        value = self.option(code)
        if value is None or len(value) != 4:
            return None
        return str(ipaddress.IPv4Address(value))

    def ip_list_option(self, code: int) -> list[str] | None:
        """An option holding a list of IPv4 addresses (e.g. 3, 6, 150)."""
        value = self.option(code)
        if value is None or len(value) % 4 or not value:
            return None
        return [str(ipaddress.IPv4Address(value[i : i + 4])) for i in range(0, len(value), 4)]

    def text_option(self, code: int) -> str | None:
        """An option holding text (e.g. 12, 66, 160), NULs stripped, undecodable bytes escaped."""
        value = self.option(code)
        if value is None:
            return None
        return value.rstrip(b"\0").decode("ascii", "backslashreplace")

    def u32_option(self, code: int) -> int | None:
        """An option holding a 32-bit unsigned number (e.g. 51)."""
        value = self.option(code)
        if value is None or len(value) != 4:
            return None
        number: int = struct.unpack("!I", value)[0]
        return number

    @property
    def requested_options(self) -> tuple[int, ...]:
        """The parameter request list (option 55)."""
        return tuple(self.option(Option.PARAMETER_REQUEST_LIST) or b"")

    # -- writing ----------------------------------------------------------------------------

    def with_options(self, options: Iterable[tuple[int, bytes]]) -> DhcpPacket:
        """A copy with ``options`` (replacing all of them)."""
        return replace(self, options=tuple(options))

    def encode(self) -> bytes:
        """The wire form (never overloaded; long options split per RFC 3396)."""
        header = _HEADER.pack(
            self.op,
            self.htype,
            len(self.chaddr),
            self.hops,
            self.xid,
            self.secs,
            self.flags,
            _ip_bytes(self.ciaddr),
            _ip_bytes(self.yiaddr),
            _ip_bytes(self.siaddr),
            _ip_bytes(self.giaddr),
            self.chaddr,
            self.sname,
            self.file,
        )
        body = bytearray(header + MAGIC_COOKIE)
        for code, value in self.options:
            for start in range(0, max(len(value), 1), 255):
                chunk = value[start : start + 255]
                body += bytes((code, len(chunk))) + chunk
        body.append(_END)
        # Some old BOOTP relays drop anything shorter than a BOOTP message (300 bytes).
        if len(body) < 300:
            body += bytes(300 - len(body))
        return bytes(body)


def decode(data: bytes) -> DhcpPacket:
    """Parse a DHCP message; raises ``DhcpError`` for anything malformed."""
    if len(data) < HEADER_SIZE + len(MAGIC_COOKIE):
        raise DhcpError(f"{len(data)} bytes is too short for a DHCP message")
    (
        op,
        htype,
        hlen,
        hops,
        xid,
        secs,
        flags,
        ciaddr,
        yiaddr,
        siaddr,
        giaddr,
        chaddr,
        sname,
        file,
    ) = _HEADER.unpack_from(data)
    if data[HEADER_SIZE : HEADER_SIZE + 4] != MAGIC_COOKIE:
        raise DhcpError("no DHCP magic cookie")
    if hlen > 16:
        raise DhcpError(f"hardware address length {hlen} exceeds 16")
    if op not in (BOOTREQUEST, BOOTREPLY):
        raise DhcpError(f"op must be 1 or 2, not {op}")
    pieces = list(_scan(data[HEADER_SIZE + 4 :]))
    overload = _joined(pieces).get(Option.OVERLOAD, b"")
    if overload:
        if len(overload) != 1 or overload[0] not in (1, 2, 3):
            raise DhcpError("malformed option overload")
        # RFC 2131 §4.1: options in 'file' come before those in 'sname'.
        if overload[0] & 1:
            pieces += _scan(file)
            file = b""
        if overload[0] & 2:
            pieces += _scan(sname)
            sname = b""
    joined = _joined(pieces)
    joined.pop(Option.OVERLOAD, None)
    return DhcpPacket(
        op=op,
        xid=xid,
        chaddr=chaddr[:hlen],
        htype=htype,
        hops=hops,
        secs=secs,
        flags=flags,
        ciaddr=_ip_text(ciaddr),
        yiaddr=_ip_text(yiaddr),
        siaddr=_ip_text(siaddr),
        giaddr=_ip_text(giaddr),
        sname=sname.rstrip(b"\0"),
        file=file.rstrip(b"\0"),
        options=tuple(joined.items()),
    )


def _scan(area: bytes) -> Iterator[tuple[int, bytes]]:
    """The (code, value) pieces of one option area, up to END (a missing END is tolerated)."""
    index = 0
    while index < len(area):
        code = area[index]
        if code == _END:
            return
        if code == _PAD:
            index += 1
            continue
        if index + 1 >= len(area):
            raise DhcpError(f"option {code} has no length")
        length = area[index + 1]
        end = index + 2 + length
        if end > len(area):
            raise DhcpError(f"option {code} runs past the end of the packet")
        yield code, area[index + 2 : end]
        index = end


def _joined(pieces: Sequence[tuple[int, bytes]]) -> dict[int, bytes]:
    """Concatenate repeated codes (RFC 3396), keeping first-seen order."""
    out: dict[int, bytes] = {}
    for code, value in pieces:
        out[code] = out.get(code, b"") + value
    return out


def _ip_bytes(text: str) -> bytes:
    try:
        return ipaddress.IPv4Address(text).packed
    except ValueError as error:
        raise DhcpError(str(error)) from None


def _ip_text(raw: bytes) -> str:
    return str(ipaddress.IPv4Address(raw))


# -- option values ---------------------------------------------------------------------------


def ip_value(address: str) -> bytes:
    """One IPv4 address as an option value."""
    return _ip_bytes(address)


def ip_list_value(addresses: Iterable[str]) -> bytes:
    """Several IPv4 addresses as one option value (options 3, 6, 150)."""
    return b"".join(_ip_bytes(address) for address in addresses)


def u32_value(number: int) -> bytes:
    """A 32-bit unsigned number as an option value (options 51, 58, 59)."""
    return struct.pack("!I", number)


def text_value(text: str) -> bytes:
    """ASCII text as an option value (options 12, 56, 66, 160)."""
    return text.encode("ascii")


def message_type_value(kind: MessageType) -> bytes:
    """Option 53's value."""
    return bytes((kind,))


# -- building messages -----------------------------------------------------------------------


def request_packet(
    kind: MessageType,
    *,
    xid: int,
    chaddr: bytes,
    broadcast: bool = False,
    ciaddr: str = ZERO_IP,
    options: Iterable[tuple[int, bytes]] = (),
) -> DhcpPacket:
    """A client message (DISCOVER, REQUEST, ...) with option 53 first."""
    return DhcpPacket(
        op=BOOTREQUEST,
        xid=xid,
        chaddr=chaddr,
        flags=BROADCAST_FLAG if broadcast else 0,
        ciaddr=ciaddr,
        options=((Option.MESSAGE_TYPE, message_type_value(kind)), *options),
    )


def reply_packet(
    request: DhcpPacket,
    kind: MessageType,
    *,
    server_id: str,
    yiaddr: str = ZERO_IP,
    siaddr: str = ZERO_IP,
    options: Iterable[tuple[int, bytes]] = (),
) -> DhcpPacket:
    """A server reply to ``request`` per RFC 2131 table 3 (53 and 54 first, then ``options``)."""
    # ciaddr is echoed only in an ACK to INFORM/renewal; a NAK clears everything but the basics.
    ciaddr = request.ciaddr if kind is MessageType.ACK else ZERO_IP
    return DhcpPacket(
        op=BOOTREPLY,
        xid=request.xid,
        chaddr=request.chaddr,
        htype=request.htype,
        flags=request.flags,
        ciaddr=ciaddr,
        yiaddr=ZERO_IP if kind is MessageType.NAK else yiaddr,
        siaddr=ZERO_IP if kind is MessageType.NAK else siaddr,
        giaddr=request.giaddr,
        options=(
            (Option.MESSAGE_TYPE, message_type_value(kind)),
            (Option.SERVER_ID, ip_value(server_id)),
            *options,
        ),
    )
