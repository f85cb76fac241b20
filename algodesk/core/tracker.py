"""Fold the engine's events into devices: identity, product, stage and a diagnosis.

The tracker is pure and single-threaded: the GUI feeds it events on its own thread (through the
bridge) and models read what changed with :meth:`Tracker.take_changes`. Replaying a stored run's
events through a fresh tracker rebuilds that run's devices.

Identity: an IP's ``algom<MAC>`` request (or a DHCP lease) names its MAC; the same MAC keeps one
device across IP changes, and a row created for a bare IP merges into the MAC's row once known.
A request that names no MAC goes to the device at its address, but only while one device is
there: when a second MAC asks from an address whose device is still booting (a rehearsal from
one loopback address, an address conflict), the address is *shared* and its unnamed requests go
to a ``pooled`` row for the address, never to a guessed device; the devices there say so.
Stage follows the device algorithm of domain.md §4 as seen from the server (see ``stages``).
"""

from __future__ import annotations

import itertools
import math
import sys
from collections import deque
from collections.abc import Callable, Iterable, Mapping

from algodesk.core import boot_stages as stages
from algodesk.core import diagnosis as dx
from algodesk.core.device import Stage, Step, bare_name, name_step
from algodesk.core.diagnosis import Level
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
from algodesk.core.names import FileName, MacError, classify, normalize_mac
from algodesk.core.served_facts import Fetcher, ServedFacts
from algodesk.core.tracked_device import (
    NOT_SEEN,
    SYSLOG_LIMIT,
    TIMELINE_LIMIT,
    Changes,
    Outcome,
    TimelineEntry,
    TrackedDevice,
)

__all__ = [
    "ENTRY_BACKLOG",
    "NOT_SEEN",
    "SYSLOG_LIMIT",
    "TIMELINE_LIMIT",
    "Changes",
    "Fetcher",
    "Outcome",
    "TimelineEntry",
    "TrackedDevice",
    "Tracker",
    "replay",
    "settle_all",
]

_LOOSE_ADDRESSES = 64
ENTRY_BACKLOG = 20_000
"""New requests ``take_changes`` reports at most (the newest; older ones are in the tables'
past already). Between two calls up to twice this many are held, trimmed in bulk."""
DEVICE_LIMIT = 2_000
"""Devices kept in view; past it (plus 5 %), those whose boot is over and that were quiet
longest are forgotten (their runs stay in the history), so a bench day of 50,000 devices keeps
the tracker's and the window's memory and work bounded."""


