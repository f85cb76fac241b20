"""Engine worker processes: several complete engines behind one listening socket (Linux).

The parent binds the listening socket itself (so bind errors surface in the caller's thread) and
keeps reading it; every datagram is forwarded to the least-loaded worker over a private socket
pair (``dispatch``). Each worker runs its own ``Engine``, with its own transfer sockets, transfers
and file cache, and sends its refusals from the shared listening socket, which it inherits. Files
of ``files.SHARE_FROM`` bytes or more are mapped from one copy for all workers, kept in a folder
the parent makes for the run and removes when the workers are gone (``snapshot.SharedCopies``). The
parent sends each worker commands on its stdin (settings, root, virtual files, stop) and reads
its events from its stdout; both ways are pickled, length-prefixed frames between our own
processes. One parent thread, ``algodesk-tftp-dispatch``, forwards the requests and reads the
events, so the balancing follows the workers' events without locks. The sink is called from that
thread; one worker's events keep their order, events of different workers interleave as read.

Workers are started as ``python -m algodesk.services.tftp.workers.worker`` (in a bundle: ``algodesk
tftp-worker``), never forked: forking a process that runs Qt threads is unsafe, and
multiprocessing's spawn would need ``freeze_support`` in the bundle's entry point and re-import
the app's main module in every worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NoReturn

from algodesk.core import events as ev
from algodesk.services.tftp.engine import Counters, Engine
from algodesk.services.tftp.files import FileCache, FileStore, VirtualFiles
from algodesk.services.tftp.settings import TftpSettings
from algodesk.services.tftp.snapshot import SharedCopies
from algodesk.services.tftp.sockets import prepare_listener, receive_request
from algodesk.services.tftp.workers.dispatch import (
    Balancer,
    forward,
    receive_forwarded,
    request_pair,
    requested_name,
)

# Workers inherit descriptors (pass_fds) and connected transfer sockets are Linux's; the platform
# the pool is built and measured on.
AVAILABLE = sys.platform.startswith("linux")
# On a bench the clients are elsewhere and each worker is a Python process (~21 MB resident):
# one per CPU, but not beyond a few.
AUTO_MAX = 4
MAX_WORKERS = 64
_FRAME = struct.Struct("!I")
log = logging.getLogger(__name__)
_STOP_TIMEOUT = 5.0
_READY_TIMEOUT = 60.0


def worker_count(setting: int) -> int:
    """Engine processes for the ``workers`` setting (0: one per CPU); 1 where unsupported."""
    if not AVAILABLE:
        return 1
    if setting == 0:
        return max(1, min(os.cpu_count() or 1, AUTO_MAX))
    return min(setting, MAX_WORKERS)


def _write_frame(stream: IO[bytes], message: object) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(payload)) + payload)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> Any:
    header = stream.read(_FRAME.size)
    if len(header) < _FRAME.size:
        raise EOFError
    (size,) = _FRAME.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise EOFError
    return pickle.loads(payload)


def _worker_argv() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "tftp-worker"]
    return [sys.executable, "-m", "algodesk.services.tftp.workers.worker"]


class WorkerPool:
    """The parent's side: worker processes, their commands and their events.

    On the events thread: ``on_begin`` first, ``on_event`` for every worker event, and ``on_end``
    once every worker has exited, with True when that was not asked for. A worker that exits
    while the server runs is lost at once: it gets no more requests, its transfers end as failed
    events and a ``worker-lost`` notice says what happened; the others serve on.
    """

    def __init__(
        self,
        on_begin: Callable[[], None],
        on_event: Callable[[ev.Event], None],
        on_end: Callable[[bool], None],
    ) -> None:
        self._on_begin = on_begin
        self._on_event = on_event
        self._on_end = on_end
        self._processes: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._listener: socket.socket | None = None
        self._pktinfo = False
        self._channels: list[socket.socket] = []
        self._commands = 0
        self._failures: dict[int, str] = {}  # worker -> what it said before it exited
        self._copies: Path | None = None

    @property
    def copies(self) -> Path | None:
        """The folder of the workers' shared file copies (None before start and once removed)."""
        return self._copies

    @property
    def alive(self) -> bool:
        """Whether the events thread still runs (some worker has not exited)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def pids(self) -> list[int]:
        """The workers' process ids, in worker order (dead ones included)."""
        return [process.pid for process in self._processes]

    def start(
        self,
        listener: socket.socket,
        count: int,
        settings: TftpSettings,
        root: Path | None,
        virtual: list[tuple[str, bytes]],
        first_id: int = 1,
    ) -> None:
        """Start ``count`` workers behind ``listener``, which the pool owns from now on.

        Worker ``i`` numbers its transfers ``first_id + i``, then every ``count``-th number on:
        numbers are unique for the whole server without asking the parent for each one.
        """
        self._listener = listener
        self._pktinfo = prepare_listener(listener)
        try:
            self._copies = _copies_folder()
            for index in range(count):
                channel, child = request_pair()
                self._channels.append(channel)
                with child:
                    fds = (listener.fileno(), child.fileno())
                    process = subprocess.Popen(
                        [*_worker_argv(), *map(str, fds)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        pass_fds=fds,
                        # Out of the terminal's process group: Ctrl+C is for the parent, which
                        # stops its workers itself (even while they are still starting up).
                        start_new_session=True,
                    )
                self._processes.append(process)
                assert process.stdin is not None
                ids = (first_id + index, count)
                try:
                    start = ("start", settings, root, virtual, ids, self._copies)
                    _write_frame(process.stdin, start)
                except BrokenPipeError:
                    # It exited before reading a byte: the same failure _await_ready reports.
                    raise RuntimeError(
                        f"engine worker {index + 1} (PID {process.pid}) exited"
                    ) from None
            # Serving means serving: start() returns once every engine runs (a worker takes
            # a moment to import; on a loaded machine, seconds).
            for index, process in enumerate(self._processes):
                _await_ready(index, process)
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(target=self._run, name="algodesk-tftp-dispatch")
        self._thread.start()

    def broadcast(self, *command: object) -> None:
        """Send a command to every worker (a worker that is gone is skipped).

        Requests received from now on carry the new command count, and a worker applies every
        command up to it before it answers them (``Commands``): a virtual file set here is
        served to the next request, as by a lone engine.
        """
        with self._lock:
            self._commands += 1
            for process in self._processes:
                if process.stdin is not None and not process.stdin.closed:
                    with contextlib.suppress(OSError, ValueError):
                        _write_frame(process.stdin, command)

    def stop(self) -> None:
        """Stop every worker and wait for it (killed, by its PID, if it does not exit)."""
        with self._lock:
            self._stopping = True
            for process in self._processes:
                if process.stdin is not None:
                    with contextlib.suppress(OSError, ValueError):
                        _write_frame(process.stdin, ("stop",))
                    with contextlib.suppress(OSError, ValueError):
                        process.stdin.close()
        for process in self._processes:
            try:
                process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._remove_copies()  # every worker has exited: none maps or makes a copy any more
        thread = self._thread
        if thread is None:
            self._close()  # never started: nothing selects on them
            return
        # Every worker has exited, so the events thread reads their last events and ends; it
        # closes what it selects on itself (``_run``), never while it may still select.
        if thread is not threading.current_thread():
            thread.join(_STOP_TIMEOUT)
            if thread.is_alive():
                log.warning("tftp: the dispatch thread is still busy; it closes when it ends")

    def _remove_copies(self) -> None:
        """Remove the shared copies' folder (maps still alive keep their copies)."""
        with self._lock:
            copies, self._copies = self._copies, None
        if copies is not None:
            shutil.rmtree(copies, ignore_errors=True)

    def _close(self) -> None:
        for process in self._processes:
            if process.stdout is not None:
                process.stdout.close()
        for channel in self._channels:
            channel.close()
        if self._listener is not None:
            self._listener.close()

    def _run(self) -> None:
        """Forward requests to the workers and read their events until every worker is gone."""
        try:
            self._on_begin()
            self._serve()
        finally:
            self._close()
            self._remove_copies()  # every worker is gone (a stop, or the last one lost)
        with self._lock:
            died = not self._stopping
        self._on_end(died)

    def _serve(self) -> None:
        listener = self._listener
        assert listener is not None
        listen_fd = listener.fileno()
        bound = listener.getsockname()[0]
        balancer = Balancer(len(self._processes))
        readers: dict[int, int] = {}  # a worker's stdout -> the worker
        buffers: list[bytearray] = []
        with selectors.DefaultSelector() as selector:
            for index, process in enumerate(self._processes):
                assert process.stdout is not None
                readers[process.stdout.fileno()] = index
                buffers.append(bytearray())
                selector.register(process.stdout.fileno(), selectors.EVENT_READ)
            selector.register(listen_fd, selectors.EVENT_READ)
            while readers:
                for key, _mask in selector.select():
                    fd = int(key.fd)
                    if fd == listen_fd:
                        self._forward(listener, bound, balancer)
                        continue
                    index = readers[fd]
                    try:
                        chunk = os.read(fd, 1 << 16)
                    except OSError:
                        chunk = b""
                    if chunk:
                        buffers[index] += chunk
                        self._dispatch(index, buffers[index], balancer)
                        continue
                    selector.unregister(fd)
                    del readers[fd]
                    self._lose(index, balancer)

    def _forward(self, listener: socket.socket, bound: str, balancer: Balancer) -> None:
        received = receive_request(listener, self._pktinfo, bound)
        if received is None:
            return
        name = requested_name(received[0])
        if name and balancer.recent.is_late_copy(received[1], name, received[3]):
            return  # a late copy of a request that was served (repeats.py)
        in_flight = balancer.in_flight
        from_address = balancer.held_by(received[1][0])
        chosen = balancer.choose(received[1], name)
        if chosen is None:
            return
        channel = self._channels[chosen]
        if not forward(channel, received, in_flight, self._commands, from_address):
            balancer.undo(received[1])

    def _dispatch(self, index: int, buffer: bytearray, balancer: Balancer) -> None:
        while len(buffer) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(buffer)
            end = _FRAME.size + size
            if len(buffer) < end:
                return
            message = pickle.loads(buffer[_FRAME.size : end])
            del buffer[:end]
            if isinstance(message, ev.Event):
                balancer.observe(index, message)
                self._on_event(message)
            elif message[0] == "answered":
                balancer.answered(index, message[1])
            elif message[0] == "failed":
                self._failures[index] = str(message[1])

    def _lose(self, index: int, balancer: Balancer) -> None:
        """Worker ``index`` closed its events: end what it left and say so if not asked."""
        process = self._processes[index]
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(_STOP_TIMEOUT)
        with self._lock:
            stopping = self._stopping
        reason = "server stopped" if stopping else "worker lost"
        now = time.time()
        lost, unanswered = balancer.lose(index)
        for client, name in unanswered:  # the client's request ends too, never "requested"
            self._on_event(
                ev.RequestRefused(
                    client=client, filename=name, reason=ev.RefusalReason.INTERNAL, detail=reason
                )
            )
        for start, sent in lost:
            self._on_event(
                ev.TransferFailed(
                    transfer_id=start.transfer_id,
                    client=start.client,
                    served=start.served,
                    reason=reason,
                    bytes_sent=sent,
                    duration=max(0.0, now - start.time),
                )
            )
        if stopping:
            return
        what = self._failures.get(index) or _exit_text(process.returncode)
        serving, total = balancer.serving, len(self._processes)
        then = (
            f"serving on with {serving} of {total} workers"
            if serving
            else "no worker left, the server stops"
        )
        self._on_event(
            ev.ServiceNotice(
                service="tftp",
                level="error",
                code="worker-lost",
                message=f"engine worker {index + 1} (PID {process.pid}) stopped ({what}); "
                f"{len(lost)} transfers in it failed; {then}",
            )
        )


def _copies_folder() -> Path | None:
    """A new folder for the workers' shared copies; None (each worker copies for itself) when
    the temporary folder cannot hold one."""
    try:
        # Mode 0700 and a random name: only our processes can name or open what is in it.
        return Path(tempfile.mkdtemp(prefix="algodesk-tftp-copies-"))
    except OSError as error:
        log.warning(
            "tftp: no folder for shared file copies (%s); each worker copies its own", error
        )
        return None


def _await_ready(index: int, process: subprocess.Popen[bytes]) -> None:
    """Wait for the worker's ``ready`` frame; raises ``RuntimeError`` when it exits or hangs."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    deadline = time.monotonic() + _READY_TIMEOUT
    received = b""
    wanted = _FRAME.size
    while len(received) < wanted:
        remaining = deadline - time.monotonic()
        readable, _w, _x = select.select([fd], [], [], max(remaining, 0.0))
        chunk = os.read(fd, wanted - len(received)) if readable else b""
        if not chunk:
            why = "exited" if readable else f"did not start within {_READY_TIMEOUT:.0f} s"
            raise RuntimeError(f"engine worker {index + 1} (PID {process.pid}) {why}")
        received += chunk
        if len(received) == _FRAME.size and wanted == _FRAME.size:
            wanted += _FRAME.unpack(received)[0]
    message = pickle.loads(received[_FRAME.size :])
    if message != ("ready",):
        raise RuntimeError(f"engine worker {index + 1} said {message!r} instead of ready")


def _exit_text(code: int | None) -> str:
    if code is None:
        return "its events stopped"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


# ----- the worker's side ------------------------------------------------------------------------


class Commands:
    """How many of the parent's commands the control thread has applied; the engine waits here
    for the count a forwarded request carries."""

    def __init__(self, timeout: float = 2.0) -> None:
        self._applied = 0
        self._cond = threading.Condition()
        self._timeout = timeout

    def applied(self) -> None:
        """One more command took effect."""
        with self._cond:
            self._applied += 1
            self._cond.notify_all()

    def wait(self, count: int) -> None:
        """Return once ``count`` commands took effect (at once, nearly always)."""
        if self._applied >= count:
            return
        with self._cond:
            self._cond.wait_for(lambda: self._applied >= count, self._timeout)


def _control(
    engine: Engine,
    virtual: VirtualFiles,
    waker: socket.socket,
    stream: IO[bytes],
    commands: Commands,
    copies: Path | None,
) -> None:
    """Apply the parent's commands until it says stop or goes away."""
    while True:
        try:
            command = _read_frame(stream)
        except (EOFError, OSError):
            command = ("stop",)
            if copies is not None:
                # The parent went without a stop (killed): nobody else removes the copies.
                # Maps alive in the workers keep theirs until these exit.
                shutil.rmtree(copies, ignore_errors=True)
        kind = command[0]
        if kind != "stop":
            _apply(engine, virtual, command)
            commands.applied()
            continue
        engine.stopping.set()
        with contextlib.suppress(OSError):
            waker.send(b"\0")
        return


def _apply(engine: Engine, virtual: VirtualFiles, command: tuple[Any, ...]) -> None:
    kind = command[0]
    if kind == "set":
        virtual.set(command[1], command[2])
    elif kind == "remove":
        virtual.remove(command[1])
    elif kind == "clear":
        virtual.clear()
    elif kind == "root":
        engine.root = command[1]


def main(argv: list[str] | None = None) -> NoReturn:
    """Run one engine; the arguments are the descriptors of the listening socket and the request
    channel. Exits when the parent says stop or goes away, or (exit code 1, after a ``failed``
    frame saying why) when the engine fails outside a transfer."""
    args = sys.argv[1:] if argv is None else argv
    # A signal meant for the server (a service manager's SIGTERM to the whole group, a Ctrl+C)
    # is the parent's to handle: it stops its workers itself (a stop command, or its end of
    # stdin closing), so a worker never dies half-way through its transfers on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    listener = socket.socket(fileno=int(args[0]))
    requests = socket.socket(fileno=int(args[1]))
    listener.setblocking(False)
    requests.setblocking(False)
    commands, out = sys.stdin.buffer, sys.stdout.buffer
    kind, settings, root, files, (first_id, id_step), copies = _read_frame(commands)
    assert kind == "start"
    virtual = VirtualFiles()
    for name, data in files:
        virtual.set(name, data)
    waker, wake = socket.socketpair()
    waker.setblocking(False)
    wake.setblocking(False)
    applied = Commands()
    engine = Engine(
        listener,
        wake,
        store=FileStore(
            FileCache(
                mmap_threshold=settings.mmap_threshold,
                cache_bytes=settings.cache_bytes,
                shared=SharedCopies(copies) if copies is not None else None,
            ),
            virtual,
        ),
        settings=settings,
        root=root,
        sink=lambda event: _write_frame(out, event),
        counters=Counters(),
        requests=requests,
        read_forwarded=receive_forwarded,
        await_commands=applied.wait,
        answered=lambda sender: _write_frame(out, ("answered", sender)),
        first_id=first_id,
        id_step=id_step,
    )
    control = threading.Thread(
        target=_control,
        args=(engine, virtual, waker, commands, applied, copies),
        name="algodesk-tftp-control",
    )
    control.daemon = True
    control.start()
    _write_frame(out, ("ready",))
    code = 0
    try:
        engine.run()
    except Exception as error:
        # The parent tells what happened (its worker-lost notice) and serves on without us.
        code = 1
        with contextlib.suppress(OSError, ValueError):
            _write_frame(out, ("failed", f"{type(error).__name__}: {error}"))
    waker.close()
    with contextlib.suppress(OSError, ValueError):
        out.flush()
    # Every socket is closed and every event written: the interpreter's teardown would only
    # delay the parent's stop() (tens of milliseconds on a loaded machine).
    os._exit(code)


if __name__ == "__main__":
    main()
