"""The Transfers page: every request and transfer, with a filter."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex

from algodesk.core.tracker import Changes, Outcome, TimelineEntry
from algodesk.ui import text
from algodesk.ui.entry_model import ENTRY_ROLE, EntryTableModel, outcome_text
from algodesk.ui.row_filter import RowFilter

TRANSFER_LIMIT = 5000


def _device(entry: TimelineEntry) -> str:
    device = entry.device
    if device is None:
        return ""
    return text.mac(device.mac) if device.mac else device.ip


def _file(entry: TimelineEntry) -> str:
    served = entry.served.replace("\\", "/").rsplit("/", 1)[-1]
    base = entry.requested.replace("\\", "/").rsplit("/", 1)[-1]
    return entry.requested if not served or served == base else f"{entry.requested} → {served}"


COLUMNS = (
    ("Started", lambda e: text.clock(e.time)),
    ("Client", lambda e: f"{e.client[0]}:{e.client[1]}"),
    ("Device", _device),
    ("File", _file),
    ("Progress", lambda e: text.size(e.bytes_sent) if e.outcome is Outcome.SENDING else ""),
    ("Size", lambda e: text.size(e.size)),
    ("Speed", lambda e: text.speed(e.speed) if e.bytes_sent else ""),
    ("Outcome", outcome_text),
)
PROGRESS_COLUMN = 4
OUTCOME_COLUMN = 7


class TransferTableModel(EntryTableModel):
    """The newest :data:`TRANSFER_LIMIT` requests of the bench."""

    def __init__(self, parent: QObject | None = None, *, limit: int = TRANSFER_LIMIT) -> None:
        super().__init__(
            COLUMNS,
            limit=limit,
            progress_column=PROGRESS_COLUMN,
            outcome_column=OUTCOME_COLUMN,
            parent=parent,
        )

    def apply_changes(self, changes: Changes) -> None:
        """Append new requests and repaint changed ones."""
        self.apply(changes.new_entries, changes.updated_entries)


OUTCOME_FILTERS: dict[str, frozenset[Outcome]] = {
    "All": frozenset(Outcome),
    "In progress": frozenset({Outcome.REQUESTED, Outcome.SENDING}),
    "Served": frozenset({Outcome.SERVED}),
    "Problems": frozenset({Outcome.FAILED, Outcome.NOT_FOUND, Outcome.REFUSED}),
}


class TransferFilter(RowFilter):
    """Keeps rows whose client, device or file contains a text, with a chosen outcome."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._outcomes = OUTCOME_FILTERS["All"]

    def set_text(self, value: str) -> None:
        """Filter by a case-insensitive substring of client, device or file."""
        with self.changing_filter():
            self._text = value.strip().lower()

    def set_outcomes(self, name: str) -> None:
        """Filter by one of :data:`OUTCOME_FILTERS`."""
        with self.changing_filter():
            self._outcomes = OUTCOME_FILTERS[name]

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        """Whether the request in ``row`` passes both filters."""
        source = self.sourceModel()
        entry = source.data(source.index(row, 0, parent), ENTRY_ROLE)
        if entry is None or entry.outcome not in self._outcomes:
            return False
        if not self._text:
            return True
        haystack = f"{entry.client[0]} {_device(entry)} {entry.requested} {entry.served}".lower()
        return self._text in haystack
