"""Rules about one config document: its name, its lines and what its values ask of a device."""

from __future__ import annotations

import operator
import re
from collections.abc import Container, Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

from algodesk.core import device, names
from algodesk.core.catalog import Catalog, is_secret
from algodesk.core.checks.context import FOLDER_ON_ITS_OWN, CheckContext
from algodesk.core.checks.findings import Finding, Severity, sort_findings
from algodesk.core.checks.keys import check_keys
from algodesk.core.checks.naming import analyse_name, check_name, firmware_version_problem
from algodesk.core.checks.stage1 import check_stage1
from algodesk.core.config import ConfigDocument, LineKind

# Keys naming a file the device fetches from the firmware path, with the extension it expects.
DATA_KEYS: dict[str, str] = {key: extension for key, extension, _ in device.DATA_PARAMETERS}
_PATH_KEYS = ("prov.download.cfgpath", "prov.download.fwpath")
_HASH_AFTER_VALUE = re.compile(r"(?:^|\s)#")
_PLACEHOLDER = re.compile(r"\{\$|\{\{")
_PARAM, _OTHER = LineKind.PARAM, LineKind.OTHER
_KEY_OF = operator.attrgetter("key")


@dataclass(slots=True)
class DocumentFacts:
    """What a scan of one document learnt: its kind, each key's effective value, its findings."""

    name: str
    found: names.FileName
    doc: ConfigDocument | None
    values: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    params: int = 0
    unparsed: int = 0
    _lines: dict[str, int] | None = None

    def value(self, key: str) -> str:
        """The effective (last) value of ``key``, "" when absent."""
        return self.values.get(key, "")

    def line(self, key: str) -> int | None:
        """The 1-based line of ``key``'s effective value, None when absent (or not kept)."""
        if self._lines is None and self.doc is not None:
            # Built on the first finding that needs a line; C-level (map, zip), since a folder
            # check may need one per document. The last line of a key wins, as its value does;
            # other lines have the key "", which no finding asks for.
            lines = self.doc.lines
            self._lines = dict(zip(map(_KEY_OF, lines), range(1, len(lines) + 1), strict=True))
        return self._lines.get(key) if self._lines else None

    def release(self, keys: Iterable[str]) -> None:
        """Drop the document, keeping the lines of ``keys`` only.

        A folder check holds the facts of every file: thousands of parsed documents kept alive
        would cost memory and make every garbage collection walk them.
        """
        wanted = [key for key in keys if key in self.values]
        self._lines = {key: line for key in wanted if (line := self.line(key)) is not None}
        self.doc = None

    @property
    def is_generic(self) -> bool:
        """Every device of a model gets it (``algop<P>.conf`` or ``algop<P>-i.conf``)."""
        return bool(self.found.product) and self.found.is_config

    @property
    def hands_off(self) -> bool:
        """The document names another server (static): after applying it, devices fetch
        configs, firmware and data files there, not from this folder (guide §7, §15.1)."""
        return bool(device.server_location(self.values).host)

    @property
    def provisioning_off(self) -> bool:
        """The document turns provisioning off (``prov.use = 0``)."""
        return self.value("prov.use") == "0"


def check_document(
    name: str, doc: ConfigDocument, context: CheckContext = FOLDER_ON_ITS_OWN
) -> list[Finding]:
    """Findings for one config document (saved or not) called ``name``, errors first."""
    return sort_findings(scan_document(name, doc, context=context).findings)


def flagged_keys(name: str, doc: ConfigDocument) -> dict[str, str]:
    """Key -> what the checks say about it, for each key :func:`check_document` flags.

    The editor's "values that need a look" is this, so it flags what ``algodesk check`` flags:
    a finding points at its key by line, and a template placeholder flags every key holding one
    (the finding itself names only the first line).
    """
    facts = scan_document(name, doc)
    at_line = {
        number: line.key for number, line in enumerate(doc.lines, start=1) if line.kind is _PARAM
    }
    flagged: dict[str, str] = {}
    for finding in sort_findings(facts.findings):
        if finding.code == "template-placeholder":
            for key, value in facts.values.items():
                if _PLACEHOLDER.search(value):
                    flagged.setdefault(
                        key, "holds a template placeholder ({$...}): a device takes it literally"
                    )
        elif finding.line is not None and finding.line in at_line:
            flagged.setdefault(at_line[finding.line], finding.message)
    return flagged


