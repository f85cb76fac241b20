"""What a server certificate says: names, issuer, dates, read from its DER bytes.

A preflight reports the certificate whether or not it validates, and Python 3.11's ``ssl`` only
decodes a certificate it has verified; a self-signed or expired one comes back as DER bytes
alone. This reads the few fields a technician needs (RFC 5280 §4.1) and nothing else: it is not
a validator, and it never decides trust.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from typing import Any

_SEQUENCE, _SET, _OID, _OCTETS, _BOOLEAN = 0x30, 0x31, 0x06, 0x04, 0x01
_UTC_TIME, _GENERALIZED_TIME = 0x17, 0x18
_VERSION, _EXTENSIONS = 0xA0, 0xA3
_DNS_NAME, _IP_ADDRESS = 0x82, 0x87
_COMMON_NAME = bytes.fromhex("550403")
_ORGANIZATION = bytes.fromhex("55040a")
_UNIT = bytes.fromhex("55040b")
_SUBJECT_ALT_NAME = bytes.fromhex("551d11")


class CertificateError(ValueError):
    """The bytes are not a certificate this reader understands."""


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """The parts of one certificate a person checks: who it is for, who issued it, when valid."""

    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    names: tuple[str, ...] = field(default=())
    self_signed: bool = False
    """The certificate names itself as its issuer (compared as encoded, not as shown)."""

    def expired(self, now: dt.datetime) -> bool:
        """Whether ``now`` is past the end of validity."""
        return now > self.not_after

    def not_yet_valid(self, now: dt.datetime) -> bool:
        """Whether ``now`` is before the start of validity (a device clock far behind)."""
        return now < self.not_before

    def describe(self) -> str:
        """One line: subject, names, issuer and dates."""
        names = ", ".join(self.names) or "none"
        issuer = "itself (self-signed)" if self.self_signed else self.issuer
        return (
            f"{self.subject}; names: {names}; issued by {issuer}; valid "
            f"{self.not_before:%Y-%m-%d} to {self.not_after:%Y-%m-%d}"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (dates as ISO 8601 UTC)."""
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "names": list(self.names),
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "self_signed": self.self_signed,
        }


def read_certificate(der: bytes) -> CertificateFacts:
    """The facts of the DER-encoded certificate ``der``; CertificateError when it is not one."""
    try:
        return _read(der)
    except (IndexError, ValueError, UnicodeDecodeError) as error:
        raise CertificateError(f"not a certificate this reader understands: {error}") from None


def _read(der: bytes) -> CertificateFacts:
    certificate = _only(der, _SEQUENCE)
    tbs = _children(_children(certificate)[0][1])
    if tbs[0][0] == _VERSION:
        tbs = tbs[1:]
    # serial, signature algorithm, issuer, validity, subject, public key, then optional parts
    issuer, validity, subject = tbs[2][1], _children(tbs[3][1]), tbs[4][1]
    names: tuple[str, ...] = ()
    for tag, body in tbs[6:]:
        if tag == _EXTENSIONS:
            names = _alt_names(_only(body, _SEQUENCE))
    return CertificateFacts(
        subject=_name(subject),
        issuer=_name(issuer),
        not_before=_time(*validity[0]),
        not_after=_time(*validity[1]),
        names=names,
        self_signed=subject == issuer,
    )


def _tlv(data: bytes, at: int) -> tuple[int, bytes, int]:
    """``(tag, body, next offset)`` of the element at ``at``."""
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4:
            raise ValueError("unsupported length")
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    end = at + length
    if end > len(data):
        raise ValueError("truncated element")
    return tag, data[at:end], end


def _children(data: bytes) -> list[tuple[int, bytes]]:
    found, at = [], 0
    while at < len(data):
        tag, body, at = _tlv(data, at)
        found.append((tag, body))
    return found


def _only(data: bytes, tag: int) -> bytes:
    found, body, _end = _tlv(data, 0)
    if found != tag:
        raise ValueError(f"expected tag {tag:#x}, found {found:#x}")
    return body


def _name(rdns: bytes) -> str:
    """``CN=..., O=...`` from a Name (only the attributes people recognise)."""
    parts = []
    for _set_tag, rdn in _children(rdns):
        for _seq_tag, attribute in _children(rdn):
            (_oid_tag, oid), (_value_tag, value) = _children(attribute)[:2]
            label = {_COMMON_NAME: "CN", _ORGANIZATION: "O", _UNIT: "OU"}.get(oid)
            if label is not None:
                parts.append(f"{label}={value.decode('utf-8', 'replace')}")
    return ", ".join(parts) or "(no name)"


def _alt_names(extensions: bytes) -> tuple[str, ...]:
    for _tag, extension in _children(extensions):
        fields = _children(extension)
        if fields[0] != (_OID, _SUBJECT_ALT_NAME):
            continue
        value = fields[-1][1]
        names = []
        for tag, body in _children(_only(value, _SEQUENCE)):
            if tag == _DNS_NAME:
                names.append(body.decode("ascii"))
            elif tag == _IP_ADDRESS and len(body) in (4, 16):
                names.append(str(ipaddress.ip_address(body)))
        return tuple(names)
    return ()


def _time(tag: int, body: bytes) -> dt.datetime:
    text = body.decode("ascii").rstrip("Z")
    if tag == _UTC_TIME:
        year = int(text[:2])
        # RFC 5280 §4.1.2.5.1: two-digit years 50-99 are 19xx, 00-49 are 20xx.
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != _GENERALIZED_TIME:
        raise ValueError(f"not a time (tag {tag:#x})")
    return dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
