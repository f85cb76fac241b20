"""What a simulation works on and produces: device state, the fetcher, trace steps, results.

Kept apart from :mod:`algodesk.core.simulator` (the boot algorithm) so readers of traces (the CLI,
the GUI's simulate dialog, a fleet of virtual devices) need only these types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from algodesk.core import device, names
from algodesk.core.device import Stage

Fetcher = Callable[[str], bytes | None]
"""Ask the server for a file: its bytes, or None when the server has no such file."""


Prober = Callable[[str], int | None]
"""Ask the server whether it has a file without downloading it: its size, or None when absent."""


class FetchError(Exception):
    """The server could not be asked (no answer, refused, transfer broken): not "not found"."""


class StepKind(StrEnum):
    """What a trace step records."""

    REQUEST = "request"
    RESPONSE = "response"
    DECISION = "decision"
    REBOOT = "reboot"
    DONE = "done"
    DIAGNOSIS = "diagnosis"


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One thing the device did or decided during boot number ``boot``."""

    kind: StepKind
    boot: int
    stage: Stage
    file: str = ""
    found: bool | None = None
    size: int | None = None
    md5: str = ""
    message: str = ""

    def describe(self) -> str:
        """The step in plain words: ``algop8188.conf: 812 bytes, md5 3f2a…``, a decision, ..."""
        if self.kind is StepKind.REQUEST:
            return f"asks for {self.file}"
        if self.kind is StepKind.RESPONSE:
            if self.found is None:
                return f"{self.file}: {self.message}"
            if not self.found:
                return f"{self.file}: not found"
            return f"{self.file}: {self.size} bytes, md5 {self.md5[:8]}"
        if self.kind is StepKind.DIAGNOSIS:
            return f"never steady: {self.message}"
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "kind": self.kind.value,
            "boot": self.boot,
            "stage": self.stage.value,
            "file": self.file,
            "found": self.found,
            "size": self.size,
            "md5": self.md5,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class DeviceState:
    """What a device keeps across boots.

    ``applied_config`` holds the bytes of the config in force (None: factory settings);
    ``data_md5s`` the last stored md5 per data parameter (``prov.data.tone`` -> hash).
    ``protocol`` is ``tftp``, ``ftp``, ``http`` or ``https``; all but TFTP skip the config md5.
    """

    mac: str
    product: str
    firmware: str = ""
    applied_config: bytes | None = None
    data_md5s: Mapping[str, str] = field(default_factory=dict)
    partial: bool = False
    protocol: str = "tftp"
    provisioning_enabled: bool = True
    supports_incremental: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "mac", names.normalize_mac(self.mac))
        if not device.is_product_id(self.product):
            raise ValueError(f"not a product ID (4 digits, e.g. 8188): {self.product!r}")
        if self.protocol not in device.PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}: one of {device.PROTOCOLS}")
        object.__setattr__(self, "data_md5s", dict(self.data_md5s))


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """The trace and where the device ended.

    ``steady`` is true when the device reached a boot that needs nothing more from this server
    (or left for its stage-2 server, ``left_for``); otherwise ``diagnosis`` says why not, and
    ``problem_steps`` says in which parts of the algorithm the last boot stopped (a firmware
    step, a data file, ...), for readers that sort failures without parsing the words.
    """

    steps: tuple[TraceStep, ...]
    final_state: DeviceState
    boots: int
    steady: bool
    diagnosis: str | None
    outcome: str
    left_for: str | None = None
    problem_steps: tuple[device.Step, ...] = ()

    @property
    def files_fetched(self) -> int:
        """Files the server delivered (md5 files included)."""
        return sum(1 for s in self.steps if s.kind is StepKind.RESPONSE and s.found)

    @property
    def bytes_fetched(self) -> int:
        """Bytes the server delivered."""
        return sum(s.size or 0 for s in self.steps if s.kind is StepKind.RESPONSE and s.found)
