"""Busy-polling before the engine sleeps, while the whole server has a single transfer in flight.

With one client on a fast bench (loopback, a switch next to the laptop), the next ACK comes a few
microseconds after our DATA. An engine that sleeps in the poller between them has to be woken for
every packet; on a virtual machine that wake-up (an inter-processor interrupt) costs more than
the packet. Polling without sleeping for a moment (``TftpSettings.busy_poll``) serves such a
client without it. Only with a single transfer in the whole server (``loadboard``): then a CPU is
free for us and the client; with more, the CPUs have work and a spinning engine would only take
turns from the clients.

Spinning must stay cheap where it does not pay (a real LAN, a slow device): each spin that found
a packet earns a credit (up to ``CREDIT``), each that found none costs ``MISS``; at zero the engine
sleeps at once, and tries one spin again after ``PROBE`` sleeps. A client slower than the spin so
costs at most one spin per ``PROBE`` packets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from algodesk.services.tftp.workers.loadboard import LoadBoard

CREDIT = 16
MISS = 4
PROBE = 64

T = TypeVar("T")


class BusyPoll:
    """Decides whether to spin before a wait, and spins."""

    def __init__(
        self,
        seconds: float,
        board: LoadBoard | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.board = board
        self.clock = clock
        self.credit = CREDIT
        self.slept = 0

    def spin(self, poll: Callable[[float], list[T]], now: float) -> list[T]:
        """What ``poll(0)`` found within the spin, or ``[]``: the caller then sleeps in poll.

        The engine asks only while it has a single transfer itself; the board tells whether
        another worker has one too.
        """
        if not self.seconds:
            return []
        if self.credit <= 0:
            self.slept += 1
            if self.slept >= PROBE:
                self.slept, self.credit = 0, 1
            return []
        if self.board is not None and self.board.total() > 1:
            return []
        until = now + self.seconds
        clock = self.clock
        while not (ready := poll(0)):
            if clock() >= until:
                self.credit -= MISS
                return []
        if self.credit < CREDIT:
            self.credit += 1
        return ready
