"""What the tracker knows: tracked devices, their timeline entries and the changes models read.

These are plain records; :mod:`algodesk.core.tracker` folds engine events into them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from algodesk.core import diagnosis as dx
from algodesk.core.device import Stage, Step
from algodesk.core.diagnosis import Diagnosis, Level
from algodesk.core.events import Address, SyslogLine
from algodesk.core.names import FileName
from algodesk.core.wording import measured_rate

TIMELINE_LIMIT = 500
SYSLOG_LIMIT = 200
"""Syslog lines kept per device, and per address that no device is known at yet."""
NOT_SEEN = "expected — not seen yet"
"""Status of a device on the roster that has not made a request yet."""
POOLED = "Several devices at this address: requests not naming a MAC"
"""Status of the row holding a shared address's requests that cannot be attributed."""


class Outcome(StrEnum):
    """What became of one request."""

    REQUESTED = "requested"
    SENDING = "sending"
    SERVED = "served"
    NOT_FOUND = "not found"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(slots=True, eq=False)
class TimelineEntry:
    """One request from a device and what became of it."""

    seq: int
    time: float
    client: Address
    requested: str
    name: FileName
    step: Step
    device: TrackedDevice | None = None
    served: str = ""
    source: str = ""
    size: int | None = None
    md5: str = ""
    outcome: Outcome = Outcome.REQUESTED
    reason: str = ""
    near: str = ""
    bytes_sent: int = 0
    duration: float | None = None
    updated: float = 0.0
    transfer_id: int | None = None

    @property
    def speed(self) -> float | None:
        """Bytes per second so far (None while too little time has passed to say)."""
        elapsed = self.duration if self.duration is not None else self.updated - self.time
        return measured_rate(self.bytes_sent, elapsed)

    @property
    def fraction(self) -> float | None:
        """How much of the file has gone (0..1), None when the size is unknown."""
        if self.outcome is Outcome.SERVED:
            return 1.0
        if not self.size:
            return None
        return min(1.0, self.bytes_sent / self.size)


@dataclass(slots=True)
class Boot:
    """What the tracker learned during the device's current boot."""

    device_file_missing: bool = False
    config: str = ""
    config_served: str = ""
    config_md5: str = ""
    accepted: bool = False
    repeat: bool = False
    config_known: bool = False
    handoff: str | None = None
    provisioning_off: bool = False


def _rank(diagnosis: Diagnosis) -> int:
    return diagnosis.level.rank


@dataclass(slots=True, eq=False)
class TrackedDevice:
    """One device on the bench, keyed by its MAC (or ``ip:<address>`` until the MAC is known)."""

    key: str
    mac: str = ""
    ip: str = ""
    product: str = ""
    first_seen: float = 0.0
    last_seen: float = 0.0
    stage: Stage | None = None
    boots: int = 0
    files_served: int = 0
    current: TimelineEntry | None = None
    timeline: deque[TimelineEntry] = field(default_factory=lambda: deque(maxlen=TIMELINE_LIMIT))
    syslog: deque[SyslogLine] = field(default_factory=lambda: deque(maxlen=SYSLOG_LIMIT))
    findings: list[Diagnosis] = field(default_factory=list)
    loop: Diagnosis | None = None
    boot: Boot = field(default_factory=Boot)
    last_config: tuple[str, str] | None = None
    same_config_boots: int = 0
    expected: bool = False
    shared: Diagnosis | None = None
    """Set while other devices ask from the same address: see ``pooled``."""
    pooled: bool = False
    """Not a device: the requests from a shared address that name no MAC (``ip:<address>``)."""

    @property
    def seen(self) -> bool:
        """Whether the device has shown up (every device the tracker learns of has an IP)."""
        return bool(self.ip)

    @property
    def diagnoses(self) -> list[Diagnosis]:
        """Everything known about the device, worst first."""
        found = [*self.findings, *(d for d in (self.loop, self.shared) if d is not None)]
        return sorted(found, key=lambda d: -d.level.rank)

    @property
    def status(self) -> tuple[Level, str]:
        """The one line a technician reads from across the room."""
        if not self.seen:
            return Level.INFO, NOT_SEEN
        if self.pooled:
            return Level.INFO, POOLED
        # the worst without sorting them all (the status bar asks for every device each tick)
        found = self.findings
        if self.loop is not None or self.shared is not None:
            found = [*found, *(d for d in (self.loop, self.shared) if d is not None)]
        worst = max(found, key=_rank, default=None)
        if worst and worst.level.rank >= Level.WARNING.rank:
            return worst.level, worst.short
        handed = next((d for d in self.findings if d.code == "handed-off"), None)
        if self.stage is Stage.LEFT and handed:
            return Level.OK, handed.short
        return dx.stage_status(self.stage)

    def drop_finding(self, code: str) -> None:
        """Forget the finding with ``code``."""
        self.findings = [d for d in self.findings if d.code != code]

    def add_finding(self, finding: Diagnosis) -> None:
        """Record ``finding``, replacing one with the same code."""
        self.drop_finding(finding.code)
        self.findings.append(finding)


@dataclass(slots=True)
class Changes:
    """What changed since the last :meth:`Tracker.take_changes`, for the models."""

    new_devices: list[TrackedDevice] = field(default_factory=list)
    updated_devices: list[TrackedDevice] = field(default_factory=list)
    removed_devices: list[TrackedDevice] = field(default_factory=list)
    new_entries: list[TimelineEntry] = field(default_factory=list)
    updated_entries: list[TimelineEntry] = field(default_factory=list)
