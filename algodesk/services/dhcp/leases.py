"""Leases the bench DHCP server granted, kept in a JSON file across restarts.

A device that comes back (even after its lease ran out) gets the address it had, so the live view
and the bench labels stay stable. The file is rewritten atomically after every change; a file that
cannot be read is moved aside (``.bad``) rather than silently overwritten.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from algodesk.core.fileio import atomic_write

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Lease:
    """A MAC (``0022EE010203``) holding ``ip`` until ``expires`` (seconds since the epoch)."""

    mac: str
    ip: str
    expires: float
    hostname: str = ""

    def active(self, now: float) -> bool:
        """Whether the lease still runs at ``now``."""
        return self.expires > now


class LeaseStore:
    """Leases by MAC, persisted to ``path`` (None keeps them in memory only)."""

    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._by_mac: dict[str, Lease] = {}
        self.load_problem = ""

    @property
    def path(self) -> Path | None:
        """Where leases are kept."""
        return self._path

    def load(self) -> None:
        """Read the file; a missing file is an empty store, a broken one is moved aside."""
        self._by_mac.clear()
        self.load_problem = ""
        if self._path is None or not self._path.exists():
            return
        try:
            document: Any = json.loads(self._path.read_text(encoding="utf-8"))
            if document.get("version") != FORMAT_VERSION:
                raise ValueError(f"unknown lease file version {document.get('version')!r}")
            for item in document["leases"]:
                lease = Lease(
                    mac=str(item["mac"]),
                    ip=str(item["ip"]),
                    expires=float(item["expires"]),
                    hostname=str(item.get("hostname", "")),
                )
                self._by_mac[lease.mac] = lease
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            self._by_mac.clear()
            aside = self._path.with_name(self._path.name + ".bad")
            with contextlib.suppress(OSError):
                os.replace(self._path, aside)
            self.load_problem = f"could not read {self._path.name} ({error}); moved to {aside.name}"

    def save(self) -> None:
        """Write every lease atomically."""
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        leases = sorted(self._by_mac.values(), key=lambda lease: lease.mac)
        document = {"version": FORMAT_VERSION, "leases": [asdict(lease) for lease in leases]}
        atomic_write(self._path, (json.dumps(document, indent=1) + "\n").encode("utf-8"))

    def by_mac(self, mac: str) -> Lease | None:
        """The lease of ``mac`` (active or not)."""
        return self._by_mac.get(mac)

    def holder(self, ip: str) -> Lease | None:
        """The lease on ``ip`` (active or not)."""
        for lease in self._by_mac.values():
            if lease.ip == ip:
                return lease
        return None

    def all(self) -> list[Lease]:
        """Every lease, by MAC."""
        return sorted(self._by_mac.values(), key=lambda lease: lease.mac)

    def grant(self, mac: str, ip: str, seconds: int, hostname: str = "") -> Lease:
        """Record and persist a lease of ``ip`` to ``mac`` for ``seconds`` from now.

        Any older lease on ``ip`` (another MAC's, necessarily expired) is dropped.
        """
        for other in [lease for lease in self._by_mac.values() if lease.ip == ip]:
            del self._by_mac[other.mac]
        lease = Lease(mac, ip, self._clock() + seconds, hostname)
        self._by_mac[mac] = lease
        self.save()
        return lease

    def end(self, mac: str) -> Lease | None:
        """End ``mac``'s lease now (RELEASE/DECLINE) but remember the address it had."""
        lease = self._by_mac.get(mac)
        if lease is None:
            return None
        ended = Lease(lease.mac, lease.ip, min(lease.expires, self._clock()), lease.hostname)
        self._by_mac[mac] = ended
        self.save()
        return ended

    def forget(self, mac: str) -> None:
        """Drop ``mac``'s lease entirely (its address must not be reused by it)."""
        if self._by_mac.pop(mac, None) is not None:
            self.save()

    def retain(self, keep: Callable[[Lease], bool]) -> None:
        """Drop leases that ``keep`` rejects (e.g. addresses outside a changed pool)."""
        dropped = [mac for mac, lease in self._by_mac.items() if not keep(lease)]
        for mac in dropped:
            del self._by_mac[mac]
        if dropped:
            self.save()
