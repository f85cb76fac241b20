"""What an Algo device does at every boot (domain.md §4): one model, two uses.

The simulator drives this model (it plays the device against a server); the live-view tracker
watches the requests of a real device and asks :func:`stage_for_request` where it is. Everything
here is pure: names, orders, stages, and how a fetched config changes the applied one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from algodesk.core import names
from algodesk.core.config import ConfigDocument
from algodesk.core.masking import mask_secrets
from algodesk.core.md5 import md5_name

PROTOCOLS = ("tftp", "ftp", "http", "https")
"""Download methods a device knows; only TFTP checks a config against its md5."""
SERVER_METHODS = ("auto", "option66", "static")
"""``prov.server.method`` values seen in device backups (domain.md §6); others are a note."""

FACTORY_DEFAULTS: Mapping[str, str] = {
    "prov.use": "1",
    "prov.i": "0",
    "prov.server.method": "auto",
    "prov.server.static": "",
    "prov.download.method": "tftp",
    "prov.download.cfgpath": "",
    "prov.download.fwpath": "",
    "prov.download.bundle": "0",
}
"""Factory values of the keys the algorithm reads (a full config resets omitted keys to these)."""

SERVER_KEYS = (
    "prov.server.static",
    "prov.server.method",
    "prov.download.method",
    "prov.download.cfgpath",
)
"""Keys that say where configs come from; a change sends the device to another server.

``prov.download.fwpath`` is not here: it moves firmware and data files on the same server, which
a fetcher that serves firmware by name already covers.
"""

_DISPLAYS = frozenset({"8410", "8420"})
DATA_PARAMETERS: tuple[tuple[str, str, frozenset[str] | None], ...] = (
    ("prov.data.tone", ".zip", None),
    ("prov.data.sched", ".db", frozenset({"8301"})),
    ("prov.data.display", ".db", _DISPLAYS),
    ("prov.data.icon", ".zip", _DISPLAYS),
    ("prov.data.image", ".zip", _DISPLAYS),
    ("prov.data.cacert", ".zip", None),
    ("prov.prod.dir", ".txt", frozenset({"8036"})),
)
"""Data-file parameters in the order a device walks them (guide §7 steps 5-8; the 8036's
directory, §14, last), with the extension the file has (guide §10-§14) and the products that have
the feature (None: every product)."""
_FETCHED_BY = {key: products for key, _extension, products in DATA_PARAMETERS}

_PRODUCT_ID = re.compile(r"^\d{4}S?$")


class Stage(StrEnum):
    """Where a device is in the boot algorithm."""

    LOOKING_FOR_CONFIG = "looking for config"
    CONFIG_SERVED = "config served"
    MD5_SERVED = "md5 served"
    APPLYING = "applying/rebooting"
    FIRMWARE = "firmware"
    DATA = "tones/data"
    DONE = "done"
    LEFT = "left for stage-2 server"
    STOPPED = "stopped"


class Step(StrEnum):
    """Which part of the algorithm a requested file belongs to."""

    CONFIG = "config"
    CONFIG_MD5 = "config md5"
    FIRMWARE = "firmware"
    FIRMWARE_MD5 = "firmware md5"
    DATA_MD5 = "data md5"
    DATA = "data"
    OTHER = "other"


def is_product_id(product: str) -> bool:
    """Whether ``product`` has the shape of an Algo product ID (``8188``, ``8190S``)."""
    return bool(_PRODUCT_ID.match(product))


def config_needs_md5(protocol: str) -> bool:
    """Whether a config fetched over ``protocol`` is checked against its md5 (TFTP only)."""
    return protocol == "tftp"


def config_candidates(
    mac: str, product: str, *, partial: bool, supports_incremental: bool = True
) -> list[str]:
    """The config names a device tries, in order, whatever the protocol (§4 step 3)."""
    return names.config_search_order(mac, product, partial=partial and supports_incremental)


def is_incremental(config_name: str) -> bool:
    """Whether a config name is an incremental (``-i``) file."""
    return config_name.endswith("-i.conf")


def firmware_names(product: str, version: str) -> tuple[str, str, str]:
    """``(sfw, fw, md5 of fw)``: the signed image, then the older image and its md5."""
    fw = names.firmware_name(product, version, "fw")
    return names.firmware_name(product, version), fw, md5_name(fw)


def bundle_enabled(values: Mapping[str, str]) -> bool:
    """Whether a config asks for the ``.fw`` + ``.md5`` upgrade path (guide §9)."""
    return effective(values, "prov.download.bundle") == "1"


def firmware_requests(product: str, version: str, *, bundle: bool) -> tuple[str, ...]:
    """The firmware files a device asks for, in order (guide §7 step 4, §9).

    ``prov.download.bundle = 1`` selects the older ``.fw`` image and its vendor ``.md5``;
    otherwise the device asks for the signed ``.sfw`` alone. Check and simulator both use this.
    """
    sfw, fw, fw_md5 = firmware_names(product, version)
    return (fw, fw_md5) if bundle else (sfw,)


def on_path(path: str, name: str) -> str:
    """``firmware`` + ``x.sfw`` -> ``firmware/x.sfw``: the name a device requests (guide §5.4)."""
    path = path.strip("/\\ ")
    return f"{path}/{name}" if path else name


def bare_name(requested: str) -> str:
    """``firmware/x.sfw`` -> ``x.sfw``: a requested name without the path before it."""
    return requested.replace("\\", "/").rsplit("/", 1)[-1]


def config_path(values: Mapping[str, str]) -> str:
    """The config download path a config sets (guide §2), without slashes."""
    return effective(values, "prov.download.cfgpath").strip("/")


def firmware_path(values: Mapping[str, str]) -> str:
    """The firmware download path a config sets; data files use it too (guide §10-§14)."""
    return effective(values, "prov.download.fwpath").strip("/")


def applies_to(parameter: str, product: str) -> bool:
    """Whether ``product`` fetches the data file of ``parameter`` (domain.md §3).

    An unknown product ("" for a device file) is assumed to fetch it.
    """
    products = _FETCHED_BY.get(parameter)
    return products is None or not product or product in products


def products_fetching(parameter: str) -> str:
    """``8410, 8420``: the products that fetch ``parameter``'s file ("every product")."""
    products = _FETCHED_BY.get(parameter)
    return ", ".join(sorted(products)) if products else "every product"


