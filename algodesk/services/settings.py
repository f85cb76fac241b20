"""The app's settings: a small versioned JSON file, written atomically.

Only plain choices live here (folder, recent folders, interface, address, port). Secrets never do
(architecture.md: keyring). A damaged or unreadable file gives defaults and is kept aside as
``settings.json.bad`` so nothing the user had is silently lost.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from algodesk.core.fileio import atomic_write

VERSION = 1
RECENT_LIMIT = 8
DEFAULT_PORT = 69
ALL_ADDRESSES = "0.0.0.0"

# Version n -> function turning a version-n dict into a version n+1 dict.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass(slots=True)
class Settings:
    """What the app remembers between starts."""

    folder: str = ""
    recent_folders: list[str] = field(default_factory=list)
    interface: str = ""
    address: str = ALL_ADDRESSES
    port: int = DEFAULT_PORT
    auto_md5: bool = True
    case_fallback: bool = False
    """Serve ``ABC.conf`` for ``abc.conf``; off, names are exact as on the customer's server."""
    # The bench network companions; each is off at start (the on/off state is never saved).
    dhcp_pool_start: str = ""
    """First pool address; '' picks one on the bench subnet."""
    dhcp_pool_size: int = 50
    dhcp_subnet_mask: str = "255.255.255.0"
    dhcp_lease_minutes: int = 60
    dhcp_router: str = ""
    dhcp_dns: list[str] = field(default_factory=list)
    dhcp_option66: bool = True
    dhcp_option66_value: str = ""
    """Host or URL; '' names the bench address."""
    dhcp_option160: bool = False
    dhcp_option160_value: str = ""
    dhcp_option150: bool = False
    dhcp_option150_addresses: list[str] = field(default_factory=list)
    dhcp_reservations: list[str] = field(default_factory=list)
    """Static leases, each ``MAC=IP``."""
    dhcp_algo_only: bool = True
    syslog_port: int = 514
    zeroconf: bool = False
    checksync_port: int = 5060
    checksync_extension: str = ""

    def remember_folder(self, folder: str) -> None:
        """Make ``folder`` current and first among the recent folders."""
        self.folder = folder
        self.recent_folders = [folder, *(f for f in self.recent_folders if f != folder)]
        del self.recent_folders[RECENT_LIMIT:]


def _coerce(raw: dict[str, Any]) -> Settings:
    """Settings from a dict, keeping each field only when it has the right type."""
    settings = Settings()
    for spec in fields(Settings):
        value = raw.get(spec.name)
        default = getattr(settings, spec.name)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535
        elif isinstance(default, list):
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        else:
            ok = isinstance(value, str)
        if ok:
            setattr(settings, spec.name, value)
    del settings.recent_folders[RECENT_LIMIT:]
    return settings


class SettingsStore:
    """Loads and saves :class:`Settings` at ``path``."""

    def __init__(self, path: Path) -> None:
        """Use the settings file at ``path`` (it need not exist)."""
        self.path = path

    def load(self) -> Settings:
        """The saved settings, or defaults when there are none or they are unreadable."""
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Settings()
        except (OSError, ValueError):
            self._keep_aside()
            return Settings()
        if not isinstance(raw, dict):
            self._keep_aside()
            return Settings()
        version = raw.get("version")
        if not isinstance(version, int):
            version = VERSION
        while version < VERSION and version in _MIGRATIONS:
            raw = _MIGRATIONS[version](raw)
            version += 1
        return _coerce(raw)

    def save(self, settings: Settings) -> None:
        """Write ``settings`` atomically (creating the folder if needed)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {"version": VERSION, **asdict(settings)}
        atomic_write(self.path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))

    def _keep_aside(self) -> None:
        with contextlib.suppress(OSError):
            os.replace(self.path, self.path.with_name(self.path.name + ".bad"))
