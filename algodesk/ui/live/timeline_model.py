"""The Live page's timeline: every request of the selected device and what became of it."""

from __future__ import annotations

from PySide6.QtCore import QObject

from algodesk.core.events import SECRET_DIGEST_TEXT, Source
from algodesk.core.tracker import TIMELINE_LIMIT, Changes, TimelineEntry, TrackedDevice
from algodesk.ui.live.entry_model import EntryTableModel, outcome_text
from algodesk.ui.widgets import text


def _md5(entry: TimelineEntry) -> str:
    if not entry.md5 and entry.source == Source.VIRTUAL:
        return SECRET_DIGEST_TEXT
    return entry.md5


def _served(entry: TimelineEntry) -> str:
    return entry.served if entry.served and entry.served != entry.requested else ""


COLUMNS = (
    ("Time", lambda e: text.clock(e.time)),
    ("Requested", lambda e: e.requested),
    ("Served", _served),
    ("Source", lambda e: e.source),
    ("Size", lambda e: text.size(e.size)),
    ("MD5", _md5),
    ("Result", outcome_text),
    ("Duration", lambda e: text.duration(e.duration)),
)
OUTCOME_COLUMN = 6


class TimelineModel(EntryTableModel):
    """The requests of one device, oldest first."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(
            COLUMNS, limit=TIMELINE_LIMIT, outcome_column=OUTCOME_COLUMN, parent=parent
        )
        self.device: TrackedDevice | None = None

    def show_device(self, device: TrackedDevice | None) -> None:
        """Show ``device``'s timeline (or nothing)."""
        self.device = device
        self.reset(device.timeline if device is not None else ())

    def apply_changes(self, changes: Changes) -> None:
        """Follow the shown device: append its new requests, repaint changed ones."""
        device = self.device
        if device is None:
            return
        if device in changes.removed_devices:
            self.show_device(None)
            return
        mine = [e for e in changes.new_entries if e.device is device]
        updated = [e for e in changes.updated_entries if e.device is device]
        if any(not self.shows(e) for e in updated):
            # a bare-IP row merged into this device: its older requests go before ours
            self.show_device(device)
            return
        self.apply(mine, updated)
