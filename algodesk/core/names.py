"""File names Algo devices request, MAC addresses, and the product table (domain.md §1, §3)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import Enum

ALGO_OUI = "0022EE"

# The product names the vendor's guide gives (guide §1).
PRODUCTS: dict[str, str] = {
    "8180": "IP Audio Alerter (G1 and G2)",
    "8186": "IP Horn Speaker",
    "8188": "IP Ceiling Speaker",
    "8189": "IP Surface Mount Speaker",
    "8198": "IP PoE+ Ceiling Speaker",
    "8196": "IP PoE+ Horn Speaker",
    "8190": "IP Speaker – Clock",
    "8190S": "IP Speaker – Clock & Visual Alerter",
    "8028": "IP Doorphone (G1 and G2)",
    "8201": "IP PoE Intercom",
    "8039": "IP Video Mullion Intercom",
    "8036": "IP Multimedia Intercom (SIP config and directory file only)",
    "8063": "IP Door Controller",
    "8061": "IP Relay Controller",
    "8301": "IP Paging Adapter & Scheduler",
    "8373": "IP Zone Paging Adapter",
    "8128": "IP Visual Alerter (G1 and G2)",
    "8138": "IP Color Visual Alerter",
    "8410": "IP Display Speaker",
    "8420": "IP Dual-Sided Display Speaker",
    "8103": "paging adapter (integrator templates; not in the guide)",
}

PRODUCT_FAMILIES: dict[str, str] = {
    **dict.fromkeys(["8180", "8186", "8188", "8189", "8198", "8196", "8190", "8190S"], "speaker"),
    **dict.fromkeys(["8028", "8201", "8039", "8036", "8063", "8061"], "intercom"),
    **dict.fromkeys(["8301", "8373", "8103"], "paging adapter"),
    **dict.fromkeys(["8128", "8138"], "visual alerter"),
    **dict.fromkeys(["8410", "8420"], "display"),
}

_MAC_SEPARATED = re.compile(
    r"^([0-9A-Fa-f]{1,2})([:\-. ])(?:[0-9A-Fa-f]{1,2}\2){4}[0-9A-Fa-f]{1,2}$"
)
_MAC_DOTTED = re.compile(r"^[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}$")
_MAC_BARE = re.compile(r"^[0-9A-Fa-f]{12}$")
_PRODUCT = r"\d{4}S?"
_GENERIC = re.compile(rf"^algop({_PRODUCT})(-i)?\.conf$")
_DEVICE = re.compile(r"^algom([0-9A-F]{12})(-i)?\.conf$")
_FIRMWARE = re.compile(rf"^algo-({_PRODUCT})-([0-9A-Za-z][0-9A-Za-z.\-_]*)\.(sfw|fw)$")
_DATA_EXTENSIONS = (".zip", ".db", ".txt")
_PRODUCT_IN_NAME = re.compile(rf"(?<![0-9])({_PRODUCT})(?![0-9])")


class MacError(ValueError):
    """Not a MAC address in any spelling we accept."""


class FileKind(Enum):
    """What a file in a provisioning folder is to a device."""

    GENERIC = "generic"
    DEVICE = "device"
    INCREMENTAL = "incremental"
    MD5 = "md5"
    FIRMWARE = "firmware"
    DATA = "data"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class FileName:
    """A classified file name.

    ``target`` is set for md5 files: the classification of the name it checks (``algop8188.md5``
    checks ``algop8188.conf``). ``incremental`` marks ``-i`` configs, which are of kind INCREMENTAL
    with ``mac`` or ``product`` set to say whose they are.
    """

    name: str
    kind: FileKind
    mac: str = ""
    product: str = ""
    version: str = ""
    incremental: bool = False
    target: FileName | None = None

    @property
    def is_config(self) -> bool:
        """A config a device may request (generic, device or incremental)."""
        return self.kind in (FileKind.GENERIC, FileKind.DEVICE, FileKind.INCREMENTAL)


def normalize_mac(text: str) -> str:
    """``00:22:ee:01:02:03``, ``00-22-EE-…``, ``0022.ee01.0203`` or bare hex -> ``0022EE010203``."""
    candidate = text.strip()
    if _MAC_SEPARATED.match(candidate):
        parts = re.split(r"[:\-. ]", candidate)
        return "".join(part.zfill(2) for part in parts).upper()
    if _MAC_DOTTED.match(candidate) or _MAC_BARE.match(candidate):
        return candidate.replace(".", "").upper()
    raise MacError(f"not a MAC address: {text!r}")


def format_mac(mac: str, separator: str = ":") -> str:
    """``0022EE010203`` -> ``00:22:EE:01:02:03``."""
    bare = normalize_mac(mac)
    return separator.join(bare[i : i + 2] for i in range(0, 12, 2))


def is_algo_mac(mac: str) -> bool:
    """Whether ``mac`` lies in Algo's OUI block (00:22:EE)."""
    try:
        return normalize_mac(mac).startswith(ALGO_OUI)
    except MacError:
        return False


