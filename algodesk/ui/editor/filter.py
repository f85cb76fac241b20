"""The editor's search: every word must appear in the key, the value or the description.

A masked secret's value is not searched (a search must not tell what a hidden password holds).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt

from algodesk.ui.editor.model import ParameterModel

Index = QModelIndex | QPersistentModelIndex


class ParameterFilter(QSortFilterProxyModel):
    """Rows of :class:`ParameterModel` matching the search; groups show while a key matches."""

    def __init__(self, model: ParameterModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._words: list[str] = []
        self.problems_only = False
        self.setRecursiveFilteringEnabled(True)
        self.setSourceModel(model)

    @contextmanager
    def changing_filter(self) -> Iterator[None]:
        """Re-filter rows after the body changes the criteria."""
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+: invalidateRowsFilter is deprecated
            self.beginFilterChange()
            yield
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            yield
            self.invalidateRowsFilter()

    def set_search(self, text: str) -> None:
        """Show only keys whose key, value or description hold every word of ``text``."""
        with self.changing_filter():
            self._words = text.lower().split()

    def set_problems_only(self, only: bool) -> None:
        """Show only keys whose value does not fit or that are written twice."""
        with self.changing_filter():
            self.problems_only = only

    @property
    def active(self) -> bool:
        """Whether any row may be hidden."""
        return bool(self._words) or self.problems_only

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """A group header counts the keys shown while a search or the flag filter is on."""
        if (
            self.active
            and role == Qt.ItemDataRole.DisplayRole
            and index.column() == 0
            and not index.parent().isValid()
        ):
            group = self._model.group_at(self.mapToSource(index))
            if group is not None:
                shown, size = self.rowCount(index), self._model.group_size(group)
                return f"{group}  ({shown} of {size})"
        return super().data(index, role)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        """Group rows only through a matching key (recursive filtering); keys by their text."""
        model = self._model
        key = model.key_at(model.index(source_row, 0, source_parent))
        if key is None:
            return not self.active
        if self.problems_only and not model.flagged(key):
            return False
        if not self._words:
            return True
        info = model.info(key)
        value = model.value(key) or ""
        shown = "" if model.shows_secret(key) and not model.reveal else value
        haystack = f"{key} {shown} {info.description if info else ''}".lower()
        return all(word in haystack for word in self._words)
