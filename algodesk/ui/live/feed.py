"""The GUI side of the event stream: events in, coalesced model updates out.

Events from the bridge are folded into the tracker in slices of a few milliseconds (so a burst
never freezes the window) and queued for the log. The models hear about it only on the refresh
timer (400 ms): new rows then, changed rows rewritten in slices right after with one
``dataChanged`` per dirty range, so a burst of thousands of events costs a few repaints. Pages
out of sight keep a bounded queue and catch up when shown.
"""

from __future__ import annotations

import itertools
import time
from collections import deque

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from algodesk.core import events as ev
from algodesk.core.tracker import TrackedDevice, Tracker
from algodesk.ui.bridge import EventBridge
from algodesk.ui.live.device_model import DeviceTableModel
from algodesk.ui.live.log_model import LogModel
from algodesk.ui.live.timeline_model import TimelineModel
from algodesk.ui.live.transfer_model import TransferTableModel

REFRESH_MS = 400
SLICE_SECONDS = 0.008
"""Longest stretch the GUI thread spends on events or rows before it handles input and paints."""
_CHUNK = 64
_ROWS_PER_STEP = 25
_SERVER_EVENTS = (ev.ServerStarted, ev.ServerStopped, ev.ServerFailed)
_CLOCK_TICKS = 3  # rewrite "last seen" about once a second


class LiveFeed(QObject):
    """Owns the live models and keeps them in step with the tracker."""

    server_started = Signal(object)
    """A :class:`ServerStarted` event arrived."""
    server_stopped = Signal(object)
    """A :class:`ServerStopped` event arrived."""
    server_failed = Signal(object)
    """A :class:`ServerFailed` event arrived (the engine died or lost its interface)."""
    refreshed = Signal()
    """The models were brought up to date."""

    def __init__(
        self,
        bridge: EventBridge,
        tracker: Tracker,
        *,
        interval_ms: int = REFRESH_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.tracker = tracker
        self.devices = DeviceTableModel(self)
        self.transfers = TransferTableModel(self)
        self.timeline = TimelineModel(self)
        self.log = LogModel(self)
        self.events_seen = 0
        self.live_shown = True
        self.transfers_shown = True
        self.log_shown = True
        self._ticks = 0
        self._backlog: deque[ev.Event] = deque()
        self._folding = QTimer(self)
        self._folding.setSingleShot(True)
        self._folding.setInterval(0)
        self._folding.timeout.connect(self._fold)
        bridge.events_received.connect(self._on_bridge_events_received)
        self._stale: dict[int, TrackedDevice] = {}
        self._working = QTimer(self)
        self._working.setSingleShot(True)
        self._working.setInterval(0)
        self._working.timeout.connect(self._work)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()
        self._stopped = False

    @Slot(object)
    def _on_bridge_events_received(self, events: list[ev.Event]) -> None:
        self._backlog.extend(events)
        if not self._timer.isActive() and not self._stopped:
            self._timer.start()
        if not self._folding.isActive():
            self._fold()

    @Slot()
    def _fold(self) -> None:
        """Fold queued events for at most one slice, then let the event loop breathe."""
        deadline = time.perf_counter() + SLICE_SECONDS
        backlog, apply = self._backlog, self.tracker.apply
        done: list[ev.Event] = []
        while backlog and time.perf_counter() < deadline:
            for _ in range(min(len(backlog), _CHUNK)):
                event = backlog.popleft()
                apply(event)
                done.append(event)
                if isinstance(event, _SERVER_EVENTS):
                    self._announce(event)
        self.events_seen += len(done)
        self.log.append(done)
        if backlog:
            self._folding.start()

    def _announce(self, event: ev.Event) -> None:
        if isinstance(event, ev.ServerStarted):
            self.server_started.emit(event)
        elif isinstance(event, ev.ServerStopped):
            self.server_stopped.emit(event)
        elif isinstance(event, ev.ServerFailed):
            self.server_failed.emit(event)

    @property
    def backlog(self) -> int:
        """Events received but not folded in yet."""
        return len(self._backlog)

    @Slot()
    def _on_timer_timeout(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Bring the models up to date (the timer does this every tick).

        Rows appear and go at once; rewriting changed rows, and the Transfers and Log pages'
        new rows, is done in slices of :data:`SLICE_SECONDS` right after, so a tick that
        touches every row never holds the GUI thread for long.
        """
        self.tracker.tick(time.time())
        changes = self.tracker.take_changes()
        self.devices.apply(changes, update=False)
        for device in changes.updated_devices:
            self._stale[id(device)] = device
        self.timeline.apply_changes(changes)
        self.transfers.queue_changes(changes)
        self._ticks += 1
        if self._ticks % _CLOCK_TICKS == 0 and self.live_shown:
            self._stale.update((id(d), d) for d in self.devices.devices())
        self._working.start()
        self.refreshed.emit()
        if not self.tracker.devices and not self._backlog:
            # an empty bench has nothing that ages: sleep until the next event arrives
            self._timer.stop()

    def finish(self) -> None:
        """Do all pending model work now (tests, and before a screenshot)."""
        while self._step():
            pass

    @Slot()
    def _work(self) -> None:
        deadline = time.perf_counter() + SLICE_SECONDS
        while time.perf_counter() < deadline:
            if not self._step():
                return
        self._working.start()

    def _step(self) -> bool:
        """Do one small piece of pending model work; False when there is none."""
        # a page nobody looks at keeps its (bounded) queue and catches up when shown
        if self._stale and self.live_shown:
            keys = list(itertools.islice(self._stale, _ROWS_PER_STEP))
            self.devices.update_devices([self._stale.pop(key) for key in keys])
            return True
        if self.transfers_shown and self.transfers.queued:
            self.transfers.apply_queued(_ROWS_PER_STEP)
            return True
        if self.log_shown and self.log.queued:
            self.log.flush(_ROWS_PER_STEP * 8)
            return True
        return False

    def show_pages(self, *, live: bool, transfers: bool, log: bool) -> None:
        """Say which pages are on screen: hidden ones wait until shown to catch up.

        The device table's rows still come and go while the Live page is hidden (its row
        numbers must stay right); their cells are rewritten once it shows again (at most one
        rewrite per device: 500 booting devices cost the Transfers page its p99 otherwise).
        """
        if live and not self.live_shown:
            self._stale.update((id(d), d) for d in self.devices.devices())
        self.live_shown, self.transfers_shown, self.log_shown = live, transfers, log
        self._working.start()

    def counts(self) -> tuple[int, int, int]:
        """``(devices, active transfers, devices needing attention)`` for the status bar."""
        return self.tracker.counts()

    def stop(self) -> None:
        """Stop refreshing (before the window closes)."""
        self._stopped = True
        self._timer.stop()
        self._folding.stop()
        self._working.stop()
