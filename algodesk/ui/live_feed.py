"""The GUI side of the event stream: events in, coalesced model updates out.

Events from the bridge are folded into the tracker in slices of a few milliseconds (so a burst
never freezes the window) and queued for the log; the models hear about it only on the refresh
timer (250 ms), one batch of row inserts and ``dataChanged`` ranges per tick, so a burst of
thousands of events costs a few repaints.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from algodesk.core import events as ev
from algodesk.core.diagnosis import Level
from algodesk.core.tracker import Tracker
from algodesk.ui.bridge import EventBridge
from algodesk.ui.device_model import DeviceTableModel
from algodesk.ui.log_model import LogModel
from algodesk.ui.timeline_model import TimelineModel
from algodesk.ui.transfer_model import TransferTableModel

REFRESH_MS = 250
SLICE_SECONDS = 0.008
"""Longest stretch the GUI thread spends folding events before it handles input and paints."""
_CHUNK = 64
_SERVER_EVENTS = (ev.ServerStarted, ev.ServerStopped, ev.ServerFailed)
_CLOCK_TICKS = 4  # repaint "last seen" once a second


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
        self._ticks = 0
        self._backlog: deque[ev.Event] = deque()
        self._folding = QTimer(self)
        self._folding.setSingleShot(True)
        self._folding.setInterval(0)
        self._folding.timeout.connect(self._fold)
        bridge.events_received.connect(self._on_bridge_events_received)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()

    @Slot(object)
    def _on_bridge_events_received(self, events: list[ev.Event]) -> None:
        self._backlog.extend(events)
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
        """Bring every model up to date now (the timer does this every tick)."""
        self.tracker.tick(time.time())
        changes = self.tracker.take_changes()
        self.devices.apply(changes)
        self.transfers.apply_changes(changes)
        self.timeline.apply_changes(changes)
        self.log.flush()
        self._ticks += 1
        if self._ticks % _CLOCK_TICKS == 0:
            self.devices.refresh_times()
        self.refreshed.emit()

    def counts(self) -> tuple[int, int, int]:
        """``(devices, active transfers, devices needing attention)`` for the status bar."""
        devices = list(self.tracker.devices.values())
        active = sum(1 for d in devices if d.current is not None)
        attention = sum(1 for d in devices if d.status[0].rank >= Level.WARNING.rank)
        return len(devices), active, attention

    def stop(self) -> None:
        """Stop refreshing (before the window closes)."""
        self._timer.stop()
        self._folding.stop()
