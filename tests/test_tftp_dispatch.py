"""Requests spread over worker engines (dispatch.Balancer) and the channel that carries them."""

from __future__ import annotations

import os
import sys

import pytest

from algodesk.core import events as ev
from algodesk.services.tftp.workers import dispatch
from tests.tftp_helpers import request

RRQ = request(1, "algop8186.conf")


def _client(port: int) -> tuple[str, int]:
    return ("127.0.0.1", port)


def _started(tid: int, port: int) -> ev.TransferStarted:
    return ev.TransferStarted(
        transfer_id=tid,
        client=_client(port),
        requested="algop8186.conf",
        served="algop8186.conf",
        source=ev.Source.DISK,
        size=10,
    )


def _finished(tid: int, port: int) -> ev.TransferFinished:
    return ev.TransferFinished(
        transfer_id=tid,
        client=_client(port),
        served="algop8186.conf",
        bytes_sent=10,
        duration=0.1,
        retransmissions=0,
    )


def _serve(balancer: dispatch.Balancer, tid: int, port: int) -> int:
    """A request from ``port`` placed, started as transfer ``tid`` and answered."""
    worker = balancer.choose(_client(port))
    assert worker is not None
    balancer.observe(worker, _started(tid, port))
    balancer.answered(worker, _client(port))
    return worker


def test_ten_clients_are_split_five_and_five() -> None:
    balancer = dispatch.Balancer(2)
    chosen = [_serve(balancer, i, 40000 + i) for i in range(10)]
    assert sorted(chosen.count(w) for w in (0, 1)) == [5, 5]
    assert balancer.load == [5, 5]


def test_a_repeated_request_reaches_the_same_worker_until_it_is_answered() -> None:
    balancer = dispatch.Balancer(3)
    first = _serve(balancer, 1, 40000)
    assert [balancer.choose(_client(40000)) for _ in range(3)] == [first] * 3
    for _ in range(3):  # the repeats are answered by resending, no new transfer
        balancer.answered(first, _client(40000))
    assert sum(balancer.load) == 1


def test_an_ended_transfer_frees_its_worker() -> None:
    balancer = dispatch.Balancer(2)
    assert [_serve(balancer, tid, tid) for tid in (1, 2, 3)] == [0, 1, 0]
    balancer.observe(1, _finished(2, 2))
    assert balancer.load == [2, 0]
    assert _serve(balancer, 4, 4) == 1
    refused = balancer.choose(_client(5))  # a request the worker refuses: answered, no start
    assert refused == 1
    balancer.answered(1, _client(5))
    assert balancer.load == [2, 1]


def test_a_refusal_frees_its_slot_before_its_answer_is_told() -> None:
    # The worker sends its refusal, then its event, then "answered": a client (or another one)
    # asking again at once must not find the refused request still counted.
    balancer = dispatch.Balancer(1)
    assert balancer.choose(_client(5), "algop8186.conf") == 0
    refusal = ev.RequestRefused(
        client=_client(5), filename="algop8186.conf", reason=ev.RefusalReason.BUSY, detail="busy"
    )
    balancer.observe(0, refusal)
    assert (balancer.in_flight, balancer.held_by("127.0.0.1")) == (0, 0)
    balancer.answered(0, _client(5))
    assert balancer.load == [0]
    assert balancer.choose(_client(5)) == 0  # and the client's next request counts once
    assert balancer.load == [1]


def test_two_transfers_of_one_client_port_both_count() -> None:
    # Keyed by the client's address, the second transfer used to be lost: the first one's end
    # freed the client and its worker counted nothing while the second still ran.
    balancer = dispatch.Balancer(2)
    worker = _serve(balancer, 1, 7000)
    assert _serve(balancer, 2, 7000) == worker
    balancer.observe(worker, _finished(1, 7000))
    assert balancer.load[worker] == 1
    assert balancer.choose(_client(7000)) == worker  # still routed to its transfer
    balancer.observe(worker, _finished(2, 7000))
    balancer.answered(worker, _client(7000))
    assert balancer.load == [0, 0]


