"""The Log page: every event, filterable by kind and text."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from algodesk.ui.live.log_model import LogFilter, LogModel
from algodesk.ui.widgets.table_view import EndFollower, table

KINDS = (
    ("All events", ""),
    ("Requests", "request"),
    ("Refusals", "refused"),
    ("Transfers started", "transfer-started"),
    ("Progress", "progress"),
    ("Transfers finished", "transfer-finished"),
    ("Transfers failed", "transfer-failed"),
    ("Leases", "lease"),
    ("Server", "server-started"),
    ("Server failures", "server-failed"),
    ("Notices", "notice"),
    ("Syslog", "syslog"),
)


class LogPage(QWidget):
    """A filter row over the event log (newest at the bottom, followed while at the end)."""

    def __init__(self, model: LogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.filter = LogFilter(self)
        self.filter.setSourceModel(model)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Filter events…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter.set_text)
        self.kind = QComboBox(self)
        for label, kind in KINDS:
            self.kind.addItem(label, kind)
        self.kind.currentIndexChanged.connect(
            lambda _index: self.filter.set_kind(self.kind.currentData())
        )
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.clicked.connect(model.clear)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.kind)
        row.addWidget(self.clear_button)

        self.table = table(self)
        self.table.setModel(self.filter)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((80, 130, 150)):
            header.resizeSection(column, width)
        EndFollower(self.table)

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
