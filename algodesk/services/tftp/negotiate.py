"""Option negotiation (RFC 2347 framework; 2348 blksize; 2349 tsize, timeout; 7440 windowsize).

The OACK carries only options the client asked for, that we support, with valid values. A client
that asked for nothing we accept gets DATA straight away (RFC 2347).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from algodesk.services.tftp.settings import (
    DEFAULT_BLKSIZE,
    MAX_BLKSIZE,
    MAX_WINDOWSIZE,
    MIN_BLKSIZE,
    TftpSettings,
)

_MAX_DIGITS = 10


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What a transfer runs with, and the OACK options (client spelling, in request order)."""

    blksize: int = DEFAULT_BLKSIZE
    windowsize: int = 1
    timeout: float | None = None
    reply: dict[str, str] = field(default_factory=dict)


def _number(value: str) -> int | None:
    # int() would also take spaces, signs and underscores; and a huge digit string raises.
    if not value or len(value) > _MAX_DIGITS or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def negotiate(
    options: dict[str, str], names: dict[str, str], size: int, settings: TftpSettings
) -> Negotiated:
    """Agree on options for a read of ``size`` bytes.

    Args:
        options: Lowercased option name -> value, as requested.
        names: Lowercased option name -> the client's spelling.
        size: Bytes that will be sent (after any netascii conversion).
        settings: Engine settings (caps, timeout policy).
    """
    blksize, windowsize, timeout = DEFAULT_BLKSIZE, 1, None
    reply: dict[str, str] = {}
    for key, value in options.items():
        number = _number(value)
        if number is None:
            continue
        if key == "blksize" and number >= MIN_BLKSIZE:
            blksize = min(number, settings.max_blksize, MAX_BLKSIZE)
            reply[names[key]] = str(blksize)
        elif key == "tsize":
            reply[names[key]] = str(size)
        elif key == "timeout" and 1 <= number <= 255 and settings.accept_timeout_option:
            timeout = float(number)
            reply[names[key]] = str(number)
        elif key == "windowsize" and 1 <= number <= MAX_WINDOWSIZE:
            windowsize = min(number, settings.max_windowsize)
            reply[names[key]] = str(windowsize)
    return Negotiated(blksize, windowsize, timeout, reply)
