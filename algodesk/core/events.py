"""Events that services report through one sink and the UI, CLI and history consume.

Every event is a frozen dataclass. Services call ``sink(event)`` from any thread; consumers must
not assume the GUI thread. Events are per request or per transfer (progress is throttled by the
producer), never per packet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Any

Address = tuple[str, int]
"""A peer's (host, port)."""


def _now() -> float:
    return time.time()


def _frozen_map(value: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


class Source(StrEnum):
    """Where a served file's bytes came from."""

    DISK = "disk"
    VIRTUAL = "virtual"
    AUTO_MD5 = "auto-md5"


SECRET_DIGEST_TEXT = "stage-1 (holds the password)"
"""Shown where an md5 would be for a file served from memory: those hold a password, and their
digest would let anyone test guesses of it offline (so engines never report one)."""


class RefusalReason(StrEnum):
    """Why a request was refused before any data moved."""

    NOT_FOUND = "not-found"
    ACCESS = "access"
    MALFORMED = "malformed"
    WRITE = "write"
    UNKNOWN_TID = "unknown-tid"
    BUSY = "busy"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event: when it happened (seconds since the epoch)."""

    time: float = field(default_factory=_now)

    @property
    def kind(self) -> str:
        """A short stable name for the event type (for JSON lines and logs)."""
        return _KIND_BY_TYPE.get(type(self), type(self).__name__)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the event."""
        out: dict[str, Any] = {"event": self.kind}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, Enum):
                value = value.value
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerStarted(Event):
    """A service is bound and serving."""

    service: str
    address: str
    port: int
    root: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerStopped(Event):
    """A service stopped on request."""

    service: str
    address: str
    port: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerFailed(Event):
    """A service could not start or died; ``code`` is stable, ``remedies`` are for people."""

    service: str
    address: str
    port: int
    code: str
    message: str
    remedies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReceived(Event):
    """A read or write request arrived (before it is resolved to a file)."""

    client: Address
    filename: str
    operation: str = "read"
    options: Mapping[str, str] = field(default_factory=_frozen_map)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRefused(Event):
    """A request was answered with an error before any data moved.

    ``near`` names the served file that matches ``filename`` but for case, when the server
    refused it because names are exact (guide §5.4).
    """

    client: Address
    filename: str
    reason: RefusalReason
    detail: str = ""
    near: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferStarted(Event):
    """A transfer began: what was asked, what is served, from where, and the agreed options."""

    transfer_id: int
    client: Address
    requested: str
    served: str
    source: Source
    size: int
    options: Mapping[str, str] = field(default_factory=_frozen_map)
    case_fallback: bool = False
    md5: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferProgress(Event):
    """Throttled progress of one transfer (a few per second at most)."""

    transfer_id: int
    client: Address
    served: str
    bytes_sent: int
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferFinished(Event):
    """The client acknowledged the last block."""

    transfer_id: int
    client: Address
    served: str
    bytes_sent: int
    duration: float
    retransmissions: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferFailed(Event):
    """A transfer ended without completing."""

    transfer_id: int
    client: Address
    served: str
    reason: str
    bytes_sent: int = 0
    duration: float = 0.0
    retransmissions: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaseGranted(Event):
    """The bench DHCP server acknowledged a lease."""

    mac: str
    ip: str
    lease_seconds: int
    options: Mapping[str, str] = field(default_factory=_frozen_map)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceNotice(Event):
    """Something a person should know that is not tied to one transfer."""

    service: str
    level: str
    code: str
    message: str
    client: Address | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SyslogLine(Event):
    """A syslog message received from a device."""

    client: Address
    facility: int
    severity: int
    hostname: str
    app: str
    message: str


_KIND_BY_TYPE: dict[type[Event], str] = {
    ServerStarted: "server-started",
    ServerStopped: "server-stopped",
    ServerFailed: "server-failed",
    RequestReceived: "request",
    RequestRefused: "refused",
    TransferStarted: "transfer-started",
    TransferProgress: "progress",
    TransferFinished: "transfer-finished",
    TransferFailed: "transfer-failed",
    LeaseGranted: "lease",
    ServiceNotice: "notice",
    SyslogLine: "syslog",
}

Sink = Callable[[Event], None]
"""Where services send events; must be safe to call from any thread."""


def null_sink(event: Event) -> None:
    """A sink that drops everything."""
