"""Transfer identity: one number per transfer for the whole server, in every serving mode and
across restarts, so the tracker, the history and the Live/Transfers tables end every transfer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from algodesk.core import events as ev
from algodesk.core.tracker import Outcome, Tracker
from algodesk.services.history import HistoryStore, TransferOutcome
from algodesk.services.tftp import TftpSettings
from algodesk.ui.live.device_model import Column, DeviceTableModel
from algodesk.ui.live.transfer_model import OUTCOME_COLUMN, TransferTableModel
from tests.tftp_helpers import DATA, MODES, RawClient, running_server

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication

SLOW = "algom0022EE0000A1.conf"
QUICK = "algom0022EE0000B2.conf"
FILES = {SLOW: os.urandom(100 * 512 + 7), QUICK: os.urandom(3 * 512 + 1)}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "served"
    folder.mkdir()
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    return folder


def _settings(workers: int) -> TftpSettings:
    return TftpSettings(workers=workers, initial_timeout=0.5, max_timeout=1.0)


@pytest.mark.parametrize("workers", MODES)
def test_overlapping_transfers_end_everywhere(workers: int, root: Path, tmp_path: Path) -> None:
    with running_server(root, _settings(workers)) as (server, log):
        with RawClient(server.port, source="127.0.0.2") as slow:
            slow.rrq(SLOW)
            first = slow.recv()  # the slow device's transfer is held open (DATA 1 not ACKed)
            assert first.opcode == DATA
            # With two workers, the second device goes to the idle one.
            with RawClient(server.port, source="127.0.0.3") as quick:
                assert quick.fetch(QUICK)[0] == FILES[QUICK]
            assert slow.finish(first)[0] == FILES[SLOW]
        log.wait_for(ev.TransferFinished, 2)
    events = list(log.events)
    started = [e for e in events if isinstance(e, ev.TransferStarted)]
    assert len({e.transfer_id for e in started}) == 2

    tracker = Tracker()
    tracker.apply_all(events)
    changes = tracker.take_changes()
    transfers = TransferTableModel()
    transfers.apply_changes(changes)
    devices = DeviceTableModel()
    devices.apply(changes)
    assert all(e.outcome is Outcome.SERVED for e in changes.new_entries)
    rows = range(transfers.rowCount())
    assert sorted(transfers.index(row, OUTCOME_COLUMN).data() for row in rows) == [
        Outcome.SERVED.value,
        Outcome.SERVED.value,
    ]
    assert devices.rowCount() == 2
    for row in range(2):
        device = devices.device(row)
        assert device is not None and device.current is None
        assert devices.index(row, Column.PROGRESS).data() == ""

    with HistoryStore(tmp_path / "history.sqlite3") as history:
        run = history.start_run(str(root), "127.0.0.1", server.port)
        for event in events:
            history.record(event)
        history.flush()
        records = history.transfers(run)
    assert sorted((r.requested, r.outcome) for r in records) == [
        (SLOW, TransferOutcome.FINISHED),
        (QUICK, TransferOutcome.FINISHED),
    ]
    assert all(r.started is not None for r in records)


@pytest.mark.parametrize("workers", MODES)
def test_transfer_numbers_go_on_across_a_restart(workers: int, root: Path) -> None:
    with running_server(root, _settings(workers)) as (server, log):
        for _ in range(3):
            with RawClient(server.port) as client:
                assert client.fetch(QUICK)[0] == FILES[QUICK]
        log.wait_for(ev.TransferFinished, 3)
        server.stop()
        server.start()
        for _ in range(3):
            with RawClient(server.port) as client:
                assert client.fetch(QUICK)[0] == FILES[QUICK]
        log.wait_for(ev.TransferFinished, 6)
    ids = [e.transfer_id for e in log.of(ev.TransferStarted)]  # type: ignore[attr-defined]
    assert len(set(ids)) == 6


def _stamp_next_request_early(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Append True to the returned list: the next request read is stamped as having reached
    this computer long before (a copy that waited in the queue)."""
    from algodesk.services.tftp import engine
    from algodesk.services.tftp.workers import worker

    early: list[bool] = []
    real = engine.receive_request

    def stamped(*args: object) -> object:
        received = real(*args)  # type: ignore[arg-type]
        if received is not None and early:
            early.pop()
            return (*received[:3], 1.0)  # reached us long before the transfer's last DATA
        return received

    monkeypatch.setattr(engine, "receive_request", stamped)
    monkeypatch.setattr(worker, "receive_request", stamped)
    return early