def scan_document(
    name: str,
    doc: ConfigDocument,
    present: Container[str] = (),
    catalog: Catalog | None = None,
    context: CheckContext = FOLDER_ON_ITS_OWN,
) -> DocumentFacts:
    """Check ``doc`` and keep what the folder rules need; ``present``: the folder's file names."""
    name = PurePath(name).name
    issue = analyse_name(name)
    found = names.classify(issue.suggestion if issue and issue.suggestion else name)
    facts = DocumentFacts(name, found, doc)
    facts.findings.extend(check_name(name, present))
    catalog = catalog or Catalog.load()
    _scan_lines(facts, doc, catalog)
    facts.findings.extend(check_keys(name, facts.values, facts.line, catalog))
    _check_provisioning(facts, context)
    _check_data_values(facts)
    if context.stage1:
        facts.findings.extend(check_stage1(facts.name, facts.values, facts.line))
    elif facts.is_generic:
        _check_generic(facts)
    return facts


def is_placeholder(value: str) -> bool:
    """Whether ``value`` holds a template placeholder (``{$...}``, ``{{...}}``)."""
    return bool(_PLACEHOLDER.search(value))


def _scan_lines(facts: DocumentFacts, doc: ConfigDocument, catalog: Catalog) -> None:
    # Comprehensions and C-level tests rather than one Python loop doing everything: a folder
    # check runs this on thousands of documents of ~700 lines.
    name, add, lines, param, other = facts.name, facts.findings.append, doc.lines, _PARAM, _OTHER
    kinds = [line.kind for line in lines]
    facts.params, facts.unparsed = kinds.count(param), kinds.count(other)
    values = facts.values = {line.key: line.value for line in lines if line.kind is param}
    if facts.unparsed:
        for number, line in enumerate(lines, start=1):
            if line.kind is other:
                add(_unparsed(name, number, line.text))
    if len(values) < facts.params:
        for key, numbers in doc.duplicates().items():
            where = ", ".join(map(str, numbers))
            add(
                Finding(
                    Severity.WARNING,
                    "duplicate-key",
                    name,
                    numbers[-1],
                    f"{key} is set on lines {where}; only one value can win",
                    f"keep one {key} line",
                )
            )
    joined = "\n".join(values.values())
    if "#" in joined:
        for key, value in values.items():
            if "#" in value and _HASH_AFTER_VALUE.search(value):
                add(_hash_in_value(name, facts.line(key), key))
    placeholders = set()
    if "{" in joined:
        placeholders = {key for key, value in values.items() if _PLACEHOLDER.search(value)}
    if placeholders:
        first = min(facts.line(key) or 0 for key in placeholders)
        add(
            Finding(
                Severity.ERROR,
                "template-placeholder",
                name,
                first,
                f"{len(placeholders)} value(s) hold template placeholders ({{$...}}): "
                "a device takes them literally",
                "fill in the template (or export it from the PBX) before serving it",
            )
        )
    # A data key's path gets its own finding (data-path) in _check_data_values.
    for key, problem in catalog.problems(values).items():
        if key not in DATA_KEYS and key not in placeholders:
            add(
                Finding(
                    Severity.WARNING,
                    "value-invalid",
                    name,
                    facts.line(key),
                    f"{key} {problem}",
                    f"give {key} a value of its type",
                )
            )
    if not facts.params and facts.found.kind in (names.FileKind.GENERIC, names.FileKind.DEVICE):
        add(
            Finding(
                Severity.WARNING,
                "config-empty",
                name,
                None,
                "a full config with no parameters resets every parameter to its default",
                "add the parameters to set, or use an incremental (-i) file",
            )
        )


def _unparsed(name: str, number: int, text: str) -> Finding:
    if text.lstrip().startswith("#"):
        message = "a comment that does not start in column 0 is not a comment"
        fix = "move the # to the first column"
    else:
        message = "not a 'key = value' line"
        fix = "write it as 'key = value' or remove it"
    return Finding(Severity.WARNING, "line-unparsed", name, number, message, fix)


def _hash_in_value(name: str, number: int | None, key: str) -> Finding:
    return Finding(
        Severity.WARNING,
        "hash-in-value",
        name,
        number,
        f"the value of {key} holds '#': only a '#' in column 0 starts a comment, "
        "so it is part of the value",
        "put the comment on its own line, starting with '#'",
    )


