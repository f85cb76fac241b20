"""The editor's tree view: typed editors in the value column, groups opened as they appear."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Slot
from PySide6.QtWidgets import QAbstractItemView, QTreeView, QWidget

from algodesk.ui.editor.delegate import ValueDelegate
from algodesk.ui.editor.filter import ParameterFilter
from algodesk.ui.editor.model import Column, ParameterModel

_WIDTHS = ((Column.KEY, 280), (Column.VALUE, 260), (Column.TYPE, 70))


class ParameterView(QTreeView):
    """Shows ``proxy`` (over ``model``); values are edited in place, several rows selectable."""

    def __init__(
        self, model: ParameterModel, proxy: ParameterFilter, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._model, self._filter = model, proxy
        self.setModel(proxy)
        self.setItemDelegateForColumn(Column.VALUE, ValueDelegate(model, self))
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        for column, width in _WIDTHS:
            self.header().resizeSection(column, width)
        proxy.rowsInserted.connect(self._on_filter_rows_inserted)

    def selected_keys(self) -> list[str]:
        """Keys of the selected parameter rows."""
        found = []
        for index in self.selectionModel().selectedRows():
            key = self._model.key_at(self._filter.mapToSource(index))
            if key is not None:
                found.append(key)
        return found

    def show_key(self, key: str) -> None:
        """Select and scroll to ``key`` (if the search shows it)."""
        index = self._filter.mapFromSource(self._model.key_index(key))
        if index.isValid():
            self.scrollTo(index)
            self.setCurrentIndex(index)

    @Slot(QModelIndex, int, int)
    def _on_filter_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if not parent.isValid():  # a new group: show its keys
            for row in range(first, last + 1):
                self.expand(self._filter.index(row, 0))