class Tracker:
    """Devices and requests, folded from engine events."""

    def __init__(
        self,
        fetch: Fetcher | None = None,
        *,
        settle_seconds: float = 90.0,
        loop_threshold: int = 3,
        device_limit: int = DEVICE_LIMIT,
    ) -> None:
        """Create an empty tracker.

        Args:
            fetch: reads served files, to check md5s and spot stage-1 hand-offs; optional.
            settle_seconds: quiet time after which a device's boot is taken as finished.
            loop_threshold: boots in a row with the same config that make a reboot loop.
            device_limit: devices kept in view (see :data:`DEVICE_LIMIT`).
        """
        self.fetch = fetch
        self.settle_seconds = settle_seconds
        self.loop_threshold = loop_threshold
        self.device_limit = device_limit
        self._gone: set[str] = set()  # devices forgotten past the limit: still counted
        self.devices: dict[str, TrackedDevice] = {}
        self._by_ip: dict[str, str] = {}
        self._shared: dict[str, set[str]] = {}  # address -> the MACs asking from it at once
        self._pending: dict[Address, TimelineEntry] = {}
        self._transfers: dict[int, TimelineEntry] = {}
        self._seq = itertools.count()
        self._changes = Changes()
        self._dirty: dict[int, TrackedDevice] = {}
        self._dirty_entries: dict[int, TimelineEntry] = {}
        self._served = ServedFacts()
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
        del changes.new_entries[:-ENTRY_BACKLOG]  # the newest ENTRY_BACKLOG, as promised
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
        """The device at ``ip``; None when none is, or several are (see the module docstring)."""
        if ip in self._shared:
            return None
        key = self._by_ip.get(ip)
        return self.devices.get(key) if key else None

    def counts(self) -> tuple[int, int, int]:
        """``(devices, active transfers, devices needing attention)``, as the status bar says.

        Devices: every device that made a request (refused or not), got a lease or is expected;
        not the pooled rows of shared addresses, which are no devices.
        """
        devices = [d for d in self.devices.values() if not d.pooled]
        attention = sum(1 for d in devices if d.status[0].rank >= Level.WARNING.rank)
        return len(devices) + len(self._gone), len(self._transfers), attention

    # --- identity --------------------------------------------------------------------------------
    def _touch(self, device: TrackedDevice, when: float) -> None:
        device.last_seen = max(device.last_seen, when)
        self._dirty[id(device)] = device

    def _create(self, key: str, when: float, *, mac: str = "", ip: str = "") -> TrackedDevice:
        device = TrackedDevice(key=key, mac=mac, ip=ip, first_seen=when, last_seen=when)
        self.devices[key] = device
        self._gone.discard(key)
        self._changes.new_devices.append(device)
        if len(self.devices) > self.device_limit + max(1, self.device_limit // 20):
            self._forget_oldest(keep=device)
        return device

    def _forget_oldest(self, keep: TrackedDevice) -> None:
        """Forget the quiet devices past the limit, longest quiet first (never one mid-transfer
        or expected on a roster); a pooled row goes without being counted, it is no device."""
        idle = [
            d
            for d in self.devices.values()
            if d is not keep and d.current is None and not d.expected
        ]
        idle.sort(key=lambda d: d.last_seen)
        for device in idle[: len(self.devices) - self.device_limit]:
            self._forget(device)
            if self._by_ip.get(device.ip) == device.key:
                del self._by_ip[device.ip]
            if not device.pooled:
                self._gone.add(device.key)

    def _bind(self, ip: str, mac: str, when: float) -> TrackedDevice:
        """The device with ``mac``, now known at ``ip`` (merging a bare-IP row into it)."""
        held = self._by_ip.get(ip)
        self._note_sharing(ip, held, mac, when)
        bare = self.devices.get(held) if held and held.startswith("ip:") else None
        if ip in self._shared:
            bare = None  # a shared address's unnamed requests belong to no one device
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
        sharing = self._shared.get(ip)
        device.shared = dx.shared_address(ip, len(sharing)) if sharing else None
        self._touch(device, when)
        self._adopt_syslog(device, ip)
        return device

    def _note_sharing(self, ip: str, held: str | None, mac: str, when: float) -> None:
        """Mark ``ip`` shared when ``mac`` asks from it while another device there still boots.

        The address stops being shared once the others there have been quiet for
        ``settle_seconds`` (a device that left, its address now someone else's).
        """
        macs = self._shared.get(ip)
        if macs is None:
            if held is None or held == mac or held.startswith("ip:"):
                return  # the address's only device, as almost always: nothing to do per request
            macs = {held}
        macs.add(mac)
        booting = {
            key
            for key in macs
            if key == mac
            or (
                (other := self.devices.get(key)) is not None
                and other.ip == ip
                and when - other.last_seen < self.settle_seconds
            )
        }
        if len(booting) > 1:
            self._shared[ip] = booting
        else:
            self._shared.pop(ip, None)
        for key in macs:
            device = self.devices.get(key)
            if device is None:
                continue
            shared = key in booting and len(booting) > 1
            device.shared = dx.shared_address(ip, len(booting)) if shared else None
            self._dirty[id(device)] = device

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
        if ip in self._shared:
            pooled = self.devices.get(f"ip:{ip}") or self._create(f"ip:{ip}", when, ip=ip)
            pooled.pooled = True
            self._touch(pooled, when)
            return pooled
        device = self.device_for_ip(ip) or self._create(f"ip:{ip}", when, ip=ip)
        self._by_ip[ip] = device.key
        self._touch(device, when)
        self._adopt_syslog(device, ip)
        return device

    # --- requests --------------------------------------------------------------------------------
    def _entry(self, when: float, client: Address, requested: str) -> TimelineEntry:
        name = classify(bare_name(requested))
        step = name_step(name)
        device = self._device_for(client[0], name, when)
        entry = TimelineEntry(
            next(self._seq), when, client, requested, name, step, device, updated=when
        )
        device.timeline.append(entry)
        new = self._changes.new_entries
        new.append(entry)
        if len(new) >= 2 * ENTRY_BACKLOG:
            # Trimmed in bulk: dropping one from the front per request moved the whole list
            # each time (a replayed bench day: 300,000 times 20,000 references).
            del new[: len(new) - ENTRY_BACKLOG]
        if not device.pooled:  # no boot to follow: the requests of several devices
            stages.note_request(device, entry)
        return entry

    def _on_request(self, event: RequestReceived) -> None:
        self._pending[event.client] = self._entry(event.time, event.client, event.filename)

    def _pending_entry(self, when: float, client: Address, requested: str) -> TimelineEntry:
        entry = self._pending.pop(client, None)
        return entry if entry is not None else self._entry(when, client, requested)

    def _on_refused(self, event: RequestRefused) -> None:
        entry = self._pending_entry(event.time, event.client, event.filename)
        found = event.reason is not RefusalReason.NOT_FOUND
        entry.outcome = Outcome.REFUSED if found else Outcome.NOT_FOUND
        entry.reason = event.detail or event.reason.value
        entry.near = event.near
        entry.updated = event.time
        self._dirty_entries[id(entry)] = entry
        device = entry.device
        if device is None:
            return
        self._touch(device, event.time)
        if not device.pooled:
            stages.note_refusal(device, entry, found=found)

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
        if device.pooled:
            return
        if step is Step.CONFIG:
            facts = self._served.config_facts(entry, self.fetch)
            stages.config_served(device, entry, facts, self.loop_threshold)
        elif step is Step.CONFIG_MD5 and device.boot.config:
            matches = self._md5_matches(device, entry, event.source)
            stages.md5_served(device, entry, matches=matches)
        elif step in (Step.FIRMWARE, Step.FIRMWARE_MD5):
            device.drop_finding("firmware-missing")
            device.stage = Stage.FIRMWARE
        elif step in (Step.DATA, Step.DATA_MD5):
            device.stage = Stage.DATA

    def _md5_matches(self, device: TrackedDevice, entry: TimelineEntry, source: Source) -> bool:
        """Whether a served md5 file holds the config's hash (True when it cannot be told)."""
        config_md5 = device.boot.config_md5
        if source is Source.AUTO_MD5 or not self.fetch or not config_md5:
            return True
        held = self._served.held_md5(entry, self.fetch)
        return held is None or held == config_md5.lower()

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
        if stages.settle(device):
            self._dirty[id(device)] = device


def settle_all(tracker: Tracker) -> None:
    """Settle every device (after replaying a finished run)."""
    tracker.tick(math.inf)


def replay(events: Iterable[Event], fetch: Fetcher | None = None) -> Tracker:
    """A fresh tracker fed a finished run's ``events``, every device settled (its final state).

    The Live page opening a stored run and ``algodesk history`` both read runs through this.
    """
    tracker = Tracker(fetch, device_limit=sys.maxsize)  # a stored run shows every device
    tracker.apply_all(events)
    settle_all(tracker)
    return tracker
