"""File-name rules: names a device never requests, foreign MACs, unknown products (domain.md §3)."""

from __future__ import annotations

import re
import string
from collections.abc import Container, Iterable
from dataclasses import dataclass

from algodesk.core import names
from algodesk.core.checks.findings import Finding, Severity

# Extensions people give configs by mistake, in any case, possibly chained (x.conf.txt).
_STEM_AND_EXTENSION = re.compile(r"(?P<stem>.*?)(?P<ext>(?:\.(?:conf|cfg|txt|cnf|ini))*)", re.I)
# "algo" as people mistype it: 1/I/| for l, 0 for o (guide §5.4: names are exact).
_PREFIX = re.compile(
    r"\s*[aA@][lL1I|][gG][oO0]\s*(?P<letter>[pm]?)[\s_\-]*(?P<body>.*)", re.I | re.S
)
_INCREMENTAL_SUFFIX = re.compile(r"(?:[\s_]*[-_][\s_]*|(?<=[0-9A-Fa-f]))i\s*$", re.I)
# What file managers and editors add to a copy: "x (1).conf", "x - Copy.conf", "x.conf.bak", "x~".
_COPY_AFTER = re.compile(r"(?:\.bak|\.orig|\.old|\.save|~)+$", re.I)
_COPY_IN_STEM = re.compile(r"(?:\s*\(\d+\)|\s*[-_ ]\s*copy(?:\s*\(\d+\))?)+\s*$", re.I)
_COPY_BEFORE = re.compile(r"^\s*copy of\s+", re.I)
_DIGIT_LOOKALIKES = str.maketrans({"l": "1", "I": "1", "|": "1", "O": "0", "o": "0"})
_PRODUCT = re.compile(r"\d{4}[sS]?")
_PRODUCT_LIKE = re.compile(r"\d+[sS]?")
_MAC_LIKE = re.compile(r"[0-9A-Za-z:\-. ]{6,20}")
_MIN_HEX_IN_MAC = 6
_FIRMWARE_FILE = re.compile(r"\s*algo[-_ ]?(\d{4}S?)[-_ ]?(.+?)\.(sfw|fw)\s*", re.I)


@dataclass(frozen=True, slots=True)
class NameIssue:
    """Why a name is never requested, and the name a device would request instead ("" if none)."""

    code: str
    reason: str
    suggestion: str


def analyse_name(name: str) -> NameIssue | None:
    """The problem with a config-like ``name`` no device requests, or None.

    Names are judged by what a device could request (guide §5.4, §8): ``algo`` + MAC or product
    as people mistype them (look-alike characters, ``_i``, white space, copies), with a
    config-like extension. Any other file is none of our business.
    """
    core = name.strip()
    copy = core != (core := _COPY_AFTER.sub("", core))
    core, before = _COPY_BEFORE.subn("", core)
    parts = _STEM_AND_EXTENSION.fullmatch(core)
    if parts is None:
        return None
    stem = parts["stem"]
    copy = copy or bool(before) or stem != (stem := _COPY_IN_STEM.sub("", stem))
    prefix = _PREFIX.fullmatch(stem)
    if prefix is None:
        return None
    letter = prefix["letter"].lower()
    body = prefix["body"].strip()
    incremental = bool(suffix := _INCREMENTAL_SUFFIX.search(body))
    if suffix:
        body = body[: suffix.start()]
    target = _device_target(letter, body, incremental)
    if isinstance(target, NameIssue):
        return target
    if target is None:
        target = _generic_target(letter, body, incremental)
        if isinstance(target, NameIssue) or target is None:
            return target
    if target == name:
        return None
    if copy:
        return NameIssue("name-near-miss", f"a copy's name; devices request {target}", target)
    if name != name.strip():
        return NameIssue(
            "name-near-miss", f"white space around the name; devices request {target}", target
        )
    if parts["stem"] + ".conf" == target:
        return NameIssue("name-extension", f"devices request {target}: '.conf' exactly", target)
    if letter == "m" and name.startswith("algom") and name.upper() == target.upper():
        return NameIssue(
            "name-mac-lowercase", "devices request the MAC in upper case (case-sensitive)", target
        )
    return NameIssue("name-near-miss", f"devices request {target} (names are exact)", target)


