"""What served files say, read through a fetcher and cached per content.

A bench serves one config to hundreds of devices: each config is parsed (and each md5 file read)
once per content, keyed by the engine's md5 of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from algodesk.core.boot_stages import ConfigFacts
from algodesk.core.device import (
    config_values,
    method_switch,
    provisioning_enabled,
    server_location,
)
from algodesk.core.md5 import md5_hex, parse_md5
from algodesk.core.tracked_device import TimelineEntry

Fetcher = Callable[[str], bytes | None]
"""Reads a served file by name (None when absent); lets the tracker check md5s and hand-offs."""

_CACHE_LIMIT = 256
_T = TypeVar("_T")


class ServedFacts:
    """Caches of config facts and md5-file hashes, keyed by ``(served name, md5)``."""

    def __init__(self) -> None:
        """Start with empty caches."""
        self._facts: dict[tuple[str, str], ConfigFacts] = {}
        self._hashes: dict[tuple[str, str], str | None] = {}

    def config_facts(self, entry: TimelineEntry, fetch: Fetcher | None) -> ConfigFacts | None:
        """``(md5, hand-off server, provisioning off)`` of a served config; None if unreadable.

        Without an engine md5 the file is read to compute it.
        """
        key = (entry.served, entry.md5)
        if entry.md5 and key in self._facts:
            return self._facts[key]
        content = fetch(entry.served) if fetch else None
        if content is None:
            return None
        values = config_values(content)
        location = server_location(values)
        # A hand-off names its server; under DHCP only the path or the method can change, and
        # this bench, which speaks TFTP, loses a device switched to another method.
        handoff = str(location) if location.host else None
        switch = method_switch(values, "tftp")
        facts = (entry.md5 or md5_hex(content), handoff, not provisioning_enabled(values), switch)
        _remember(self._facts, (entry.served, facts[0]), facts)
        return facts

    def held_md5(self, entry: TimelineEntry, fetch: Fetcher | None) -> str | None:
        """The hash an md5 file holds; None if unreadable."""
        key = (entry.served, entry.md5)
        if entry.md5 and key in self._hashes:
            return self._hashes[key]
        held = fetch(entry.served) if fetch else None
        found = parse_md5(held) if held is not None else None
        if entry.md5 and held is not None:
            _remember(self._hashes, key, found)
        return found if held is not None else None


def _remember(cache: dict[tuple[str, str], _T], key: tuple[str, str], value: _T) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
