"""Which address a device may have: reservations, leases, outstanding offers and conflicts.

The rules that keep the bench server from ever taking an address from someone else: never the
server's own address, never an address leased (and still running) or offered to another MAC,
never one reserved for another MAC, never one a host answered a ping on or a client declined,
until the hold on it runs out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from algodesk.services.dhcp.leases import LeaseStore
from algodesk.services.dhcp.settings import DhcpSettings

OFFER_HOLD = 60.0
"""Seconds an offered address stays held for the MAC it was offered to."""

CONFLICT_HOLD = 600.0
"""Seconds an address found in use (ping answered, DECLINE) is kept out of the pool."""

DECLINED_SHARE = 4
"""At most 1/DECLINED_SHARE of the pool (at least one address) is held out on clients' word
(DECLINE): a client may be wrong or spoofed, and must not be able to empty the pool."""


class AddressPool:
    """Address choice for the bench DHCP server (no I/O; the clock is injectable)."""

    def __init__(
        self, settings: DhcpSettings, leases: LeaseStore, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._leases = leases
        self._clock = clock
        self._offers: dict[str, tuple[str, float]] = {}
        self._conflicts: dict[str, float] = {}
        self._declined: dict[str, float] = {}  # ip -> until, oldest first
        self._reserved_by_ip = {ip: mac for mac, ip in settings.reservations.items()}

    def usable(self, ip: str, mac: str) -> bool:
        """Whether ``mac`` may have ``ip`` right now."""
        settings, now = self._settings, self._clock()
        if ip == settings.server_address:
            return False
        reserved_for = self._reserved_by_ip.get(ip)
        if reserved_for is not None and reserved_for != mac:
            return False
        if reserved_for is None and not settings.in_pool(ip):
            return False
        if self._held_out(ip, now):
            return False
        holder = self._leases.holder(ip)
        if holder is not None and holder.mac != mac and holder.active(now):
            return False
        return not any(
            other != mac and offered == ip and until > now
            for other, (offered, until) in self._offers.items()
        )

    def candidates(self, mac: str, requested: str | None = None) -> Iterator[str]:
        """Addresses to offer ``mac``, best first, each usable when yielded.

        A reserved MAC gets its reservation or nothing. Otherwise: the address already offered,
        the one it last leased, the one it asks for, then never-leased pool addresses, then
        addresses whose leases ran out longest ago.
        """
        reservation = self._settings.reservations.get(mac)
        if reservation is not None:
            if self.usable(reservation, mac):
                yield reservation
            return
        now = self._clock()
        held = self._offers.get(mac)
        lease = self._leases.by_mac(mac)
        leased_ips = {lease.ip: lease for lease in self._leases.all()}
        preferred = [
            held[0] if held and held[1] > now else None,
            lease.ip if lease else None,
            requested,
        ]
        fresh = [ip for ip in self._settings.pool() if ip not in leased_ips]
        stale = sorted(
            (lease for ip, lease in leased_ips.items() if self._settings.in_pool(ip)),
            key=lambda lease: lease.expires,
        )
        seen: set[str] = set()
        for ip in [*preferred, *fresh, *(lease.ip for lease in stale)]:
            if ip is None or ip in seen:
                continue
            seen.add(ip)
            if self.usable(ip, mac):
                yield ip

    def needs_ping(self, mac: str, ip: str) -> bool:
        """Whether to ping ``ip`` before offering it to ``mac`` (not for addresses it has)."""
        if self._settings.reservations.get(mac) == ip or self.offered(mac) == ip:
            return False  # the user's own choice, or checked when it was first offered
        lease = self._leases.by_mac(mac)
        return lease is None or lease.ip != ip

    def hold_offer(self, mac: str, ip: str) -> None:
        """Keep ``ip`` for ``mac`` while it considers the offer."""
        self._offers[mac] = (ip, self._clock() + OFFER_HOLD)
        self._sweep()

    def offered(self, mac: str) -> str | None:
        """The address offered to ``mac`` and still held."""
        held = self._offers.get(mac)
        return held[0] if held and held[1] > self._clock() else None

    def drop_offer(self, mac: str) -> None:
        """Forget the offer to ``mac`` (it took another server's, or got its lease)."""
        self._offers.pop(mac, None)

    def mark_conflict(self, ip: str) -> None:
        """Keep ``ip`` out of the pool for a while: something else uses it."""
        self._conflicts[ip] = self._clock() + CONFLICT_HOLD

    def mark_declined(self, ip: str) -> None:
        """Keep ``ip`` out of the pool for a while on a client's word.

        When such holds would pass their share of the pool, the oldest one ends first.
        """
        now = self._clock()
        self._declined = {held: until for held, until in self._declined.items() if until > now}
        self._declined.pop(ip, None)
        limit = max(1, self._settings.pool_size // DECLINED_SHARE)
        while len(self._declined) >= limit:
            del self._declined[next(iter(self._declined))]
        self._declined[ip] = now + CONFLICT_HOLD

    def in_conflict(self, ip: str) -> bool:
        """Whether ``ip`` is being kept out of the pool."""
        return self._held_out(ip, self._clock())

    def _held_out(self, ip: str, now: float) -> bool:
        # Found in use (ping, our own check) or declined by a client: either keeps it out.
        return self._conflicts.get(ip, 0.0) > now or self._declined.get(ip, 0.0) > now

    def _sweep(self) -> None:
        """Forget expired offers and conflicts so the tables stay small."""
        now = self._clock()
        self._offers = {mac: held for mac, held in self._offers.items() if held[1] > now}
        self._conflicts = {ip: until for ip, until in self._conflicts.items() if until > now}
