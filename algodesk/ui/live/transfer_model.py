"""The Transfers page: every request and transfer, with a filter."""

from __future__ import annotations

import itertools
import re

from PySide6.QtCore import QObject, QRegularExpression, QSortFilterProxyModel

from algodesk.core.device import bare_name
from algodesk.core.tracker import Changes, Outcome, TimelineEntry
from algodesk.ui.live.device_model import SEVERAL_DEVICES
from algodesk.ui.live.entry_model import EntryTableModel, outcome_text
from algodesk.ui.widgets import text
from algodesk.ui.widgets.item_table import SEARCH_ROLE

TRANSFER_LIMIT = 3000


def _device(entry: TimelineEntry) -> str:
    device = entry.device
    if device is None:
        return ""
    if device.pooled:  # several devices ask from this address (the Client column): no guess
        return SEVERAL_DEVICES
    return text.mac(device.mac) if device.mac else device.ip


def _file(entry: TimelineEntry) -> str:
    served = bare_name(entry.served)
    same = not served or served == bare_name(entry.requested)
    return entry.requested if same else f"{entry.requested} → {served}"


def _progress(entry: TimelineEntry) -> str:
    if entry.outcome is not Outcome.SENDING:
        return ""
    fraction = entry.fraction
    done = text.size(entry.bytes_sent)
    return f"{done} ({fraction:.0%})" if fraction is not None else done


COLUMNS = (
    ("Started", lambda e: text.clock(e.time)),
    ("Client", lambda e: f"{e.client[0]}:{e.client[1]}"),
    ("Device", _device),
    ("File", _file),
    ("Progress", lambda e: _progress(e)),
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
        self._queued_new: list[TimelineEntry] = []
        self._queued_updated: dict[int, TimelineEntry] = {}

    def queue_changes(self, changes: Changes) -> None:
        """Remember what changed, to show at the next :meth:`apply_queued` (bounded)."""
        self._queued_new.extend(changes.new_entries)
        del self._queued_new[: -self._limit]
        for entry in changes.updated_entries:
            if self.shows(entry):  # a row still to come shows the entry as it is by then
                self._queued_updated[id(entry)] = entry

    @property
    def queued(self) -> bool:
        """Whether changes wait for :meth:`apply_queued`."""
        return bool(self._queued_new or self._queued_updated)

    def apply_queued(self, most: int | None = None) -> None:
        """Show queued changes, oldest first: all of them, or at most ``most`` rows of each kind."""
        count = len(self._queued_new) if most is None else most
        new = self._queued_new[:count]
        del self._queued_new[:count]
        count = len(self._queued_updated) if most is None else most
        keys = list(itertools.islice(self._queued_updated, count))
        self.apply(new, [self._queued_updated.pop(key) for key in keys])

    def apply_changes(self, changes: Changes) -> None:
        """Append new requests and repaint changed ones, now."""
        self.queue_changes(changes)
        self.apply_queued()


OUTCOME_FILTERS: dict[str, frozenset[Outcome]] = {
    "All": frozenset(Outcome),
    "In progress": frozenset({Outcome.REQUESTED, Outcome.SENDING}),
    "Served": frozenset({Outcome.SERVED}),
    "Problems": frozenset({Outcome.FAILED, Outcome.NOT_FOUND, Outcome.REFUSED}),
}


def search_pattern(words: str, outcomes: frozenset[Outcome] = frozenset(Outcome)) -> str:
    """A regular expression over a row's search text: contains ``words``, one of ``outcomes``."""
    kinds = "|".join(sorted(o.name.lower() for o in outcomes))
    return f"(?=.*outcome:({kinds})\\b)(?=.*{re.escape(words.strip().lower())})"


class TransferFilter(QSortFilterProxyModel):
    """Keeps rows whose client, device or file contains a text, with a chosen outcome.

    The match runs in Qt, on each row's search text: no Python per row (see ``item_table``).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterRole(SEARCH_ROLE)
        self.setFilterKeyColumn(0)
        self._text = ""
        self._outcomes = OUTCOME_FILTERS["All"]
        self._apply()

    def set_text(self, value: str) -> None:
        """Filter by a case-insensitive substring of client, device or file."""
        self._text = value
        self._apply()

    def set_outcomes(self, name: str) -> None:
        """Filter by one of :data:`OUTCOME_FILTERS`."""
        self._outcomes = OUTCOME_FILTERS[name]
        self._apply()

    def _apply(self) -> None:
        everything = not self._text.strip() and self._outcomes == OUTCOME_FILTERS["All"]
        # Showing everything (as the page opens, and while a bench runs): no pattern, so a new
        # row is accepted without a match, and no re-filtering of rewritten rows (500 devices:
        # a thousand progress rewrites a second, each range re-matched).
        self.setDynamicSortFilter(not everything)
        pattern = "" if everything else search_pattern(self._text, self._outcomes)
        self.setFilterRegularExpression(QRegularExpression(pattern))
