"""A lossy UDP relay for TFTP tests: drops, duplicates and reorders datagrams on loopback.

The relay sits between a TFTP client and a server. The client sends its request to the relay's
listen port; the relay forwards it to the server from a socket of its own per client, so the server
sees one peer per client. The server answers from a fresh transfer port (its TID); for each such
port the relay opens a client-facing socket, so the client sees one consistent peer per transfer,
exactly as it would talking to the server directly.

Each direction has its own impairment (drop, duplicate, reorder probabilities) and every decision
comes from one seeded RNG, so a run is reproducible up to the timing of the endpoints.
"""

from __future__ import annotations

import heapq
import random
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import count

Address = tuple[str, int]

_MAX_DATAGRAM = 65535


class Direction(StrEnum):
    """Which way a datagram travels through the relay."""

    TO_SERVER = "to-server"
    TO_CLIENT = "to-client"


@dataclass(frozen=True, slots=True)
class Impairment:
    """What happens to datagrams in one direction; each probability is in [0, 1].

    A reordered datagram is held back for ``hold`` seconds, so later datagrams overtake it (with a
    lock-step protocol where nothing follows, it is simply late). The first ``grace`` datagrams
    pass untouched, e.g. to spare an option negotiation that a client cannot repeat.
    """

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    hold: float = 0.02
    grace: int = 0

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], not {value}")
        if self.hold < 0 or self.grace < 0:
            raise ValueError(f"hold and grace must not be negative, not {self.hold}, {self.grace}")


@dataclass(slots=True)
class Counts:
    """What the relay did to datagrams (a snapshot when returned by ``LossyRelay.counts``)."""

    received: int = 0
    forwarded: int = 0
    dropped: int = 0
    duplicated: int = 0
    reordered: int = 0

    def add(self, other: Counts) -> Counts:
        """The sum of two counts."""
        return Counts(
            self.received + other.received,
            self.forwarded + other.forwarded,
            self.dropped + other.dropped,
            self.duplicated + other.duplicated,
            self.reordered + other.reordered,
        )


@dataclass(frozen=True, slots=True)
class _Route:
    """Where a client's datagram arriving on a client-facing transfer socket goes next."""

    out: socket.socket
    target: Address


@dataclass(order=True, slots=True)
class _Held:
    """A datagram held back to be reordered, due at ``due`` (``sequence`` breaks ties)."""

    due: float
    sequence: int
    out: socket.socket = field(compare=False)
    data: bytes = field(compare=False)
    target: Address = field(compare=False)
    direction: Direction = field(compare=False)


