"""File-name rules: names a device never requests, foreign MACs, unknown products (domain.md §3)."""

from __future__ import annotations

import re
import string
from collections.abc import Container
from dataclasses import dataclass

from algodesk.core import names
from algodesk.core.checks.findings import Finding, Severity

# Extensions people give configs by mistake, in any case, possibly chained (x.conf.txt).
_STEM_AND_EXTENSION = re.compile(r"(?P<stem>.*?)(?P<ext>(?:\.(?:conf|cfg|txt|cnf|ini))*)", re.I)
_PREFIX = re.compile(r"\s*algo\s*(?P<letter>[pm]?)[\s_\-]*(?P<body>.*)", re.I | re.S)
_INCREMENTAL_SUFFIX = re.compile(r"[\s_]*-[\s_]*i\s*$", re.I)
_PRODUCT = re.compile(r"\d{4}[sS]?")
_PRODUCT_LIKE = re.compile(r"\d+[sS]?")
_MAC_LIKE = re.compile(r"[0-9A-Za-z:\-. ]{6,20}")
_MIN_HEX_IN_MAC = 6


@dataclass(frozen=True, slots=True)
class NameIssue:
    """Why a name is never requested, and the name a device would request instead ("" if none)."""

    code: str
    reason: str
    suggestion: str


def analyse_name(name: str) -> NameIssue | None:
    """The problem with a config-like ``name`` no device requests, or None.

    Only names that plainly try to be an Algo config (``algo`` + MAC or product, config-like
    extension) are judged; any other file is none of our business.
    """
    parts = _STEM_AND_EXTENSION.fullmatch(name)
    prefix = _PREFIX.fullmatch(parts["stem"]) if parts else None
    if parts is None or prefix is None:
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
