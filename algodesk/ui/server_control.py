"""Starts and stops the bench server and opens and closes its history run.

The engine's sink is called on the engine's thread; it only touches thread-safe things (the
history queue and the bridge). Events that arrive before the run is open (the server can answer
a device the moment it is bound) are held and recorded once it is, so history loses none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from algodesk.core.events import Event, Sink
from algodesk.services.errors import ServerStartError
from algodesk.services.history.recording import RunRecorder, RunRecording
from algodesk.ui.bridge import EventBridge


class BenchServer(Protocol):
    """What the window needs of a server (the TFTP engine fits)."""

    @property
    def address(self) -> str:
        """The address bound."""
        ...

    @property
    def port(self) -> int:
        """The port bound."""
        ...

    def start(self) -> None:
        """Bind and serve; raises ``ServerStartError``."""
        ...

    def stop(self) -> None:
        """Stop serving and return quickly."""
        ...

    def set_virtual_file(self, name: str, data: bytes) -> str:
        """Serve ``data`` as ``name`` from memory."""
        ...

    def remove_virtual_file(self, name: str) -> None:
        """Stop serving the virtual file ``name``."""
        ...


ServerFactory = Callable[[Path, str, int, Sink], BenchServer]
"""Builds a server for ``(folder, address, port, sink)``."""


class ServerControl(QObject):
    """One bench server at a time, and the history run that goes with it."""

    started = Signal(str, int)
    """Serving at ``(address, port)``."""
    stopped = Signal()
    """No longer serving."""
    failed = Signal(object)
    """The server could not start: a :class:`ServerStartError`."""
    virtual_changed = Signal()
    """The set of files served from memory changed (:attr:`virtual_files`)."""

    def __init__(
        self,
        factory: ServerFactory,
        bridge: EventBridge,
        recorder: RunRecorder | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._factory = factory
        self._bridge = bridge
        self._recorder = recorder
        self._server: BenchServer | None = None
        self._run_id: int | None = None
        self._recording: RunRecording | None = None
        self._virtual: dict[str, bytes] = {}
        self.root: Path | None = None
        """The folder the server serves (the last one started), for files served from disk."""

    @property
    def running(self) -> bool:
        """Whether a server is serving."""
        return self._server is not None

    @property
    def server(self) -> BenchServer | None:
        """The server while it serves."""
        return self._server

    @property
    def run_id(self) -> int | None:
        """The history run of the current server."""
        return self._run_id

    @property
    def virtual_files(self) -> list[str]:
        """Names served from memory (on this server and every later start), sorted."""
        return sorted(self._virtual)

    def virtual_file(self, name: str) -> bytes | None:
        """The bytes served from memory as ``name``, or None.

        The tracker reads stage-1 files through it to see where they send devices.
        """
        return self._virtual.get(name)

    def fetcher(self, fallback: Callable[[str], bytes | None]) -> Callable[[str], bytes | None]:
        """Reads a served file as the engine finds it: from memory first, else ``fallback``."""

        def fetch(name: str) -> bytes | None:
            data = self._virtual.get(name)
            return data if data is not None else fallback(name)

        return fetch

    def serve_virtual(self, files: Mapping[str, bytes]) -> None:
        """Serve ``files`` from memory instead of the previous set, now and after every restart.

        Stage-1 files hold a password: they live here and in the engine, never on disk.
        """
        old, self._virtual = self._virtual, dict(files)
        if self._server is not None:
            for name in old.keys() - self._virtual.keys():
                self._server.remove_virtual_file(name)
            self._install(self._server)
        if old.keys() != self._virtual.keys():
            self.virtual_changed.emit()

    def _install(self, server: BenchServer) -> None:
        for name, data in self._virtual.items():
            server.set_virtual_file(name, data)

    def start(self, root: Path, address: str, port: int) -> bool:
        """Serve ``root`` at ``address:port``; False (and :attr:`failed`) when it cannot bind."""
        if self._server is not None:
            return True
        recording = RunRecording(self._recorder) if self._recorder is not None else None
        self._recording = recording
        server = self._factory(root, address, port, self._sink)
        self._install(server)  # before the first request can arrive
        try:
            server.start()
        except ServerStartError as error:
            if recording is not None:
                recording.discard()
            self.failed.emit(error)
            return False
        self._server = server
        self.root = root
        if recording is not None:
            self._run_id = recording.open(str(root), server.address, server.port)
        self.started.emit(server.address, server.port)
        return True

    def stop(self) -> None:
        """Stop serving (if serving) and close the history run."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        if self._recording is not None:
            self._recording.close()
        self._run_id = None
        self.stopped.emit()

    def _sink(self, event: Event) -> None:
        recording = self._recording
        if recording is not None:
            recording.record(event)
        self._bridge.post(event)
