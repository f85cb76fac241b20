"""Syslog lines as tables: every line received (the Syslog page) and one device's (Live page).

Cells live in Qt (see ``item_table``): a device logging in a tight loop while the engine's
thread is busy costs the GUI no interpreter time at paint. The page's lines arrive in batches on
:meth:`SyslogModel.flush` (the live feed's refresh tick), so a flood costs a few repaints.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from PySide6.QtCore import QObject, QRegularExpression, QSortFilterProxyModel

from algodesk.core.diagnosis import Level
from algodesk.core.events import SyslogLine
from algodesk.core.syslog_parse import SEVERITY_NAMES
from algodesk.ui.widgets import status_style, text
from algodesk.ui.widgets.item_table import SEARCH_ROLE, ItemTable, Values, cell

PAGE_LIMIT = 5000
"""Lines the Syslog page keeps (the history keeps them all)."""
QUEUE_LIMIT = 2000
"""Lines waiting to be shown at most: under a heavier flood the page skips to the newest (each
line still reaches its device, the Log page and the history)."""
_CHUNK = 64
HEADERS = ("Time", "From", "Device", "Severity", "Source", "Message")
DEVICE_HEADERS = ("Time", "Severity", "Source", "Message")
EVERY_SEVERITY = 7


def severity_name(severity: int) -> str:
    """``err``, ``warning``, ... (the number when out of range)."""
    return SEVERITY_NAMES[severity] if 0 <= severity < len(SEVERITY_NAMES) else str(severity)


def severity_level(severity: int) -> Level:
    """How worrying a severity is: err and worse are errors, warning a warning."""
    if severity <= 3:
        return Level.ERROR
    return Level.WARNING if severity == 4 else Level.INFO


def source(line: SyslogLine) -> str:
    """``algo-8186 provisioning``: who the sender says it is."""
    return " ".join(part for part in (line.hostname, line.app) if part)


def line_cells(line: SyslogLine, device: str | None) -> tuple[list[Values], str]:
    """A line's cells (with a Device column unless ``device`` is None) and its search text.

    The search text starts ``sev:<n> `` so a filter can keep a severity range in Qt.
    """
    level = severity_level(line.severity)
    loud = status_style.colour(level) if level is not Level.INFO else None
    columns = [text.clock(line.time)]
    if device is not None:
        columns += [line.client[0], device]
    columns += [severity_name(line.severity), source(line)]
    cells = [cell(value) for value in columns]
    cells[-2] = cell(columns[-2], icon=status_style.icon(level), foreground=loud)
    cells.append(cell(line.message, foreground=loud, tooltip=line.message))
    search = f"sev:{line.severity} {' '.join(columns)} {line.message}".lower()
    return cells, search


class SyslogModel(ItemTable):
    """The newest :data:`PAGE_LIMIT` lines from every sender, with the device each came from."""

    def __init__(
        self,
        device_at: Callable[[str], str],
        parent: QObject | None = None,
        *,
        limit: int = PAGE_LIMIT,
    ) -> None:
        """Show lines; ``device_at(ip)`` names the device at an address ('' when none is)."""
        super().__init__(HEADERS, parent)
        self._device_at = device_at
        self._limit = limit
        self._pending: deque[SyslogLine] = deque(maxlen=min(limit, QUEUE_LIMIT))

    def line(self, row: int) -> SyslogLine | None:
        """The line shown in ``row``."""
        shown: SyslogLine | None = self.object_at(row)
        return shown

    def append(self, lines: Iterable[SyslogLine]) -> None:
        """Queue lines; they appear at the next :meth:`flush`."""
        self._pending.extend(lines)

    @property
    def pending(self) -> int:
        """Lines queued and not shown yet."""
        return len(self._pending)

    def flush(self, budget: float | None = None) -> None:
        """Show queued lines, naming each one's device, dropping the oldest past the limit.

        With ``budget`` (seconds) it stops once that is spent and leaves the rest queued: a row
        costs Qt some 50 µs to build, so a flood is shown in slices the event loop can breathe
        between.
        """
        deadline = None if budget is None else time.perf_counter() + budget
        pending, device_at = self._pending, self._device_at
        while pending:
            chunk = [pending.popleft() for _ in range(min(_CHUNK, len(pending)))]
            self.remove_rows(0, self.rowCount() + len(chunk) - self._limit)
            self.append_rows(
                [(line, *line_cells(line, device_at(line.client[0]))) for line in chunk]
            )
            if deadline is not None and time.perf_counter() >= deadline:
                return

    def clear(self) -> None:
        """Forget every line shown."""
        self.clear_rows()


class DeviceSyslogModel(ItemTable):
    """One device's lines, oldest first, following the device as the tracker adds more."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(DEVICE_HEADERS, parent)

    def show_lines(self, lines: Sequence[SyslogLine]) -> None:
        """Show exactly ``lines`` (a device's, or none)."""
        self.clear_rows()
        self.append_rows([(line, *line_cells(line, None)) for line in lines])

    def follow(self, lines: Sequence[SyslogLine]) -> None:
        """Catch up with ``lines``: drop what fell off the front, append what is new.

        Anything else (lines merged in from an earlier address) shows the list afresh.
        """
        shown: list[SyslogLine] = self.objects()
        current = list(lines)
        last = shown[-1] if shown else None
        kept = next((i + 1 for i in range(len(current) - 1, -1, -1) if current[i] is last), 0)
        dropped = len(shown) - kept
        unchanged = zip(current[:kept], shown[dropped:], strict=True) if kept else ()
        if shown and (dropped < 0 or not kept or any(a is not b for a, b in unchanged)):
            self.show_lines(current)
            return
        self.remove_rows(0, dropped)
        self.append_rows([(line, *line_cells(line, None)) for line in current[kept:]])


class SyslogFilter(QSortFilterProxyModel):
    """Keeps lines at or above a severity whose text contains a substring (matched in Qt)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterRole(SEARCH_ROLE)
        self.setFilterKeyColumn(0)
        self._text = ""
        self._worst = EVERY_SEVERITY

    def set_text(self, value: str) -> None:
        """Filter by a case-insensitive substring of any column."""
        self._text = value.strip().lower()
        self._apply()

    def set_severity(self, worst: int) -> None:
        """Keep lines of severity ``worst`` or more urgent (7: every line)."""
        self._worst = max(0, min(EVERY_SEVERITY, worst))
        self._apply()

    def _apply(self) -> None:
        severity = f"^sev:[0-{self._worst}] " if self._worst < EVERY_SEVERITY else ""
        self.setFilterRegularExpression(
            QRegularExpression(f"{severity}(?=.*{re.escape(self._text)})")
        )
