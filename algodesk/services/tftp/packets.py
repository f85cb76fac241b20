"""TFTP packet layouts (RFC 1350, 2347) and parsing of what clients send.

Only requests and errors are parsed into objects; the hot path (ACK in, DATA out) reads and writes
the few header bytes directly in the transfer module.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

RRQ = 1
WRQ = 2
DATA = 3
ACK = 4
ERROR = 5
OACK = 6

# Error codes (RFC 1350, RFC 2347).
ERR_UNDEFINED = 0
ERR_NOT_FOUND = 1
ERR_ACCESS = 2
ERR_DISK_FULL = 3
ERR_ILLEGAL = 4
ERR_UNKNOWN_TID = 5
ERR_EXISTS = 6
ERR_NO_USER = 7
ERR_OPTION = 8

MODES = ("octet", "netascii")
MAX_REQUEST = 1024
"""Longest request we read; RFC 1350 requests fit one 512-byte block, options add a little."""

_HEADER = struct.Struct("!HH")


class MalformedPacket(ValueError):
    """A datagram that is not a TFTP packet we can act on; the message says why."""


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed read or write request.

    ``options`` maps lowercased option names to their values; ``option_names`` keeps the client's
    spelling so an OACK can answer in kind. Repeated options keep their first value.
    """

    opcode: int
    filename: str
    mode: str
    options: dict[str, str] = field(default_factory=dict)
    option_names: dict[str, str] = field(default_factory=dict)


def _text(raw: bytes) -> str:
    # Names are ASCII in practice; a UTF-8 name may still match a file on disk, and Latin-1
    # decodes anything, so no request is lost to an encoding error.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse_request(data: bytes) -> Request:
    """Parse an RRQ or WRQ; raises ``MalformedPacket``."""
    if len(data) < 4:
        raise MalformedPacket("too short for a request")
    opcode = (data[0] << 8) | data[1]
    if opcode not in (RRQ, WRQ):
        raise MalformedPacket(f"opcode {opcode} is not a request")
    fields = bytes(data[2:]).split(b"\0")
    if len(fields) < 3:
        raise MalformedPacket("file name or mode is not NUL-terminated")
    # The last element is what follows the final NUL: must be empty. Some clients pad with
    # extra NULs, which show up as empty trailing fields; ignore those.
    if fields[-1]:
        raise MalformedPacket("request does not end with NUL")
    fields.pop()
    while len(fields) > 2 and not fields[-1] and len(fields) % 2:
        fields.pop()
    filename, mode = _text(fields[0]), _text(fields[1]).lower()
    if not filename:
        raise MalformedPacket("empty file name")
    if mode not in MODES:
        raise MalformedPacket(f"unsupported mode {mode!r}")
    rest = fields[2:]
    if len(rest) % 2:
        raise MalformedPacket("option without a value")
    options: dict[str, str] = {}
    names: dict[str, str] = {}
    for index in range(0, len(rest), 2):
        name = _text(rest[index])
        key = name.lower()
        if key and key not in options:
            options[key] = _text(rest[index + 1])
            names[key] = name
    return Request(opcode, filename, mode, options, names)


def error_packet(code: int, message: str) -> bytes:
    """An ERROR packet; the message is ASCII (non-ASCII replaced)."""
    text = message.encode("ascii", "replace")[:200]
    return _HEADER.pack(ERROR, code) + text + b"\0"


def oack_packet(options: dict[str, str]) -> bytes:
    """An OACK packet carrying ``options`` in order."""
    body = b"".join(
        f"{name}\0{value}\0".encode("ascii", "replace") for name, value in options.items()
    )
    return struct.pack("!H", OACK) + body


def data_header(block: int) -> bytes:
    """The 4-byte header of DATA block ``block`` (taken modulo 65536)."""
    return _HEADER.pack(DATA, block & 0xFFFF)


def ack_packet(block: int) -> bytes:
    """An ACK for ``block`` (used by tests and tools; the server only receives ACKs)."""
    return _HEADER.pack(ACK, block & 0xFFFF)


def parse_error(data: bytes) -> tuple[int, str]:
    """Code and message of an ERROR packet (lenient: a missing NUL is tolerated)."""
    if len(data) < 4:
        raise MalformedPacket("too short for an error")
    code = (data[2] << 8) | data[3]
    message = bytes(data[4:]).split(b"\0", 1)[0].decode("ascii", "replace")
    return code, message
