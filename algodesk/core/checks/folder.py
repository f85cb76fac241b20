"""Rules across a provisioning folder: md5 files, shadowed configs, data files and firmware."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from algodesk.core import md5, names
from algodesk.core.catalog import Catalog
from algodesk.core.checks.document import DATA_KEYS, DocumentFacts, scan_document
from algodesk.core.checks.findings import Finding, Severity, sort_findings
from algodesk.core.checks.naming import analyse_name, check_name
from algodesk.core.config import ConfigDocument, ParseMemo

_MD5 = ".md5"
_PLACEHOLDER_MARKS = ("{$", "{{")
# The keys whose lines folder rules report.
_FOLDER_KEYS = ("prov.version.firmware", *DATA_KEYS)


class FolderError(ValueError):
    """A path given as a folder is not one."""


def check_folder(config_dir: Path | str, firmware_dir: Path | str | None = None) -> list[Finding]:
    """Check a provisioning folder (configs) and its firmware folder (firmware and data files).

    The two may be the same folder. Every file is read at most once. Findings come sorted: errors,
    warnings, info; then by file and line.
    """
    config_dir = Path(config_dir)
    firmware_dir = Path(firmware_dir) if firmware_dir is not None else config_dir
    for folder in (config_dir, firmware_dir):
        if not folder.is_dir():
            raise FolderError(f"{folder}: not a folder")
    same = config_dir.resolve() == firmware_dir.resolve()
    config_names = _file_names(config_dir)
    firmware_names = config_names if same else _file_names(firmware_dir)

    findings: list[Finding] = []
    requested, verified = _check_configs(config_dir, config_names, findings)
    if not requested:
        findings.append(
            Finding(
                Severity.INFO,
                "folder-no-configs",
                str(config_dir.name or config_dir),
                None,
                "no file here is a config a device requests",
                "add algop<PRODUCT>.conf or algom<MAC>.conf files (with their .md5)",
            )
        )
    findings.extend(_check_md5_files(config_dir, config_names, verified))
    if not same:
        findings.extend(_check_md5_files(firmware_dir, firmware_names, set()))
    findings.extend(_check_search_order(requested, config_names))
    findings.extend(_check_data_files(requested, firmware_names, config_names, same))
    findings.extend(_check_firmware(requested, firmware_names))
    return sort_findings(findings)


def _file_names(folder: Path) -> frozenset[str]:
    with os.scandir(folder) as entries:
        return frozenset(entry.name for entry in entries if entry.is_file())


def _check_configs(
    folder: Path, present: frozenset[str], findings: list[Finding]
) -> tuple[list[DocumentFacts], set[str]]:
    """Read, parse and check every config-like file once; verify each requested config's md5.

    Returns the facts of the configs devices request (not of near-miss names) and the md5 files
    already verified.
    """
    catalog = Catalog.load()
    memo: ParseMemo = {}  # device files from one template share most lines: classify each once
    facts: list[DocumentFacts] = []
    verified: set[str] = set()
    for name in sorted(present):
        found = names.classify(name)
        if not found.is_config and (found.kind is names.FileKind.MD5 or not analyse_name(name)):
            continue
        try:
            data = (folder / name).read_bytes()
        except OSError as error:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "file-unreadable",
                    name,
                    None,
                    f"cannot be read ({error.strerror})",
                    "check the file's permissions",
                )
            )
            continue
        doc = ConfigDocument.from_bytes(data, memo)
        fact = scan_document(name, doc, present, catalog)
        # config.looks_like_config's rule, on counts the scan already made (it would re-parse).
        if b"\x00" in data or (data.strip() and fact.params < max(1, fact.unparsed)):
            findings.append(
                Finding(
                    Severity.ERROR,
                    "not-a-config",
                    name,
                    None,
                    "not a config file (expected 'key = value' lines)",
                    "replace it with a config, or rename it if it is something else",
                )
            )
            continue
        findings.extend(fact.findings)
        if found.is_config:
            fact.release(_FOLDER_KEYS)
            facts.append(fact)
            findings.extend(_check_config_md5(folder, name, data, present, verified))
    return facts, verified


def _check_config_md5(
    folder: Path, name: str, data: bytes, present: frozenset[str], verified: set[str]
) -> list[Finding]:
    # Devices ask for algop8188.md5; some firmware may ask for algop8188.conf.md5 (domain.md §3).
    candidates = [m for m in (md5.md5_name(name), name + _MD5) if m in present]
    if not candidates:
        return [
            Finding(
                Severity.ERROR,
                "md5-missing",
                name,
                None,
                f"no {md5.md5_name(name)}: a TFTP device ignores a config without its md5",
                f"algodesk md5 {name}",
            )
        ]
    verified.update(candidates)
    digest = md5.md5_hex(data)
    return [
        finding
        for candidate in candidates
        for finding in _verify(folder / candidate, [name], lambda _name: digest)
    ]


def _verify(
    md5_path: Path, targets: list[str], digest_of: Callable[[str], str | None]
) -> list[Finding]:
    """Findings for one md5 file checking ``targets`` (it may match any one of them)."""
    name = md5_path.name
    try:
        expected = md5.parse_md5(md5_path.read_bytes())
    except OSError as error:
        expected, reason = None, f"cannot be read ({error.strerror})"
    else:
        reason = "holds no MD5 hash (32 hex digits)"
    if expected is None:
        return [
            Finding(
                Severity.ERROR, "md5-unreadable", name, None, reason, f"algodesk md5 {targets[0]}"
            )
        ]
    if any(digest_of(target) == expected for target in targets):
        return []
    return [
        Finding(
            Severity.ERROR,
            "md5-mismatch",
            name,
            None,
            f"does not match {' or '.join(targets)} (changed after the md5 was written?); "
            "a device ignores the file",
            f"algodesk md5 {targets[0]}",
        )
    ]


class _Digest:
    """Lazily hashes files of one folder (firmware can be large: only hash what an md5 checks)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def __call__(self, name: str) -> str | None:
        try:
            return md5.md5_file(self._folder / name)
        except OSError:
            return None


