"""What the history store returns: runs, transfers and devices as plain frozen records."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from algodesk.core.events import Address, Source


class HistoryError(Exception):
    """The history file cannot be opened or written, or a request makes no sense."""


class TransferOutcome(StrEnum):
    """How a recorded transfer ended."""

    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One bench run (server start to stop); ``ended`` is None while running or after a crash."""

    run_id: int
    started: float
    ended: float | None
    root: str
    address: str
    port: int
    transfers: int
    devices: int


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """One finished or failed transfer; start details are None if its start was not recorded."""

    run_id: int
    transfer_id: int
    client: Address
    requested: str
    served: str
    source: Source | None
    size: int | None
    md5: str
    case_fallback: bool
    started: float | None
    ended: float
    outcome: TransferOutcome
    bytes_sent: int
    duration: float
    retransmissions: int
    reason: str


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A MAC seen in a run (``algom<MAC>`` request or DHCP lease) and its latest address."""

    run_id: int
    mac: str
    ip: str
    first_seen: float
    last_seen: float
