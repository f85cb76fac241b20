"""Bench profiles: where a stage-1 config sends devices, kept without the password.

A profile holds everything needed to build a stage-1 config (domain.md §8) except the secret:
the password lives in the keyring and the profile only records that one exists
(``has_password``). Profiles are saved as small JSON documents.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from algodesk.core import names
from algodesk.core.catalog import is_secret
from algodesk.core.config import ConfigDocument, ConfigError

FORMAT = "algodesk-profile"
VERSION = 1

METHODS = ("tftp", "ftp", "http", "https")
"""Download methods a stage-2 server may use: any a device knows (guide §2, §4.2; domain.md §8:
TFTP is a valid stage-2 method, its configs then need their md5 files there too)."""

DEFAULT_METHOD = "https"
"""For a bare host: the stage-1 file hands the device credentials it then sends on every boot, so
the default is the one method that does not carry them in clear."""

MANAGED_KEYS: dict[str, str] = {
    "prov.use": "always 1 in a stage-1 config",
    "prov.server.method": "always static in a stage-1 config",
    "prov.server.static": "set it with --server",
    "prov.download.method": "set it with --server or --method",
    "prov.download.cfgpath": "set it with --server (the URL's path)",
    "prov.download.fwpath": "set it with --fwpath",
    "prov.auth.user": "set it with --user",
    "prov.auth.pwd": "set it with 'algodesk profile set-password'",
    "prov.download.cert": "set it with --validate-cert",
}
"""Keys a profile's own fields decide, with where to change them instead of an extra."""

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 _.\-]{0,62}[A-Za-z0-9_\-])?$")
_WINDOWS_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$", re.I)
_HOST = re.compile(
    r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62})(?:\.[A-Za-z0-9\-]{1,63})*)"
    r"(?::(\d{1,5}))?$"
)
_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@%\-]+$")
_USER = re.compile(r"^[^\s:@/\x00-\x1f\x7f]+$")


class ProfileError(ValueError):
    """A profile setting is not valid; the message says which and why (never a secret)."""


def check_name(name: str) -> str:
    """``name`` if it can name a profile (and its file on every platform), else ProfileError."""
    if not _NAME.match(name) or _WINDOWS_RESERVED.match(name):
        raise ProfileError(
            f"not a usable profile name: {name!r} (letters, digits, space, '.', '_', '-'; "
            "up to 64 characters, starting with a letter or digit)"
        )
    return name


def check_host(host: str) -> str:
    """``host`` (name, IPv4, ``[IPv6]``, each with an optional ``:port``) or ProfileError."""
    match = _HOST.match(host)
    if not match:
        raise ProfileError(f"not a server host name or address: {host!r}")
    port = match.group(1)
    if port is not None and not 0 < int(port) < 65536:
        raise ProfileError(f"port out of range in {host!r}")
    return host


def check_path(path: str, what: str = "path") -> str:
    """A download path without leading/trailing slash (domain.md §3), or ProfileError."""
    if path == "":
        return path
    if path.startswith("/") or path.endswith("/"):
        raise ProfileError(f"the {what} has no leading or trailing '/': {path!r}")
    for segment in path.split("/"):
        if segment in ("", ".", "..") or not _PATH_SEGMENT.match(segment):
            raise ProfileError(f"not a usable {what}: {path!r}")
    return path


def check_method(method: str) -> str:
    """A stage-2 download method or ProfileError."""
    if method not in METHODS:
        raise ProfileError(f"download method must be one of {', '.join(METHODS)}, not {method!r}")
    return method


def check_user(user: str) -> str:
    """A user name that fits in a URL and a config line, or ProfileError."""
    if user and not _USER.match(user):
        raise ProfileError(f"not a usable user name: {user!r}")
    return user


def check_product(product: str) -> str:
    """A product ID that makes a valid ``algop<P>.conf`` name (unknown IDs are allowed)."""
    if names.classify(names.generic_name(product)).kind is not names.FileKind.GENERIC:
        raise ProfileError(f"not a product ID: {product!r} (4 digits, e.g. 8186 or 8190S)")
    return product


def check_extra(key: str, value: str) -> None:
    """Whether ``key = value`` may be stored in a profile as an extra parameter."""
    if key in MANAGED_KEYS:
        raise ProfileError(f"{key} is part of the profile itself: {MANAGED_KEYS[key]}")
    if is_secret(key):
        # Profiles are plain JSON files: a secret there would be a plain-text password.
        raise ProfileError(f"{key} holds a secret; profiles never store secrets")
    try:
        ConfigDocument().set(key, value)
    except ConfigError as error:
        raise ProfileError(str(error)) from None