def _check_md5_files(folder: Path, present: frozenset[str], verified: set[str]) -> list[Finding]:
    """Verify md5 files of data and firmware; report md5 files that check nothing."""
    targets: dict[str, list[str]] = defaultdict(list)
    for name in sorted(present):
        if not name.endswith(_MD5):
            targets[md5.md5_name(name)].append(name)
            targets[name + _MD5].append(name)
    findings: list[Finding] = []
    digest = _Digest(folder)
    for name in sorted(present):
        if not name.endswith(_MD5) or name in verified:
            continue
        if name in targets:
            findings.extend(_verify(folder / name, targets[name], digest))
        else:
            findings.append(_orphan(name, present))
    return findings


def _orphan(name: str, present: frozenset[str]) -> Finding:
    stem = name[: -len(_MD5)]
    issue = analyse_name(stem if stem.endswith(".conf") else stem + ".conf")
    if issue is not None and issue.suggestion:
        wanted = md5.md5_name(issue.suggestion)
        if wanted not in present:
            return Finding(
                Severity.ERROR,
                issue.code,
                name,
                None,
                f"no device requests this md5: {issue.reason}",
                f"rename it to {wanted}",
            )
    return Finding(
        Severity.INFO,
        "md5-orphan",
        name,
        None,
        "checks no file in this folder",
        "delete it, or add the file it checks",
    )


def _check_search_order(facts: list[DocumentFacts], present: frozenset[str]) -> list[Finding]:
    """Incremental files that a full file shadows, or that devices will not ask for."""
    partial_on = any(f.value("prov.i") == "1" for f in facts if not f.found.incremental)
    findings = []
    for fact in facts:
        if not fact.found.incremental:
            continue
        full = fact.name[: -len("-i.conf")] + ".conf"
        if full in present:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "config-shadowed",
                    fact.name,
                    None,
                    f"never used: devices try {full} first and use only one config "
                    "(generic and incremental files are not combined)",
                    f"merge the changes into {full}, or remove one of the two",
                )
            )
        elif not partial_on:
            findings.append(
                Finding(
                    Severity.INFO,
                    "incremental-needs-partial",
                    fact.name,
                    None,
                    "only devices with partial provisioning on (prov.i = 1, off by default) "
                    "ask for incremental files",
                    "turn prov.i on first, e.g. with a full config that sets prov.i = 1",
                )
            )
    return findings


