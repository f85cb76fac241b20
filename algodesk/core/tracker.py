"""Fold the engine's events into devices: identity, product, stage and a diagnosis.

The tracker is pure and single-threaded: the GUI feeds it events on its own thread (through the
bridge) and models read what changed with :meth:`Tracker.take_changes`. Replaying a stored run's
events through a fresh tracker rebuilds that run's devices.

Identity: an IP's ``algom<MAC>`` request (or a DHCP lease) names its MAC; the same MAC keeps one
device across IP changes, and a row created for a bare IP merges into the MAC's row once known.
Stage follows the device algorithm of domain.md §4 as seen from the server (see ``stages``).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from algodesk.core import diagnosis as dx
from algodesk.core.device import (
    Stage,
    Step,
    config_values,
    provisioning_enabled,
    request_step,
    server_changed,
    server_location,
)
from algodesk.core.diagnosis import Diagnosis, Level
from algodesk.core.events import (
    Address,
    Event,
    LeaseGranted,
    RefusalReason,
    RequestReceived,
    RequestRefused,
    Source,
    SyslogLine,
    TransferFailed,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from algodesk.core.md5 import md5_hex, parse_md5
from algodesk.core.names import FileKind, FileName, MacError, classify, normalize_mac

Fetcher = Callable[[str], bytes | None]
"""Reads a served file by name (None when absent); lets the tracker check md5s and hand-offs."""

TIMELINE_LIMIT = 500
SYSLOG_LIMIT = 200
"""Syslog lines kept per device, and per address that no device is known at yet."""
_LOOSE_ADDRESSES = 64
NOT_SEEN = "expected — not seen yet"
"""Status of a device on the roster that has not made a request yet."""
_CACHE_LIMIT = 256
_T = TypeVar("_T")
ENTRY_BACKLOG = 20_000


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
    bytes_sent: int = 0
    duration: float | None = None
    updated: float = 0.0
    transfer_id: int | None = None

    @property
    def speed(self) -> float | None:
        """Bytes per second so far (None before any time has passed)."""
        elapsed = self.duration if self.duration is not None else self.updated - self.time
        return self.bytes_sent / elapsed if elapsed > 0 else None

    @property
    def fraction(self) -> float | None:
        """How much of the file has gone (0..1), None when the size is unknown."""
        if self.outcome is Outcome.SERVED:
            return 1.0
        if not self.size:
            return None
        return min(1.0, self.bytes_sent / self.size)


@dataclass(slots=True)
class _Boot:
    """What the tracker learned during the device's current boot."""

    device_file_missing: bool = False
    config: str = ""
    config_md5: str = ""
    accepted: bool = False
    repeat: bool = False
    config_known: bool = False
    handoff: str | None = None
    provisioning_off: bool = False


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
    boot: _Boot = field(default_factory=_Boot)
    last_config: tuple[str, str] | None = None
    same_config_boots: int = 0
    expected: bool = False

    @property
    def seen(self) -> bool:
        """Whether the device has shown up (every device the tracker learns of has an IP)."""
        return bool(self.ip)

    @property
    def diagnoses(self) -> list[Diagnosis]:
        """Everything known about the device, worst first."""
        found = [*self.findings, *([self.loop] if self.loop else [])]
        return sorted(found, key=lambda d: -d.level.rank)

    @property
    def status(self) -> tuple[Level, str]:
        """The one line a technician reads from across the room."""
        if not self.seen:
            return Level.INFO, NOT_SEEN
        found = [*self.findings, self.loop] if self.loop else self.findings
        worst = max(found, key=lambda d: d.level.rank, default=None)
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


