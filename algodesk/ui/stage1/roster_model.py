"""A device roster as a table: each CSV row with the parameters it sets and what the check said.

Valid rows show their MAC, product and parameters (secret values masked); a skipped row shows
why it was skipped; header problems show on line 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from PySide6.QtCore import Qt

from algodesk.core.catalog import is_secret, mask
from algodesk.core.diagnosis import Level
from algodesk.core.names import device_name
from algodesk.core.roster import Roster, RosterIssue, RosterRow, Severity
from algodesk.ui.widgets import status_style, text
from algodesk.ui.widgets.list_table_model import Index, ListTableModel


class Column(IntEnum):
    """The roster table's columns."""

    LINE = 0
    MAC = 1
    PRODUCT = 2
    FILE = 3
    PARAMETERS = 4
    CHECK = 5


HEADERS = ("Line", "MAC", "Product", "Served as", "Parameters", "Check")


@dataclass(frozen=True, slots=True)
class RosterLine:
    """One line of the roster: the valid row (None when skipped) and the issues on it."""

    line: int
    row: RosterRow | None
    issues: tuple[RosterIssue, ...]

    @property
    def level(self) -> Level:
        """OK, a warning, or an error (the row was skipped)."""
        if any(i.severity is Severity.ERROR for i in self.issues):
            return Level.ERROR
        return Level.WARNING if self.issues else Level.OK

    @property
    def check(self) -> str:
        """What the check said, in a few words."""
        if not self.issues:
            return "ok"
        return "; ".join(f"{i.column}: {i.message}" if i.column else i.message for i in self.issues)


def roster_lines(roster: Roster) -> list[RosterLine]:
    """Every line that is a device or has an issue, in file order."""
    by_line: dict[int, list[RosterIssue]] = {}
    for issue in roster.issues:
        by_line.setdefault(issue.line, []).append(issue)
    rows = {row.line: row for row in roster.rows}
    return [
        RosterLine(line, rows.get(line), tuple(by_line.get(line, ())))
        for line in sorted(rows.keys() | by_line.keys())
    ]


class RosterModel(ListTableModel[RosterLine]):
    """The roster's lines; read-only."""

    headers = HEADERS

    def set_roster(self, roster: Roster | None) -> None:
        """Show ``roster`` (None: nothing)."""
        self._replace_rows(roster_lines(roster) if roster is not None else [])

    def line(self, row: int) -> RosterLine | None:
        """The roster line shown in ``row``."""
        return self.item(row)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text; the check column is coloured by level."""
        line = self.item_at(index)
        if line is None:
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(line, column)
        if role == Qt.ItemDataRole.ToolTipRole and column in (Column.CHECK, Column.PARAMETERS):
            return _display(line, column)
        if column is Column.CHECK and role == Qt.ItemDataRole.ForegroundRole:
            return status_style.colour(line.level)
        if column is Column.CHECK and role == Qt.ItemDataRole.BackgroundRole:
            return status_style.tint(line.level)
        if column is Column.CHECK and role == Qt.ItemDataRole.DecorationRole:
            return status_style.icon(line.level)
        return None


def _display(line: RosterLine, column: Column) -> str:
    row = line.row
    if column is Column.LINE:
        return str(line.line)
    if column is Column.CHECK:
        return line.check
    if row is None:
        return "(header)" if column is Column.MAC and line.line == 1 else ""
    if column is Column.MAC:
        return text.mac(row.mac)
    if column is Column.PRODUCT:
        return row.product
    if column is Column.FILE:
        return device_name(row.mac)
    return ", ".join(f"{k}={mask(v) if is_secret(k) else v}" for k, v in row.params)
