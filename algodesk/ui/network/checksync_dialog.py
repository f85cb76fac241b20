"""Check-sync from the Live table: NOTIFY the selected devices and show each one's answer.

The NOTIFYs go out on a thread of ours (``algodesk-checksync``): a silent device takes the whole
timeout to give up on, and the window must stay alive meanwhile. Results come back by signal.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from algodesk.core.diagnosis import Level
from algodesk.core.sip_notify import CHECKSYNC_NOTE, Notify, SipError
from algodesk.core.wording import count
from algodesk.services.checksync import NOTHING_LISTENS, NotifyResult, NotifyTarget
from algodesk.services.settings import Settings
from algodesk.ui.widgets import status_style
from algodesk.ui.widgets.list_table_model import Index, ListTableModel
from algodesk.ui.widgets.table_view import table

Sender = Callable[[list[NotifyTarget]], list[NotifyResult]]
"""Sends the NOTIFYs and waits for the answers (``check_sync`` with a timeout and a sink)."""
HEADERS = ("Device", "Address", "Extension", "Answer")
_ADDRESS, _EXTENSION, _ANSWER = 1, 2, 3


def check_extension(extension: str) -> str:
    """``extension`` when a NOTIFY can carry it in its request URI; SipError otherwise."""
    Notify("127.0.0.1", 5060, extension, False, "127.0.0.1", 1)
    return extension


def answer_level(result: NotifyResult) -> Level:
    """OK for 2xx, a warning for a refusal, an error for silence."""
    if result.ok:
        return Level.OK
    return Level.ERROR if result.status is None else Level.WARNING


def answer_text(result: NotifyResult) -> str:
    """``200 OK (12 ms)``, ``486 Busy Here``, ``no answer (timeout)``."""
    if result.reason == NOTHING_LISTENS:
        return "nothing listens on its SIP port (port unreachable)"
    if result.status is None:
        return f"no answer ({result.reason})"
    return f"{result.status} {result.reason} ({result.elapsed * 1000:.0f} ms)"


class CheckSyncModel(ListTableModel[list[str]]):
    """One row per device to NOTIFY: who, where, which extension, and what it answered."""

    headers = HEADERS

    def __init__(
        self, rows: Sequence[tuple[str, str]], extension: str, parent: QObject | None = None
    ) -> None:
        """Rows of ``(device label, address)``, each with ``extension`` to start with."""
        super().__init__(parent, ([label, host, extension] for label, host in rows))
        self._answers: list[NotifyResult | None] = [None] * len(self._rows)
        self._sending = False

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Address and extension are editable (not while sending)."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = super().flags(index)
        if index.column() in (_ADDRESS, _EXTENSION) and not self._sending:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text; the answer's colour and icon."""
        row = self.item_at(index)
        if row is None:
            return None
        column = index.column()
        result = self._answers[index.row()]
        if column != _ANSWER:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                return row[column]
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if result is None:
                return "sending…" if self._sending else ""
            return answer_text(result)
        if result is not None and role == Qt.ItemDataRole.ForegroundRole:
            return status_style.colour(answer_level(result))
        if result is not None and role == Qt.ItemDataRole.DecorationRole:
            return status_style.icon(answer_level(result))
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """Take an address without spaces, or an extension a SIP request URI can carry."""
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or self._sending:
            return False
        raw = str(value).strip()
        if index.column() == _ADDRESS:
            if not raw or any(c.isspace() for c in raw):
                return False
        elif index.column() == _EXTENSION:
            try:
                check_extension(raw)
            except SipError:
                return False
        else:
            return False
        self._rows[index.row()][index.column()] = raw
        self.dataChanged.emit(index, index)
        return True

    def set_extension(self, extension: str) -> bool:
        """Use ``extension`` for every row; False (nothing changed) when it is not valid."""
        try:
            check_extension(extension)
        except SipError:
            return False
        for row in self._rows:
            row[_EXTENSION] = extension
        self._repaint(_EXTENSION)
        return True

    def add_address(self, host: str) -> None:
        """A row for an address typed by hand (a device not in the Live table)."""
        row = len(self._rows)
        extension = self._rows[-1][_EXTENSION] if self._rows else ""
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(["", host, extension])
        self._answers.append(None)
        self.endInsertRows()

    def targets(self, port: int, reboot: bool) -> list[NotifyTarget]:
        """What to send, one target per row."""
        return [
            NotifyTarget(host, port, extension, reboot) for _label, host, extension in self._rows
        ]

    def set_sending(self) -> None:
        """Forget earlier answers and show every row waiting."""
        self._sending = True
        self._answers = [None] * len(self._rows)
        self._repaint(_ANSWER)

    def set_results(self, results: Sequence[NotifyResult]) -> None:
        """Show the answers (in row order, as ``check_sync`` returns them)."""
        self._sending = False
        self._answers = list(results) + [None] * (len(self._rows) - len(results))
        self._repaint(0, len(HEADERS) - 1)

    def result(self, row: int) -> NotifyResult | None:
        """The answer of ``row`` (None before one came)."""
        return self._answers[row] if 0 <= row < len(self._answers) else None

    def _repaint(self, first: int, last: int | None = None) -> None:
        if self._rows:
            bottom = len(self._rows) - 1
            self.dataChanged.emit(
                self.index(0, first), self.index(bottom, first if last is None else last)
            )


