"""Engine worker processes: several complete engines behind one listening socket (Linux).

The parent binds the listening socket itself (so bind errors surface in the caller's thread) and
keeps reading it; every datagram is forwarded to the least-loaded worker over a private socket
pair (``dispatch``). Each worker runs its own ``Engine``, with its own transfer sockets, transfers
and file cache, and sends its refusals from the shared listening socket, which it inherits. The
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
import os
import pickle
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NoReturn

from algodesk.core import events as ev
from algodesk.services.tftp.engine import Counters, Engine
from algodesk.services.tftp.files import FileCache, FileStore, VirtualFiles
from algodesk.services.tftp.settings import TftpSettings
from algodesk.services.tftp.sockets import prepare_listener, receive_request
from algodesk.services.tftp.workers.dispatch import Balancer, forward, request_pair
from algodesk.services.tftp.workers.loadboard import SLOTS, LoadBoard

# Workers inherit descriptors (pass_fds) and connected transfer sockets are Linux's; the platform
# the pool is built and measured on.
AVAILABLE = sys.platform.startswith("linux")
# On a bench the clients are elsewhere and each worker is a Python process (~21 MB resident):
# one per CPU pays, but not beyond a few.
AUTO_MAX = 4
_FRAME = struct.Struct("!I")
_STOP_TIMEOUT = 5.0


def worker_count(setting: int) -> int:
    """Engine processes for the ``workers`` setting (0: one per CPU); 1 where unsupported."""
    if not AVAILABLE:
        return 1
    if setting == 0:
        return max(1, min(os.cpu_count() or 1, AUTO_MAX))
    return min(setting, SLOTS)


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


def count_event(counters: Counters, event: ev.Event) -> None:
    """Keep the parent's counts from a worker's events, as the engine keeps its own."""
    if isinstance(event, ev.RequestReceived):
        counters.requests += 1
    elif isinstance(event, ev.RequestRefused):
        counters.refused += 1
    elif isinstance(event, ev.TransferStarted):
        counters.active += 1
        counters.devices.add(event.client[0])
    elif isinstance(event, ev.TransferFinished):
        counters.active -= 1
        counters.done += 1
        counters.bytes_sent += event.bytes_sent
        counters.files.add(event.served)
    elif isinstance(event, ev.TransferFailed):
        counters.active -= 1
        counters.failed += 1
        counters.bytes_sent += event.bytes_sent


def _worker_argv() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, "tftp-worker"]
    return [sys.executable, "-m", "algodesk.services.tftp.workers.worker"]


class WorkerPool:
    """The parent's side: worker processes, their commands and their events.

    On the events thread: ``on_begin`` first, ``on_event`` for every worker event, and ``on_end``
    once every worker has exited, with True when that was not asked for (a worker died).
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

    @property
    def alive(self) -> bool:
        """Whether the events thread still runs (some worker has not exited)."""
        return self._thread is not None and self._thread.is_alive()

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
        board = LoadBoard.create()
        try:
            for index in range(count):
                channel, child = request_pair()
                self._channels.append(channel)
                with child:
                    fds = (listener.fileno(), child.fileno(), board)
                    process = subprocess.Popen(
                        [*_worker_argv(), *map(str, fds), str(index)],
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
                _write_frame(process.stdin, ("start", settings, root, virtual, ids))
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(board)
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
                        process.stdin.close()
        for process in self._processes:
            try:
                process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT)
        for process in self._processes:
            if process.stdout is not None:
                process.stdout.close()
        for channel in self._channels:
            channel.close()
        if self._listener is not None:
            self._listener.close()

    def _run(self) -> None:
        """Forward requests to the workers and read their events until every worker is gone."""
        self._on_begin()
        listener = self._listener
        assert listener is not None
        listen_fd = listener.fileno()
        bound = listener.getsockname()[0]
        balancer = Balancer(len(self._processes))
        buffers: dict[int, bytearray] = {}
        with selectors.DefaultSelector() as selector:
            for process in self._processes:
                assert process.stdout is not None
                fd = process.stdout.fileno()
                buffers[fd] = bytearray()
                selector.register(fd, selectors.EVENT_READ)
            selector.register(listen_fd, selectors.EVENT_READ)
            while buffers:
                for key, _mask in selector.select():
                    fd = int(key.fd)
                    if fd == listen_fd:
                        received = receive_request(listener, self._pktinfo, bound)
                        if received is not None:
                            in_flight = balancer.in_flight
                            chosen = balancer.choose(received[0], received[1])
                            channel = self._channels[chosen]
                            if not forward(channel, received, in_flight, self._commands):
                                balancer.undo(received[1])
                        continue
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        selector.unregister(fd)
                        del buffers[fd]
                        continue
                    buffer = buffers[fd]
                    buffer += chunk
                    self._dispatch(buffer, balancer)
        with self._lock:
            died = not self._stopping
        self._on_end(died)

    def _dispatch(self, buffer: bytearray, balancer: Balancer) -> None:
        while len(buffer) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(buffer)
            end = _FRAME.size + size
            if len(buffer) < end:
                return
            event = pickle.loads(buffer[_FRAME.size : end])
            del buffer[:end]
            balancer.observe(event)
            self._on_event(event)


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
) -> None:
    """Apply the parent's commands until it says stop or goes away."""
    while True:
        try:
            command = _read_frame(stream)
        except (EOFError, OSError):
            command = ("stop",)
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
    """Run one engine; the arguments are the descriptors of the listening socket, the request
    channel and the load board, then the worker's index. Exits when the parent says stop or goes
    away."""
    args = sys.argv[1:] if argv is None else argv
    # A signal meant for the server (a service manager's SIGTERM to the whole group, a Ctrl+C)
    # is the parent's to handle: it stops its workers itself (a stop command, or its end of
    # stdin closing), so a worker never dies half-way through its transfers on its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    listener = socket.socket(fileno=int(args[0]))
    requests = socket.socket(fileno=int(args[1]))
    board = LoadBoard(int(args[2]), int(args[3]))
    listener.setblocking(False)
    requests.setblocking(False)
    commands, out = sys.stdin.buffer, sys.stdout.buffer
    kind, settings, root, files, (first_id, id_step) = _read_frame(commands)
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
            FileCache(mmap_threshold=settings.mmap_threshold, cache_bytes=settings.cache_bytes),
            virtual,
        ),
        settings=settings,
        root=root,
        sink=lambda event: _write_frame(out, event),
        counters=Counters(),
        requests=requests,
        board=board,
        await_commands=applied.wait,
        first_id=first_id,
        id_step=id_step,
    )
    control = threading.Thread(
        target=_control,
        args=(engine, virtual, waker, commands, applied),
        name="algodesk-tftp-control",
    )
    control.daemon = True
    control.start()
    engine.run()
    waker.close()
    out.flush()
    # Every socket is closed and every event written: the interpreter's teardown would only
    # delay the parent's stop() (tens of milliseconds on a loaded machine).
    os._exit(0)


if __name__ == "__main__":
    main()
