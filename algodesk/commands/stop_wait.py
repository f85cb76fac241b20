"""Waiting, without polling, for a headless command's stop: a signal or its server ending.

A signal's number is written to a socket (``signal.set_wakeup_fd``) the main thread blocks on;
a service thread wakes the same socket with :meth:`StopWait.wake`. Nothing takes a lock inside
the signal handler, so the handler cannot deadlock against the thread it interrupted.
"""

from __future__ import annotations

import contextlib
import select
import signal
import socket


class StopWait:
    """The main thread's wake-up socket; :meth:`close` gives the previous one back."""

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        for end in (self._reader, self._writer):
            end.setblocking(False)
        self._previous = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)

    def wake(self) -> None:
        """Wake :meth:`wait` (from any thread)."""
        with contextlib.suppress(OSError):
            self._writer.send(b"\0")

    def wait(self) -> None:
        """Block until a signal arrives or :meth:`wake` is called (the handler has run then)."""
        select.select([self._reader], [], [])
        with contextlib.suppress(OSError):
            while self._reader.recv(64):
                pass

    def close(self) -> None:
        """Stop routing signals to the socket and close it."""
        signal.set_wakeup_fd(self._previous)
        self._reader.close()
        self._writer.close()