class CheckSyncWorker(QObject):
    """Runs the sender on a named thread and hands the results back on the GUI thread."""

    finished = Signal(object)
    """The list of :class:`NotifyResult`, in target order."""

    def __init__(self, send: Sender, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._send = send
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether NOTIFYs are out."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, targets: list[NotifyTarget]) -> None:
        """Send to ``targets``; :attr:`finished` follows."""
        if self.running:
            raise RuntimeError("check-sync already running")

        def run() -> None:
            self.finished.emit(self._send(targets))

        self._thread = threading.Thread(target=run, name="algodesk-checksync", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Block until the NOTIFYs are answered or timed out."""
        if self._thread is not None:
            self._thread.join()


class CheckSyncDialog(QDialog):
    """Address, extension, port and reboot flag for the chosen devices; then every answer."""

    def __init__(
        self,
        rows: Sequence[tuple[str, str]],
        settings: Settings,
        send: Sender,
        parent: QWidget | None = None,
    ) -> None:
        """NOTIFY ``rows`` (``(device label, address)``) with ``send``; remembers port and ext."""
        super().__init__(parent)
        self.setWindowTitle("Check-sync")
        self.settings = settings
        self.model = CheckSyncModel(rows, settings.checksync_extension, self)
        self.worker = CheckSyncWorker(send, self)
        self.worker.finished.connect(self._on_worker_finished)
        self._closing = False

        self.extension = QLineEdit(settings.checksync_extension, self)
        self.extension.setPlaceholderText("none: sip:<address>")
        self.extension.setToolTip("Devices may insist on the extension they registered")
        self.extension.textEdited.connect(self._on_extension_edited)
        self.port = QSpinBox(self)
        self.port.setRange(1, 65535)
        self.port.setValue(settings.checksync_port)
        self.reboot = QCheckBox("Force a reboot (check-sync;reboot=true)", self)
        form = QFormLayout()
        form.addRow("Extension (all rows)", self.extension)
        form.addRow("SIP port", self.port)
        form.addRow("", self.reboot)

        self.table = table(self)
        self.table.setModel(self.model)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.new_address = QLineEdit(self)
        self.new_address.setPlaceholderText("Add an address…")
        self.new_address.returnPressed.connect(self._on_new_address_return_pressed)
        self.summary = QLabel(self)
        self.send_button = QPushButton("Send check-sync", self)
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.addButton(self.send_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)

        # guide §6: a device answers check-sync only while its provisioning is enabled.
        self.note = QLabel(CHECKSYNC_NOTE, self)
        self.note.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.new_address)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self.resize(640, 360)
        self.send_button.setEnabled(self.model.rowCount() > 0)

    @Slot(str)
    def _on_extension_edited(self, extension: str) -> None:
        valid = self.model.set_extension(extension.strip())
        self.extension.setStyleSheet("" if valid else "color: #c62828")

    @Slot()
    def _on_new_address_return_pressed(self) -> None:
        host = self.new_address.text().strip()
        if host and not any(c.isspace() for c in host):
            self.model.add_address(host)
            self.new_address.clear()
            self.send_button.setEnabled(not self.worker.running)

    @Slot()
    def send(self) -> None:
        """NOTIFY every row (on the worker thread)."""
        if self.worker.running or not self.model.rowCount():
            return
        self.settings.checksync_port = self.port.value()
        self.settings.checksync_extension = self.extension.text().strip()
        targets = self.model.targets(self.port.value(), self.reboot.isChecked())
        self.model.set_sending()
        self.send_button.setEnabled(False)
        self.summary.setText(f"Waiting for {count(len(targets), 'answer')}…")
        self.worker.start(targets)

    @Slot(object)
    def _on_worker_finished(self, results: list[NotifyResult]) -> None:
        self.worker.wait()
        self.model.set_results(results)
        accepted = sum(1 for r in results if r.ok)
        silent = sum(1 for r in results if r.status is None)
        self.summary.setText(
            f"{accepted} of {len(results)} accepted, {len(results) - accepted - silent} refused, "
            f"{silent} did not answer"
        )
        self.send_button.setEnabled(True)
        if self._closing:
            super().done(QDialog.DialogCode.Rejected)

    def done(self, result: int) -> None:
        """Close now, or as soon as the answers are in (the thread is never left running)."""
        if self.worker.running:
            self._closing = True
            self.hide()
            return
        super().done(result)
