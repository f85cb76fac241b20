"""Readiness polling over many UDP sockets: epoll where available, else ``selectors``.

epoll hands back plain ``(fd, events)`` pairs, which is measurably cheaper per packet than the
``selectors`` key objects; other platforms use the portable path.
"""

from __future__ import annotations

import select
import selectors


class Poller:
    """Read-readiness of file descriptors."""

    def __init__(self) -> None:
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        self._selector = None if self._epoll is not None else selectors.DefaultSelector()

    def register(self, fd: int) -> None:
        """Watch ``fd`` for reading."""
        if self._epoll is not None:
            self._epoll.register(fd, select.EPOLLIN)
        else:
            assert self._selector is not None
            self._selector.register(fd, selectors.EVENT_READ)

    def unregister(self, fd: int) -> None:
        """Stop watching ``fd`` (before closing it)."""
        if self._epoll is not None:
            self._epoll.unregister(fd)
        else:
            assert self._selector is not None
            self._selector.unregister(fd)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        """Ready ``(fd, events)`` pairs, waiting at most ``timeout`` seconds (None: until one)."""
        if self._epoll is not None:
            return self._epoll.poll(timeout)
        assert self._selector is not None
        return [(key.fd, events) for key, events in self._selector.select(timeout)]

    def close(self) -> None:
        """Release the OS resources."""
        if self._epoll is not None:
            self._epoll.close()
        else:
            assert self._selector is not None
            self._selector.close()
