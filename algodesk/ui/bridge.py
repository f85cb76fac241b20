"""The one way events reach the GUI thread.

Services call :meth:`EventBridge.post` from their own threads. The bridge queues events and wakes
the GUI thread with one queued signal per batch (not per event), so a burst of thousands of
events costs one hop; on the GUI thread it re-emits them as :attr:`EventBridge.events_received`.
"""

from __future__ import annotations

import threading
from collections import deque

from PySide6.QtCore import QObject, Qt, Signal, Slot

from algodesk.core.events import Event


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
        with self._lock:
            events = list(self._queue)
            self._queue.clear()
            self._awake = False
        if events:
            self.events_received.emit(events)
