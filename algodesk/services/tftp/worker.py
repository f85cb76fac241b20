"""Engine worker processes: several complete engines sharing one UDP port (Linux SO_REUSEPORT).

The parent binds every worker's listening socket itself (so bind errors surface in the caller's
thread) and hands each to its process; the kernel spreads requests over the sockets by a hash of
the client's address and port. Each worker runs its own ``Engine``, with its own transfers and
file cache. The parent sends it commands on its stdin (settings, root, virtual files, stop) and
reads its events from its stdout on one thread, ``algodesk-tftp-events``; both ways are pickled,
length-prefixed frames between our own processes. The sink is called from that thread; one
worker's events keep their order, events of different workers interleave as they are read.

Workers are started as ``python -m algodesk.services.tftp.worker`` (in a bundle: ``algodesk
tftp-worker``), never forked: forking a process that runs Qt threads is unsafe, and
multiprocessing's spawn would need ``freeze_support`` in the bundle's entry point and re-import
the app's main module in every worker.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
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

# Load-balancing SO_REUSEPORT (a group of sockets sharing requests) is Linux's; elsewhere the
# option means something else (BSD, macOS) or does not exist (Windows).
AVAILABLE = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
MAX_WORKERS = 8
_FRAME = struct.Struct("!I")
_STOP_TIMEOUT = 5.0


def worker_count(setting: int) -> int:
    """Engine processes for the ``workers`` setting (0: one per CPU); 1 where unsupported."""
    if not AVAILABLE:
        return 1
    if setting == 0:
        return max(1, min(os.cpu_count() or 1, MAX_WORKERS))
    return setting


def bind_group(family: int, address: str, port: int, count: int) -> list[socket.socket]:
    """``count`` sockets bound to one port with SO_REUSEPORT; the port must be free.

    A plain socket binds first: it fails as usual when another server (another algodesk too)
    holds the port, and resolves port 0. It is closed before the group binds the port.
    """
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.bind((address, port))
        port = probe.getsockname()[1]
    group: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_DGRAM)
            group.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((address, port))
    except OSError:
        for sock in group:
            sock.close()
        raise
    return group


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
    return [sys.executable, "-m", "algodesk.services.tftp.worker"]


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

    @property
    def alive(self) -> bool:
        """Whether the events thread still runs (some worker has not exited)."""
        return self._thread is not None and self._thread.is_alive()

    def start(
        self,
        listeners: list[socket.socket],
        settings: TftpSettings,
        root: Path | None,
        virtual: list[tuple[str, bytes]],
    ) -> None:
        """Start one worker per listener; the parent's copies of the listeners are closed."""
        try:
            for listener in listeners:
                fd = listener.fileno()
                process = subprocess.Popen(
                    [*_worker_argv(), str(fd)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    pass_fds=(fd,),
                )
                self._processes.append(process)
                assert process.stdin is not None
                _write_frame(process.stdin, ("start", settings, root, virtual))
        except BaseException:
            self.stop()
            raise
        finally:
            for listener in listeners:
                listener.close()
        self._thread = threading.Thread(target=self._read_events, name="algodesk-tftp-events")
        self._thread.start()

    def broadcast(self, *command: object) -> None:
        """Send a command to every worker (a worker that is gone is skipped)."""
        with self._lock:
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

    def _read_events(self) -> None:
        self._on_begin()
        buffers: dict[int, bytearray] = {}
        with selectors.DefaultSelector() as selector:
            for process in self._processes:
                assert process.stdout is not None
                fd = process.stdout.fileno()
                buffers[fd] = bytearray()
                selector.register(fd, selectors.EVENT_READ)
            while buffers:
                for key, _mask in selector.select():
                    fd = int(key.fd)
                    chunk = os.read(fd, 1 << 16)
                    if not chunk:
                        selector.unregister(fd)
                        del buffers[fd]
                        continue
                    buffer = buffers[fd]
                    buffer += chunk
                    self._dispatch(buffer)
        with self._lock:
            died = not self._stopping
        self._on_end(died)

    def _dispatch(self, buffer: bytearray) -> None:
        while len(buffer) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(buffer)
            end = _FRAME.size + size
            if len(buffer) < end:
                return
            event = pickle.loads(buffer[_FRAME.size : end])
            del buffer[:end]
            self._on_event(event)


# ----- the worker's side ------------------------------------------------------------------------


def _control(
    engine: Engine, virtual: VirtualFiles, waker: socket.socket, stream: IO[bytes]
) -> None:
    """Apply the parent's commands until it says stop or goes away."""
    while True:
        try:
            command = _read_frame(stream)
        except (EOFError, OSError):
            command = ("stop",)
        kind = command[0]
        if kind == "set":
            virtual.set(command[1], command[2])
        elif kind == "remove":
            virtual.remove(command[1])
        elif kind == "clear":
            virtual.clear()
        elif kind == "root":
            engine.root = command[1]
        elif kind == "stop":
            engine.stopping.set()
            with contextlib.suppress(OSError):
                waker.send(b"\0")
            return


def main(argv: list[str] | None = None) -> NoReturn:
    """Run one engine on the listening socket whose descriptor is the only argument; exits."""
    args = sys.argv[1:] if argv is None else argv
    listener = socket.socket(fileno=int(args[0]))
    listener.setblocking(False)
    commands, out = sys.stdin.buffer, sys.stdout.buffer
    kind, settings, root, files = _read_frame(commands)
    assert kind == "start"
    virtual = VirtualFiles()
    for name, data in files:
        virtual.set(name, data)
    waker, wake = socket.socketpair()
    waker.setblocking(False)
    wake.setblocking(False)
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
    )
    control = threading.Thread(
        target=_control, args=(engine, virtual, waker, commands), name="algodesk-tftp-control"
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
