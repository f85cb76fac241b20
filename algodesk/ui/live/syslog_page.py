"""The Syslog page (every line received, filterable) and the Live page's per-device syslog pane."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from algodesk.core.tracker import TrackedDevice
from algodesk.ui.live.syslog_model import DeviceSyslogModel, SyslogFilter, SyslogModel
from algodesk.ui.widgets.table_view import table

SEVERITIES = (
    ("Every severity", 7),
    ("info and worse", 6),
    ("notice and worse", 5),
    ("warning and worse", 4),
    ("err and worse", 3),
)


def follower(view: QTableView) -> QTimer:
    """A timer that, once per batch of new rows, keeps the newest in sight at the bottom."""

    def follow() -> None:
        bar = view.verticalScrollBar()
        if bar.value() >= bar.maximum() - 2:
            view.scrollToBottom()

    timer = QTimer(view)
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(follow)
    return timer


class SyslogPage(QWidget):
    """A filter row over every syslog line (newest at the bottom, followed while at the end)."""

    def __init__(self, model: SyslogModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.filter = SyslogFilter(self)
        self.filter.setSourceModel(model)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Filter syslog lines (address, MAC, text)…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.filter.set_text)
        self.severity = QComboBox(self)
        for label, worst in SEVERITIES:
            self.severity.addItem(label, worst)
        self.severity.currentIndexChanged.connect(
            lambda _index: self.filter.set_severity(int(self.severity.currentData()))
        )
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.clicked.connect(model.clear)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.severity)
        row.addWidget(self.clear_button)

        self.table = table(self)
        self.table.setModel(self.filter)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((80, 110, 150, 80, 170)):
            header.resizeSection(column, width)
        self._following = follower(self.table)
        model.rowsInserted.connect(lambda *_args: self._following.start())

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)


class DeviceSyslogView(QWidget):
    """The selected device's syslog lines, kept up to date on every refresh."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = DeviceSyslogModel(self)
        self.device: TrackedDevice | None = None
        self.table = table(self)
        self.table.setModel(self.model)
        header = self.table.horizontalHeader()
        for column, width in enumerate((80, 80, 170)):
            header.resizeSection(column, width)
        self._following = follower(self.table)
        self.model.rowsInserted.connect(lambda *_args: self._following.start())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

    def show_device(self, device: TrackedDevice | None) -> None:
        """Show ``device``'s lines (or none)."""
        self.device = device
        self.model.show_lines(list(device.syslog) if device is not None else [])

    def refresh(self) -> None:
        """Append the lines the shown device logged since the last refresh."""
        if self.device is not None:
            self.model.follow(list(self.device.syslog))