def _check_provisioning(facts: DocumentFacts, context: CheckContext) -> None:
    add, name = facts.findings.append, facts.name
    _check_server(facts, context)
    version = facts.value("prov.version.firmware")
    bare = firmware_version_problem(version) if version else None
    if bare is not None:
        add(
            Finding(
                Severity.ERROR,
                "firmware-value",
                name,
                facts.line("prov.version.firmware"),
                f"prov.version.firmware = {version} holds a file name; devices build the name "
                "from the version alone (guide §9)",
                f"use only the version: prov.version.firmware = {bare}",
            )
        )
    later = [key for key in ("prov.version.firmware", *DATA_KEYS) if facts.value(key)]
    if facts.provisioning_off and later:
        add(
            Finding(
                Severity.ERROR,
                "prov-disabled-with-steps",
                name,
                facts.line("prov.use"),
                f"prov.use = 0 turns provisioning off, so {', '.join(later)} will never be fetched",
                "keep prov.use = 1 in the config that names firmware or data files",
            )
        )
    elif facts.provisioning_off:
        add(
            Finding(
                Severity.INFO,
                "prov-disabled",
                name,
                facts.line("prov.use"),
                "devices that apply this stop provisioning until it is turned on by hand",
                "intended for a final config; otherwise set prov.use = 1",
            )
        )
    for key in _PATH_KEYS:
        path = facts.value(key)
        if path and (path[0] in "/\\" or path[-1] in "/\\"):
            add(
                Finding(
                    Severity.WARNING,
                    "path-slashes",
                    name,
                    facts.line(key),
                    f"{key} starts or ends with a slash; paths have neither",
                    f"set {key} = {path.strip('/')}",
                )
            )


def _check_data_values(facts: DocumentFacts) -> None:
    for key, extension in DATA_KEYS.items():
        value = facts.value(key)
        if not value or _PLACEHOLDER.search(value):
            continue
        if "/" in value or "\\" in value:
            bare = re.split(r"[/\\]", value)[-1]
            facts.findings.append(
                Finding(
                    Severity.ERROR,
                    "data-path",
                    facts.name,
                    facts.line(key),
                    f"{key} holds a path; devices fetch a bare file name from the firmware path",
                    f"set {key} = {bare} and put the file in the firmware folder",
                )
            )
        elif not value.lower().endswith(extension):
            facts.findings.append(
                Finding(
                    Severity.WARNING,
                    "data-extension",
                    facts.name,
                    facts.line(key),
                    f"{key} names {value}; devices expect a {extension} file",
                    f"give {key} a {extension} file",
                )
            )


def _check_generic(facts: DocumentFacts) -> None:
    secrets = [key for key, value in facts.values.items() if value and is_secret(key)]
    model = facts.found.product
    if secrets:
        first = min(facts.line(key) or 0 for key in secrets)
        facts.findings.append(
            Finding(
                Severity.WARNING,
                "secret-in-generic",
                facts.name,
                first,
                f"secrets in a generic file go to every {model} on this server: "
                f"{', '.join(sorted(secrets))}",
                "move per-device secrets to algom<MAC>.conf files",
            )
        )
    if facts.found.kind is names.FileKind.GENERIC and not (
        facts.provisioning_off or facts.hands_off
    ):
        facts.findings.append(
            Finding(
                Severity.INFO,
                "prov-left-enabled",
                facts.name,
                facts.line("prov.use"),
                f"every {model} keeps provisioning from this server: a later boot can "
                "overwrite settings changed by hand on a device",
                "remove the file (or set prov.use = 0) once the devices are provisioned",
            )
        )


def _check_server(facts: DocumentFacts, context: CheckContext) -> None:
    """Where the config sends devices next (guide §2, §4, §15.2; domain.md §4)."""
    add, name, values = facts.findings.append, facts.name, facts.values
    server_method = facts.value("prov.server.method")
    line = facts.line("prov.server.method")
    static = server_method == "static"
    if static and not facts.value("prov.server.static"):
        add(
            Finding(
                Severity.ERROR,
                "static-server-missing",
                name,
                line,
                "prov.server.method = static but prov.server.static is empty: "
                "devices lose their provisioning server",
                "set prov.server.static to the server's address",
            )
        )
    elif static and not context.stage1 and not facts.provisioning_off:
        add(
            Finding(
                Severity.INFO,
                "static-server-kept",
                name,
                line,
                "devices keep asking the static server at every boot; once it is gone, every "
                "boot waits for it (guide §15.2)",
                "in the final config, set prov.use = 0 or point the devices at a server that stays",
            )
        )
    elif server_method and server_method not in device.SERVER_METHODS:
        add(
            Finding(
                Severity.INFO,
                "server-method-unknown",
                name,
                line,
                f"prov.server.method = {server_method}: the guide mentions a setting that picks "
                "the DHCP option but not its values (guide §4.1); anything but static means "
                "the server still comes from DHCP here",
                "check the value against a backup of a device set this way",
            )
        )
    method = device.method_switch(values, context.protocol)
    if method and not static:  # a static method without its server: static-server-missing
        add(
            Finding(
                Severity.ERROR,
                "method-switch-dhcp",
                name,
                facts.line("prov.download.method"),
                f"prov.download.method = {method} while the server still comes from DHCP: "
                f"after applying it, devices ask the same server over {method.upper()}, and "
                f"this folder is served over {context.protocol.upper()} (domain.md §4)",
                "for a hand-off set prov.server.method = static and prov.server.static; "
                f"otherwise remove prov.download.method (or check with --protocol {method})",
            )
        )
