"""Rules about what a config makes devices fetch after it: firmware and data files.

Both come from the firmware download path (``prov.download.fwpath``, guide §2, §10-§14) under
the server's root, so a config with ``prov.download.fwpath = firmware`` needs
``firmware/algo-8188-5.4f.sfw``. When the caller names the firmware folder itself
(``check --firmware-dir``), that folder is where the path points and the path is not applied.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from algodesk.core import device, md5, names
from algodesk.core.checks.context import FOLDER_ON_ITS_OWN, CheckContext
from algodesk.core.checks.document import DATA_KEYS, DocumentFacts, is_placeholder
from algodesk.core.checks.findings import Finding, Severity
from algodesk.core.checks.naming import firmware_near_misses, firmware_version_problem


@dataclass(slots=True)
class Layout:
    """The server's folders as devices reach them: configs at the root, payload under a path."""

    root: Path
    firmware_dir: Path | None = None
    _listed: dict[Path, frozenset[str]] = field(default_factory=dict)

    def names(self, folder: Path) -> frozenset[str]:
        """The regular files in ``folder`` (empty when it is no folder); listed once."""
        if folder not in self._listed:
            try:
                with os.scandir(folder) as entries:
                    self._listed[folder] = frozenset(e.name for e in entries if e.is_file())
            except OSError:
                self._listed[folder] = frozenset()
        return self._listed[folder]

    def payload_folder(self, fwpath: str) -> tuple[Path, str]:
        """The folder a firmware path leads to, and the prefix shown before its file names."""
        if self.firmware_dir is not None:
            return self.firmware_dir, ""
        fwpath = fwpath.strip("/\\ ")
        if not fwpath:
            return self.root, ""
        return self.root / fwpath, fwpath + "/"

    def used_payload_folders(self) -> list[Path]:
        """Payload folders other than the root that a check listed."""
        return [folder for folder in self._listed if folder != self.root]


def check_payload(
    facts: list[DocumentFacts], layout: Layout, context: CheckContext = FOLDER_ON_ITS_OWN
) -> list[Finding]:
    """Data-file and firmware findings for the configs devices request.

    A config that hands devices to another server is skipped: they fetch what it names there.
    """
    findings: list[Finding] = []
    for fact in facts:
        if fact.hands_off:
            continue
        folder, shown = layout.payload_folder(device.firmware_path(fact.values))
        there = layout.names(folder)
        findings.extend(_data_files(fact, layout, there, shown, context))
        findings.extend(_firmware(fact, layout, there, shown))
    return findings


def _elsewhere(layout: Layout, name: str, folder_shown: str) -> str:
    """`` (it is in the folder's root)`` when ``name`` sits where devices will not look."""
    if folder_shown and name in layout.names(layout.root):
        return f" ({name} is in the folder's root: move it to {folder_shown})"
    return ""


def _data_files(
    fact: DocumentFacts, layout: Layout, there: frozenset[str], shown: str, context: CheckContext
) -> list[Finding]:
    findings = []
    product = fact.found.product
    for key in DATA_KEYS:
        value = fact.value(key)
        if not value or "/" in value or "\\" in value or is_placeholder(value):
            continue
        line = fact.line(key)
        if not device.applies_to(key, product):
            findings.append(
                Finding(
                    Severity.INFO,
                    "data-ignored",
                    fact.name,
                    line,
                    f"the {product} ignores {key}: only {device.products_fetching(key)} "
                    "fetch it (domain.md §3)",
                    f"remove {key} from this file, or keep it for other models",
                )
            )
            continue
        wanted = md5.md5_name(value)
        if value not in there:
            where = _elsewhere(layout, value, shown)
            if not where and layout.firmware_dir is not None and value in layout.names(layout.root):
                where = " (it is in the config folder)"
            fix = f"put {value} in the firmware folder{f' ({shown})' if shown else ''}"
            # The guide says it of every data file (§10-§14): the name is case-sensitive.
            near = sorted(n for n in there if n.casefold() == value.casefold())
            if near:
                where = f": {near[0]} is here, but names are case-sensitive (guide §10)"
                fix = f"rename {near[0]} to {value} (and its .md5), or set {key} = {near[0]}"
            findings.append(
                Finding(
                    Severity.ERROR,
                    "data-missing",
                    fact.name,
                    line,
                    f"{key} names {value}; devices ask for {shown}{value}, which is not there"
                    f"{where}",
                    fix,
                )
            )
        elif wanted not in there and context.bench and context.auto_md5:
            findings.append(
                Finding(
                    Severity.INFO,
                    "data-md5-missing",
                    fact.name,
                    line,
                    f"this bench answers {shown}{wanted} itself; a copy of the folder on another "
                    "server needs the file (devices fetch it first, guide §7, §10)",
                    f"write {wanted} (algodesk md5 {shown}{value})",
                    shown + value,
                )
            )
        elif wanted not in there:
            wrong = value + ".md5"
            also = f" ({wrong} is here, but devices ask for {wanted})" if wrong in there else ""
            method = ""
            if key == "prov.data.cacert":
                method = " (required over TFTP, guide §11; devices fetch it first on every method)"
            findings.append(
                Finding(
                    Severity.ERROR,
                    "data-md5-missing",
                    fact.name,
                    line,
                    f"{value} has no {shown}{wanted}: devices fetch the md5 first (guide §7, "
                    f"§10){method}{also}",
                    f"rename {wrong} to {wanted}" if also else f"algodesk md5 {shown}{value}",
                    "" if also else shown + value,
                )
            )
    return findings


