"""Requests handed from the parent's listener to worker engines, balanced by their load.

With worker processes (``worker``), only the parent reads the listening socket. Each datagram is
forwarded, with its sender and the local address it reached, over a private datagram socket pair
to one worker, which answers it exactly as a lone engine would. The worker is chosen by its load:
the datagrams it was given and has not answered plus the transfers it started that have not
ended (``Balancer``), so a bench of N devices is split as evenly as it can be (a kernel hash such as SO_REUSEPORT's splits ten clients 7/3 about a quarter of the time,
and the busier worker then sets the pace). A client whose transfer is still under way is sent
back to the same worker, so a repeated request reaches the transfer it repeats.
"""

from __future__ import annotations

import pickle
import socket
from collections import Counter, deque
from typing import Any, NamedTuple

from algodesk.core import events as ev
from algodesk.services.tftp import packets
from algodesk.services.tftp.repeats import RecentlyServed
from algodesk.services.tftp.sockets import RECV_BUFFER, Received

# Room for a burst of requests queued towards a busy worker.
_PAIR_BUFFER = 1 << 20


def request_pair() -> tuple[socket.socket, socket.socket]:
    """The parent's end and the worker's end of a private datagram channel."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    for sock in (parent, child):
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _PAIR_BUFFER)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _PAIR_BUFFER)
        except OSError:
            pass
    parent.setblocking(False)
    child.setblocking(False)
    return parent, child


class Forwarded(NamedTuple):
    """A datagram as a worker gets it."""

    received: Received
    in_flight: int
    """Transfers the whole server has in flight (``max_transfers`` holds for the server)."""
    commands: int
    """Commands (virtual files, root) the parent had sent when the datagram came: the worker
    applies them all before it answers (``worker.Commands``)."""
    from_address: int
    """What the sender's address holds in every worker (fair admission, ``max_per_address``)."""


