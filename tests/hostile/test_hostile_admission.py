"""Point 5: fair admission. One address cannot hold every slot, the last slots go to addresses
with nothing under way, and a transfer whose first block is never acknowledged ends early.

Before: 500 requests never acknowledged locked real clients out for ~23 s, and 500 clients that
ACK once a second (from one address) held every slot for as long as they liked.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from algodesk.core import events as ev
from algodesk.services.tftp import TftpSettings
from tests.tftp_helpers import DATA, ERROR, RawClient, Reply, running_server

HOG, REAL = "127.0.0.1", "127.0.0.2"
BODY = b"x" * 5000


def _hold(settings: TftpSettings) -> TftpSettings:
    """Timers that keep an unacknowledged transfer (a hog's) open for the whole test."""
    return dataclasses.replace(
        settings, initial_timeout=2.0, max_timeout=4.0, max_retries=20, first_ack_timeout=60.0
    )


def _hog(port: int, count: int, hogs: list[RawClient]) -> list[Reply]:
    """``count`` requests from HOG, each from a port of its own kept in ``hogs``; each
    one's first reply (DATA: a slot taken and held, never acknowledged; ERROR: refused)."""
    replies = []
    for _ in range(count):
        hog = RawClient(port, timeout=10.0, source=HOG)
        hogs.append(hog)
        hog.rrq("f.bin")
        replies.append(hog.recv())
    return replies


def test_one_address_cannot_take_the_last_slots(
    tmp_path: Path, engine_settings: TftpSettings
) -> None:
    (tmp_path / "f.bin").write_bytes(BODY)
    settings = dataclasses.replace(_hold(engine_settings), max_transfers=20)
    hogs: list[RawClient] = []
    with running_server(tmp_path, settings) as (server, log):
        try:
            replies = _hog(server.port, settings.max_transfers, hogs)  # as many as there are slots
            admitted = sum(reply.opcode == DATA for reply in replies)
            assert admitted == settings.max_transfers - settings.reserved_for_new_addresses
            assert all(r.opcode == ERROR for r in replies[admitted:])
            # The refusals' slots are free once they are told (a worker's parent counts them
            # from the refusal event, not from the later "answered").
            log.wait_for(ev.RequestRefused, settings.reserved_for_new_addresses)
            with RawClient(server.port, timeout=10.0, source=REAL) as real:
                data, _first = real.fetch("f.bin")
            assert data == BODY, (_first, server.stats())
            (finished,) = log.wait_for(ev.TransferFinished)
            assert isinstance(finished, ev.TransferFinished) and finished.client[0] == REAL
        finally:
            for hog in hogs:
                hog.close()


def test_a_cap_per_address(tmp_path: Path, engine_settings: TftpSettings) -> None:
    (tmp_path / "f.bin").write_bytes(BODY)
    settings = dataclasses.replace(_hold(engine_settings), max_per_address=5)
    hogs: list[RawClient] = []
    with running_server(tmp_path, settings) as (server, _log):
        try:
            replies = _hog(server.port, 8, hogs)
            assert [r.opcode for r in replies] == [DATA] * 5 + [ERROR] * 3
            # 5, or more while a refusal's end has not reached a worker's parent yet
            assert re.fullmatch(r"127\.0\.0\.1 has [5-7] transfers in progress", replies[5].message)
        finally:
            for hog in hogs:
                hog.close()


def test_a_first_block_never_acknowledged_ends_early(
    tmp_path: Path, engine_settings: TftpSettings
) -> None:
    (tmp_path / "f.bin").write_bytes(BODY)
    settings = dataclasses.replace(
        engine_settings, initial_timeout=0.1, min_timeout=0.05, max_timeout=0.2,
        max_retries=50, first_ack_timeout=0.5,
    )  # fmt: skip
    with running_server(tmp_path, settings) as (server, log), RawClient(server.port) as client:
        client.rrq("f.bin")
        assert client.recv().opcode == DATA  # and never acknowledged
        (failed,) = log.wait_for(ev.TransferFailed, timeout=10.0)
    assert isinstance(failed, ev.TransferFailed)
    assert failed.reason == "first block never acknowledged"
    assert failed.retransmissions < settings.max_retries
