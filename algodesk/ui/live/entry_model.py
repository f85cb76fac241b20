"""A table of requests (timeline entries), appended and updated in batches.

The Transfers page shows every request; the Live page's timeline shows one device's. Rows are
bounded (oldest dropped first) and change only inside :meth:`EntryTableModel.apply`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from PySide6.QtCore import QObject

from algodesk.core.diagnosis import Level
from algodesk.core.tracker import Outcome, TimelineEntry
from algodesk.ui.widgets import status_style, text
from algodesk.ui.widgets.item_table import TRIM_ROWS, ItemTable, Values, cell

Cell = Callable[[TimelineEntry], str]

OUTCOME_LEVELS: dict[Outcome, Level] = {
    Outcome.REQUESTED: Level.INFO,
    Outcome.SENDING: Level.WORKING,
    Outcome.SERVED: Level.OK,
    Outcome.NOT_FOUND: Level.WARNING,
    Outcome.REFUSED: Level.WARNING,
    Outcome.FAILED: Level.ERROR,
}


def outcome_text(entry: TimelineEntry) -> str:
    """``served``, ``failed: timeout``, ``not found``."""
    if entry.reason and entry.outcome in (Outcome.FAILED, Outcome.REFUSED):
        return f"{entry.outcome.value}: {entry.reason}"
    return entry.outcome.value


def search_text(entry: TimelineEntry) -> str:
    """What the filters match: client, device, file names, and ``outcome:<value>``."""
    device = entry.device
    who = f"{text.mac(device.mac)} {device.ip}" if device is not None else ""
    return (
        f"{entry.client[0]} {who} {entry.requested} {entry.served} "
        f"outcome:{entry.outcome.name.lower()}"
    ).lower()


class EntryTableModel(ItemTable):
    """Rows of timeline entries with the given columns."""

    def __init__(
        self,
        columns: Sequence[tuple[str, Cell]],
        *,
        limit: int,
        progress_column: int | None = None,
        outcome_column: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__([title for title, _cell in columns], parent)
        self._cells = [render for _title, render in columns]
        self._limit = limit
        self._progress_column = progress_column
        self._outcome_column = outcome_column
        self._positions: dict[int, int] = {}
        self._dropped = 0

    def entry(self, row: int) -> TimelineEntry | None:
        """The entry in ``row``."""
        shown: TimelineEntry | None = self.object_at(row)
        return shown

    def shows(self, entry: TimelineEntry) -> bool:
        """Whether ``entry`` has a row."""
        return id(entry) in self._positions

    def _row(self, entry: TimelineEntry) -> list[Values]:
        cells = [cell(render(entry), tooltip=entry.reason or None) for render in self._cells]
        if self._progress_column is not None:
            fraction = entry.fraction if entry.outcome is not Outcome.NOT_FOUND else None
            cells[self._progress_column] = cell(
                self._cells[self._progress_column](entry), progress=fraction
            )
        if self._outcome_column is not None:
            level = OUTCOME_LEVELS[entry.outcome]
            cells[self._outcome_column] = cell(
                outcome_text(entry),
                icon=status_style.icon(level),
                foreground=status_style.colour(level),
                tooltip=entry.reason or None,
            )
        return cells

    def reset(self, entries: Iterable[TimelineEntry]) -> None:
        """Show exactly ``entries`` (the newest ``limit`` of them)."""
        self.clear_rows()
        self._positions, self._dropped = {}, 0
        self.apply(list(entries), ())

    def apply(self, new: Sequence[TimelineEntry], updated: Iterable[TimelineEntry]) -> None:
        """Append ``new`` rows, rewrite ``updated`` ones, and drop the oldest past the limit."""
        self.update_rows(
            (position - self._dropped, self._row(entry), search_text(entry))
            for entry in updated
            if (position := self._positions.get(id(entry))) is not None
        )
        new = [e for e in new if id(e) not in self._positions][-self._limit :]
        overflow = self.rowCount() + len(new) - self._limit
        # trim a few rows at a time (see TRIM_ROWS): each removal stays short
        if overflow > min(self._limit // 10, TRIM_ROWS) or (
            overflow > 0 and overflow >= self.rowCount()
        ):
            for row in range(overflow):
                shown = self.entry(row)
                if shown is not None:
                    del self._positions[id(shown)]
            self.remove_rows(0, overflow)
            self._dropped += overflow
        first = self.rowCount()
        for offset, entry in enumerate(new):
            self._positions[id(entry)] = self._dropped + first + offset
        self.append_rows([(e, self._row(e), search_text(e)) for e in new])
