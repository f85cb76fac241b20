"""The bench TFTP server: binding, lifecycle, virtual files and statistics.

``start()`` binds in the caller's thread (so errors surface as ``ServerStartError``) and then runs
the engine on one named thread, ``algodesk-tftp``. ``stop()`` wakes the loop through a socket pair,
so it returns at once even with transfers in flight; those get ERROR 0. With
``TftpSettings.workers`` above 1 (Linux), engines run in worker processes instead (``worker``).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from algodesk.core import events as ev
from algodesk.core.events import Sink, null_sink
from algodesk.services.errors import ServerStartError, bind_error
from algodesk.services.tftp.engine import Counters, Engine
from algodesk.services.tftp.files import FileCache, FileStore, VirtualFiles
from algodesk.services.tftp.settings import TftpSettings

if TYPE_CHECKING:
    from algodesk.services.tftp.workers.worker import WorkerPool

log = logging.getLogger(__name__)

SERVICE = "tftp"
_JOIN_TIMEOUT = 5.0
_FDS_PER_TRANSFER = 2  # the connected socket and its catch-all twin
_FDS_SPARE = 64


@dataclass(frozen=True, slots=True)
class TftpStats:
    """What the server has done since it was created.

    Attributes:
        devices: Distinct client addresses that requested a file.
        files: Distinct file names served completely.
        bytes_sent: Bytes acknowledged by clients (finished and failed transfers).
        requests: Read and write requests received.
        refused: Requests answered with an error before any data moved.
        active: Transfers in progress.
        done: Transfers finished.
        failed: Transfers that ended without completing.
    """

    devices: int
    files: int
    bytes_sent: int
    requests: int
    refused: int
    active: int
    done: int
    failed: int


class TftpServer:
    """A read-only TFTP server for the bench; see the module docstring for the lifecycle."""

    def __init__(
        self,
        root: Path | None,
        address: str = "0.0.0.0",
        port: int = 69,
        sink: Sink = null_sink,
        settings: TftpSettings | None = None,
    ) -> None:
        self._root = Path(root).resolve() if root is not None else None
        self._address = address
        self._requested_port = port
        self._port = port
        self._sink = sink
        self._settings = settings or TftpSettings()
        self._virtual = VirtualFiles()
        self._counters = Counters()
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._thread: threading.Thread | None = None
        self._waker: socket.socket | None = None
        self._pool: WorkerPool | None = None
        # The next transfer number no engine of this server has used (they go on across
        # restarts: the tracker and the history key transfers by them).
        self._next_id = 1

    @property
    def address(self) -> str:
        """The address bound (or to bind)."""
        return self._address

    @property
    def port(self) -> int:
        """The port bound; the requested one before ``start`` (0 means any free port)."""
        return self._port

    @property
    def root(self) -> Path | None:
        """The folder served, or None when only virtual files are served."""
        return self._root

    @property
    def settings(self) -> TftpSettings:
        """The settings the next ``start`` uses."""
        return self._settings

    @property
    def running(self) -> bool:
        """Whether the engine thread (or the worker processes) is serving."""
        pool = self._pool
        if pool is not None:
            return pool.alive
        thread = self._thread
        return thread is not None and thread.is_alive()

    def worker_pids(self) -> list[int]:
        """The engine worker processes' ids (empty when the engine runs in this process)."""
        pool = self._pool
        return pool.pids if pool is not None else []

    def start(self) -> None:
        """Bind and start serving; raises ``ServerStartError`` when the port cannot be bound."""
        with self._lock:
            if self.running:
                return
            # Imported here: the worker module is also run as a program (python -m ...).
            from algodesk.services.tftp.workers import worker

            count = worker.worker_count(self._settings.workers)
            if count > 1:
                self._start_pool(count)
                return
            listener = self._bind()
            _raise_open_file_limit(_FDS_PER_TRANSFER * self._settings.max_transfers + _FDS_SPARE)
            waker, wake = socket.socketpair()
            waker.setblocking(False)
            wake.setblocking(False)
            self._port = listener.getsockname()[1]
            self._engine = Engine(
                listener,
                wake,
                store=FileStore(
                    FileCache(
                        mmap_threshold=self._settings.mmap_threshold,
                        cache_bytes=self._settings.cache_bytes,
                    ),
                    self._virtual,
                ),
                settings=self._settings,
                root=self._root,
                sink=self._sink,
                counters=self._counters,
                first_id=self._next_id,
            )
            self._waker = waker
            self._thread = threading.Thread(
                target=self._serve, args=(self._engine,), name="algodesk-tftp", daemon=True
            )
            self._thread.start()

    def _start_pool(self, count: int) -> None:
        from algodesk.services.tftp.workers import worker

        listener = self._bind()
        self._port = listener.getsockname()[1]
        _raise_open_file_limit(_FDS_PER_TRANSFER * self._settings.max_transfers + _FDS_SPARE)
        pool = worker.WorkerPool(self._pool_began, self._pool_event, self._pool_ended)
        virtual = [(name, self._virtual.data(name)) for name in self._virtual.names()]
        try:
            pool.start(listener, count, self._settings, self._root, virtual, self._next_id)
        except RuntimeError as error:
            failure = ServerStartError(
                "engine-failed",
                f"tftp: {error}",
                address=self._address,
                port=self._requested_port,
            )
            self._emit_failed(failure)
            raise failure from None
        self._pool = pool

    def _pool_began(self) -> None:
        root = str(self._root) if self._root is not None else ""
        self._emit(
            ev.ServerStarted(service=SERVICE, address=self._address, port=self._port, root=root)
        )

    def _pool_event(self, event: ev.Event) -> None:
        self._counters.count(event)
        if isinstance(event, ev.TransferStarted) and event.transfer_id >= self._next_id:
            self._next_id = event.transfer_id + 1
        self._emit(event)

    def _pool_ended(self, died: bool) -> None:
        if died:
            message = "tftp: every engine worker stopped, so the server stopped"
            self._emit(
                ev.ServerFailed(
                    service=SERVICE,
                    address=self._address,
                    port=self._port,
                    code="engine-failed",
                    message=message,
                )
            )
        self._emit(ev.ServerStopped(service=SERVICE, address=self._address, port=self._port))

    def _emit(self, event: ev.Event) -> None:
        try:
            self._sink(event)
        except Exception:
            log.exception("event sink failed on %s", event.kind)

    def stop(self) -> None:
        """Stop serving: in-flight transfers get ERROR 0; returns once the thread has ended."""
        with self._lock:
            pool = self._pool
            if pool is not None:
                pool.stop()
                self._pool = None
                return
            engine, thread, waker = self._engine, self._thread, self._waker
            if engine is None or thread is None:
                return
            engine.stopping.set()
            if waker is not None:
                with contextlib.suppress(OSError):
                    waker.send(b"\0")
            thread.join(_JOIN_TIMEOUT)
            if waker is not None:
                waker.close()
            self._next_id = engine.next_id
            self._engine = self._thread = self._waker = None

    def set_root(self, root: Path | None) -> None:
        """Serve another folder from the next request on (None: virtual files only)."""
        self._root = Path(root).resolve() if root is not None else None
        engine = self._engine
        if engine is not None:
            engine.root = self._root
        pool = self._pool
        if pool is not None:
            pool.broadcast("root", self._root)

    def set_virtual_file(self, name: str, data: bytes) -> str:
        """Serve ``data`` as ``name`` from memory, before any disk file; returns the stored name.

        Raises ``ValueError`` for a name no client could request (absolute, ``..``, ...).
        """
        stored = self._virtual.set(name, data)
        pool = self._pool
        if pool is not None:
            pool.broadcast("set", stored, bytes(data))
        return stored

    def remove_virtual_file(self, name: str) -> None:
        """Stop serving the virtual file ``name`` (transfers under way finish)."""
        self._virtual.remove(name)
        pool = self._pool
        if pool is not None:
            pool.broadcast("remove", name)

    def clear_virtual_files(self) -> None:
        """Stop serving every virtual file."""
        self._virtual.clear()
        pool = self._pool
        if pool is not None:
            pool.broadcast("clear")

    def virtual_files(self) -> list[str]:
        """Names of the virtual files, sorted."""
        return self._virtual.names()

    def stats(self) -> TftpStats:
        """Counts since the server was created (kept across restarts)."""
        c = self._counters
        return TftpStats(
            devices=len(c.devices),
            files=len(c.files),
            bytes_sent=c.bytes_sent,
            requests=c.requests,
            refused=c.refused,
            active=c.active,
            done=c.done,
            failed=c.failed,
        )

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self._address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((self._address, self._requested_port))
        except (OSError, OverflowError, ValueError) as error:
            sock.close()
            raise self._bind_failed(error) from None
        sock.setblocking(False)
        return sock

    def _bind_failed(self, error: Exception) -> ServerStartError:
        if not isinstance(error, OSError):
            error = OSError(None, str(error))
        failure = bind_error(
            error, service=SERVICE, address=self._address, port=self._requested_port
        )
        self._emit_failed(failure)
        return failure

    def _emit_failed(self, failure: ServerStartError) -> None:
        self._sink(
            ev.ServerFailed(
                service=SERVICE,
                address=failure.address,
                port=failure.port,
                code=failure.code,
                message=failure.message,
                remedies=failure.remedies,
            )
        )

    def _serve(self, engine: Engine) -> None:
        root = str(self._root) if self._root is not None else ""
        engine.emit(
            ev.ServerStarted(service=SERVICE, address=self._address, port=self._port, root=root)
        )
        try:
            engine.run()
        except Exception as error:
            engine.emit(
                ev.ServerFailed(
                    service=SERVICE,
                    address=self._address,
                    port=self._port,
                    code="engine-failed",
                    message=f"tftp: the engine stopped: {error!r}",
                )
            )
            raise
        engine.emit(ev.ServerStopped(service=SERVICE, address=self._address, port=self._port))


def _raise_open_file_limit(wanted: int) -> None:
    """Lift the soft limit on open files towards ``wanted`` (many systems default to 1024)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit for sockets
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
