"""The retransmission timer: measured round trips bring deadlines forward; the loss policy."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from algodesk.services.tftp import TftpServer, TftpSettings
from algodesk.services.tftp.sockets import RECV_BUFFER
from algodesk.services.tftp.transfer import RUNNING, Timing, Transfer
from tests.tftp_helpers import DATA, LOOPBACK, EventLog, RawClient, ack, running_server

# An initial timeout far beyond the client's patience: only a timeout shrunk by measured round
# trips can bring a resend in time.
SLOW_START = TftpSettings(initial_timeout=30.0, min_timeout=0.05, max_timeout=30.0, max_retries=2)


@pytest.fixture
def slow_start(tmp_path: Path) -> Iterator[tuple[TftpServer, EventLog]]:
    (tmp_path / "big.bin").write_bytes(os.urandom(100 * 512))
    with running_server(tmp_path, SLOW_START) as running:
        yield running


def test_a_measured_round_trip_brings_the_resend_forward(
    slow_start: tuple[TftpServer, EventLog],
) -> None:
    server, _log = slow_start
    with RawClient(server.port, timeout=10.0) as client:
        client.rrq("big.bin")
        # 20 prompt ACKs: enough round-trip samples to shrink the timeout to its floor.
        for block in range(1, 21):
            reply = client.recv()
            assert (reply.opcode, reply.block) == (DATA, block)
            client.ack(block)
        assert client.recv().block == 21
        # ACK 21 "is lost": DATA 21 comes again long before the 30 s initial timeout.
        again = client.recv()
        assert (again.opcode, again.block) == (DATA, 21)


# ----- the loss policy, on a Transfer driven with explicit clock readings ----------------------

TIMING = Timing(initial=1.0, minimum=0.05, maximum=4.0, max_retries=6)


@pytest.fixture
def wire() -> Iterator[tuple[Transfer, socket.socket]]:
    """A window-1 transfer of 100 blocks on loopback, and the client socket it sends to."""
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        client.bind((LOOPBACK, 0))
        server.bind((LOOPBACK, 0))
        server.setblocking(False)
        transfer = Transfer(
            1,
            server,
            client.getsockname(),
            memoryview(bytes(100 * 512)),
            stranger=None,
            blksize=512,
            window=1,
            oack=None,
            timing=TIMING,
            now=0.0,
        )
        transfer.begin(0.0)
        yield transfer, client
    finally:
        client.close()
        server.close()


def _ack(transfer: Transfer, client: socket.socket, block: int, now: float) -> None:
    client.sendto(ack(block), transfer.sock.getsockname())
    assert transfer.on_readable(bytearray(RECV_BUFFER), now) == RUNNING
    assert transfer.base == block + 1


def _settle(transfer: Transfer, client: socket.socket) -> float:
    """ACK blocks 1..20 a millisecond apart (round trips measured); returns the clock."""
    now = 0.0
    for block in range(1, 21):
        now += 0.001
        _ack(transfer, client, block, now)
    assert transfer.deadline == pytest.approx(now + TIMING.minimum)
    return now


def test_after_an_unanswered_resend_the_client_timer_gets_its_turn(
    wire: tuple[Transfer, socket.socket],
) -> None:
    transfer, client = wire
    now = _settle(transfer, client) + TIMING.minimum
    assert transfer.on_timeout(now)  # DATA 21 again, at the floor
    # The next resend waits past a busybox-like client's 100 ms timer, which our resend restarted
    # (its repeated ACK needs a round trip and some scheduling on top).
    assert transfer.deadline - now > 0.11
    assert transfer.retransmissions == 1


def test_a_client_answering_duplicates_keeps_the_floor(
    wire: tuple[Transfer, socket.socket],
) -> None:
    transfer, client = wire
    now = _settle(transfer, client) + TIMING.minimum
    assert transfer.on_timeout(now)
    now += 0.001  # the ACK answers our resend at once
    _ack(transfer, client, 21, now)
    assert transfer.deadline == pytest.approx(now + TIMING.minimum)


def test_a_client_ignoring_duplicates_gets_earlier_resends(
    wire: tuple[Transfer, socket.socket],
) -> None:
    transfer, client = wire
    now = _settle(transfer, client) + TIMING.minimum
    assert transfer.on_timeout(now)
    now += 0.101  # the ACK came when the client's own timer fired
    _ack(transfer, client, 21, now)
    # Resending early costs such a client nothing, and recovers a lost DATA sooner.
    assert transfer.deadline - now < TIMING.minimum
    # Its timer was learnt: the wait after an unanswered resend covers it.
    now = transfer.deadline
    assert transfer.on_timeout(now)
    assert transfer.deadline - now >= 0.101


def test_a_slow_client_timer_is_learnt(wire: tuple[Transfer, socket.socket]) -> None:
    transfer, client = wire
    now = _settle(transfer, client) + TIMING.minimum
    assert transfer.on_timeout(now)
    now += 1.0  # a client with a 1 s timer
    _ack(transfer, client, 21, now)
    now = transfer.deadline
    assert transfer.on_timeout(now)
    assert transfer.deadline - now > 1.0
