"""Rules across a provisioning folder: md5 files, shadowed configs, data files and firmware.

The folder is the server's root as devices reach it: configs at the root, firmware and data files
under the firmware download path each config sets (``payload``). The same rules give both
verdicts; the :class:`~algodesk.core.checks.context.CheckContext` passed in says which.
"""

from __future__ import annotations

from pathlib import Path

from algodesk.core import device, names
from algodesk.core.catalog import Catalog
from algodesk.core.checks import md5files
from algodesk.core.checks.context import FOLDER_ON_ITS_OWN, CheckContext, bench_context
from algodesk.core.checks.document import DATA_KEYS, DocumentFacts, scan_document
from algodesk.core.checks.findings import Finding, Severity, sort_findings
from algodesk.core.checks.naming import analyse_name, check_name
from algodesk.core.checks.payload import Layout, check_payload
from algodesk.core.config import ConfigDocument, ParseMemo

# The keys whose lines folder rules report (and whose values they read).
_FOLDER_KEYS = (
    "prov.version.firmware",
    "prov.download.fwpath",
    "prov.download.cfgpath",
    "prov.download.bundle",
    "prov.server.method",
    "prov.i",
    *DATA_KEYS,
)


class FolderError(ValueError):
    """A path given as a folder is not one."""


def check_folder(
    config_dir: Path | str,
    firmware_dir: Path | str | None = None,
    context: CheckContext = FOLDER_ON_ITS_OWN,
) -> list[Finding]:
    """Check a provisioning folder (configs) and where its firmware and data files come from.

    ``firmware_dir`` names the folder the firmware path points at; without it, each config's
    ``prov.download.fwpath`` is followed from ``config_dir``. Every file is read at most once.
    Findings come sorted: errors, warnings, info; then by file and line.
    """
    config_dir = Path(config_dir)
    explicit = Path(firmware_dir) if firmware_dir is not None else None
    for folder in (config_dir, explicit):
        if folder is not None and not folder.is_dir():
            raise FolderError(f"{folder}: not a folder")
    if explicit is not None and explicit.resolve() == config_dir.resolve():
        explicit = None
    layout = Layout(config_dir, explicit)
    on_disk = layout.names(config_dir)
    present = on_disk | context.from_memory

    findings: list[Finding] = []
    requested, verified = _check_configs(config_dir, on_disk, present, context, findings)
    if not requested and not context.from_memory:
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
    if not context.config_md5_needed:
        verified |= {name for name in present if _checks_a_config(name)}
    # A name the bench serves from memory shadows the file on disk: nothing there to verify.
    findings.extend(md5files.other_md5_files(config_dir, present, verified | context.from_memory))
    findings.extend(_check_search_order(requested, present))
    findings.extend(_check_config_paths(requested, layout))
    findings.extend(check_payload(requested, layout, context))
    findings.extend(_check_firmware_names(layout.names(config_dir), ""))
    for folder in layout.used_payload_folders():
        shown = "" if folder == explicit else f"{folder.relative_to(config_dir).as_posix()}/"
        there = layout.names(folder)
        findings.extend(md5files.other_md5_files(folder, there, set(), shown))
        findings.extend(_check_firmware_names(there, shown))
    return sort_findings(findings)


def _checks_a_config(name: str) -> bool:
    found = names.classify(name)
    return found.kind is names.FileKind.MD5 and found.target is not None and found.target.is_config


def _check_firmware_names(present: frozenset[str], shown: str) -> list[Finding]:
    findings: list[Finding] = []
    for name in sorted(present):
        if names.classify(name).kind is names.FileKind.FIRMWARE:
            findings.extend(
                Finding(f.severity, f.code, shown + f.file, f.line, f.message, f.fix)
                for f in check_name(name)
            )
    return findings


def _check_configs(
    folder: Path,
    on_disk: frozenset[str],
    present: frozenset[str],
    context: CheckContext,
    findings: list[Finding],
) -> tuple[list[DocumentFacts], set[str]]:
    """Read, parse and check every config-like file once; verify each requested config's md5.

    Returns the facts of the configs devices request (not of near-miss names) and the md5 files
    already verified.
    """
    catalog = Catalog.load()
    memo: ParseMemo = {}  # device files from one template share most lines: classify each once
    facts: list[DocumentFacts] = []
    verified: set[str] = set()
    for name in sorted(on_disk):
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
        fact = scan_document(name, doc, present, catalog, context)
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
            md5_findings, checked = md5files.config_md5(folder, name, data, present, context)
            findings.extend(md5_findings)
            if checked:
                verified.add(checked)
    return facts, verified


def _check_config_paths(facts: list[DocumentFacts], layout: Layout) -> list[Finding]:
    """A config path that leads away from where the config is (guide §2, §5.4)."""
    findings = []
    for fact in facts:
        cfgpath = device.config_path(fact.values)
        if not cfgpath or fact.hands_off:
            continue  # no path, or a hand-off to another server: not this folder's business
        there = layout.names(layout.root / cfgpath)
        if fact.name in there:
            continue
        findings.append(
            Finding(
                Severity.WARNING,
                "config-path",
                fact.name,
                fact.line("prov.download.cfgpath"),
                f"prov.download.cfgpath = {cfgpath}: once it is applied, devices ask this server "
                f"for {cfgpath}/{fact.name}, which is not there, so later changes are never "
                "fetched",
                f"put the configs in {cfgpath}/ as well, or remove prov.download.cfgpath",
            )
        )
    return findings


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


class BenchChecker:
    """``check_folder`` as this bench serves the folder: ``checker(folder, from_memory=names)``.

    The Folder page calls it with the names the bench serves from memory (stage-1, roster), so
    they count as the bench serves them (domain.md §8), and with nothing else to know.
    """

    def __init__(self, *, auto_md5: bool) -> None:
        self.auto_md5 = auto_md5

    def __call__(self, folder: Path, from_memory: frozenset[str] = frozenset()) -> list[Finding]:
        """The findings for ``folder``, judged as this bench serves it."""
        return check_folder(
            folder, context=bench_context(auto_md5=self.auto_md5, from_memory=from_memory)
        )