def data_files(values: Mapping[str, str], product: str) -> list[tuple[str, str]]:
    """``(parameter, file name)`` of every data file a config names for ``product``, in order."""
    found = []
    for parameter, _extension, products in DATA_PARAMETERS:
        name = values.get(parameter, "").strip()
        if name and (products is None or product in products):
            found.append((parameter, name))
    return found


def effective(values: Mapping[str, str], key: str) -> str:
    """The value a device runs with: the config's, else the factory default, else empty."""
    return values.get(key, FACTORY_DEFAULTS.get(key, "")).strip()


def config_values(config: bytes | None) -> dict[str, str]:
    """Key to value of an applied config (empty for a factory device)."""
    return ConfigDocument.from_bytes(config).as_dict() if config is not None else {}


def provisioning_enabled(values: Mapping[str, str]) -> bool:
    """Whether a config leaves provisioning on (``prov.use`` is not ``0``)."""
    return effective(values, "prov.use") != "0"


def partial_enabled(values: Mapping[str, str]) -> bool:
    """Whether a config turns partial provisioning (``prov.i``) on."""
    return effective(values, "prov.i") == "1"


def apply_config(applied: bytes | None, fetched: bytes, *, incremental: bool) -> bytes:
    """The config a device holds after applying ``fetched``.

    A full config replaces everything (omitted keys fall back to factory defaults, which
    :func:`effective` supplies). An incremental one sets only its keys in the applied config and
    leaves the rest; keys whose value is already right are not touched, so an incremental that
    changes nothing gives back ``applied`` byte for byte.
    """
    if not incremental:
        return fetched
    merged = ConfigDocument.from_bytes(applied or b"")
    current = merged.as_dict()
    for key, value in ConfigDocument.from_bytes(fetched).as_dict().items():
        if current.get(key) != value:
            merged.set(key, value)
    return merged.to_bytes()


