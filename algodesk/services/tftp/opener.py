"""Requested files opened off the engine thread, so a slow disk holds up only the request that
waits for its file: every transfer under way keeps its pace meanwhile.

A few threads, ``algodesk-tftp-open-N``, resolve the requests (``FileStore.open``: stat, read or
map, generated md5) and hand each outcome back through a socket the engine polls. Several, so
that a file on a slow disk does not hold up requests for files already cached either.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
from collections import deque
from pathlib import Path
from typing import Any

from algodesk.services.tftp.files import FileStore, Opened

THREADS = 4
Key = tuple[tuple[str, int], str]
"""A waiting request: its client and the file name it asked for."""
Outcome = tuple[Opened, Path | None] | BaseException
"""What ``FileStore.open`` returned, or what it raised (``PathRefused`` or a bug)."""


class Opener:
    """Runs ``FileStore.open`` for the engine; ``fd`` turns readable when outcomes wait."""

    def __init__(self, store: FileStore, md5_limit: int, threads: int = THREADS) -> None:
        self._store = store
        self._md5_limit = md5_limit
        self._jobs: queue.SimpleQueue[tuple[Key, tuple[Any, ...], dict[str, Any]] | None]
        self._jobs = queue.SimpleQueue()
        self._done: deque[tuple[Key, Outcome]] = deque()
        self._notify, self._notified = socket.socketpair()
        self._notify.setblocking(False)
        self._notified.setblocking(False)
        self._threads = [
            threading.Thread(target=self._run, name=f"algodesk-tftp-open-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def fd(self) -> int:
        """Readable when ``take`` has outcomes."""
        return self._notified.fileno()

    def submit(self, key: Key, *args: Any, **kwargs: Any) -> None:
        """Open ``FileStore.open(*args, **kwargs)``; its outcome comes back under ``key``."""
        self._jobs.put((key, args, kwargs))

    def take(self) -> list[tuple[Key, Outcome]]:
        """The outcomes ready so far."""
        with contextlib.suppress(OSError):
            self._notified.recv(4096)
        taken = []
        while self._done:
            taken.append(self._done.popleft())
        return taken

    def close(self, timeout: float = 5.0) -> list[tuple[Key, Outcome]]:
        """Stop after the opens under way (waiting ``timeout`` at most for a disk that hangs);
        returns the outcomes nobody took."""
        for _thread in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout)
        left = self.take()
        self._notify.close()
        self._notified.close()
        return left

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            key, args, kwargs = job
            outcome: Outcome
            try:
                outcome = self._store.open(*args, **kwargs)
                outcome[0].shown_md5(self._md5_limit)  # for the transfer-started event, here
            except Exception as error:
                outcome = error
            self._done.append((key, outcome))
            with contextlib.suppress(OSError):
                self._notify.send(b"\0")