def _check_data_files(
    facts: list[DocumentFacts],
    firmware_names: frozenset[str],
    config_names: frozenset[str],
    same: bool,
) -> list[Finding]:
    findings = []
    for fact in facts:
        for key in DATA_KEYS:
            value = fact.value(key)
            if not value or "/" in value or "\\" in value or _placeholder(value):
                continue
            line = fact.line(key)
            if value not in firmware_names:
                where = "" if same or value not in config_names else " (it is in the config folder)"
                findings.append(
                    Finding(
                        Severity.ERROR,
                        "data-missing",
                        fact.name,
                        line,
                        f"{key} names {value}, which is not in the firmware folder{where}",
                        f"put {value} in the firmware folder",
                    )
                )
            elif not any(m in firmware_names for m in (md5.md5_name(value), value + _MD5)):
                findings.append(
                    Finding(
                        Severity.ERROR,
                        "data-md5-missing",
                        fact.name,
                        line,
                        f"{value} has no {md5.md5_name(value)}: devices fetch the md5 first, "
                        "whatever the download method",
                        f"algodesk md5 {value}",
                    )
                )
    return findings


def _check_firmware(facts: list[DocumentFacts], firmware_names: frozenset[str]) -> list[Finding]:
    findings: list[Finding] = []
    by_version: dict[str, set[str]] = defaultdict(set)
    for name in sorted(firmware_names):
        found = names.classify(name)
        if found.kind is names.FileKind.FIRMWARE:
            by_version[found.version].add(found.product)
            findings.extend(check_name(name))
    for fact in facts:
        version = fact.value("prov.version.firmware")
        if not version or _placeholder(version):
            continue
        line = fact.line("prov.version.firmware")
        product = fact.found.product
        if product:
            findings.extend(_firmware_for(fact, product, version, line, firmware_names))
        elif products := sorted(by_version.get(version, ())):
            findings.append(
                Finding(
                    Severity.INFO,
                    "firmware-product",
                    fact.name,
                    line,
                    f"firmware {version} is here for {', '.join(products)}; a device file "
                    "does not say its product",
                    "make sure the device is one of these products",
                )
            )
        else:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "firmware-missing",
                    fact.name,
                    line,
                    f"no algo-*-{version}.sfw (or .fw) for any product in the firmware folder",
                    f"put algo-<PRODUCT>-{version}.sfw in the firmware folder",
                )
            )
    return findings


def _firmware_for(
    fact: DocumentFacts, product: str, version: str, line: int | None, present: Iterable[str]
) -> list[Finding]:
    sfw = names.firmware_name(product, version, "sfw")
    fw = names.firmware_name(product, version, "fw")
    if sfw in present:
        return []
    if fw not in present:
        return [
            Finding(
                Severity.ERROR,
                "firmware-missing",
                fact.name,
                line,
                f"prov.version.firmware = {version}, but {sfw} (or .fw) is not in the "
                "firmware folder",
                f"put {sfw} in the firmware folder",
            )
        ]
    findings = []
    if md5.md5_name(fw) not in present:
        findings.append(
            Finding(
                Severity.ERROR,
                "firmware-md5-missing",
                fact.name,
                line,
                f"{fw} needs the vendor's {md5.md5_name(fw)}",
                f"put {md5.md5_name(fw)} (from Algo) beside {fw}",
            )
        )
    if fact.value("prov.download.bundle") != "1":
        findings.append(
            Finding(
                Severity.WARNING,
                "firmware-bundle",
                fact.name,
                line,
                f"only {fw} is here: the .fw upgrade path needs prov.download.bundle = 1",
                f"set prov.download.bundle = 1, or provide {sfw}",
            )
        )
    return findings


def _placeholder(value: str) -> bool:
    return any(mark in value for mark in _PLACEHOLDER_MARKS)
