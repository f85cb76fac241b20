"""The thread a UDP service runs its select loop on, and the wake-up that stops it promptly."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable


class ServiceThread:
    """One daemon thread (named ``algodesk-<what>``) running a select loop that ``stop()`` wakes.

    The loop registers :attr:`wake` in its selector and returns once :meth:`stopping` is true;
    ``stop()`` sets that and writes a byte to the wake socket, so it returns within milliseconds
    however long the loop's select would have waited.
    """

    def __init__(self, name: str) -> None:
        """A thread to be called ``name`` once started."""
        self._name = name
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None

    @property
    def started(self) -> bool:
        """Whether ``start()`` was called and ``stop()`` not yet."""
        return self._thread is not None

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def wake(self) -> socket.socket:
        """The socket that becomes readable when ``stop()`` is called (only while started)."""
        assert self._wake_r is not None
        return self._wake_r

    def stopping(self) -> bool:
        """Whether the loop should return."""
        return self._stopping.is_set()

    def start(self, loop: Callable[[], None]) -> None:
        """Run ``loop`` on a new daemon thread."""
        if self._thread is not None:
            raise RuntimeError(f"{self._name} already running")
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping.clear()
        self._thread = threading.Thread(target=loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> bool:
        """Wake the loop, wait for the thread and close the wake sockets; False if not started."""
        thread = self._thread
        if thread is None:
            return False
        self._stopping.set()
        assert self._wake_w is not None
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        thread.join(timeout=2.0)
        self._thread = None
        for sock in (self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._wake_r = self._wake_w = None
        return True
