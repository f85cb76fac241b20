"""A flat table over a Python list: the row, column and header plumbing every such model repeats."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex
RowT = TypeVar("RowT")


class ListTableModel(QAbstractTableModel, Generic[RowT]):
    """Rows held in ``_rows``, columns titled by ``headers``; subclasses provide ``data``."""

    headers: tuple[str, ...] = ()

    def __init__(self, parent: QObject | None = None, rows: Iterable[RowT] = ()) -> None:
        """Start with ``rows``."""
        super().__init__(parent)
        self._rows: list[RowT] = list(rows)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of rows (0 under any item: the model is flat)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of columns."""
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.headers)
        ):
            return self.headers[section]
        return None

    def item(self, row: int) -> RowT | None:
        """The row object shown in ``row`` (None outside the table)."""
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def item_at(self, index: Index) -> RowT | None:
        """The row object behind ``index`` (None when the index is invalid or off the table)."""
        if not index.isValid() or not 0 <= index.column() < len(self.headers):
            return None
        return self.item(index.row())

    def _replace_rows(self, rows: Iterable[RowT]) -> None:
        """Show ``rows`` instead, as one model reset."""
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()
