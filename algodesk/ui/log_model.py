"""The Log page: every event in plain words, bounded in memory, filterable."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from algodesk.core import events as ev
from algodesk.core.diagnosis import Level
from algodesk.ui import status_style, text
from algodesk.ui.row_filter import RowFilter

Index = QModelIndex | QPersistentModelIndex
LOG_LIMIT = 10_000
HEADERS = ("Time", "Event", "From", "Message")
KIND_ROLE = Qt.ItemDataRole.UserRole + 3


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


class LogModel(QAbstractTableModel):
    """The newest :data:`LOG_LIMIT` events; new ones arrive in batches on :meth:`flush`."""

    def __init__(self, parent: QObject | None = None, *, limit: int = LOG_LIMIT) -> None:
        super().__init__(parent)
        self._limit = limit
        self._rows: list[tuple[ev.Event, Level, str]] = []
        self._pending: deque[ev.Event] = deque(maxlen=limit)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of events shown (0 under any item: the model is flat)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of columns."""
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(HEADERS)
        ):
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text, and the event's colour and icon in the message column."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        event, level, message = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (text.clock(event.time), event.kind, _peer(event), message)[column]
        if role == KIND_ROLE:
            return event.kind
        if column == 3 and role == Qt.ItemDataRole.DecorationRole:
            return status_style.icon(level)
        if column == 3 and role == Qt.ItemDataRole.ForegroundRole and level.rank >= 3:
            return status_style.colour(level)
        return None

    def append(self, events: Iterable[ev.Event]) -> None:
        """Queue events; they appear at the next :meth:`flush`."""
        self._pending.extend(events)

    def flush(self) -> None:
        """Show queued events, dropping the oldest rows past the limit."""
        if not self._pending:
            return
        fresh = [(e, *describe(e)) for e in self._pending]
        self._pending.clear()
        overflow = len(self._rows) + len(fresh) - self._limit
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            del self._rows[:overflow]
            self.endRemoveRows()
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        self._rows.extend(fresh)
        self.endInsertRows()

    def clear(self) -> None:
        """Forget every event shown."""
        self.beginResetModel()
        self._rows.clear()
        self.endResetModel()


class LogFilter(RowFilter):
    """Keeps events of one kind (or all) whose text contains a substring."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._kind = ""

    def set_text(self, value: str) -> None:
        """Filter by a case-insensitive substring of any column."""
        with self.changing_filter():
            self._text = value.strip().lower()

    def set_kind(self, kind: str) -> None:
        """Keep only events of ``kind`` (``""``: every kind)."""
        with self.changing_filter():
            self._kind = kind

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        """Whether the event in ``row`` passes both filters."""
        source = self.sourceModel()
        if self._kind and source.data(source.index(row, 0, parent), KIND_ROLE) != self._kind:
            return False
        if not self._text:
            return True
        cells = (source.data(source.index(row, c, parent)) for c in range(len(HEADERS)))
        return any(self._text in str(cell).lower() for cell in cells)
