"""A table of requests (timeline entries), appended and updated in batches.

The Transfers page shows every request; the Live page's timeline shows one device's. Both keep
their own list of rows (bounded, oldest dropped first) so what Qt sees only changes inside
:meth:`EntryTableModel.apply`, never behind its back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from algodesk.core.diagnosis import Level
from algodesk.core.tracker import Outcome, TimelineEntry
from algodesk.ui import status_style
from algodesk.ui.dirty import contiguous_ranges
from algodesk.ui.progress_delegate import PROGRESS_ROLE

Index = QModelIndex | QPersistentModelIndex
Cell = Callable[[TimelineEntry], str]

OUTCOME_LEVELS: dict[Outcome, Level] = {
    Outcome.REQUESTED: Level.INFO,
    Outcome.SENDING: Level.WORKING,
    Outcome.SERVED: Level.OK,
    Outcome.NOT_FOUND: Level.WARNING,
    Outcome.REFUSED: Level.WARNING,
    Outcome.FAILED: Level.ERROR,
}
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 2
"""The row's :class:`TimelineEntry` (for filters and details)."""


def outcome_text(entry: TimelineEntry) -> str:
    """``served``, ``failed: timeout``, ``not found``."""
    if entry.reason and entry.outcome in (Outcome.FAILED, Outcome.REFUSED):
        return f"{entry.outcome.value}: {entry.reason}"
    return entry.outcome.value


class EntryTableModel(QAbstractTableModel):
    """Rows of timeline entries with the given columns."""

    def __init__(
        self,
        columns: Sequence[tuple[str, Cell]],
        *,
        limit: int,
        progress_column: int | None = None,
        outcome_column: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._columns = list(columns)
        self._limit = limit
        self._progress_column = progress_column
        self._outcome_column = outcome_column
        self._entries: list[TimelineEntry] = []
        self._positions: dict[int, int] = {}
        self._dropped = 0

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of rows (0 under any item: the model is flat)."""
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of columns."""
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self._columns)
        ):
            return self._columns[section][0]
        return None

    def entry(self, row: int) -> TimelineEntry | None:
        """The entry in ``row``."""
        return self._entries[row] if 0 <= row < len(self._entries) else None

    def shows(self, entry: TimelineEntry) -> bool:
        """Whether ``entry`` has a row."""
        return id(entry) in self._positions

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text, outcome colour and icon, and the progress fraction."""
        entry = self.entry(index.row()) if index.isValid() else None
        if entry is None or not 0 <= index.column() < len(self._columns):
            return None
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._columns[column][1](entry)
        if role == ENTRY_ROLE:
            return entry
        if role == PROGRESS_ROLE and column == self._progress_column:
            return entry.fraction if entry.outcome is not Outcome.NOT_FOUND else None
        if column == self._outcome_column:
            level = OUTCOME_LEVELS[entry.outcome]
            if role == Qt.ItemDataRole.ForegroundRole:
                return status_style.colour(level)
            if role == Qt.ItemDataRole.DecorationRole:
                return status_style.icon(level)
        if role == Qt.ItemDataRole.ToolTipRole and entry.reason:
            return entry.reason
        return None

    def reset(self, entries: Iterable[TimelineEntry]) -> None:
        """Show exactly ``entries`` (the newest ``limit`` of them)."""
        self.beginResetModel()
        self._entries = list(entries)[-self._limit :]
        self._dropped = 0
        self._positions = {id(e): row for row, e in enumerate(self._entries)}
        self.endResetModel()

    def apply(self, new: Sequence[TimelineEntry], updated: Iterable[TimelineEntry]) -> None:
        """Append ``new`` rows, repaint ``updated`` ones, and drop the oldest past the limit."""
        rows = [
            position - self._dropped
            for e in updated
            if (position := self._positions.get(id(e))) is not None
        ]
        for first, last in contiguous_ranges(rows):
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(self._columns) - 1))
        new = [e for e in new if id(e) not in self._positions][-self._limit :]
        overflow = len(self._entries) + len(new) - self._limit
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            for entry in self._entries[:overflow]:
                del self._positions[id(entry)]
            del self._entries[:overflow]
            self._dropped += overflow
            self.endRemoveRows()
        if new:
            first = len(self._entries)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for offset, entry in enumerate(new):
                self._positions[id(entry)] = self._dropped + first + offset
            self._entries.extend(new)
            self.endInsertRows()
