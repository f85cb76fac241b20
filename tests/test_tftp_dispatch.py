"""Requests spread over worker engines (dispatch.Balancer), the load board and busy-polling."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from algodesk.core import events as ev
from algodesk.services.tftp import TftpSettings, busypoll
from algodesk.services.tftp.busypoll import BusyPoll
from algodesk.services.tftp.workers import dispatch
from tests.tftp_helpers import RawClient, request, running_server

RRQ = request(1, "algop8186.conf")


def _client(port: int) -> tuple[str, int]:
    return ("127.0.0.1", port)


def _finished(port: int) -> ev.TransferFinished:
    return ev.TransferFinished(
        transfer_id=1,
        client=_client(port),
        served="algop8186.conf",
        bytes_sent=10,
        duration=0.1,
        retransmissions=0,
    )


def test_ten_clients_are_split_five_and_five() -> None:
    balancer = dispatch.Balancer(2)
    chosen = [balancer.choose(RRQ, _client(40000 + i)) for i in range(10)]
    assert sorted(chosen.count(w) for w in (0, 1)) == [5, 5]
    assert balancer.load == [5, 5]


def test_a_repeated_request_reaches_the_same_worker_and_counts_once() -> None:
    balancer = dispatch.Balancer(3)
    first = balancer.choose(RRQ, _client(40000))
    assert [balancer.choose(RRQ, _client(40000)) for _ in range(3)] == [first] * 3
    assert sum(balancer.load) == 1


def test_an_ended_transfer_frees_its_worker() -> None:
    balancer = dispatch.Balancer(2)
    assert balancer.choose(RRQ, _client(1)) == 0
    assert balancer.choose(RRQ, _client(2)) == 1
    assert balancer.choose(RRQ, _client(3)) == 0
    balancer.observe(_finished(2))
    assert balancer.load == [2, 0]
    assert balancer.choose(RRQ, _client(4)) == 1
    refused = ev.RequestRefused(
        client=_client(1), filename="x", reason=ev.RefusalReason.NOT_FOUND, detail="no"
    )
    balancer.observe(refused)
    assert balancer.load == [1, 1]


def test_datagrams_that_are_not_requests_do_not_count() -> None:
    balancer = dispatch.Balancer(2)
    balancer.choose(b"\x00\x04\x00\x01", _client(5))  # a stray ACK to the server's port
    balancer.choose(b"junk", _client(6))
    assert balancer.load == [0, 0]


def test_a_request_that_could_not_be_forwarded_is_forgotten() -> None:
    balancer = dispatch.Balancer(2)
    balancer.choose(RRQ, _client(7))
    balancer.undo(_client(7))
    assert balancer.load == [0, 0]
    assert balancer.choose(RRQ, _client(8)) == 0


@pytest.mark.skipif(sys.platform == "win32", reason="AF_UNIX datagram pairs")
def test_forwarded_datagrams_arrive_whole_with_sender_and_local_address() -> None:
    parent, child = dispatch.request_pair()
    with parent, child:
        big = os.urandom(65000)
        assert dispatch.forward(parent, (RRQ, ("10.1.2.3", 5555), "10.1.2.1"), 3, 1)
        assert dispatch.forward(parent, (big, ("::1", 7, 0, 0), "::1"), 0, 2)
        first = dispatch.receive_forwarded(child)
        assert first == ((RRQ, ("10.1.2.3", 5555), "10.1.2.1"), 3, 1)
        second = dispatch.receive_forwarded(child)
        assert second is not None
        (data, sender, local), in_flight, commands = second
        assert (data, sender[:2], local, in_flight, commands) == (big, ("::1", 7), "::1", 0, 2)
        assert dispatch.receive_forwarded(child) is None  # nothing more: no blocking


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="Linux memfd")
def test_the_load_board_sums_every_worker() -> None:
    from algodesk.services.tftp.workers.loadboard import LoadBoard

    fd = LoadBoard.create()
    try:
        first, second = LoadBoard(fd, 0), LoadBoard(fd, 1)
        first.publish(1)
        assert second.total() == 1
        second.publish(300)  # capped, never wraps to a small number
        assert first.total() == 256
        second.publish(0)
        assert first.total() == 1
        first.close()
        second.close()
    finally:
        os.close(fd)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.00005  # each look at the clock: 50 us later
        return self.now


def test_busy_polling_returns_what_arrives_within_the_spin() -> None:
    clock = _Clock()
    spinner = BusyPoll(0.0002, clock=clock)
    answers = iter([[], [], [(5, 1)]])
    assert spinner.spin(lambda _t: next(answers), clock.now) == [(5, 1)]
    assert spinner.credit == busypoll.CREDIT


def test_busy_polling_not_while_another_worker_has_a_transfer() -> None:
    calls: list[float] = []

    class Busy:
        def total(self) -> int:
            return 2  # this worker's transfer and another worker's

    spinner = BusyPoll(0.0002, Busy(), clock=_Clock())  # type: ignore[arg-type]
    assert spinner.spin(lambda t: calls.append(t) or [], 0.0) == []
    assert calls == []


def test_busy_polling_that_finds_nothing_backs_off_and_probes_again() -> None:
    clock = _Clock()
    spinner = BusyPoll(0.0002, clock=clock)
    polls: list[float] = []

    def nothing(timeout: float) -> list[tuple[int, int]]:
        polls.append(timeout)
        return []

    misses = 0
    while spinner.credit > 0:
        assert spinner.spin(nothing, clock.now) == []
        misses += 1
    assert misses == busypoll.CREDIT // busypoll.MISS
    spun = len(polls)
    # Out of credit: the next PROBE - 1 waits sleep at once, without a single poll(0).
    for _ in range(busypoll.PROBE - 1):
        assert spinner.spin(nothing, clock.now) == []
    assert len(polls) == spun
    assert spinner.spin(nothing, clock.now) == []  # the probe is granted here...
    assert spinner.credit == 1
    assert spinner.spin(nothing, clock.now) == []  # ...and spent on the next wait
    assert len(polls) > spun


def test_busy_polling_can_be_turned_off() -> None:
    spinner = BusyPoll(0.0, clock=_Clock())
    assert spinner.spin(lambda _t: [(1, 1)], 0.0) == []


def test_the_engine_busy_polls_only_with_a_single_transfer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "big.bin").write_bytes(os.urandom(100 * 512))
    spins: list[float] = []
    real = BusyPoll.spin

    def counted(self: BusyPoll, poll: Any, now: float) -> Any:
        spins.append(now)
        return real(self, poll, now)

    monkeypatch.setattr(BusyPoll, "spin", counted)
    # In this process (workers=1), so the counting spin is the one the engine calls.
    settings = TftpSettings(workers=1, busy_poll=0.0001)
    with (
        running_server(tmp_path, settings) as (server, _log),
        RawClient(server.port) as first,
        RawClient(server.port) as second,
    ):
        first.rrq("big.bin")
        for block in range(1, 6):
            assert first.recv().block == block
            first.ack(block)
        assert spins, "one transfer: the engine polls before it sleeps"
        second.rrq("big.bin")
        assert second.recv().block == 1
        assert first.recv().block == 6
        spins.clear()
        for block in range(6, 11):
            first.ack(block)
            second.ack(block - 5)
            assert first.recv().block == block + 1
            assert second.recv().block == block - 4
        assert not spins, "two transfers: the engine sleeps at once"