def _device_target(letter: str, body: str, incremental: bool) -> str | NameIssue | None:
    try:
        mac = names.normalize_mac(body)
    except names.MacError:
        hex_digits = sum(char in string.hexdigits for char in body)
        if letter == "m" and _MAC_LIKE.fullmatch(body) and hex_digits >= _MIN_HEX_IN_MAC:
            return NameIssue(
                "name-mac-malformed",
                f"{body!r} is not a MAC: devices request 12 hex digits, upper case, no separators",
                "",
            )
        return None
    if letter not in ("m", ""):
        return None
    return names.device_name(mac, incremental=incremental)


def _generic_target(letter: str, body: str, incremental: bool) -> str | NameIssue | None:
    product = body.replace(" ", "")
    if letter in ("p", "") and _PRODUCT.fullmatch(looks := product.translate(_DIGIT_LOOKALIKES)):
        product = looks
    if _PRODUCT.fullmatch(product) and letter in ("p", ""):
        return names.generic_name(product.upper(), incremental=incremental)
    if letter == "p" and _PRODUCT_LIKE.fullmatch(product):
        return NameIssue(
            "name-near-miss", f"product IDs are 4 digits; no device requests {product!r}", ""
        )
    return None


def check_name(name: str, present: Container[str] = ()) -> list[Finding]:
    """Findings about ``name`` alone; ``present`` holds the other names in its folder."""
    issue = analyse_name(name)
    if issue is not None:
        return [_issue_finding(name, issue, present)]
    found = names.classify(name)
    findings = []
    if found.mac and not found.mac.startswith(names.ALGO_OUI):
        findings.append(
            Finding(
                Severity.WARNING,
                "mac-not-algo",
                name,
                None,
                f"MAC {names.format_mac(found.mac)} is outside Algo's block 00:22:EE",
                "check the MAC on the device's label; every Algo MAC starts with 00:22:EE",
            )
        )
    if found.product and not names.is_known_product(found.product):
        findings.append(
            Finding(
                Severity.WARNING,
                "product-unknown",
                name,
                None,
                f"product {found.product} is not a known Algo product ID",
                "check the product number on the device (8180, 8186, 8301, ...)",
            )
        )
    return findings


def _issue_finding(name: str, issue: NameIssue, present: Container[str]) -> Finding:
    if issue.suggestion and issue.suggestion in present:
        return Finding(
            Severity.WARNING,
            issue.code,
            name,
            None,
            f"a stray copy: no device requests it; {issue.suggestion} is the file in use",
            f"delete {name}",
        )
    fix = f"rename it to {issue.suggestion}" if issue.suggestion else "rename it"
    return Finding(
        Severity.ERROR,
        issue.code,
        name,
        None,
        f"no device requests this name: {issue.reason}",
        fix + " (and its .md5)",
    )


def firmware_key(name: str) -> str:
    """What a firmware name is once case, ``_``/``-`` and white space no longer count."""
    match = _FIRMWARE_FILE.fullmatch(_COPY_AFTER.sub("", name))
    if match is None:
        return ""
    product, version, extension = match.groups()
    return f"algo-{product.upper()}-{version.lower()}.{extension.lower()}"


def firmware_near_misses(wanted: str, present: Iterable[str]) -> list[str]:
    """Files in ``present`` that are ``wanted`` (a firmware name) but for case or separators."""
    key = firmware_key(wanted)
    return sorted(n for n in present if n != wanted and key and firmware_key(n) == key)


def firmware_version_problem(version: str) -> str | None:
    """The bare version when ``version`` carries an extension or a whole file name, else None.

    Devices build the file name from the version (guide §9): ``5.4f.sfw`` or
    ``algo-8188-5.4f.sfw`` as a version makes them ask for ``algo-8188-algo-8188-5.4f.sfw.sfw``.
    """
    match = _FIRMWARE_FILE.fullmatch(version)
    if match is not None:
        return match.group(2)
    bare = re.sub(r"\.s?fw\s*$", "", version, flags=re.I)
    return bare if bare != version else None