def forward(
    channel: socket.socket, received: Received, in_flight: int, commands: int, from_address: int
) -> bool:
    """Send one received datagram down a worker's channel; False when it could not be queued."""
    message = (received, in_flight, commands, from_address)
    try:
        channel.send(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError:
        return False  # the worker is gone or far behind: the client will ask again
    return True


def receive_forwarded(channel: socket.socket) -> Forwarded | None:
    """One forwarded datagram (the worker's side), or None when there is none."""
    try:
        payload = channel.recv(RECV_BUFFER + 1024)
    except OSError:
        return None
    (data, sender, local, arrived), in_flight, commands, from_address = pickle.loads(payload)
    received = (bytes(data), tuple(sender), str(local), arrived)
    return Forwarded(received, int(in_flight), int(commands), int(from_address))


def _client(address: tuple[str, int]) -> tuple[str, int]:
    return (address[0], address[1])


def requested_name(data: bytes) -> str | None:
    """The file a request datagram asks for; None for any other datagram."""
    if len(data) < 2 or data[0] != 0 or data[1] not in (packets.RRQ, packets.WRQ):
        return None
    try:
        return packets.parse_request(data).filename
    except packets.MalformedPacket:
        return ""


class _Route:
    """What one client holds in its worker: datagrams not yet answered, transfers running."""

    __slots__ = ("asked", "converted", "files", "running", "waiting", "worker")

    def __init__(self, worker: int) -> None:
        self.worker = worker
        # Datagrams not yet answered, oldest first: the file a request asks for, else None.
        self.waiting: deque[str | None] = deque()
        self.running = 0
        # A datagram that ended in an event (its transfer started, or it was refused): its
        # "answered" follows and must not count again.
        self.converted = 0
        # The files asked for by the waiting datagrams, and by the running transfers (counts).
        self.asked: Counter[str] = Counter()
        self.files: Counter[str] = Counter()

    @property
    def pending(self) -> int:
        return len(self.waiting)

    @property
    def held(self) -> int:
        return self.pending + self.running

    @property
    def requests(self) -> int:
        """Requests the client holds, as one engine counts them for admission: its running
        transfers and the files it asked for that are not answered yet, each once (a client
        that asks again before its answer came still holds one request)."""
        return self.running + sum(1 for name in self.asked if name not in self.files)

    def wait(self, request: str | None) -> None:
        self.waiting.append(request)
        if request:
            self.asked[request] += 1

    def unwait(self, *, newest: bool = False) -> None:
        request = self.waiting.pop() if newest else self.waiting.popleft()
        if request:
            self.asked[request] -= 1
            if not self.asked[request]:
                del self.asked[request]


class Balancer:
    """Chooses a worker for each datagram and follows the workers' frames to know their load.

    A worker's load is exact, counted from what it tells: the datagrams forwarded to it that it
    has not yet answered (``answered``) plus the transfers it started that have not ended, each
    known by its server-wide number. A worker reports a datagram's transfer start before it says
    the datagram was answered, so a start turns the client's oldest pending datagram into a
    transfer. A client is sent back to the worker that holds anything of its (so a repeated
    request reaches the transfer it repeats) for as long as it holds anything there, however
    many transfers that is. A lost worker gets nothing more.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("need at least one worker")
        self.load = [0] * workers
        self.alive = [True] * workers
        self._routes: dict[tuple[str, int], _Route] = {}
        # Requests held (``_Route.requests``), in all and per client address, kept as routes
        # change: asked for every request, so never a walk over every client.
        self._requests = 0
        self._by_address: dict[str, int] = {}
        # transfer -> [worker, its start, bytes acknowledged so far]
        self._running: dict[int, list[Any]] = {}
        # Served the whole server: a late copy of a request may come to another worker's turn.
        self.recent = RecentlyServed()

    @property
    def in_flight(self) -> int:
        """Requests the workers hold: transfers running and requests not answered yet, a
        request asked again before its answer counted once (as one engine counts)."""
        return self._requests

    def held_by(self, address: str) -> int:
        """Requests (as :attr:`in_flight` counts them) of every client at ``address``."""
        return self._by_address.get(address, 0)

    @property
    def serving(self) -> int:
        """Workers not lost."""
        return sum(self.alive)

    def choose(self, sender: tuple[str, int], request: str | None = None) -> int | None:
        """The worker for a datagram from ``sender`` (None: every worker is lost); it counts
        towards that worker's load until the worker says it was answered. ``request``: the
        file the datagram asks for, when it is a request."""
        client = _client(sender)
        route = self._routes.get(client)
        if route is None:
            candidates = [w for w, alive in enumerate(self.alive) if alive]
            if not candidates:
                return None
            route = self._routes[client] = _Route(min(candidates, key=self.load.__getitem__))
        before = route.requests
        route.wait(request)
        self._recount(client, route, before)
        self.load[route.worker] += 1
        return route.worker

    def undo(self, sender: tuple[str, int]) -> None:
        """The datagram ``choose`` placed could not be forwarded: take back that one count."""
        client = _client(sender)
        route = self._routes.get(client)
        if route is not None and route.pending:
            before = route.requests
            route.unwait(newest=True)
            self._recount(client, route, before)
            self._drop(client, route, 1)

    def answered(self, worker: int, sender: tuple[str, int]) -> None:
        """``worker`` answered a forwarded datagram (a transfer it started was told before)."""
        client = _client(sender)
        route = self._routes.get(client)
        if route is None or route.worker != worker:
            return
        if route.converted:
            route.converted -= 1
            self._drop(client, route, 0)
        elif route.pending:
            before = route.requests
            route.unwait()
            self._recount(client, route, before)
            self._drop(client, route, 1)

    def observe(self, worker: int, event: ev.Event) -> None:
        """An event of ``worker``: a transfer started holds it, an ended one frees it, and a
        refusal frees its datagram's slot at once (not when "answered" follows): a client told
        "busy" that asks again is not counted against itself, nor is anyone else."""
        if isinstance(event, ev.RequestRefused):
            client = _client(event.client)
            route = self._routes.get(client)
            if route is not None and route.worker == worker and route.pending:
                before = route.requests
                route.unwait()
                route.converted += 1
                self._recount(client, route, before)
                self._drop(client, route, 1)
        elif isinstance(event, ev.TransferStarted):
            client = _client(event.client)
            route = self._routes.get(client)
            if route is None or route.worker != worker:
                return  # cannot be: the worker still holds the datagram that asked for it
            before = route.requests
            if route.pending:
                route.unwait()
                route.converted += 1
            else:
                self.load[worker] += 1
            route.running += 1
            route.files[event.requested] += 1
            self._recount(client, route, before)
            self._running[event.transfer_id] = [worker, event, 0]
        elif isinstance(event, ev.TransferProgress):
            held = self._running.get(event.transfer_id)
            if held is not None:
                held[2] = event.bytes_sent
        elif isinstance(event, (ev.TransferFinished, ev.TransferFailed)):
            held = self._running.pop(event.transfer_id, None)
            if held is None:
                return
            if isinstance(event, ev.TransferFinished) or event.bytes_sent:
                # The worker said so after its last DATA left. A failed transfer whose client
                # acknowledged data counts too: the client had our answer (engine._fail).
                self.recent.served(held[1].client, held[1].requested, event.time)
            client = _client(held[1].client)
            route = self._routes.get(client)
            if route is not None and route.running:
                before = route.requests
                route.running -= 1
                requested = held[1].requested
                route.files[requested] -= 1
                if not route.files[requested]:
                    del route.files[requested]
                self._recount(client, route, before)
                self._drop(client, route, 1)

    def lose(
        self, worker: int
    ) -> tuple[list[tuple[ev.TransferStarted, int]], list[tuple[tuple[str, int], str]]]:
        """``worker`` is gone: it gets nothing more. Returns its transfers that never ended,
        each with the bytes it was last known to have sent, and the requests (client, file)
        it never answered."""
        self.alive[worker] = False
        lost = [(start, sent) for w, start, sent in self._running.values() if w == worker]
        for start, _sent in lost:
            del self._running[start.transfer_id]
        unanswered = []
        for client, route in list(self._routes.items()):
            if route.worker == worker:
                unanswered += [(client, name) for name in route.waiting if name is not None]
                self._recount(client, route, route.requests, after=0)
                del self._routes[client]
        self.load[worker] = 0
        return lost, unanswered

    def _recount(
        self, client: tuple[str, int], route: _Route, before: int, *, after: int | None = None
    ) -> None:
        """Follow a change of ``route``'s requests from ``before`` (to ``after``: its count)."""
        delta = (route.requests if after is None else after) - before
        if delta:
            self._requests += delta
            address = client[0]
            held = self._by_address.get(address, 0) + delta
            if held:
                self._by_address[address] = held
            else:
                del self._by_address[address]

    def _drop(self, client: tuple[str, int], route: _Route, count: int) -> None:
        self.load[route.worker] -= count
        if not route.held and not route.converted:
            del self._routes[client]
