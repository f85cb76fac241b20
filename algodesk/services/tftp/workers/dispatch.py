"""Requests handed from the parent's listener to worker engines, balanced by their load.

With worker processes (``worker``), only the parent reads the listening socket. Each datagram is
forwarded, with its sender and the local address it reached, over a private datagram socket pair
to one worker, which answers it exactly as a lone engine would. The worker is chosen by its load:
the transfers it was given that have not ended, so a bench of N devices is split as evenly as it
can be (a kernel hash such as SO_REUSEPORT's splits ten clients 7/3 about a quarter of the time,
and the busier worker then sets the pace). A client whose transfer is still under way is sent
back to the same worker, so a repeated request reaches the transfer it repeats.
"""

from __future__ import annotations

import pickle
import socket
from typing import NamedTuple

from algodesk.core import events as ev
from algodesk.services.tftp import packets
from algodesk.services.tftp.sockets import RECV_BUFFER, Received

# Room for a burst of requests queued towards a busy worker.
_PAIR_BUFFER = 1 << 20
_REQUESTS = (packets.RRQ, packets.WRQ)
_ENDINGS = (ev.TransferFinished, ev.TransferFailed, ev.RequestRefused)


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


def forward(channel: socket.socket, received: Received, in_flight: int, commands: int) -> bool:
    """Send one received datagram down a worker's channel; False when it could not be queued."""
    message = (received, in_flight, commands)
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
    (data, sender, local), in_flight, commands = pickle.loads(payload)
    return Forwarded((bytes(data), tuple(sender), str(local)), int(in_flight), int(commands))


def _client(address: tuple[str, int]) -> tuple[str, int]:
    return (address[0], address[1])


class Balancer:
    """Chooses a worker for each datagram and follows the workers' events to know their load."""

    def __init__(self, workers: int, max_clients: int = 100_000) -> None:
        if workers < 1:
            raise ValueError("need at least one worker")
        self.load = [0] * workers
        self._owner: dict[tuple[str, int], int] = {}
        self._max_clients = max_clients

    @property
    def in_flight(self) -> int:
        """Requests and transfers handed to the workers that have not ended."""
        return sum(self.load)

    def choose(self, data: bytes, sender: tuple[str, int]) -> int:
        """The worker for a datagram from ``sender``; a request counts towards its load."""
        client = _client(sender)
        worker = self._owner.get(client)
        if worker is not None:
            return worker
        load = self.load
        worker = load.index(min(load))
        if len(data) >= 2 and data[0] == 0 and data[1] in _REQUESTS:
            if len(self._owner) >= self._max_clients:
                # Only lost events could leave this many: start counting afresh.
                self._owner.clear()
                self.load = [0] * len(load)
            self._owner[client] = worker
            self.load[worker] += 1
        return worker

    def undo(self, sender: tuple[str, int]) -> None:
        """The datagram ``choose`` placed could not be forwarded: forget it."""
        self._end(_client(sender))

    def observe(self, event: ev.Event) -> None:
        """A worker's event: a transfer or request that ended frees its worker."""
        if isinstance(event, _ENDINGS):
            self._end(event.client)

    def _end(self, client: tuple[str, int]) -> None:
        worker = self._owner.pop(client, None)
        if worker is not None:
            self.load[worker] -= 1
