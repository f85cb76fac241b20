"""Worker processes (TftpSettings.workers > 1, Linux): the same server, engines in processes
behind one listening socket that the parent reads and balances (dispatch.py)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from algodesk.core import events as ev
from algodesk.services.errors import ServerStartError
from algodesk.services.tftp import TftpServer, TftpSettings
from algodesk.services.tftp.workers import worker
from tests.tftp_helpers import (
    DATA,
    ERROR,
    LOOPBACK,
    EventLog,
    RawClient,
    Reply,
    ack,
    running_server,
)

pytestmark = pytest.mark.skipif(not worker.AVAILABLE, reason="worker processes are Linux's")

WORKERS = TftpSettings(workers=2, initial_timeout=0.2, min_timeout=0.05, max_timeout=0.4)
FILES = {f"file{i}.bin": os.urandom(3000 + i) for i in range(8)}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "big.bin").write_bytes(os.urandom(200 * 512))
    return tmp_path


@pytest.fixture
def served(root: Path) -> Iterator[tuple[TftpServer, EventLog]]:
    with running_server(root, WORKERS) as running:
        yield running


def test_workers_serve_every_request_and_the_parent_counts_them(
    served: tuple[TftpServer, EventLog],
) -> None:
    server, log = served
    # One client after another: each goes to an idle worker, and both get some.
    for name, data in FILES.items():
        with RawClient(server.port) as client:
            assert client.fetch(name)[0] == data
    finished = log.wait_for(ev.TransferFinished, len(FILES))
    assert sorted(e.served for e in finished if isinstance(e, ev.TransferFinished)) == sorted(FILES)
    stats = server.stats()
    assert (stats.requests, stats.done, stats.active, stats.files) == (8, 8, 0, 8)
    assert stats.bytes_sent == sum(len(data) for data in FILES.values())


def test_virtual_files_and_root_reach_the_workers(
    served: tuple[TftpServer, EventLog], tmp_path: Path
) -> None:
    server, _log = served
    assert server.set_virtual_file("algop8186.conf", b"prov.use = 1\n") == "algop8186.conf"
    other = tmp_path / "other"
    other.mkdir()
    (other / "only-here.txt").write_bytes(b"moved\n")
    server.set_root(other)
    for _ in range(6):  # several client ports: whichever worker answers must know both
        with RawClient(server.port) as client:
            assert client.fetch("algop8186.conf")[0] == b"prov.use = 1\n"
        with RawClient(server.port) as client:
            assert client.fetch("only-here.txt")[0] == b"moved\n"
    server.remove_virtual_file("algop8186.conf")
    for _ in range(6):
        with RawClient(server.port) as client:
            assert client.fetch("algop8186.conf")[1].opcode == ERROR


def test_stop_ends_transfers_in_flight_and_start_serves_again(
    served: tuple[TftpServer, EventLog],
) -> None:
    server, log = served
    with RawClient(server.port) as client:
        client.rrq("big.bin")
        assert client.recv().opcode == DATA
        server.stop()
        assert not server.running
        while (reply := client.recv()).opcode == DATA:
            pass  # retransmissions that left before the stop
        assert reply.opcode == ERROR and reply.code == 0
    (failed,) = log.wait_for(ev.TransferFailed)
    assert isinstance(failed, ev.TransferFailed) and failed.reason == "server stopped"
    assert log.wait_for(ev.ServerStopped)
    server.start()
    with RawClient(server.port) as client:
        assert client.fetch("file0.bin")[0] == FILES["file0.bin"]


def test_a_port_in_use_is_refused(root: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind((LOOPBACK, 0))
        server = TftpServer(root, LOOPBACK, holder.getsockname()[1], settings=WORKERS)
        with pytest.raises(ServerStartError) as raised:
            server.start()
    assert raised.value.code == "port-in-use"


def test_a_second_server_with_workers_cannot_share_the_port(
    served: tuple[TftpServer, EventLog], root: Path
) -> None:
    server, _log = served
    second = TftpServer(root, LOOPBACK, server.port, settings=WORKERS)
    with pytest.raises(ServerStartError) as raised:
        second.start()
    assert raised.value.code == "port-in-use"


def test_the_bundle_starts_workers_through_the_cli(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A frozen app runs "algodesk tftp-worker FD"; here the CLI stands in for the bundle.
    monkeypatch.setattr(
        worker, "_worker_argv", lambda: [sys.executable, "-m", "algodesk", "tftp-worker"]
    )
    with running_server(root, WORKERS) as (server, _log), RawClient(server.port) as client:
        assert client.fetch("file1.bin")[0] == FILES["file1.bin"]


def test_max_transfers_holds_for_the_whole_server(root: Path) -> None:
    settings = TftpSettings(workers=2, max_transfers=2, initial_timeout=0.2, max_timeout=0.4)
    with running_server(root, settings) as (server, log):
        clients = [RawClient(server.port) for _ in range(3)]
        try:
            for client in clients[:2]:
                client.rrq("big.bin")
                assert client.recv().opcode == DATA  # two transfers held, one per worker
            clients[2].rrq("big.bin")
            reply = clients[2].recv()
        finally:
            for client in clients:
                client.close()
    assert (reply.opcode, reply.code) == (ERROR, 0)
    refused = log.wait_until(lambda e: isinstance(e, ev.RequestRefused))
    assert isinstance(refused, ev.RequestRefused) and refused.reason is ev.RefusalReason.BUSY


def test_200_simultaneous_transfers_through_the_workers(root: Path) -> None:
    settings = TftpSettings(workers=2, max_retries=20)
    with running_server(root, settings) as (server, log):
        clients = [RawClient(server.port) for _ in range(200)]
        try:
            for client in clients:
                client.rrq("file7.bin")
            first = [client.recv() for client in clients]
            assert all(reply.block == 1 for reply in first)  # all in flight at once
            data = {id(c): reply.data for c, reply in zip(clients, first, strict=True)}
            for block in (1, 2, 3, 4, 5):
                for client in clients:
                    client.ack(block)
                    if len(data[id(client)]) < len(FILES["file7.bin"]):
                        data[id(client)] += client.recv().data
            for client in clients:
                client.ack(6)
            log.wait_for(ev.TransferFinished, 200)
        finally:
            for client in clients:
                client.close()
        assert all(received == FILES["file7.bin"] for received in data.values())
        stats = server.stats()
    assert (stats.done, stats.active, stats.failed) == (200, 0, 0)


def _hold(port: int, source: str, name: str = "big.bin") -> tuple[RawClient, Reply]:
    """A client whose transfer of ``name`` is held open (its first DATA not ACKed)."""
    client = RawClient(port, source=source)
    client.rrq(name)
    first = client.recv()
    assert first.opcode == DATA
    return client, first


def _lost_notice(log: EventLog) -> ev.ServiceNotice:
    notice = log.wait_until(lambda e: isinstance(e, ev.ServiceNotice) and e.code == "worker-lost")
    assert isinstance(notice, ev.ServiceNotice)
    return notice


def test_a_killed_worker_is_noticed_and_the_others_serve_on(root: Path) -> None:
    with running_server(root, WORKERS) as (server, log):
        pids = server.worker_pids()
        doomed, doomed_first = _hold(server.port, "127.0.0.2")  # worker 1 (idle first)
        spared, spared_first = _hold(server.port, "127.0.0.3")  # worker 2
        try:
            os.kill(pids[0], signal.SIGKILL)  # a worker this test's server started
            failed = log.wait_until(lambda e: isinstance(e, ev.TransferFailed))
            assert isinstance(failed, ev.TransferFailed)
            assert (failed.client[0], failed.reason) == ("127.0.0.2", "worker lost")
            notice = _lost_notice(log)
            assert f"PID {pids[0]}" in notice.message and "SIGKILL" in notice.message
            assert "serving on with 1 of 2 workers" in notice.message
            assert server.running
            assert spared.finish(spared_first)[0] == (root / "big.bin").read_bytes()
            for _ in range(4):  # no request goes to the dead worker any more
                with RawClient(server.port) as client:
                    assert client.fetch("file2.bin")[0] == FILES["file2.bin"]
        finally:
            doomed.close()
            spared.close()
        log.wait_for(ev.TransferFinished, 5)
        stats = server.stats()
        assert (stats.active, stats.done, stats.failed) == (0, 5, 1)
    assert doomed_first.block == 1


def test_a_worker_that_fails_outside_a_transfer_is_noticed(root: Path) -> None:
    with running_server(root, WORKERS) as (server, log):
        held, _first = _hold(server.port, "127.0.0.2")  # in worker 1
        try:
            # A message its engine cannot read: the engine fails outside any transfer.
            server._pool._channels[0].send(b"not a forwarded datagram")  # type: ignore[union-attr]
            failed = log.wait_until(lambda e: isinstance(e, ev.TransferFailed))
            assert isinstance(failed, ev.TransferFailed) and failed.reason == "engine failed"
            notice = _lost_notice(log)
            assert "UnpicklingError" in notice.message
            assert "serving on with 1 of 2 workers" in notice.message
        finally:
            held.close()
        with RawClient(server.port) as client:
            assert client.fetch("file3.bin")[0] == FILES["file3.bin"]


def test_when_every_worker_is_lost_the_server_says_it_stopped(root: Path) -> None:
    with running_server(root, WORKERS) as (server, log):
        for pid in server.worker_pids():
            os.kill(pid, signal.SIGKILL)
        failed = log.wait_until(lambda e: isinstance(e, ev.ServerFailed))
        assert isinstance(failed, ev.ServerFailed) and "server stopped" in failed.message
        log.wait_for(ev.ServerStopped)
        notices = [e for e in log.of(ev.ServiceNotice) if isinstance(e, ev.ServiceNotice)]
        assert "no worker left, the server stops" in notices[-1].message
        assert not server.running


def test_max_transfers_holds_while_one_client_port_runs_two_transfers(root: Path) -> None:
    settings = TftpSettings(workers=2, max_transfers=2, initial_timeout=0.5, max_timeout=1.0)
    with running_server(root, settings) as (server, log), RawClient(server.port) as twice:
        twice.rrq("file1.bin")
        first = twice.recv()
        small = twice.peer
        twice.send(ack(1), to=small)  # under way: a first answer never acknowledged would end
        first.data += twice.recv().data
        twice.rrq("big.bin")  # a second file from the same port while the first runs
        packet, big = twice.recv_raw()
        assert packet[:4] == b"\x00\x03\x00\x01" and big != small
        received = first.data
        while len(received) < len(FILES["file1.bin"]):  # the first transfer ends
            twice.send(ack(len(received) // 512), to=small)
            packet, sender = twice.recv_raw()
            if sender == small and int.from_bytes(packet[2:4]) == len(received) // 512 + 1:
                received += packet[4:]
        twice.send(ack(len(received) // 512 + 1), to=small)
        assert received == FILES["file1.bin"]
        log.wait_for(ev.TransferFinished)
        # big.bin still runs: one more transfer may start, not two.
        second, _ = _hold(server.port, "127.0.0.2")
        with second, RawClient(server.port, source="127.0.0.3") as third:
            third.rrq("file2.bin")
            reply = third.recv()
    assert (reply.opcode, reply.code) == (ERROR, 0)


def test_stop_never_closes_what_the_dispatch_thread_still_reads(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The events thread is held inside the sink while the server stops; before, stop() closed
    # the workers' pipes and the listener under it once its wait ran out.
    monkeypatch.setattr(worker, "_STOP_TIMEOUT", 0.2)
    errors: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda hook: errors.append(hook.exc_value))
    release = threading.Event()
    inside = threading.Event()

    def sink(event: ev.Event) -> None:
        if isinstance(event, ev.TransferFinished):
            inside.set()
            release.wait(10)

    server = TftpServer(root, LOOPBACK, 0, sink=sink, settings=WORKERS)
    server.start()
    pool = server._pool
    assert pool is not None
    with RawClient(server.port) as client:
        assert client.fetch("file4.bin")[0] == FILES["file4.bin"]
    assert inside.wait(10)
    server.stop()
    release.set()
    thread = pool._thread
    assert thread is not None
    thread.join(10)
    assert not thread.is_alive()
    assert errors == []


def _assert_start_fails_on_an_exited_worker(root: Path) -> None:
    log = EventLog()
    server = TftpServer(root, LOOPBACK, 0, sink=log, settings=WORKERS)
    with pytest.raises(ServerStartError) as raised:
        server.start()
    assert raised.value.code == "engine-failed" and "exited" in raised.value.message
    assert not server.running
    assert log.of(ev.ServerFailed)


def test_a_worker_gone_before_its_start_frame_fails_the_start(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker that exits at once can close its stdin before the parent writes the start frame:
    # the write then breaks the pipe, which must fail the start like any other early exit.
    write_frame = worker._write_frame

    def broken_start(stream: IO[bytes], message: object) -> None:
        if isinstance(message, tuple) and message[0] == "start":
            raise BrokenPipeError(32, "Broken pipe")
        write_frame(stream, message)

    monkeypatch.setattr(worker, "_write_frame", broken_start)
    _assert_start_fails_on_an_exited_worker(root)


def test_a_worker_that_cannot_start_fails_the_start(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "_worker_argv", lambda: [sys.executable, "-c", "pass"])
    _assert_start_fails_on_an_exited_worker(root)