@pytest.mark.parametrize("workers", MODES)
def test_a_late_copy_of_a_served_request_starts_nothing(
    workers: int, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A busy client repeats its request; a copy that waited in our queue until the transfer
    # ended must not start a second one (its stale packets would reach the next program that
    # gets that port). The kernel's arrival stamp tells it: here the copy's is set early.
    early = _stamp_next_request_early(monkeypatch)
    with running_server(root, _settings(workers)) as (server, log):
        with RawClient(server.port, source="127.0.0.2") as client:
            assert client.fetch(QUICK)[0] == FILES[QUICK]
            log.wait_for(ev.TransferFinished)
            early.append(True)
            client.peer = None
            client.rrq(QUICK)  # the late copy
            client.rrq(QUICK)  # a new request from the same port, after the last DATA
            assert client.finish(client.recv())[0] == FILES[QUICK]
        log.wait_for(ev.TransferFinished, 2)
    assert len(log.of(ev.TransferStarted)) == 2
    assert len(log.of(ev.RequestReceived)) == 2  # the copy was never taken for a request


@pytest.mark.parametrize("workers", MODES)
def test_a_late_copy_of_a_request_whose_transfer_failed_starts_nothing(
    workers: int, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fleet bench (200 busybox clients): a client got our answer, its last ACK was lost,
    # the transfer failed ("client unreachable"); a copy of its request still queued then
    # started a transfer that the next program on that port took for its own file (whole files
    # of another name received). A client that acknowledged data had our answer: a copy of its
    # request that reached us before our last DATA left is late, failed transfer or not.
    early = _stamp_next_request_early(monkeypatch)
    with running_server(root, _settings(workers)) as (server, log):
        with RawClient(server.port, source="127.0.0.2") as client:
            client.rrq(QUICK)
            assert client.recv().block == 1
            client.ack(1)
            assert client.recv().block == 2
            client.send(b"\x00\x05\x00\x00gone\x00")  # the client gives up
            log.wait_for(ev.TransferFailed)
            early.append(True)
            client.peer = None
            client.rrq(QUICK)  # the late copy
            client.rrq(QUICK)  # a new request from the same port, after the last DATA
            assert client.finish(client.recv())[0] == FILES[QUICK]
        log.wait_for(ev.TransferFinished)
    assert len(log.of(ev.TransferStarted)) == 2
    assert len(log.of(ev.RequestReceived)) == 2  # the copy was never taken for a request


@pytest.mark.parametrize("workers", MODES)
def test_a_request_for_another_file_ends_the_unanswered_transfer_of_its_port(
    workers: int, root: Path
) -> None:
    # The fleet bench: a busybox client gave up before acknowledging our first answer, the
    # next program got its port and asked for its own file, and took our resent answer for it
    # (a config asked for, a whole firmware received). The first transfer must end, silently:
    # the port is the new program's.
    with running_server(root, _settings(workers)) as (server, log):
        with RawClient(server.port, source="127.0.0.2") as client:
            client.rrq(SLOW)
            assert client.recv().block == 1  # never acknowledged: the program "gave up"
            client.peer = None
            assert client.fetch(QUICK)[0] == FILES[QUICK]
            (failed,) = log.wait_for(ev.TransferFailed)
            assert isinstance(failed, ev.TransferFailed) and "gave up" in failed.reason
            assert failed.served == SLOW
            assert client.expect_nothing(wait=1.5)  # no resent DATA of the first transfer
        log.wait_for(ev.TransferFinished)
    assert [e.served for e in log.of(ev.TransferFinished)] == [QUICK]  # type: ignore[attr-defined]
