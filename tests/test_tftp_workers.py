"""Worker processes (TftpSettings.workers > 1, Linux): the same server, engines in processes
behind one listening socket that the parent reads and balances (dispatch.py)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from algodesk.core import events as ev
from algodesk.services.errors import ServerStartError
from algodesk.services.tftp import TftpServer, TftpSettings
from algodesk.services.tftp.workers import worker
from tests.tftp_helpers import DATA, ERROR, LOOPBACK, EventLog, RawClient, running_server

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
