"""The Transfers page: every request and transfer, filterable by text and outcome."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QHeaderView, QLineEdit, QVBoxLayout, QWidget

from algodesk.ui.live.transfer_model import (
    OUTCOME_FILTERS,
    PROGRESS_COLUMN,
    TransferFilter,
    TransferTableModel,
)
from algodesk.ui.widgets.item_table import BarWidth
from algodesk.ui.widgets.table_view import EndFollower, table


class TransfersPage(QWidget):
    """A filter row over the transfer table (newest at the bottom, followed while at the end)."""

    def __init__(self, model: TransferTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter = TransferFilter(self)
        self.filter.setSourceModel(model)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Filter by client, device or file…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter.set_text)
        self.outcome = QComboBox(self)
        self.outcome.addItems(list(OUTCOME_FILTERS))
        self.outcome.currentTextChanged.connect(self.filter.set_outcomes)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.outcome)

        self.table = table(self)
        self.table.setModel(self.filter)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((80, 150, 150, 300, 160, 80, 90)):
            header.resizeSection(column, width)
        self._bars = BarWidth(self.table, PROGRESS_COLUMN)
        self._bars.follow(model)
        EndFollower(self.table)

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
