"""The one way events reach the GUI thread.

Services call :meth:`EventBridge.post` from their own threads. The bridge queues events and wakes
the GUI thread with one queued signal per batch (not per event), and at most once per
:data:`MIN_GAP_MS` (a busy bench posts thousands of events a second: each wake-up costs the GUI
thread the interpreter lock); on the GUI thread it re-emits them as
:attr:`EventBridge.events_received`.
"""

from __future__ import annotations

import threading
from collections import deque

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from algodesk.core.events import Event

MIN_GAP_MS = 20


class EventBridge(QObject):
    """Carries events from any thread to the GUI thread; create it on the GUI thread."""

    events_received = Signal(object)
    """A list of events, in the order they were posted (always emitted on the GUI thread)."""

    _woken = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._queue: deque[Event] = deque()
        self._awake = False
        self._woken.connect(self._on_woken, Qt.ConnectionType.QueuedConnection)
        self._gap = QTimer(self)
        self._gap.setSingleShot(True)
        self._gap.setInterval(MIN_GAP_MS)
        self._gap.timeout.connect(self._on_gap_timeout)

    def post(self, event: Event) -> None:
        """Queue ``event`` for the GUI thread; safe from any thread, never blocks on the GUI."""
        with self._lock:
            self._queue.append(event)
            if self._awake:
                return
            self._awake = True
        self._woken.emit()

    @Slot()
    def _on_woken(self) -> None:
        # stay "awake" (posts do not signal) until the gap is over, then drain what came
        with self._lock:
            events = list(self._queue)
            self._queue.clear()
        self._gap.start()
        if events:
            self.events_received.emit(events)

    @Slot()
    def _on_gap_timeout(self) -> None:
        with self._lock:
            events = list(self._queue)
            self._queue.clear()
            self._awake = bool(events)
        if events:
            self._gap.start()
            self.events_received.emit(events)
