"""The headless ``serve`` waits for its stop without polling: a signal or a wake ends the wait."""

from __future__ import annotations

import os
import signal
import sys
import threading

import pytest

from algodesk.commands.stop_wait import StopWait


def test_a_wake_from_another_thread_ends_the_wait() -> None:
    waiting = StopWait()
    try:
        threading.Thread(target=waiting.wake).start()
        waiting.wait()  # returns: the byte was sent (before or during the wait)
    finally:
        waiting.close()


@pytest.mark.skipif(sys.platform == "win32", reason="os.kill of a POSIX signal")
def test_a_signal_ends_the_wait_after_its_handler_ran() -> None:
    seen: list[int] = []
    previous = signal.signal(signal.SIGUSR1, lambda number, _frame: seen.append(number))
    waiting = StopWait()
    try:
        sender = threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGUSR1))
        sender.start()
        while not seen:
            waiting.wait()
        sender.join()
    finally:
        waiting.close()
        signal.signal(signal.SIGUSR1, previous)
    assert seen == [signal.SIGUSR1]
    assert signal.set_wakeup_fd(-1) == -1
