"""A stop signal reaches the Qt event loop at once, and the window closes outside the handler."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest
from PySide6.QtCore import QEventLoop, QTimer

from algodesk.ui.stop_signals import StopSignals

pytestmark = [
    pytest.mark.usefixtures("qapp"),
    pytest.mark.skipif(sys.platform == "win32", reason="Windows keeps the timer fallback"),
]

GUARD_MS = 30_000
"""Ends the loop if the signal never wakes it: long enough that only a lost wake-up reaches it."""


def _kill_once_idle() -> None:
    # not a timed assertion: a head start for the main thread to settle into Qt's C++ loop
    time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGUSR1)


def test_a_signal_sent_while_qt_waits_wakes_the_loop_without_polling() -> None:
    loop = QEventLoop()
    calls: list[str] = []

    def on_signal() -> None:
        calls.append("signal")
        loop.quit()

    def guard() -> None:
        calls.append("guard")
        loop.quit()

    stop = StopSignals(on_signal, [signal.SIGUSR1])
    # sent from another thread while the main thread sits in Qt's C++ loop: without the wake-up
    # socket, Python would not run the handler until something else returned control to it
    sender = threading.Thread(target=_kill_once_idle)
    try:
        QTimer.singleShot(0, sender.start)
        QTimer.singleShot(GUARD_MS, guard)
        loop.exec()
    finally:
        sender.join()
        stop.close()
    assert calls[0] == "signal"
    assert stop.findChildren(QTimer) == []  # no polling timer on POSIX


def test_close_gives_the_previous_handlers_and_wakeup_fd_back() -> None:
    before = signal.getsignal(signal.SIGUSR1)
    stop = StopSignals(lambda: None, [signal.SIGUSR1])
    assert signal.getsignal(signal.SIGUSR1) != before
    stop.close()
    assert signal.getsignal(signal.SIGUSR1) == before
    assert signal.set_wakeup_fd(-1) == -1  # nothing left pointing at a closed socket