@dataclass(frozen=True, slots=True)
class ServerLocation:
    """Where a config tells the device to fetch configs from (credentials masked)."""

    method: str
    host: str
    path: str

    def __str__(self) -> str:
        host = self.host or "(server from DHCP)"
        if "://" in host:
            return f"{host}/{self.path}" if self.path else host
        return f"{self.method}://{host}/{self.path}" if self.path else f"{self.method}://{host}"


def server_location(values: Mapping[str, str]) -> ServerLocation:
    """The server a config points at: a static address, or whatever DHCP announces.

    Every server method but ``static`` (``auto``, ``option66``, ...) means "ask DHCP", so switching
    between them keeps the bench server; only the static address counts when the method is static.
    """
    static = effective(values, "prov.server.method") == "static"
    host = mask_credentials(effective(values, "prov.server.static")) if static else ""
    return ServerLocation(
        effective(values, "prov.download.method") or "tftp",
        host,
        effective(values, "prov.download.cfgpath").strip("/"),
    )


def mask_credentials(address: str) -> str:
    """``ftp://user:secret@host`` -> ``ftp://user:****@host`` (static servers may hold a password;
    the one masking rule of :mod:`algodesk.core.masking`)."""
    return mask_secrets(address)


def method_switch(values: Mapping[str, str], protocol: str) -> str:
    """The download method a config moves devices to while their server still comes from DHCP,
    when it is not ``protocol`` (the one the server speaks); "" when it moves them nowhere.

    A fault, not a hand-off (domain.md §4): after applying it the device asks the same server
    in another protocol. Only a method the config names counts: under DHCP a full URL in the
    option may carry the protocol (guide §4.1).
    """
    method = values.get("prov.download.method", "").strip()
    if method in PROTOCOLS and method != protocol and not server_location(values).host:
        return method
    return ""


def server_changed(before: Mapping[str, str], after: Mapping[str, str]) -> bool:
    """Whether applying ``after`` over ``before`` sends the device to another server."""
    return server_location(before) != server_location(after)


def request_step(filename: str) -> Step:
    """What part of the algorithm a request for ``filename`` belongs to.

    Any other ``.md5`` is taken as a data file's md5 and any other name as a data file: data names
    are free (``prov.data.tone = bells.zip``), so only a config would tell them apart for sure.
    """
    # The path a device puts before the name is not the step.
    return name_step(names.classify(bare_name(filename)))


def name_step(name: names.FileName) -> Step:
    """:func:`request_step` of a bare name already classified (each request is classified once)."""
    if name.is_config:
        return Step.CONFIG
    if name.kind is names.FileKind.FIRMWARE:
        return Step.FIRMWARE
    if name.kind is names.FileKind.MD5:
        if name.target is not None and name.target.is_config:
            return Step.CONFIG_MD5
        stem = name.name[: -len(".md5")]
        if names.classify(f"{stem}.fw").kind is names.FileKind.FIRMWARE:
            return Step.FIRMWARE_MD5
        return Step.DATA_MD5
    return Step.DATA if name.kind is names.FileKind.DATA else Step.OTHER


def stage_for_request(filename: str, *, found: bool) -> Stage | None:
    """The stage a device is in once it asked for ``filename`` and got it (or not).

    None for a name that is no part of the algorithm.
    """
    step = request_step(filename)
    if step is Step.CONFIG:
        return Stage.CONFIG_SERVED if found else Stage.LOOKING_FOR_CONFIG
    if step is Step.CONFIG_MD5:
        return Stage.MD5_SERVED if found else Stage.CONFIG_SERVED
    if step in (Step.FIRMWARE, Step.FIRMWARE_MD5):
        return Stage.FIRMWARE
    if step in (Step.DATA, Step.DATA_MD5):
        return Stage.DATA
    return None
