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
from functools import lru_cache
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Slot
from PySide6.QtGui import (
    QBrush,
    QColor,
    QLinearGradient,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import QTableView

from algodesk.ui.widgets.dirty import contiguous_ranges

PROGRESS_ROLE = Qt.ItemDataRole.UserRole.value + 1
"""A cell's progress fraction 0..1 (None: no bar)."""
OBJECT_ROLE = Qt.ItemDataRole.UserRole.value + 2
"""The object a row shows (set on its first cell)."""
SEARCH_ROLE = Qt.ItemDataRole.UserRole.value + 3
"""Lower-case text the filters match (set on the first cell)."""

TRIM_ROWS = 25
"""Rows past a table's limit that are dropped together, and the most one ``removeRows`` call
takes. Removing rows from the front of a 3,000-row table costs more than linearly in the rows
removed (measured, 8 columns: 25 rows 0.2-1 ms, 100 rows 1-25 ms with spikes past 100 ms,
1,000 rows 100-240 ms), so small removals often keep every GUI slice short."""

JOIN_GAP = 32
"""Changed rows this close together go out in one ``dataChanged``."""

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

_BACKGROUND = Qt.ItemDataRole.BackgroundRole.value
_PROGRESS = ROLES.index(PROGRESS_ROLE)
_TINT = ROLES.index(_BACKGROUND)
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
    """The values of one cell; a progress fraction also paints a bar behind the text (the
    table draws it, as wide as the column: :meth:`ItemTable.set_bar_width`)."""
    return (text, icon, foreground, background, tooltip, progress)


@lru_cache(maxsize=1024)
def progress_brush(percent: int, width: int) -> QBrush:
    """A cell background filled ``percent`` % of ``width`` pixels from the left (a bar drawn by
    Qt). In logical coordinates: an item view sets the brush origin to the cell's top-left before
    it fills the cell, so 0..width spans the cell. (A gradient in object mode was shifted by the
    cell's offset twice: a bar in the fifth column showed full at 21 %.)"""
    edge = max(0, min(100, percent)) / 100
    if edge >= 1.0:
        return QBrush(_BAR)  # a stop for "clear" at 1.0 would replace the bar's own and fade it
    gradient = QLinearGradient(0, 0, max(width, 1), 0)
    gradient.setColorAt(0.0, _BAR)
    gradient.setColorAt(edge, _BAR)
    gradient.setColorAt(min(1.0, edge + 0.0001), _CLEAR)
    gradient.setColorAt(1.0, _CLEAR)
    return QBrush(gradient)


class BarWidth(QObject):
    """Keeps a table's progress bars as wide as their column, whichever model it shows."""

    def __init__(self, view: QTableView, column: int) -> None:
        super().__init__(view)
        self._view = view
        self._column = column
        self._model: ItemTable | None = None
        view.horizontalHeader().sectionResized.connect(self._on_section_resized)

    def follow(self, model: ItemTable) -> None:
        """Draw ``model``'s bars (the view shows it, maybe through a filter)."""
        self._model = model
        model.set_bar_width(self._view.columnWidth(self._column))

    @Slot(int, int, int)
    def _on_section_resized(self, column: int, _old: int, new: int) -> None:
        if column == self._column and self._model is not None:
            self._model.set_bar_width(new)


class ItemTable(QStandardItemModel):
    """Rows of cells plus the Python object each row shows; only changed cells are rewritten."""

    def __init__(self, headers: Sequence[str], parent: QObject | None = None) -> None:
        super().__init__(0, len(headers), parent)
        self.setHorizontalHeaderLabels(list(headers))
        self._objects: list[Any] = []
        self._shown: list[list[Any]] = []  # per row: each cell's values, then the search text
        self._bar_width = 100

    def set_bar_width(self, width: int) -> None:
        """Progress bars span ``width`` pixels (their column's width in the view)."""
        if width == self._bar_width or width <= 0:
            return
        self._bar_width = width
        rows: list[int] = []
        was_blocked = self.blockSignals(True)
        try:
            for row, shown in enumerate(self._shown):
                for column, values in enumerate(shown[:-1]):
                    if values[_PROGRESS] is not None:
                        self.setData(self.index(row, column), self._bar(values), _BACKGROUND)
                        rows.append(row)
        finally:
            self.blockSignals(was_blocked)
        last = self.columnCount() - 1
        for first, end in contiguous_ranges(rows):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last))

    def _bar(self, values: Values) -> QBrush:
        return progress_brush(round(values[_PROGRESS] * 100), self._bar_width)

    def _roles(self, values: Values) -> dict[int, Any]:
        roles = dict(zip(ROLES, values, strict=True))
        if values[_PROGRESS] is not None:
            roles[_BACKGROUND] = self._bar(values)
        return roles

    def object_at(self, row: int) -> Any:
        """The object shown in ``row`` (None outside the table)."""
        return self._objects[row] if 0 <= row < len(self._objects) else None

    def objects(self) -> list[Any]:
        """Every object shown, in row order."""
        return list(self._objects)

    def _item(self, values: Values) -> QStandardItem:
        item = QStandardItem(values[0])
        item.setFlags(_FLAGS)
        for role, value in self._roles(values).items():
            if value is not None and role != ROLES[0]:
                item.setData(value, role)
        return item

    def append_rows(self, rows: Sequence[tuple[Any, list[Values], str]]) -> None:
        """Append ``(object, cells, search text)`` rows.

        Items are filled before they join the model, so views and filters see each row once,
        complete, with no per-cell signals.
        """
        for shown, cells, search in rows:
            items = [self._item(values) for values in cells]
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
                    was = shown[column]
                    if values != was:
                        self._rewrite(row, column, values, was)
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
        # Rewritten rows are scattered (progress of transfers started at different times): one
        # signal per nearby group, not per run of rows (500 devices: 560 signals a second).
        for first, end in contiguous_ranges(changed, gap=JOIN_GAP):
            self.dataChanged.emit(self.index(first, 0), self.index(end, last))

    def _rewrite(self, row: int, column: int, values: Values, was: Values) -> None:
        """Set the roles of a cell whose values changed from ``was``: usually the text alone (a
        progress figure, "last seen"), so one role rather than all of them."""
        item = self.item(row, column)
        for role, value, old in zip(ROLES, values, was, strict=True):
            if value != old and role != _BACKGROUND:
                item.setData(value, role)
        if values[_PROGRESS] != was[_PROGRESS] or values[_TINT] != was[_TINT]:
            # a progress bar is drawn as the background, over any tint (as ``_roles``)
            bar = values[_PROGRESS] is not None
            item.setData(self._bar(values) if bar else values[_TINT], _BACKGROUND)

    def remove_rows(self, first: int, count: int) -> None:
        """Remove ``count`` rows from ``first``, at most :data:`TRIM_ROWS` per Qt call."""
        while count > 0:
            chunk = min(count, TRIM_ROWS)
            self.removeRows(first, chunk, QModelIndex())
            del self._objects[first : first + chunk]
            del self._shown[first : first + chunk]
            count -= chunk

    def clear_rows(self) -> None:
        """Remove every row."""
        self.remove_rows(0, self.rowCount())
