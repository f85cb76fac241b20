"""A small raw-UDP TFTP client for engine tests, and a server fixture helper (loopback only)."""

from __future__ import annotations

import socket
import struct
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from algodesk.core import events as ev
from algodesk.services.tftp import TftpServer, TftpSettings, snapshot

LOOPBACK = "127.0.0.1"
RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6

# The engine's two serving modes, named explicitly (never chosen by the machine's CPU count): one
# engine thread in this process (every platform's path, the default) and two worker processes.
MODES = [
    pytest.param(1, id="one-engine"),
    pytest.param(
        2,
        id="two-workers",
        marks=pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux workers"),
    ),
]

# Small timer bounds so that retransmission and give-up paths finish quickly in tests.
FAST = TftpSettings(initial_timeout=0.2, min_timeout=0.05, max_timeout=0.4, max_retries=3)


@dataclass
class Reply:
    """A parsed packet from the server."""

    opcode: int
    block: int = 0
    data: bytes = b""
    options: dict[str, str] = field(default_factory=dict)
    code: int = -1
    message: str = ""


def parse(packet: bytes) -> Reply:
    """Parse a server packet (DATA, OACK or ERROR)."""
    opcode = struct.unpack("!H", packet[:2])[0]
    if opcode == DATA:
        return Reply(DATA, block=struct.unpack("!H", packet[2:4])[0], data=packet[4:])
    if opcode == ERROR:
        code = struct.unpack("!H", packet[2:4])[0]
        return Reply(ERROR, code=code, message=packet[4:].split(b"\0")[0].decode())
    if opcode == OACK:
        fields = packet[2:].split(b"\0")[:-1]
        pairs = {fields[i].decode(): fields[i + 1].decode() for i in range(0, len(fields), 2)}
        return Reply(OACK, options=pairs)
    return Reply(opcode)


def request(opcode: int, filename: str, mode: str = "octet", **options: object) -> bytes:
    """An RRQ/WRQ packet with ``options`` (values converted with ``str``)."""
    body = f"{filename}\0{mode}\0".encode()
    body += b"".join(f"{key}\0{value}\0".encode() for key, value in options.items())
    return struct.pack("!H", opcode) + body


def ack(block: int) -> bytes:
    """An ACK packet."""
    return struct.pack("!HH", ACK, block & 0xFFFF)


class RawClient:
    """A UDP socket speaking TFTP one packet at a time."""

    def __init__(self, port: int, timeout: float = 3.0, source: str = LOOPBACK) -> None:
        self.server = (LOOPBACK, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source, 0))
        self.sock.settimeout(timeout)
        self.peer: tuple[str, int] | None = None

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rrq(self, filename: str, mode: str = "octet", **options: object) -> None:
        """Send a read request to the server's listening port."""
        self.sock.sendto(request(RRQ, filename, mode, **options), self.server)

    def send(self, packet: bytes, to: tuple[str, int] | None = None) -> None:
        """Send raw bytes to ``to`` (default: the transfer peer)."""
        target = to or self.peer
        assert target is not None, "no transfer peer yet"
        self.sock.sendto(packet, target)

    def ack(self, block: int) -> None:
        """ACK ``block`` to the transfer peer."""
        self.send(ack(block))

    def recv(self) -> Reply:
        """The next packet; the first one fixes the transfer peer (its TID)."""
        packet, sender = self.sock.recvfrom(70000)
        if self.peer is None and sender != self.server:
            self.peer = sender
        return parse(packet)

    def recv_raw(self) -> tuple[bytes, tuple[str, int]]:
        """The next datagram and its sender."""
        packet, sender = self.sock.recvfrom(70000)
        return packet, sender

    def expect_nothing(self, wait: float = 0.3) -> bool:
        """True when nothing arrives within ``wait`` seconds."""
        self.sock.settimeout(wait)
        try:
            self.sock.recvfrom(70000)
        except TimeoutError:
            return True
        return False

    def fetch(self, filename: str, mode: str = "octet", **options: object) -> tuple[bytes, Reply]:
        """Download ``filename``; returns the bytes and the first reply (OACK or DATA 1)."""
        self.rrq(filename, mode, **options)
        return self.finish(self.recv())

    def finish(self, first: Reply) -> tuple[bytes, Reply]:
        """Download the rest of a transfer whose first reply (OACK or DATA 1) is ``first``."""
        if first.opcode == ERROR:
            return b"", first
        agreed = {key.lower(): value for key, value in first.options.items()}
        window = int(agreed.get("windowsize", 1))
        blksize = int(agreed.get("blksize", 512))
        chunks: list[bytes] = []
        expected = 1
        reply = first
        if first.opcode == OACK:
            self.ack(0)
            reply = self.recv()
        received_in_window = 0
        while True:
            assert reply.opcode == DATA, reply
            if reply.block == expected & 0xFFFF:
                chunks.append(reply.data)
                expected += 1
                received_in_window += 1
                last = len(reply.data) < blksize
                if last or received_in_window == window:
                    self.ack(reply.block)
                    received_in_window = 0
                if last:
                    return b"".join(chunks), first
            reply = self.recv()


class EventLog:
    """A thread-safe sink that keeps every event and lets tests wait for one."""

    def __init__(self) -> None:
        self.events: list[ev.Event] = []
        self._cond = threading.Condition()

    def __call__(self, event: ev.Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, kind: type[ev.Event]) -> list[ev.Event]:
        """Events of type ``kind`` so far."""
        with self._cond:
            return [event for event in self.events if isinstance(event, kind)]

    def wait_until(self, match: Callable[[ev.Event], bool], timeout: float = 5.0) -> ev.Event:
        """Wait for an event that ``match`` accepts; returns it (fails on timeout)."""
        with self._cond:
            ok = self._cond.wait_for(lambda: any(match(e) for e in self.events), timeout)
            found = [e for e in self.events if match(e)]
        assert ok, f"no matching event: {self.events[-5:]}"
        return found[0]

    def wait_for(
        self, kind: type[ev.Event], count: int = 1, timeout: float = 5.0
    ) -> list[ev.Event]:
        """Wait until ``count`` events of ``kind`` arrived; returns them (fails on timeout)."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: sum(isinstance(e, kind) for e in self.events) >= count, timeout
            )
        found = self.of(kind)
        assert ok, f"expected {count} {kind.__name__}, got {len(found)}: {self.events[-5:]}"
        return found


@contextmanager
def running_server(
    root: Path | None, settings: TftpSettings | None = None, address: str = LOOPBACK
) -> Iterator[tuple[TftpServer, EventLog]]:
    """A started server on a free loopback port, stopped on exit even when the test fails."""
    log = EventLog()
    server = TftpServer(root, address, 0, sink=log, settings=settings)
    server.start()
    try:
        yield server, log
    finally:
        server.stop()


def count_copies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every copy of a big file made from now on in this process (private or shared:
    ``snapshot``), one entry per copy."""
    calls: list[int] = []
    real = snapshot._copy

    def counted(source: int, target: int, size: int) -> int:
        calls.append(size)
        return real(source, target, size)

    monkeypatch.setattr(snapshot, "_copy", counted)
    return calls