def is_known_product(product: str) -> bool:
    """Whether ``product`` is in the product table (unknown IDs are a warning, never a refusal)."""
    return product in PRODUCTS


def product_in_name(name: str) -> str:
    """The known product a file name holds (``algop8196.conf``, ``fpbx-8196-2025.conf``,
    ``algo-8196-5.4f.sfw``), or "" when it names none."""
    for found in _PRODUCT_IN_NAME.findall(name):
        if is_known_product(found):
            return str(found)
    return ""


def generic_name(product: str, *, incremental: bool = False) -> str:
    """``algop8188.conf`` (or ``algop8188-i.conf``)."""
    return f"algop{product}{'-i' if incremental else ''}.conf"


def device_name(mac: str, *, incremental: bool = False) -> str:
    """``algom0022EE010203.conf`` (or ``-i``), from any MAC spelling."""
    return f"algom{normalize_mac(mac)}{'-i' if incremental else ''}.conf"


def firmware_name(product: str, version: str, extension: str = "sfw") -> str:
    """``algo-8180-5.4f.sfw``."""
    return f"algo-{product}-{version}.{extension}"


def config_search_order(mac: str, product: str, *, partial: bool) -> list[str]:
    """The config names a TFTP device tries, in order (domain.md §4 step 3)."""
    order = [device_name(mac)]
    if partial:
        order.append(device_name(mac, incremental=True))
    order.append(generic_name(product))
    if partial:
        order.append(generic_name(product, incremental=True))
    return order


@functools.lru_cache(maxsize=4096)
def classify(name: str) -> FileName:
    """Classify a bare file name (case-sensitive, as devices are).

    Cached: a bench asks for the same few names over and over (the tracker classifies every
    request), and a FileName is immutable.
    """
    if name.endswith(".md5"):
        stem = name[: -len(".md5")]
        base = stem if stem.endswith(".conf") else f"{stem}.conf"
        target = classify(base)
        if target.kind is FileKind.OTHER:
            target = classify(stem)
        return FileName(name, FileKind.MD5, target=target)
    if match := _DEVICE.match(name):
        incremental = bool(match.group(2))
        kind = FileKind.INCREMENTAL if incremental else FileKind.DEVICE
        return FileName(name, kind, mac=match.group(1), incremental=incremental)
    if match := _GENERIC.match(name):
        incremental = bool(match.group(2))
        kind = FileKind.INCREMENTAL if incremental else FileKind.GENERIC
        return FileName(name, kind, product=match.group(1), incremental=incremental)
    if match := _FIRMWARE.match(name):
        return FileName(name, FileKind.FIRMWARE, product=match.group(1), version=match.group(2))
    if name.lower().endswith(_DATA_EXTENSIONS):
        return FileName(name, FileKind.DATA)
    return FileName(name, FileKind.OTHER)


def describe(name: FileName) -> str:
    """A short human description: ``generic for 8186``, ``device 00:22:EE:01:02:03``."""
    if name.kind is FileKind.GENERIC:
        return f"generic for {name.product}"
    if name.kind is FileKind.DEVICE:
        return f"device {format_mac(name.mac)}"
    if name.kind is FileKind.INCREMENTAL:
        whose = f"device {format_mac(name.mac)}" if name.mac else f"generic {name.product}"
        return f"incremental for {whose}"
    if name.kind is FileKind.FIRMWARE:
        return f"firmware {name.version} for {name.product}"
    if name.kind is FileKind.MD5:
        target = name.target
        if target is not None and "." in target.name and name.name == f"{target.name}.md5":
            # X.conf.md5: a server may answer it, but devices ask for X.md5 (guide §5.5)
            return f"md5 under a name devices never ask for (they ask for {name.name[:-9]}.md5)"
        return f"md5 of {name.target.name}" if name.target else "md5"
    if name.kind is FileKind.DATA:
        return "data file"
    return "not a provisioning file"
