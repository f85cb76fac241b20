"""The Log page: every event in plain words, bounded in memory, filterable."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable

from PySide6.QtCore import QObject, QRegularExpression, QSortFilterProxyModel

from algodesk.core import events as ev
from algodesk.core.diagnosis import Level
from algodesk.ui.widgets import status_style, text
from algodesk.ui.widgets.item_table import SEARCH_ROLE, TRIM_ROWS, ItemTable, Values, cell

LOG_LIMIT = 5_000
HEADERS = ("Time", "Event", "From", "Message")


def _peer(event: ev.Event) -> str:
    client = getattr(event, "client", None)
    if client:
        return f"{client[0]}:{client[1]}"
    if isinstance(event, ev.LeaseGranted):
        return event.ip
    return str(getattr(event, "service", ""))


def describe(event: ev.Event) -> tuple[Level, str]:
    """How worrying an event is, and what it says in plain words."""
    if isinstance(event, ev.ServerStarted):
        return Level.OK, f"{event.service} serving {event.root} at {event.address}:{event.port}"
    if isinstance(event, ev.ServerStopped):
        return Level.INFO, f"{event.service} stopped ({event.address}:{event.port})"
    if isinstance(event, ev.ServerFailed):
        return Level.ERROR, f"{event.message} [{event.code}]"
    if isinstance(event, ev.RequestReceived):
        options = " ".join(f"{k}={v}" for k, v in event.options.items())
        return Level.INFO, f"{event.operation} request for {event.filename} {options}".rstrip()
    if isinstance(event, ev.RequestRefused):
        detail = f" ({event.detail})" if event.detail else ""
        level = Level.WARNING if event.reason is ev.RefusalReason.NOT_FOUND else Level.ERROR
        return level, f"refused {event.filename}: {event.reason.value}{detail}"
    if isinstance(event, ev.TransferStarted):
        asked = f" (asked {event.requested})" if event.requested != event.served else ""
        md5 = f", md5 {event.md5}" if event.md5 else ""
        if not md5 and event.source is ev.Source.VIRTUAL:
            md5 = f", {ev.SECRET_DIGEST_TEXT}"
        return (
            Level.WORKING,
            f"sending {event.served}{asked}: {text.size(event.size)} from {event.source.value}"
            f"{md5}",
        )
    if isinstance(event, ev.TransferProgress):
        return Level.WORKING, (
            f"{event.served}: {text.size(event.bytes_sent)} of {text.size(event.size)}"
        )
    if isinstance(event, ev.TransferFinished):
        again = f", {event.retransmissions} resent" if event.retransmissions else ""
        return Level.OK, (
            f"sent {event.served}: {text.size(event.bytes_sent)} in "
            f"{text.duration(event.duration)}{again}"
        )
    if isinstance(event, ev.TransferFailed):
        return Level.ERROR, f"failed {event.served}: {event.reason}"
    if isinstance(event, ev.LeaseGranted):
        return Level.INFO, f"lease {event.ip} to {text.mac(event.mac)} for {event.lease_seconds} s"
    if isinstance(event, ev.ServiceNotice):
        level = {"warning": Level.WARNING, "error": Level.ERROR}.get(event.level, Level.INFO)
        return level, event.message
    if isinstance(event, ev.SyslogLine):
        return Level.INFO, f"{event.hostname} {event.app}: {event.message}".strip()
    return Level.INFO, event.kind


def event_cells(event: ev.Event) -> tuple[list[Values], str]:
    """The cells of an event's row, and its search text (``kind:<kind>`` and every column)."""
    level, message = describe(event)
    loud = level.rank >= Level.WARNING.rank
    columns = (text.clock(event.time), event.kind, _peer(event))
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