class LossyRelay:
    """A UDP relay on loopback that impairs traffic between TFTP clients and one server.

    Use ``start()`` then point clients at ``relay.port``; ``stop()`` closes every socket. Also a
    context manager. Sockets live as long as the relay: one relay per test or benchmark run.
    """

    def __init__(
        self,
        server: Address,
        *,
        to_server: Impairment | None = None,
        to_client: Impairment | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
    ) -> None:
        self._server = server
        self._impairments = {
            Direction.TO_SERVER: to_server or Impairment(),
            Direction.TO_CLIENT: to_client or Impairment(),
        }
        self._rng = random.Random(seed)
        self._host = host
        self._family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._counts = {direction: Counts() for direction in Direction}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._listen: socket.socket | None = None
        self._port = 0
        self._sequence = count()

    @classmethod
    def symmetric(
        cls,
        server: Address,
        *,
        drop: float = 0.0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        seed: int = 0,
    ) -> LossyRelay:
        """A relay with the same impairment both ways."""
        impairment = Impairment(drop=drop, duplicate=duplicate, reorder=reorder)
        return cls(server, to_server=impairment, to_client=impairment, seed=seed)

    @property
    def port(self) -> int:
        """The port clients send their requests to (valid after ``start()``)."""
        return self._port

    @property
    def address(self) -> Address:
        """The (host, port) clients send their requests to."""
        return (self._host, self._port)

    def counts(self, direction: Direction | None = None) -> Counts:
        """A snapshot of the counts for one direction, or both summed."""
        with self._lock:
            if direction is not None:
                return Counts().add(self._counts[direction])
            return self._counts[Direction.TO_SERVER].add(self._counts[Direction.TO_CLIENT])

    def start(self) -> None:
        """Bind the listen socket and start relaying; returns once bound."""
        if self._thread is not None:
            raise RuntimeError("relay already started")
        listen = socket.socket(self._family, socket.SOCK_DGRAM)
        listen.bind((self._host, 0))
        self._listen = listen
        self._port = listen.getsockname()[1]
        self._stopping.clear()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name="algodesk-lossy-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop relaying and close every socket; returns within a few milliseconds."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self._wake_w.send(b"x")
        thread.join(timeout=2.0)
        self._thread = None
        # Closed here, after the join: were the thread to close its end, a wake-up sent just as
        # it saw ``_stopping`` would fail with a broken pipe.
        self._wake_w.close()
        self._wake_r.close()

    def __enter__(self) -> LossyRelay:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the relay thread -------------------------------------------------------------------

    def _run(self) -> None:
        assert self._listen is not None
        listen = self._listen
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        selector.register(listen, selectors.EVENT_READ)
        # Server-facing sockets, one per client address, and the client each one speaks for.
        upstream: dict[Address, socket.socket] = {}
        client_of: dict[socket.socket, Address] = {}
        # Client-facing sockets, one per (client, server transfer address), and their routes.
        downstream: dict[tuple[Address, Address], socket.socket] = {}
        routes: dict[socket.socket, _Route] = {}
        held: list[_Held] = []
        try:
            while not self._stopping.is_set():
                timeout = max(0.0, held[0].due - time.monotonic()) if held else 0.5
                for key, _mask in selector.select(timeout):
                    sock = key.fileobj
                    if sock is self._wake_r:
                        continue
                    assert isinstance(sock, socket.socket)
                    try:
                        data, peer = sock.recvfrom(_MAX_DATAGRAM)
                    except OSError:
                        continue  # an ICMP "port unreachable" from an earlier send lands here
                    now = time.monotonic()
                    source: Address = (peer[0], peer[1])
                    if sock is listen:
                        out = upstream.get(source)
                        if out is None:
                            out = self._socket()
                            upstream[source], client_of[out] = out, source
                            selector.register(out, selectors.EVENT_READ)
                        target, direction = self._server, Direction.TO_SERVER
                    elif sock in client_of:
                        target, direction = client_of[sock], Direction.TO_CLIENT
                        if source == self._server:
                            # Answered from the server's own port: the client must see the
                            # relay's listen port, as it would have seen the server's.
                            out = listen
                        else:
                            out = downstream.get((target, source))
                            if out is None:
                                out = self._socket()
                                downstream[(target, source)] = out
                                routes[out] = _Route(sock, source)
                                selector.register(out, selectors.EVENT_READ)
                    else:
                        route = routes[sock]
                        out, target, direction = route.out, route.target, Direction.TO_SERVER
                        if source != client_of[out]:
                            continue  # a stranger on a transfer port: not ours to relay
                    self._impair(data, out, target, direction, held, now)
                now = time.monotonic()
                while held and held[0].due <= now:
                    item = heapq.heappop(held)
                    self._send(item.out, item.data, item.target, item.direction)
        finally:
            selector.close()
            for sock in {*upstream.values(), *downstream.values(), listen}:
                sock.close()

    def _socket(self) -> socket.socket:
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        sock.bind((self._host, 0))
        return sock

    def _impair(
        self,
        data: bytes,
        out: socket.socket,
        target: Address,
        direction: Direction,
        held: list[_Held],
        now: float,
    ) -> None:
        """Drop, duplicate, hold back or forward one datagram."""
        impairment = self._impairments[direction]
        # Draw all three numbers every time so one probability never shifts another's stream.
        drop, duplicate, reorder = self._rng.random(), self._rng.random(), self._rng.random()
        with self._lock:
            counts = self._counts[direction]
            counts.received += 1
            if counts.received <= impairment.grace:
                drop = duplicate = reorder = 1.0
            copies = 2 if duplicate < impairment.duplicate else 1
            if drop < impairment.drop:
                counts.dropped += 1
                return
            counts.duplicated += copies - 1
            hold = reorder < impairment.reorder
            counts.reordered += hold
        for _ in range(copies):
            if hold:
                due = now + impairment.hold
                heapq.heappush(held, _Held(due, next(self._sequence), out, data, target, direction))
            else:
                self._send(out, data, target, direction)

    def _send(self, out: socket.socket, data: bytes, target: Address, direction: Direction) -> None:
        # Counted before sending, so a receiver that has the datagram also sees it counted.
        with self._lock:
            self._counts[direction].forwarded += 1
        try:
            out.sendto(data, target)
        except OSError:
            # The peer went away (or the route was swept): UDP has no one to tell.
            with self._lock:
                self._counts[direction].forwarded -= 1
