"""Lines for a stream nobody may be reading: a bounded queue and one writer thread.

``serve`` prints a line per event. When its reader stops reading (a paused pager, a stopped
terminal, a slow log shipper) the pipe fills and a write blocks; done on the engine's thread,
that stopped the server. Here the caller only queues the line; the writer thread does the
blocking write. When the queue is full, lines are dropped and counted, and the reader is told
"N events not shown" once writing works again. The server serves on.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from typing import TextIO

QUEUE_LINES = 4096
"""Lines held while the reader is behind (a few seconds of a busy bench's events)."""


class LineOutput:
    """Queues whole lines for their streams; a thread named ``algodesk-output`` writes them."""

    def __init__(self, *, limit: int = QUEUE_LINES) -> None:
        """Hold at most ``limit`` lines not yet written."""
        self._limit = limit
        self._lines: deque[tuple[TextIO, str]] = deque()
        self._dropped: dict[TextIO, int] = {}
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.dropped_total = 0
        """Lines dropped so far (for the summary and tests)."""

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is not None:
            raise RuntimeError("output already started")
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="algodesk-output", daemon=True)
        self._thread.start()

    def write(self, stream: TextIO, line: str) -> None:
        """Queue ``line`` (without its newline) for ``stream``; never blocks on the stream."""
        with self._cond:
            if self._thread is None:
                self._write_now(stream, line)  # not started (a one-off line before serving)
                return
            if len(self._lines) >= self._limit:
                self._dropped[stream] = self._dropped.get(stream, 0) + 1
                self.dropped_total += 1
                return
            self._lines.append((stream, line))
            self._cond.notify()

    def stop(self, timeout: float = 5.0) -> bool:
        """Write what is queued (waiting at most ``timeout`` s for the reader); True when done.

        A reader that never comes back cannot hold the process: after ``timeout`` the thread
        is left to its blocked write (a daemon thread); later lines still queue behind it and are
        written if the reader comes back. Calling ``stop`` again waits again.
        """
        thread = self._thread
        if thread is None:
            return True
        with self._cond:
            self._closing = True
            self._cond.notify()
        thread.join(timeout)
        if thread.is_alive():
            return False
        self._thread = None
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._lines and not self._dropped and not self._closing:
                    self._cond.wait()
                if not self._lines and not self._dropped:
                    return
                dropped = self._dropped
                self._dropped = {}
                batch = list(self._lines)
                self._lines.clear()
            # Lines are dropped only while the queue is full, so after every line of the batch.
            for stream, line in batch:
                self._write_now(stream, line)
            for stream, count in dropped.items():
                self._write_now(stream, f"{count} events not shown (output not read in time)")

    @staticmethod
    def _write_now(stream: TextIO, line: str) -> None:
        # A reader that went away (EPIPE, closed) ends nothing but output.
        with contextlib.suppress(OSError, ValueError):
            stream.write(line + "\n")
            stream.flush()
