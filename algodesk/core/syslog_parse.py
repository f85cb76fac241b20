"""Syslog messages as devices send them: RFC 5424, RFC 3164 and the loose BSD forms in between.

Parsing never fails: anything that is not recognisably structured becomes a message with the
RFC 3164 default priority (user.notice) and the whole text as its body. Text is made safe to
print (control characters escaped) and secrets are masked before it leaves this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from algodesk.core.masking import mask_secrets

DEFAULT_FACILITY = 1  # user-level (RFC 3164 §4.3.3)
DEFAULT_SEVERITY = 5  # notice

SEVERITY_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")

_PRI = re.compile(rb"^<(\d{1,3})>")
_RFC5424 = re.compile(
    r"^(?P<version>[1-9]\d{0,2}) (?P<timestamp>\S+) (?P<hostname>\S+) (?P<app>\S+) "
    r"(?P<procid>\S+) (?P<msgid>\S+) (?P<rest>.*)$",
    re.S,
)
_BSD_TIMESTAMP = re.compile(
    r"^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? ?"
)
_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)? ?")
_TAG = re.compile(r"^(?P<app>[^\s:\[\]]{1,48})(?:\[(?P<pid>[^\]\s]*)\])?: ?")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# The longest text kept of one field. RFC 3164 §4.1 caps a whole message at 1024 bytes and
# RFC 5424 §6.1 asks receivers to take 2048; a UDP datagram may still carry 64 KiB (RFC 5426
# §3.2), which no screen line needs. Cut after masking, so a cut never splits a secret from its key.
MAX_FIELD_CHARS = 4096


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    """One parsed syslog datagram; empty strings for parts the sender left out."""

    facility: int
    severity: int
    message: str
    hostname: str = ""
    app: str = ""
    procid: str = ""
    msgid: str = ""
    timestamp: str = ""
    structured_data: str = ""
    protocol: str = "rfc3164"

    @property
    def severity_name(self) -> str:
        """``err``, ``info``, ... ."""
        return SEVERITY_NAMES[self.severity]


def parse(data: bytes) -> SyslogMessage:
    """Parse one datagram (never raises)."""
    facility, severity = DEFAULT_FACILITY, DEFAULT_SEVERITY
    match = _PRI.match(data)
    if match and int(match.group(1)) <= 191:
        facility, severity = divmod(int(match.group(1)), 8)
        data = data[match.end() :]
    text = data.decode("utf-8", "replace").lstrip("\ufeff").rstrip("\r\n\0 ")
    structured = _parse_5424(text, facility, severity) if match else None
    return structured or _parse_3164(text, facility, severity)


def _parse_5424(text: str, facility: int, severity: int) -> SyslogMessage | None:
    match = _RFC5424.match(text)
    if not match or not _looks_like_5424_timestamp(match["timestamp"]):
        return None
    structured, message = _split_structured_data(match["rest"])
    if structured is None:
        return None
    return SyslogMessage(
        facility=facility,
        severity=severity,
        message=clean(message.lstrip("\ufeff")),
        hostname=_nil(match["hostname"]),
        app=_nil(match["app"]),
        procid=_nil(match["procid"]),
        msgid=_nil(match["msgid"]),
        timestamp=_nil(match["timestamp"]),
        structured_data=clean(_nil(structured)),
        protocol="rfc5424",
    )


def _looks_like_5424_timestamp(value: str) -> bool:
    return value == "-" or bool(_ISO_TIMESTAMP.match(value))


def _split_structured_data(rest: str) -> tuple[str | None, str]:
    """Split ``STRUCTURED-DATA [SP MSG]``; None when the structured data is malformed."""
    if rest.startswith("-"):
        return "-", rest[2:] if rest.startswith("- ") else rest[1:]
    if not rest.startswith("["):
        return None, rest
    index, in_quotes, depth = 0, False, 0
    while index < len(rest):
        char = rest[index]
        if in_quotes and char == "\\":
            index += 2
            continue
        if char == '"':
            in_quotes = not in_quotes
        elif not in_quotes and char == "[":
            depth += 1
        elif not in_quotes and char == "]":
            depth -= 1
            if depth == 0 and (index + 1 == len(rest) or rest[index + 1] != "["):
                return rest[: index + 1], rest[index + 2 :]
        index += 1
    return None, rest


def _parse_3164(text: str, facility: int, severity: int) -> SyslogMessage:
    timestamp = ""
    for pattern in (_BSD_TIMESTAMP, _ISO_TIMESTAMP):
        if match := pattern.match(text):
            timestamp, text = match.group(0).strip(), text[match.end() :]
            break
    hostname = app = procid = ""
    tag = _TAG.match(text)
    if tag is None and timestamp:
        # "host tag: message": a hostname is only believable after a timestamp.
        first, _, remainder = text.partition(" ")
        tag_after_host = _TAG.match(remainder)
        if first and tag_after_host and ":" not in first:
            hostname, text, tag = first, remainder, tag_after_host
    if tag is not None:
        app, procid, text = tag["app"], tag["pid"] or "", text[tag.end() :]
    return SyslogMessage(
        facility=facility,
        severity=severity,
        message=clean(text),
        hostname=clean(hostname),
        app=clean(app),
        procid=clean(procid),
        timestamp=timestamp,
    )


def _nil(value: str) -> str:
    return "" if value == "-" else clean(value)


def clean(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` safe to print and to log: control characters escaped, secrets masked.

    At most ``limit`` characters are kept; a longer text is cut and says how much was left out.
    """
    text = mask_secrets(_CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text))
    if len(text) > limit:
        return f"{text[:limit]}… ({len(text) - limit} more characters not shown)"
    return text
