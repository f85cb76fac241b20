"""Ctrl+C and a kill reach the Qt event loop: the window closes as if the user closed it.

Python runs a signal handler only when the interpreter gets control, and Qt's event loop may
keep it in C++ for as long as nothing happens. On POSIX the signal's number is written to a
socket (``signal.set_wakeup_fd``) that a ``QSocketNotifier`` watches, so the loop wakes at once
and never polls. Windows keeps a slow timer: its event loop cannot watch a socket this way.

The handler itself does nothing but schedule ``on_signal`` with a zero-time single shot: it can
run between any two bytecodes of whatever Python code Qt called into, and closing a window there
(as qutebrowser's ``misc/crashsignal.py`` explains) re-enters code that is half-way through.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Slot

WINDOWS_WAKE_MS = 250
"""How often the Windows fallback lets Python run its handlers."""


class StopSignals(QObject):
    """Calls ``on_signal`` from the event loop once per stop signal; :meth:`close` undoes it."""

    def __init__(
        self,
        on_signal: Callable[[], object],
        signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._on_signal = on_signal
        self._previous: dict[signal.Signals, Any] = {}
        self._previous_wakeup = -1
        self._pair: tuple[socket.socket, socket.socket] | None = None
        self._notifier: QSocketNotifier | None = None
        self._timer: QTimer | None = None
        if sys.platform == "win32":
            self._timer = QTimer(self)
            self._timer.timeout.connect(self._on_timer_timeout)
            self._timer.start(WINDOWS_WAKE_MS)
        else:
            reader, writer = socket.socketpair()
            for end in (reader, writer):
                end.setblocking(False)
            self._pair = (reader, writer)
            self._previous_wakeup = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
            self._notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, self)
            self._notifier.activated.connect(self._on_notifier_activated)
        for number in signals:
            self._previous[number] = signal.signal(number, self._handle)

    def _handle(self, _number: int, _frame: FrameType | None) -> None:
        QTimer.singleShot(0, self._deliver)

    def _deliver(self) -> None:
        self._on_signal()  # discard any result: PySide mis-counts a slot's bool result

    @Slot()
    def _on_notifier_activated(self) -> None:
        # Reading is all it takes: Python has run the handler by the time this slot runs.
        if self._pair is not None:
            with contextlib.suppress(OSError):
                while self._pair[0].recv(64):
                    pass

    @Slot()
    def _on_timer_timeout(self) -> None:
        """Nothing: returning to Python lets it run pending handlers."""

    def close(self) -> None:
        """Give the signals back their previous handlers and stop watching."""
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier = None
        if self._pair is not None:
            signal.set_wakeup_fd(self._previous_wakeup)
            for end in self._pair:
                end.close()
            self._pair = None
        if self._timer is not None:
            self._timer.stop()
