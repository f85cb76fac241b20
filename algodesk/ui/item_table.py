"""Tables whose cells live in Qt (C++) and are refreshed in batches from Python.

Why not a Python ``QAbstractTableModel``: the engine's thread runs Python at full speed while
devices boot, and every ``data()`` call a view makes while painting must take the interpreter
lock from it, often waiting a whole switch interval. Measured with a busy Python thread: 200-row
table, p99 event-loop lateness over 1 s with a Python model, a few ms with the cells stored in a
``QStandardItemModel``. So the models here compute each row's values once per refresh tick (one
lock hold) and paint needs no Python at all; progress bars are a gradient background for the
same reason (a Python delegate would run per painted cell).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QGradient,
    QLinearGradient,
    QStandardItem,
    QStandardItemModel,
)

from algodesk.ui.dirty import contiguous_ranges

PROGRESS_ROLE = Qt.ItemDataRole.UserRole.value + 1
"""A cell's progress fraction 0..1 (None: no bar)."""
OBJECT_ROLE = Qt.ItemDataRole.UserRole.value + 2
"""The object a row shows (set on its first cell)."""
SEARCH_ROLE = Qt.ItemDataRole.UserRole.value + 3
"""Lower-case text the filters match (set on the first cell)."""

TRIM_ROWS = 100
"""Rows past a table's limit that are dropped together: removing rows from the front costs the
whole table each time, and 100 at a time keeps each removal to a couple of milliseconds."""

ROLES: tuple[int, ...] = (
    Qt.ItemDataRole.DisplayRole.value,
    Qt.ItemDataRole.DecorationRole.value,
    Qt.ItemDataRole.ForegroundRole.value,
    Qt.ItemDataRole.BackgroundRole.value,
    Qt.ItemDataRole.ToolTipRole.value,
    PROGRESS_ROLE,
)
"""The roles a cell's values are given for, in order."""

Values = tuple[Any, ...]
"""One cell: a value per role of :data:`ROLES` (None: unset)."""

_BAR = QColor("#64b5f6")
_CLEAR = QColor(0, 0, 0, 0)
_FLAGS = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled


def cell(
    text: str,
    *,
    icon: object = None,
    foreground: object = None,
    background: object = None,
    tooltip: str | None = None,
    progress: float | None = None,
) -> Values:
    """The values of one cell; a progress fraction also paints a bar behind the text."""
    if progress is not None:
        background = progress_brush(round(progress * 100))
    return (text, icon, foreground, background, tooltip, progress)


@cache
def progress_brush(percent: int) -> QBrush:
    """A cell background filled ``percent`` % from the left (a progress bar drawn by Qt)."""
    gradient = QLinearGradient(0, 0, 1, 0)
    gradient.setCoordinateMode(QGradient.CoordinateMode.ObjectMode)
    edge = max(0, min(100, percent)) / 100
    gradient.setColorAt(0.0, _BAR)
    gradient.setColorAt(edge, _BAR)
    gradient.setColorAt(min(1.0, edge + 0.0001), _CLEAR)
    gradient.setColorAt(1.0, _CLEAR)
    return QBrush(gradient)


class ItemTable(QStandardItemModel):
    """Rows of cells plus the Python object each row shows; only changed cells are rewritten."""

    def __init__(self, headers: Sequence[str], parent: QObject | None = None) -> None:
        super().__init__(0, len(headers), parent)
        self.setHorizontalHeaderLabels(list(headers))
        self._objects: list[Any] = []
        self._shown: list[list[Any]] = []  # per row: each cell's values, then the search text

    def object_at(self, row: int) -> Any:
        """The object shown in ``row`` (None outside the table)."""
        return self._objects[row] if 0 <= row < len(self._objects) else None

    def objects(self) -> list[Any]:
        """Every object shown, in row order."""
        return list(self._objects)

    def append_rows(self, rows: Sequence[tuple[Any, list[Values], str]]) -> None:
        """Append ``(object, cells, search text)`` rows.

        Items are filled before they join the model, so views and filters see each row once,
        complete, with no per-cell signals.
        """
        for shown, cells, search in rows:
            items = [_item(values) for values in cells]
            items[0].setData(shown, OBJECT_ROLE)
            items[0].setData(search, SEARCH_ROLE)
            self.appendRow(items)
            self._objects.append(shown)
            self._shown.append([*cells, search])

    def update_rows(self, updates: Iterable[tuple[int, list[Values], str]]) -> None:
        """Rewrite the cells that changed in ``(row, cells, search text)`` updates.

        Cells are rewritten silently, then one ``dataChanged`` goes out per contiguous range of
        changed rows: a tick that touches 200 rows costs the views one repaint.
        """
        changed: list[int] = []
        was_blocked = self.blockSignals(True)
        try:
            for row, cells, search in updates:
                shown = self._shown[row]
                dirty = False
                for column, values in enumerate(cells):
                    if values != shown[column]:
                        roles = dict(zip(ROLES, values, strict=True))
                        self.setItemData(self.index(row, column), roles)
                        shown[column] = values
                        dirty = True
                if search != shown[-1]:
                    self.setData(self.index(row, 0), search, SEARCH_ROLE)
                    shown[-1] = search
                    dirty = True
                if dirty:
                    changed.append(row)
        finally:
            self.blockSignals(was_blocked)
        last = self.columnCount() - 1
        for first, end in contiguous_ranges(changed):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last))

    def remove_rows(self, first: int, count: int) -> None:
        """Remove ``count`` rows from ``first``."""
        if count > 0:
            self.removeRows(first, count, QModelIndex())
            del self._objects[first : first + count]
            del self._shown[first : first + count]

    def clear_rows(self) -> None:
        """Remove every row."""
        self.remove_rows(0, self.rowCount())


def _item(values: Values) -> QStandardItem:
    item = QStandardItem(values[0])
    item.setFlags(_FLAGS)
    for role, value in zip(ROLES[1:], values[1:], strict=True):
        if value is not None:
            item.setData(value, role)
    return item
