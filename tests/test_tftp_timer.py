"""The retransmission timer: measured round trips bring deadlines forward; the loss policy."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from algodesk.services.tftp import TftpServer, TftpSettings
from tests.tftp_helpers import DATA, EventLog, RawClient, running_server

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
