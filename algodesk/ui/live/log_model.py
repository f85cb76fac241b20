"""The Log page: every event in plain words, bounded in memory, filterable."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable

from PySide6.QtCore import QObject, QRegularExpression, QSortFilterProxyModel

from algodesk.core import event_text
from algodesk.core import events as ev
from algodesk.core.diagnosis import Level
from algodesk.ui.widgets import status_style, text
from algodesk.ui.widgets.item_table import SEARCH_ROLE, TRIM_ROWS, ItemTable, Values, cell

LOG_LIMIT = 5_000
HEADERS = ("Time", "Event", "From", "Message")


def event_cells(event: ev.Event) -> tuple[list[Values], str]:
    """The cells of an event's row, and its search text (``kind:<kind>`` and every column)."""
    level = event_text.level(event)
    message = event_text.describe(event, text.size)
    loud = level.rank >= Level.WARNING.rank
    columns = (text.clock(event.time), event.kind, event_text.origin(event))
    cells = [cell(value) for value in columns]
    cells.append(
        cell(
            message,
            icon=status_style.icon(level),
            foreground=status_style.colour(level) if loud else None,
        )
    )
    return cells, f"kind:{event.kind} {' '.join(columns)} {message}".lower()


class LogModel(ItemTable):
    """The newest :data:`LOG_LIMIT` events; new ones arrive in batches on :meth:`flush`."""

    def __init__(self, parent: QObject | None = None, *, limit: int = LOG_LIMIT) -> None:
        super().__init__(HEADERS, parent)
        self._limit = limit
        self._pending: deque[ev.Event] = deque(maxlen=limit)

    def event_at(self, row: int) -> ev.Event | None:
        """The event shown in ``row``."""
        shown: ev.Event | None = self.object_at(row)
        return shown

    def append(self, events: Iterable[ev.Event]) -> None:
        """Queue events; they appear at the next :meth:`flush`."""
        self._pending.extend(events)

    @property
    def queued(self) -> bool:
        """Whether events wait for :meth:`flush`."""
        return bool(self._pending)

    def flush(self, most: int | None = None) -> None:
        """Show queued events (all, or the ``most`` oldest), dropping rows past the limit."""
        if not self._pending:
            return
        count = len(self._pending) if most is None else min(most, len(self._pending))
        fresh = [self._pending.popleft() for _ in range(count)]
        overflow = self.rowCount() + len(fresh) - self._limit
        if overflow > min(self._limit // 10, TRIM_ROWS) or overflow >= self.rowCount():
            # trim in chunks: removing rows from the front costs the whole table each time
            self.remove_rows(0, overflow)
        self.append_rows([(e, *event_cells(e)) for e in fresh])

    def clear(self) -> None:
        """Forget every event shown."""
        self.clear_rows()


class LogFilter(QSortFilterProxyModel):
    """Keeps events of one kind (or all) whose text contains a substring (matched in Qt)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterRole(SEARCH_ROLE)
        self.setFilterKeyColumn(0)
        self._text = ""
        self._kind = ""

    def set_text(self, value: str) -> None:
        """Filter by a case-insensitive substring of any column."""
        self._text = value.strip().lower()
        self._apply()

    def set_kind(self, kind: str) -> None:
        """Keep only events of ``kind`` (``""``: every kind)."""
        self._kind = kind
        self._apply()

    def _apply(self) -> None:
        kind = f"^kind:{re.escape(self._kind)} " if self._kind else ""
        self.setFilterRegularExpression(QRegularExpression(f"{kind}(?=.*{re.escape(self._text)})"))
