"""One server's history run, fed from its sink: what the app and headless ``serve`` share.

A server can answer a device the moment it is bound, before its run is open (the run names the
port bound, known only then): events that come that early are held and recorded, in order, once
the run opens, so the history loses none of them.
"""

from __future__ import annotations

import threading
from typing import Protocol

from algodesk.core.events import Event


class RunRecorder(Protocol):
    """Where runs and their events are kept (the history store fits)."""

    def start_run(self, root: str, address: str, port: int) -> int:
        """Open a run."""
        ...

    def end_run(self, run_id: int) -> None:
        """Close a run."""
        ...

    def record(self, event: Event) -> None:
        """Keep ``event`` in the open run; thread-safe."""
        ...


class RunRecording:
    """Records one server's events as one run: :meth:`record` is the sink, from any thread."""

    def __init__(self, recorder: RunRecorder) -> None:
        self._recorder = recorder
        self._lock = threading.Lock()
        self._early: list[Event] = []
        self._recording = False
        self._closed = False
        self.run_id: int | None = None
        """The open run, once :meth:`open` has been called (None after :meth:`close`)."""

    def record(self, event: Event) -> None:
        """Keep ``event``: in the run once open, held until then."""
        with self._lock:
            if self._recording:
                self._recorder.record(event)
            elif not self._closed:
                self._early.append(event)

    def open(self, root: str, address: str, port: int) -> int:
        """Open the run (the server is bound) and record what came before; returns its id."""
        self.run_id = self._recorder.start_run(root, address, port)
        with self._lock:
            for event in self._early:
                self._recorder.record(event)
            self._early.clear()
            self._recording = True
        return self.run_id

    def discard(self) -> None:
        """The server never started: forget what was held."""
        with self._lock:
            self._early.clear()

    def close(self) -> None:
        """End the run (if it was opened); later events are dropped."""
        with self._lock:
            self._recording, self._closed = False, True
            self._early.clear()
        run_id, self.run_id = self.run_id, None
        if run_id is not None:
            self._recorder.end_run(run_id)