@dataclass(frozen=True, slots=True)
class BenchProfile:
    """The settings of one stage-1 bench; never the password (see ``has_password``).

    ``fwpath`` None means "the same folder as ``cfgpath``". Either ``products`` names the
    product IDs to serve or ``any_product`` is set (every product gets the stage-1 file).
    ``base_file`` names a device backup to start from; empty means a minimal config.
    ``ca_file`` names a CA certificate (PEM) that signs the stage-2 server's certificate when it
    is not in a public trust store: devices get it through ``prov.data.cacert``, and a preflight
    trusts it as they will.
    """

    name: str
    host: str
    method: str = DEFAULT_METHOD
    cfgpath: str = ""
    fwpath: str | None = None
    user: str = ""
    products: tuple[str, ...] = ()
    any_product: bool = False
    extras: tuple[tuple[str, str], ...] = field(default=())
    validate_cert: bool = False
    base_file: str = ""
    has_password: bool = False
    ca_file: str = ""

    def __post_init__(self) -> None:
        check_name(self.name)
        check_host(self.host)
        check_method(self.method)
        check_path(self.cfgpath, "config path")
        if self.fwpath is not None:
            check_path(self.fwpath, "firmware path")
        check_user(self.user)
        for product in self.products:
            check_product(product)
        if len(set(self.products)) != len(self.products):
            raise ProfileError("a product is listed twice")
        if self.any_product and self.products:
            raise ProfileError("give either a list of products or 'any product', not both")
        if not self.any_product and not self.products:
            raise ProfileError("give at least one product, or 'any product'")
        seen: set[str] = set()
        for key, value in self.extras:
            check_extra(key, value)
            if key in seen:
                raise ProfileError(f"{key} is set twice")
            seen.add(key)

    @property
    def firmware_path(self) -> str:
        """The firmware download path the devices get."""
        return self.cfgpath if self.fwpath is None else self.fwpath

    @property
    def server_url(self) -> str:
        """Where devices fetch their config after stage 1, as a URL (no password)."""
        user = f"{self.user}@" if self.user else ""
        path = f"/{self.cfgpath}" if self.cfgpath else ""
        return f"{self.method}://{user}{self.host}{path}"

    def with_password_flag(self, has_password: bool) -> BenchProfile:
        """A copy that records whether the keyring holds a password for it."""
        return replace(self, has_password=has_password)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the password is never part of a profile)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "method": self.method,
            "host": self.host,
            "cfgpath": self.cfgpath,
            "fwpath": self.fwpath,
            "user": self.user,
            "products": list(self.products),
            "any_product": self.any_product,
            "extras": dict(self.extras),
            "validate_cert": self.validate_cert,
            "base_file": self.base_file,
            "has_password": self.has_password,
            "ca_file": self.ca_file,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BenchProfile:
        """Rebuild a profile from :meth:`to_dict` output; ProfileError when it does not fit."""
        if data.get("format") != FORMAT:
            raise ProfileError("not an algodesk profile")
        version = data.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise ProfileError(f"profile format version {version!r} is newer than this algodesk")
        extras = _typed(data, "extras", dict, {})
        fwpath = data.get("fwpath")
        if fwpath is not None and not isinstance(fwpath, str):
            raise ProfileError("profile field 'fwpath' must be text or null")
        products = _typed(data, "products", list, [])
        if not all(isinstance(p, str) for p in products) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in extras.items()
        ):
            raise ProfileError("profile products and extras must be text")
        return cls(
            name=_typed(data, "name", str, ""),
            host=_typed(data, "host", str, ""),
            method=_typed(data, "method", str, DEFAULT_METHOD),
            cfgpath=_typed(data, "cfgpath", str, ""),
            fwpath=fwpath,
            user=_typed(data, "user", str, ""),
            products=tuple(products),
            any_product=_typed(data, "any_product", bool, False),
            extras=tuple(extras.items()),
            validate_cert=_typed(data, "validate_cert", bool, False),
            base_file=_typed(data, "base_file", str, ""),
            has_password=_typed(data, "has_password", bool, False),
            ca_file=_typed(data, "ca_file", str, ""),
        )

    def to_json(self) -> str:
        """The profile as indented JSON text with a final newline."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> BenchProfile:
        """Parse :meth:`to_json` output; ProfileError for anything else."""
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as error:
            raise ProfileError(f"not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise ProfileError("not an algodesk profile")
        return cls.from_dict(data)


def _typed(data: Mapping[str, Any], key: str, kind: type[Any], default: Any) -> Any:
    value = data.get(key, default)
    if not isinstance(value, kind):
        raise ProfileError(f"profile field {key!r} must be {kind.__name__}")
    return value