def test_a_datagram_that_could_not_be_forwarded_is_taken_back_alone() -> None:
    balancer = dispatch.Balancer(2)
    worker = _serve(balancer, 1, 7)
    assert balancer.choose(_client(7)) == worker  # e.g. an ERROR from the client, to our port
    balancer.undo(_client(7))  # its worker's queue was full
    assert balancer.load[worker] == 1  # the running transfer still counts...
    assert balancer.choose(_client(7)) == worker  # ...and still owns the client
    balancer.undo(_client(7))
    balancer.observe(worker, _finished(1, 7))
    assert balancer.load == [0, 0]


def test_a_lost_worker_gets_nothing_and_gives_back_its_transfers() -> None:
    balancer = dispatch.Balancer(2)
    assert [_serve(balancer, tid, tid) for tid in (1, 2, 3)] == [0, 1, 0]
    balancer.observe(
        0,
        ev.TransferProgress(transfer_id=3, client=_client(3), served="x", bytes_sent=512, size=10),
    )
    assert balancer.choose(_client(11), "algom0022EE000011.conf") == 1  # worker 1: least load
    assert balancer.choose(_client(12), "algop8186.conf") == 0  # then worker 0
    lost, unanswered = balancer.lose(0)
    assert sorted((start.transfer_id, sent) for start, sent in lost) == [(1, 0), (3, 512)]
    assert unanswered == [(_client(12), "algop8186.conf")]  # requests it never answered
    balancer.answered(1, _client(11))
    assert balancer.load == [0, 1] and balancer.serving == 1
    assert {balancer.choose(_client(port)) for port in (1, 3, 9)} == {1}
    balancer.lose(1)
    assert balancer.choose(_client(10)) is None


@pytest.mark.skipif(sys.platform == "win32", reason="AF_UNIX datagram pairs")
def test_forwarded_datagrams_arrive_whole_with_sender_and_local_address() -> None:
    parent, child = dispatch.request_pair()
    with parent, child:
        big = os.urandom(65000)
        assert dispatch.forward(parent, (RRQ, ("10.1.2.3", 5555), "10.1.2.1", 5.0), 3, 1, 2)
        assert dispatch.forward(parent, (big, ("::1", 7, 0, 0), "::1", None), 0, 2, 0)
        first = dispatch.receive_forwarded(child)
        assert first == ((RRQ, ("10.1.2.3", 5555), "10.1.2.1", 5.0), 3, 1, 2)
        second = dispatch.receive_forwarded(child)
        assert second is not None
        (data, sender, local, arrived), in_flight, commands, _held = second
        assert (data, sender[:2], local, in_flight, commands) == (big, ("::1", 7), "::1", 0, 2)
        assert arrived is None
        assert dispatch.receive_forwarded(child) is None  # nothing more: no blocking


def test_a_request_asked_again_before_its_answer_holds_one_slot() -> None:
    # 200 busybox clients behind one address each resend their RRQ while the first waits in a
    # worker's queue: counted per datagram, the address "held" 251+ transfers and new clients
    # were refused (tests/bench/tftp_fleet.py, 2 workers, N=200: 47 downloads lost). One
    # engine counts requests, not datagrams; the workers' parent must count the same.
    balancer = dispatch.Balancer(2)
    for _ in range(4):
        assert balancer.choose(_client(40000), "algop8186.conf") == 0
    assert (balancer.in_flight, balancer.held_by("127.0.0.1")) == (1, 1)
    assert balancer.load == [4, 0]  # balancing still follows every datagram the worker holds
    assert balancer.choose(_client(40001), "algop8186.md5") == 1
    assert (balancer.in_flight, balancer.held_by("127.0.0.1"), balancer.held_by("::1")) == (2, 2, 0)


def test_a_repeat_of_a_running_transfer_takes_no_second_slot() -> None:
    balancer = dispatch.Balancer(1)
    assert balancer.choose(_client(7), "algop8186.conf") == 0
    balancer.observe(0, _started(1, 7))
    balancer.answered(0, _client(7))
    assert balancer.in_flight == 1
    assert balancer.choose(_client(7), "algop8186.conf") == 0  # answered by resending
    assert (balancer.in_flight, balancer.held_by("127.0.0.1")) == (1, 1)
    balancer.answered(0, _client(7))
    assert balancer.choose(_client(7), "algop8186.md5") == 0  # the same port, another file
    assert balancer.in_flight == 2
    balancer.answered(0, _client(7))
    balancer.observe(0, _finished(1, 7))
    assert (balancer.in_flight, balancer.held_by("127.0.0.1"), balancer.load) == (0, 0, [0])
