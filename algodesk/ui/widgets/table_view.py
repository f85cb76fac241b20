"""The read-only table view every page uses."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QAbstractItemView, QScrollBar, QTableView, QWidget


def table(parent: QWidget) -> QTableView:
    """A read-only, row-selecting table view with a readable font."""
    view = QTableView(parent)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setHighlightSections(False)
    return view


class EndFollower(QObject):
    """Keeps a view scrolled to its newest (last) row while the user has not scrolled away."""

    def __init__(self, view: QTableView) -> None:
        super().__init__(view)
        self._bar: QScrollBar = view.verticalScrollBar()
        self._at_end = True
        self._bar.valueChanged.connect(self._on_bar_value_changed)
        self._bar.rangeChanged.connect(self._on_bar_range_changed)

    @Slot(int)
    def _on_bar_value_changed(self, value: int) -> None:
        self._at_end = value >= self._bar.maximum() - 2

    @Slot(int, int)
    def _on_bar_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._at_end:
            self._bar.setValue(maximum)
