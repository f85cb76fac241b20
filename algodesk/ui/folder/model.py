"""The Folder page's table: each file, what it is to a device, its md5 state and findings."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import Qt

from algodesk.core import md5, names
from algodesk.core.diagnosis import Level
from algodesk.ui.widgets import status_style, text
from algodesk.ui.widgets.list_table_model import Index, ListTableModel

HEADERS = ("File", "What it is", "Size", "md5", "Findings")
FOLDER_ROW = "(folder)"


class Finding(Protocol):
    """What :func:`algodesk.core.checks.check_folder` reports (read-only view)."""

    @property
    def severity(self) -> Enum:
        """error, warning or info."""
        ...

    @property
    def code(self) -> str:
        """Stable kebab-case code."""
        ...

    @property
    def file(self) -> str:
        """The file concerned ("" for the folder)."""
        ...

    @property
    def line(self) -> int | None:
        """The line concerned, if any."""
        ...

    @property
    def message(self) -> str:
        """What is wrong."""
        ...

    @property
    def fix(self) -> str:
        """What to do."""
        ...


FolderChecker = Callable[..., Sequence[Finding]]
"""``checker(folder)``; a :class:`~algodesk.core.checks.BenchChecker` also takes
``from_memory=`` (the names the bench serves from memory)."""
_LEVELS = {"error": Level.ERROR, "warning": Level.WARNING, "info": Level.INFO}


def finding_level(finding: Finding) -> Level:
    """The colour level of a finding's severity."""
    return _LEVELS.get(str(finding.severity.value), Level.INFO)


def finding_text(finding: Finding) -> str:
    """``error, line 12: message — fix``."""
    where = f", line {finding.line}" if finding.line else ""
    fix = f" — {finding.fix}" if finding.fix else ""
    return f"{finding.severity.value}{where}: {finding.message}{fix}"


@dataclass(slots=True)
class FolderRow:
    """One file of the folder (or the folder itself, for findings about no single file)."""

    name: str
    what: str = ""
    size: int | None = None
    md5_state: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def level(self) -> Level | None:
        """The worst finding's level."""
        levels = [finding_level(f) for f in self.findings]
        return max(levels, key=lambda level: level.rank) if levels else None


def md5_state(folder: Path, name: str, present: set[str], *, auto_md5: bool) -> str:
    """Whether a file's md5 exists and matches, or which file an md5 file checks.

    Configs, data files and ``.fw`` images need an md5 (domain.md §3, §4); a signed ``.sfw``
    does not.
    """
    kind = names.classify(Path(name).name)  # "firmware/x.sfw": the path is the fwpath
    if kind.kind is names.FileKind.MD5:
        stem = name[: -len(".md5")]
        checked = sorted(n for n in present if n != name and n.rsplit(".", 1)[0] == stem)
        return f"checks {', '.join(checked)}" if checked else "checks no file here"
    needed = kind.is_config or kind.kind is names.FileKind.DATA or name.endswith(".fw")
    if kind.kind is names.FileKind.OTHER:
        return ""
    checksum = md5.md5_name(name)
    if checksum not in present:
        if not needed:
            return "not needed"
        # the bench answers a config's or a data file's md5 itself (as the check's bench context)
        answered = auto_md5 and (kind.is_config or kind.kind is names.FileKind.DATA)
        return "none (answered automatically)" if answered else "missing"
    try:
        ok = md5.verify((folder / checksum).read_bytes(), (folder / name).read_bytes())
    except OSError as error:
        return f"unreadable ({error.strerror})"
    return "matches" if ok else "does not match"


def scan(folder: Path, findings: Sequence[Finding], *, auto_md5: bool) -> list[FolderRow]:
    """The rows for ``folder``: folder-wide findings first, then files by name."""
    files: dict[str, FolderRow] = {}
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_file():
                files[entry.name] = FolderRow(entry.name, size=entry.stat().st_size)
            elif entry.is_dir():
                # one level down: where a firmware path (prov.download.fwpath) leads (guide §2)
                with contextlib.suppress(OSError), os.scandir(entry.path) as inside:
                    for sub in sorted(inside, key=lambda e: e.name):
                        if sub.is_file():
                            name = f"{entry.name}/{sub.name}"
                            files[name] = FolderRow(name, size=sub.stat().st_size)
    present = set(files)
    for row in files.values():
        row.what = names.describe(names.classify(Path(row.name).name))
        row.md5_state = md5_state(folder, row.name, present, auto_md5=auto_md5)
    general = FolderRow(FOLDER_ROW, what="the provisioning folder")
    for finding in findings:
        base = Path(finding.file).name if finding.file else ""
        files.get(finding.file, files.get(base, general)).findings.append(finding)
    return ([general] if general.findings else []) + list(files.values())


def worst_first(row: FolderRow) -> list[Finding]:
    """The row's findings, errors first (a stable sort keeps the checks' order otherwise)."""
    return sorted(row.findings, key=lambda f: -finding_level(f).rank)


def findings_line(row: FolderRow) -> str:
    """One line for the table: the worst finding, and how many more (the tooltip and the
    details pane show them all)."""
    if not row.findings:
        return ""
    first = worst_first(row)[0]
    more = len(row.findings) - 1
    return finding_text(first) + (f"  (+{more} more)" if more else "")


class FolderModel(ListTableModel[FolderRow]):
    """Rows from :func:`scan`, replaced as a whole on :meth:`load`."""

    headers = HEADERS

    def rows(self) -> list[FolderRow]:
        """The rows shown."""
        return list(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text; the findings column carries the worst finding's colour and icon."""
        row = self.item_at(index)
        if row is None:
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 4:
                return findings_line(row)
            return (row.name, row.what, text.size(row.size), row.md5_state)[column]
        level = row.level
        bad_md5 = row.md5_state in ("missing", "does not match")
        if column == 3 and role == Qt.ItemDataRole.ForegroundRole and bad_md5:
            return status_style.colour(Level.ERROR)
        if column == 4 and level is not None:
            if role == Qt.ItemDataRole.DecorationRole:
                return status_style.icon(level)
            if role == Qt.ItemDataRole.ForegroundRole:
                return status_style.colour(level)
        if column == 4 and role == Qt.ItemDataRole.ToolTipRole and row.findings:
            return "\n".join(finding_text(f) for f in worst_first(row))
        return None

    def load(self, rows: list[FolderRow]) -> None:
        """Show ``rows`` (from :func:`scan`)."""
        self._replace_rows(rows)