class Tracker:
    """Devices and requests, folded from engine events."""

    def __init__(
        self,
        fetch: Fetcher | None = None,
        *,
        settle_seconds: float = 90.0,
        loop_threshold: int = 3,
    ) -> None:
        """Create an empty tracker.

        Args:
            fetch: reads served files, to check md5s and spot stage-1 hand-offs; optional.
            settle_seconds: quiet time after which a device's boot is taken as finished.
            loop_threshold: boots in a row with the same config that make a reboot loop.
        """
        self.fetch = fetch
        self.settle_seconds = settle_seconds
        self.loop_threshold = loop_threshold
        self.devices: dict[str, TrackedDevice] = {}
        self._by_ip: dict[str, str] = {}
        self._pending: dict[Address, TimelineEntry] = {}
        self._transfers: dict[int, TimelineEntry] = {}
        self._seq = itertools.count()
        self._changes = Changes()
        self._dirty: dict[int, TrackedDevice] = {}
        self._dirty_entries: dict[int, TimelineEntry] = {}
        self._facts: dict[tuple[str, str], tuple[str, str | None, bool]] = {}
        self._hashes: dict[tuple[str, str], str | None] = {}
        self._loose: dict[str, deque[SyslogLine]] = {}
        self._handlers: dict[type[Event], Callable[[Event], None]] = {
            RequestReceived: self._on_request,  # type: ignore[dict-item]
            RequestRefused: self._on_refused,  # type: ignore[dict-item]
            TransferStarted: self._on_started,  # type: ignore[dict-item]
            TransferProgress: self._on_progress,  # type: ignore[dict-item]
            TransferFinished: self._on_finished,  # type: ignore[dict-item]
            TransferFailed: self._on_failed,  # type: ignore[dict-item]
            LeaseGranted: self._on_lease,  # type: ignore[dict-item]
            SyslogLine: self._on_syslog,  # type: ignore[dict-item]
        }

    # --- feeding ---------------------------------------------------------------------------------
    def apply(self, event: Event) -> None:
        """Fold one event in; events the tracker does not use are ignored."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def apply_all(self, events: Iterable[Event]) -> None:
        """Fold many events in, in order."""
        for event in events:
            self.apply(event)

    def tick(self, now: float) -> None:
        """Settle devices that have been quiet for ``settle_seconds`` (call it every second or so).

        ``math.inf`` settles everything: use it after replaying a finished run.
        """
        for device in self.devices.values():
            if device.current is None and now - device.last_seen >= self.settle_seconds:
                self._settle(device)

    def take_changes(self) -> Changes:
        """Everything that changed since the last call (and forget it)."""
        changes = self._changes
        new_ids = {id(d) for d in changes.new_devices}
        changes.updated_devices = [d for k, d in self._dirty.items() if k not in new_ids]
        new_entry_ids = {id(e) for e in changes.new_entries}
        changes.updated_entries = [
            e for k, e in self._dirty_entries.items() if k not in new_entry_ids
        ]
        self._changes = Changes()
        self._dirty = {}
        self._dirty_entries = {}
        return changes

    def expect(self, devices: Mapping[str, str]) -> None:
        """Expect the devices ``MAC -> product`` ('' when unknown), such as a roster's rows.

        Each one gets a row before it is seen (status :data:`NOT_SEEN`) so the bench sees who is
        missing. A later call replaces the list: rows of devices no longer expected and never
        seen go. MACs may be in any spelling; ``MacError`` for one that is not a MAC.
        """
        wanted = {normalize_mac(mac): product for mac, product in devices.items()}
        for key, device in list(self.devices.items()):
            if device.expected and key not in wanted:
                device.expected = False
                if device.seen:
                    self._dirty[id(device)] = device
                else:
                    self._forget(device)
        for mac, product in wanted.items():
            known = self.devices.get(mac)
            if known is None:
                known = TrackedDevice(key=mac, mac=mac, product=product, expected=True)
                self.devices[mac] = known
                self._changes.new_devices.append(known)
            else:
                known.expected = True
                known.product = known.product or product
                self._dirty[id(known)] = known

    def device_for_ip(self, ip: str) -> TrackedDevice | None:
        """The device last seen at ``ip``."""
        key = self._by_ip.get(ip)
        return self.devices.get(key) if key else None

    # --- identity --------------------------------------------------------------------------------
    def _touch(self, device: TrackedDevice, when: float) -> None:
        device.last_seen = max(device.last_seen, when)
        self._dirty[id(device)] = device

    def _create(self, key: str, when: float, *, mac: str = "", ip: str = "") -> TrackedDevice:
        device = TrackedDevice(key=key, mac=mac, ip=ip, first_seen=when, last_seen=when)
        self.devices[key] = device
        self._changes.new_devices.append(device)
        return device

    def _bind(self, ip: str, mac: str, when: float) -> TrackedDevice:
        """The device with ``mac``, now known at ``ip`` (merging a bare-IP row into it)."""
        held = self._by_ip.get(ip)
        bare = self.devices.get(held) if held and held.startswith("ip:") else None
        device = self.devices.get(mac)
        if device is not None and not device.seen and bare is not None:
            # An expected device first asked for a file that does not name it: that row is it.
            self._forget(device)
            bare.expected, bare.product = True, bare.product or device.product
            device = None
        if device is None and bare is not None:
            del self.devices[bare.key]
            bare.key = bare.mac = mac
            self.devices[mac] = device = bare
        elif device is None:
            device = self._create(mac, when, mac=mac, ip=ip)
        elif bare is not None:
            self._merge(bare, into=device)
        if not device.seen:
            device.first_seen = when  # an expected device shows up
        if device.ip and device.ip != ip and self._by_ip.get(device.ip) == mac:
            del self._by_ip[device.ip]
        device.ip = ip
        self._by_ip[ip] = mac
        self._touch(device, when)
        self._adopt_syslog(device, ip)
        return device

    def _forget(self, device: TrackedDevice) -> None:
        del self.devices[device.key]
        self._changes.removed_devices.append(device)
        self._dirty.pop(id(device), None)

    def _merge(self, bare: TrackedDevice, *, into: TrackedDevice) -> None:
        self._forget(bare)
        merged = sorted([*into.timeline, *bare.timeline], key=lambda e: e.seq)
        into.timeline.clear()
        into.timeline.extend(merged)
        for entry in bare.timeline:
            entry.device = into
            self._dirty_entries[id(entry)] = entry
        self._join_syslog(into, bare.syslog)
        into.first_seen = min(into.first_seen, bare.first_seen)
        into.product = into.product or bare.product
        if bare.current is not None:
            into.current = bare.current

    def _device_for(self, ip: str, name: FileName, when: float) -> TrackedDevice:
        mac = name.mac or (name.target.mac if name.target else "")
        if mac:
            return self._bind(ip, mac, when)
        device = self.device_for_ip(ip) or self._create(f"ip:{ip}", when, ip=ip)
        self._by_ip[ip] = device.key
        self._touch(device, when)
        self._adopt_syslog(device, ip)
        return device

    # --- requests --------------------------------------------------------------------------------
    def _entry(self, when: float, client: Address, requested: str) -> TimelineEntry:
        base = requested.replace("\\", "/").rsplit("/", 1)[-1]
        name, step = classify(base), request_step(base)
        device = self._device_for(client[0], name, when)
        entry = TimelineEntry(
            next(self._seq), when, client, requested, name, step, device, updated=when
        )
        device.timeline.append(entry)
        new = self._changes.new_entries
        new.append(entry)
        if len(new) > ENTRY_BACKLOG:
            del new[: len(new) - ENTRY_BACKLOG]
        self._note_request(device, entry)
        return entry

    def _on_request(self, event: RequestReceived) -> None:
        self._pending[event.client] = self._entry(event.time, event.client, event.filename)

    def _pending_entry(self, when: float, client: Address, requested: str) -> TimelineEntry:
        entry = self._pending.pop(client, None)
        return entry if entry is not None else self._entry(when, client, requested)

    def _note_request(self, device: TrackedDevice, entry: TimelineEntry) -> None:
        step = entry.step
        if entry.name.kind is FileKind.DEVICE:
            # algom<MAC>.conf is the first name of every boot (domain.md §4 step 3).
            if device.stage is not Stage.APPLYING:
                device.last_config, device.same_config_boots = None, 0
            device.boots += 1
            device.boot = _Boot()
            device.findings = []
            device.stage = Stage.LOOKING_FOR_CONFIG
        elif step is Step.CONFIG and not device.boot.config:
            device.stage = Stage.LOOKING_FOR_CONFIG
        elif step in (Step.FIRMWARE, Step.FIRMWARE_MD5):
            device.stage = Stage.FIRMWARE
        elif step in (Step.DATA, Step.DATA_MD5):
            device.stage = Stage.DATA
        product = entry.name.product or (entry.name.target.product if entry.name.target else "")
        if product:
            device.product = product

    def _on_refused(self, event: RequestRefused) -> None:
        entry = self._pending_entry(event.time, event.client, event.filename)
        found = event.reason is not RefusalReason.NOT_FOUND
        entry.outcome = Outcome.REFUSED if found else Outcome.NOT_FOUND
        entry.reason = event.detail or event.reason.value
        entry.updated = event.time
        self._dirty_entries[id(entry)] = entry
        device = entry.device
        if device is None:
            return
        self._touch(device, event.time)
        name, step, boot = entry.name, entry.step, device.boot
        if found:
            device.add_finding(dx.refused(entry.requested, entry.reason))
        elif name.kind is FileKind.DEVICE:
            boot.device_file_missing = True
        elif name.kind is FileKind.GENERIC and not boot.config:
            device.add_finding(dx.no_config(device.mac, device.product))
            device.stage = Stage.STOPPED
        elif step is Step.CONFIG_MD5 and boot.config:
            device.add_finding(dx.md5_missing(boot.config, entry.requested))
            device.stage = Stage.STOPPED
        elif step in (Step.FIRMWARE, Step.FIRMWARE_MD5):
            # a missing .sfw is followed by a try for the older .fw: name the first file missed
            if not any(d.code == "firmware-missing" for d in device.findings):
                device.add_finding(dx.file_missing(entry.requested, "firmware"))
        elif step in (Step.DATA, Step.DATA_MD5):
            device.add_finding(dx.file_missing(entry.requested, "data"))

    # --- transfers -------------------------------------------------------------------------------
    def _on_started(self, event: TransferStarted) -> None:
        entry = self._pending_entry(event.time, event.client, event.requested)
        entry.served, entry.source, entry.size = event.served, event.source.value, event.size
        entry.md5, entry.transfer_id = event.md5, event.transfer_id
        entry.outcome, entry.updated = Outcome.SENDING, event.time
        self._transfers[event.transfer_id] = entry
        self._dirty_entries[id(entry)] = entry
        device = entry.device
        if device is None:
            return
        device.current = entry
        self._touch(device, event.time)
        step = entry.step
        if step is Step.CONFIG:
            self._config_served(device, entry)
        elif step is Step.CONFIG_MD5 and device.boot.config:
            self._md5_served(device, entry, event.source)
        elif step in (Step.FIRMWARE, Step.FIRMWARE_MD5):
            device.drop_finding("firmware-missing")
            device.stage = Stage.FIRMWARE
        elif step in (Step.DATA, Step.DATA_MD5):
            device.stage = Stage.DATA

    def _config_served(self, device: TrackedDevice, entry: TimelineEntry) -> None:
        boot = device.boot
        boot.config = entry.served.replace("\\", "/").rsplit("/", 1)[-1]
        boot.config_md5 = entry.md5
        device.stage = Stage.CONFIG_SERVED
        device.drop_finding("no-config")
        if entry.name.kind is FileKind.GENERIC and boot.device_file_missing:
            device.add_finding(dx.generic_fallback(device.product))
        facts = self._config_facts(entry)
        if facts is not None:
            boot.config_known = True
            boot.config_md5, boot.handoff, boot.provisioning_off = facts
        seen = (boot.config, boot.config_md5)
        device.same_config_boots = device.same_config_boots + 1 if device.last_config == seen else 1
        device.last_config = seen
        boot.repeat = device.same_config_boots > 1
        loops = device.same_config_boots >= self.loop_threshold
        device.loop = dx.reboot_loop(boot.config, device.same_config_boots) if loops else None

    def _config_facts(self, entry: TimelineEntry) -> tuple[str, str | None, bool] | None:
        """``(md5, hand-off server, provisioning off)`` of a served config, read via the fetcher.

        A bench serves one config to hundreds of devices: parse it once per content (the
        engine's md5 names the content; without one, the file is read to compute it).
        """
        key = (entry.served, entry.md5)
        if entry.md5 and key in self._facts:
            return self._facts[key]
        content = self.fetch(entry.served) if self.fetch else None
        if content is None:
            return None
        values = config_values(content)
        handoff = str(server_location(values)) if server_changed({}, values) else None
        facts = (entry.md5 or md5_hex(content), handoff, not provisioning_enabled(values))
        self._remember(self._facts, (entry.served, facts[0]), facts)
        return facts

    def _held_md5(self, entry: TimelineEntry) -> str | None:
        """The hash an md5 file holds (cached per content, like configs); None if unreadable."""
        key = (entry.served, entry.md5)
        if entry.md5 and key in self._hashes:
            return self._hashes[key]
        held = self.fetch(entry.served) if self.fetch else None
        found = parse_md5(held) if held is not None else None
        if entry.md5 and held is not None:
            self._remember(self._hashes, key, found)
        return found if held is not None else None

    @staticmethod
    def _remember(cache: dict[tuple[str, str], _T], key: tuple[str, str], value: _T) -> None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = value

    def _md5_served(self, device: TrackedDevice, entry: TimelineEntry, source: Source) -> None:
        boot = device.boot
        matches = True
        if source is not Source.AUTO_MD5 and self.fetch and boot.config_md5:
            held = self._held_md5(entry)
            matches = held is None or held == boot.config_md5.lower()
        if matches:
            boot.accepted = True
            device.stage = Stage.MD5_SERVED
        else:
            device.add_finding(dx.md5_mismatch(boot.config, entry.requested))
            device.stage = Stage.STOPPED

    def _on_progress(self, event: TransferProgress) -> None:
        entry = self._transfers.get(event.transfer_id)
        if entry is None:
            return
        entry.bytes_sent, entry.updated = event.bytes_sent, event.time
        entry.size = entry.size or event.size
        self._dirty_entries[id(entry)] = entry
        if entry.device is not None:
            self._touch(entry.device, event.time)

    def _on_finished(self, event: TransferFinished) -> None:
        entry = self._end(event.transfer_id, event.time, Outcome.SERVED, event.bytes_sent)
        if entry is None:
            return
        entry.duration = event.duration
        device = entry.device
        if device is not None:
            device.files_served += 1
            if entry.step is Step.CONFIG_MD5 and device.stage is Stage.MD5_SERVED:
                # a TFTP device applies a config whose md5 checks out, then reboots
                device.stage = Stage.APPLYING

    def _on_failed(self, event: TransferFailed) -> None:
        entry = self._end(event.transfer_id, event.time, Outcome.FAILED, event.bytes_sent)
        if entry is None:
            return
        entry.duration, entry.reason = event.duration, event.reason
        if entry.device is not None:
            entry.device.add_finding(
                dx.transfer_failed(entry.served or entry.requested, event.reason)
            )

    def _end(
        self, transfer_id: int, when: float, outcome: Outcome, sent: int
    ) -> TimelineEntry | None:
        entry = self._transfers.pop(transfer_id, None)
        if entry is None:
            return None
        entry.outcome, entry.bytes_sent, entry.updated = outcome, sent, when
        self._dirty_entries[id(entry)] = entry
        device = entry.device
        if device is not None:
            if device.current is entry:
                device.current = None
            self._touch(device, when)
        return entry

    def _on_lease(self, event: LeaseGranted) -> None:
        try:
            mac = normalize_mac(event.mac)
        except MacError:
            return
        self._bind(event.ip, mac, event.time)

    # --- syslog ----------------------------------------------------------------------------------
    def _on_syslog(self, event: SyslogLine) -> None:
        """Attach a line to the device at its source address, or hold it until one is there.

        A line is no provisioning step: it neither creates a device (anything on the segment may
        log to the bench) nor touches ``last_seen`` (quiet time settles a device's boot).
        """
        ip = event.client[0]
        device = self.device_for_ip(ip)
        if device is not None:
            device.syslog.append(event)
            return
        held = self._loose.pop(ip, None) or deque(maxlen=SYSLOG_LIMIT)
        held.append(event)
        self._loose[ip] = held  # re-inserted last: the oldest sender goes first when full
        if len(self._loose) > _LOOSE_ADDRESSES:
            del self._loose[next(iter(self._loose))]

    def _adopt_syslog(self, device: TrackedDevice, ip: str) -> None:
        if self._loose:
            held = self._loose.pop(ip, None)
            if held:
                self._join_syslog(device, held)

    @staticmethod
    def _join_syslog(device: TrackedDevice, lines: Iterable[SyslogLine]) -> None:
        joined = sorted([*device.syslog, *lines], key=lambda line: line.time)
        device.syslog.clear()
        device.syslog.extend(joined)

    # --- settling --------------------------------------------------------------------------------
    def _settle(self, device: TrackedDevice) -> None:
        boot = device.boot
        if device.stage is Stage.APPLYING:
            if boot.provisioning_off:
                device.stage = Stage.DONE
                device.add_finding(dx.provisioning_disabled(boot.config))
            elif boot.handoff is not None:
                device.stage = Stage.LEFT
                device.add_finding(dx.handed_off(boot.config, boot.handoff))
            elif boot.repeat or boot.config_known:
                device.stage = Stage.DONE
            else:
                device.stage = Stage.LEFT
                device.add_finding(dx.stopped_after_stage1(boot.config))
        elif device.stage is Stage.DATA:
            device.stage = Stage.DONE
        else:
            return
        self._dirty[id(device)] = device


def settle_all(tracker: Tracker) -> None:
    """Settle every device (after replaying a finished run)."""
    tracker.tick(math.inf)