def _firmware(
    fact: DocumentFacts, layout: Layout, there: frozenset[str], shown: str
) -> list[Finding]:
    version = fact.value("prov.version.firmware")
    if not version or is_placeholder(version):
        return []
    if firmware_version_problem(version) is not None:
        return []  # the document rules say "use only the version" (firmware-value)
    line = fact.line("prov.version.firmware")
    product = fact.found.product
    if not product:
        return _firmware_any_product(fact, line, version, there, shown)
    bundle = device.bundle_enabled(fact.values)
    requests = device.firmware_requests(product, version, bundle=bundle)
    missing = [name for name in requests if name not in there]
    if not missing:
        return []
    sfw, fw, fw_md5 = device.firmware_names(product, version)
    image = requests[0]
    if image in missing:
        other = fw if not bundle else sfw
        if other in there:
            return [_bundle_mismatch(fact, line, bundle, sfw, fw, shown)]
        near = firmware_near_misses(image, there) or firmware_near_misses(
            image, layout.names(layout.root)
        )
        where = _elsewhere(layout, image, shown)
        if near:
            message = f"devices ask for {shown}{image}; {near[0]} is here but names are exact"
            fix = f"rename {near[0]} to {image}"
        else:
            message = (
                f"prov.version.firmware = {version}: devices ask for {shown}{image}, which is "
                f"not there{where}"
            )
            fix = f"put {image} in the firmware folder{f' ({shown})' if shown else ''}"
        return [Finding(Severity.ERROR, "firmware-missing", fact.name, line, message, fix)]
    return [
        Finding(
            Severity.ERROR,
            "firmware-md5-missing",
            fact.name,
            line,
            f"{shown}{fw} needs the vendor's {fw_md5} beside it (guide §9)",
            f"put {fw_md5} (from Algo) beside {fw}",
        )
    ]


def _bundle_mismatch(
    fact: DocumentFacts, line: int | None, bundle: bool, sfw: str, fw: str, shown: str
) -> Finding:
    if bundle:
        message = f"prov.download.bundle = 1 makes devices ask for {shown}{fw}; only {sfw} is here"
        fix = f"remove prov.download.bundle (or set it to 0), or provide {fw} and its md5"
    else:
        message = (
            f"only {shown}{fw} is here: devices ask for {sfw} unless prov.download.bundle = 1 "
            "(guide §9)"
        )
        fix = f"set prov.download.bundle = 1, or provide {sfw}"
    return Finding(Severity.ERROR, "firmware-bundle", fact.name, line, message, fix)


def _firmware_any_product(
    fact: DocumentFacts, line: int | None, version: str, there: Iterable[str], shown: str
) -> list[Finding]:
    products = sorted(
        found.product
        for name in there
        if (found := names.classify(name)).kind is names.FileKind.FIRMWARE
        and found.version == version
    )
    if products:
        return [
            Finding(
                Severity.INFO,
                "firmware-product",
                fact.name,
                line,
                f"firmware {version} is here for {', '.join(products)}; a device file "
                "does not say its product",
                "make sure the device is one of these products",
            )
        ]
    return [
        Finding(
            Severity.ERROR,
            "firmware-missing",
            fact.name,
            line,
            f"no {shown}algo-*-{version}.sfw (or .fw) for any product in the firmware folder",
            f"put algo-<PRODUCT>-{version}.sfw in the firmware folder",
        )
    ]
