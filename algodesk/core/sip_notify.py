"""The check-sync SIP NOTIFY (domain.md §9): building the request and reading the answer.

Pure text handling: the sender in ``algodesk.services.checksync`` owns the socket, timers and
matching. A response matches a request when its top Via branch, Call-ID and CSeq agree.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

SIP_PORT = 5060
BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 §8.1.1.7: marks a branch as globally unique

# RFC 3261 §7.3.3 compact header names.
_COMPACT = {
    "i": "call-id",
    "v": "via",
    "f": "from",
    "t": "to",
    "l": "content-length",
    "m": "contact",
    "o": "event",
}
_STATUS_LINE = re.compile(r"^SIP/2\.0\s+(\d{3})(?:\s+(.*))?$")
_CSEQ = re.compile(r"^\s*(\d+)\s+(\S+)\s*$")
_BRANCH = re.compile(r";\s*branch=([^;,\s]+)", re.I)
_EXTENSION = re.compile(r"^[A-Za-z0-9\-_.!~*'()&=+$,;?/]+$")

CHECKSYNC_NOTE = (
    "Check-sync works only while provisioning is enabled on the device (guide §6): a device "
    "with prov.use = 0 ignores it."
)
"""Said wherever check-sync is offered."""


class SipError(ValueError):
    """Bytes that are not a SIP response, or a request that cannot be built."""


@dataclass(frozen=True, slots=True)
class Notify:
    """One check-sync NOTIFY and the identifiers its answer must echo."""

    host: str
    port: int
    extension: str
    reboot: bool
    local_host: str
    local_port: int
    call_id: str = field(default_factory=lambda: f"{secrets.token_hex(12)}")
    branch: str = field(default_factory=lambda: f"{BRANCH_MAGIC}{secrets.token_hex(8)}")
    tag: str = field(default_factory=lambda: secrets.token_hex(6))
    cseq: int = 1
    user_agent: str = "algodesk"

    def __post_init__(self) -> None:
        if self.extension and not _EXTENSION.match(self.extension):
            raise SipError(f"not a SIP user part: {self.extension!r}")
        if not 0 < self.port < 65536:
            raise SipError(f"port out of range: {self.port}")

    @property
    def request_uri(self) -> str:
        """``sip:<ext>@<ip>:<port>`` (``sip:<ip>:<port>`` without an extension)."""
        user = f"{self.extension}@" if self.extension else ""
        return f"sip:{user}{_uri_host(self.host)}:{self.port}"

    def encode(self) -> bytes:
        """The request as sent on the wire."""
        local = f"{_uri_host(self.local_host)}:{self.local_port}"
        event = "check-sync;reboot=true" if self.reboot else "check-sync"
        lines = [
            f"NOTIFY {self.request_uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {local};branch={self.branch};rport",
            "Max-Forwards: 70",
            f"From: <sip:algodesk@{_uri_host(self.local_host)}>;tag={self.tag}",
            f"To: <{self.request_uri}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} NOTIFY",
            f"Contact: <sip:algodesk@{local}>",
            f"Event: {event}",
            f"User-Agent: {self.user_agent}",
            "Content-Length: 0",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def matches(self, response: SipResponse) -> bool:
        """Whether ``response`` answers this request."""
        return (
            response.branch == self.branch
            and response.call_id == self.call_id
            and response.cseq == (self.cseq, "NOTIFY")
        )


@dataclass(frozen=True, slots=True)
class SipResponse:
    """A parsed SIP response: status, reason and the headers (lower-case names, first value)."""

    status: int
    reason: str
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def call_id(self) -> str:
        """The Call-ID header."""
        return self.headers.get("call-id", "").strip()

    @property
    def branch(self) -> str:
        """The branch parameter of the top Via."""
        match = _BRANCH.search(self.headers.get("via", ""))
        return match.group(1) if match else ""

    @property
    def cseq(self) -> tuple[int, str] | None:
        """The CSeq as (number, method)."""
        match = _CSEQ.match(self.headers.get("cseq", ""))
        return (int(match.group(1)), match.group(2).upper()) if match else None

    @property
    def final(self) -> bool:
        """A final answer (2xx-6xx), not a provisional 1xx."""
        return self.status >= 200


def parse_response(data: bytes) -> SipResponse:
    """Parse a SIP response; raises ``SipError`` for requests and anything malformed."""
    text = data.decode("utf-8", "replace")
    head = re.split(r"\r?\n\r?\n", text, maxsplit=1)[0]
    lines = re.split(r"\r?\n", head)
    match = _STATUS_LINE.match(lines[0].strip())
    if not match:
        raise SipError("not a SIP response")
    status = int(match.group(1))
    if not 100 <= status <= 699:
        raise SipError(f"status {status} out of range")
    headers: dict[str, str] = {}
    last = ""
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and last:
            # RFC 3261 §7.3.1 line folding: a continuation of the previous header.
            headers[last] = f"{headers[last]} {line.strip()}"
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise SipError(f"malformed header line: {line[:40]!r}")
        key = name.strip().lower()
        key = _COMPACT.get(key, key)
        if key in headers:
            last = ""  # only the first (top) value is kept
            continue
        headers[key] = value.strip()
        last = key
    return SipResponse(status, (match.group(2) or "").strip(), MappingProxyType(headers))


def _uri_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
