"""Lifecycle, bind errors, events and statistics of the TFTP server."""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from algodesk.core import events as ev
from algodesk.services import errors
from algodesk.services.errors import ServerStartError
from algodesk.services.tftp import TftpServer, TftpSettings
from tests.tftp_helpers import DATA, ERROR, FAST, EventLog, RawClient, running_server

CONFIG = b"prov.use = 1\n" * 100


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "algom0022EE010203.conf").write_bytes(CONFIG)
    (tmp_path / "big.bin").write_bytes(os.urandom(1 << 20))
    return tmp_path


def test_events_of_one_transfer_in_order_with_their_fields(root: Path) -> None:
    log = EventLog()
    # Case fallback is asked for here (off by default: see the test on exact names).
    server = TftpServer(root, "127.0.0.1", 0, sink=log, settings=replace(FAST, case_fallback=True))
    server.start()
    try:
        with RawClient(server.port) as client:
            data, _ = client.fetch("algom0022ee010203.conf", tsize=0)
            client_address = client.sock.getsockname()
        log.wait_for(ev.TransferFinished)
    finally:
        server.stop()
    assert data == CONFIG
    kinds = [type(event) for event in log.events]
    assert kinds == [
        ev.ServerStarted,
        ev.RequestReceived,
        ev.TransferStarted,
        ev.TransferFinished,
        ev.ServerStopped,
    ]
    started_server, request, started, finished, _stopped = log.events
    assert isinstance(started_server, ev.ServerStarted)
    assert (started_server.port, started_server.root) == (server.port, str(root.resolve()))
    assert isinstance(request, ev.RequestReceived)
    assert request.client == client_address and request.options == {"tsize": "0"}
    assert isinstance(started, ev.TransferStarted)
    assert started.requested == "algom0022ee010203.conf"
    assert started.served == "algom0022EE010203.conf" and started.case_fallback
    assert started.source is ev.Source.DISK and started.size == len(CONFIG)
    assert started.options == {"tsize": str(len(CONFIG))}
    assert started.md5 == __import__("hashlib").md5(CONFIG).hexdigest()
    assert isinstance(finished, ev.TransferFinished)
    assert finished.transfer_id == started.transfer_id and finished.bytes_sent == len(CONFIG)
    assert finished.retransmissions == 0 and finished.duration >= 0


def test_progress_is_throttled(root: Path) -> None:
    settings = TftpSettings(progress_interval=0.05)
    with running_server(root, settings) as (server, log), RawClient(server.port) as client:
        started = time.monotonic()
        client.rrq("big.bin")
        block = 0
        while True:
            reply = client.recv()
            client.ack(reply.block)
            block += 1
            if block % 256 == 0:
                time.sleep(0.02)  # a slow device: the transfer lasts a while
            if len(reply.data) < 512:
                break
        log.wait_for(ev.TransferFinished)
        elapsed = time.monotonic() - started
    progress = log.of(ev.TransferProgress)
    assert progress, "a transfer this long reports progress"
    assert len(progress) <= elapsed / 0.05 + 2
    sent = [event.bytes_sent for event in progress if isinstance(event, ev.TransferProgress)]
    assert sent == sorted(sent) and len(set(sent)) == len(sent)


def test_stop_with_50_transfers_in_flight(root: Path) -> None:
    with running_server(root, FAST) as (server, log):
        clients = [RawClient(server.port) for _ in range(50)]
        try:
            for client in clients:
                client.rrq("big.bin")
            for client in clients:
                assert client.recv().opcode == DATA
            started = time.perf_counter()
            server.stop()
            elapsed = time.perf_counter() - started
            print(f"stop() with 50 transfers in flight took {elapsed * 1000:.1f} ms")
            assert elapsed < 1.0
            assert not server.running
            for client in clients:
                while (reply := client.recv()).opcode == DATA:
                    pass
                assert (reply.opcode, reply.code) == (ERROR, 0)
        finally:
            for client in clients:
                client.close()
    failed = log.of(ev.TransferFailed)
    assert len(failed) == 50
    assert all(isinstance(e, ev.TransferFailed) and e.reason == "server stopped" for e in failed)
    assert isinstance(log.events[-1], ev.ServerStopped)


def test_server_can_be_started_again(root: Path) -> None:
    log = EventLog()
    server = TftpServer(root, "127.0.0.1", 0, sink=log, settings=FAST)
    try:
        for round_ in (1, 2):
            server.start()
            assert server.running
            with RawClient(server.port) as client:
                assert client.fetch("algom0022EE010203.conf")[0] == CONFIG
            log.wait_for(ev.TransferFinished, round_)
            server.stop()
            assert not server.running
    finally:
        server.stop()
    assert server.stats().done == 2


def test_port_in_use_is_a_structured_error(root: Path) -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    log = EventLog()
    try:
        server = TftpServer(root, "127.0.0.1", port, sink=log)
        with pytest.raises(ServerStartError) as raised:
            server.start()
    finally:
        holder.close()
    error = raised.value
    assert error.code == errors.PORT_IN_USE and (error.address, error.port) == ("127.0.0.1", port)
    assert str(port) in error.message and error.remedies
    assert not server.running
    (failed,) = log.of(ev.ServerFailed)
    assert isinstance(failed, ev.ServerFailed) and failed.code == errors.PORT_IN_USE
    assert failed.remedies == error.remedies


def test_permission_denied_is_a_structured_error(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: socket.socket, address: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    with pytest.raises(ServerStartError) as raised:
        TftpServer(root, "127.0.0.1", 69).start()
    assert raised.value.code == errors.PERMISSION_DENIED
    assert "69" in raised.value.message and raised.value.remedies


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may bind 69")
def test_low_port_without_privileges_is_refused(root: Path) -> None:
    with pytest.raises(ServerStartError) as raised:
        TftpServer(root, "127.0.0.1", 69).start()
    assert raised.value.code in (errors.PERMISSION_DENIED, errors.PORT_IN_USE)


def test_address_not_on_this_computer(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable(self: socket.socket, address: object) -> None:
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    monkeypatch.setattr(socket.socket, "bind", unavailable)
    with pytest.raises(ServerStartError) as raised:
        TftpServer(root, "192.0.2.1", 69).start()
    assert raised.value.code == errors.BAD_ADDRESS


@pytest.mark.parametrize(
    ("platform", "needle"),
    [
        ("linux", "ip_unprivileged_port_start=69"),
        ("linux", "cap_net_bind_service"),
        ("darwin", "--bind 0.0.0.0"),
        ("win32", "netsh advfirewall"),
    ],
)
def test_permission_remedies_per_platform(platform: str, needle: str) -> None:
    error = errors.bind_error(
        PermissionError(errno.EACCES, "denied"),
        service="tftp",
        address="",
        port=69,
        platform=platform,
    )
    assert any(needle in remedy for remedy in error.remedies), error.remedies


@pytest.mark.parametrize(
    ("platform", "needle"), [("linux", "ss -ulpn"), ("darwin", "lsof"), ("win32", "netstat")]
)
def test_port_in_use_remedies_per_platform(platform: str, needle: str) -> None:
    error = errors.bind_error(
        OSError(errno.EADDRINUSE, "in use"),
        service="dhcp",
        address="10.0.0.1",
        port=67,
        platform=platform,
    )
    assert error.message.startswith("dhcp:") and "67" in error.message
    assert any(needle in remedy for remedy in error.remedies)


def test_virtual_files_and_root_changes_through_the_server(root: Path, tmp_path: Path) -> None:
    with running_server(None, FAST) as (server, log):
        with RawClient(server.port) as client:
            client.rrq("algop8186.conf")
            assert client.recv().code == 1  # nothing served yet
        server.set_virtual_file("algop8186.conf", b"stage 1\n")
        assert server.virtual_files() == ["algop8186.conf"]
        with RawClient(server.port) as client:
            assert client.fetch("algop8186.conf")[0] == b"stage 1\n"
        started = log.wait_for(ev.TransferStarted)[0]
        assert isinstance(started, ev.TransferStarted) and started.source is ev.Source.VIRTUAL
        server.clear_virtual_files()
        server.set_root(root)
        with RawClient(server.port) as client:
            assert client.fetch("algom0022EE010203.conf")[0] == CONFIG
            client.peer = None
            client.rrq("algop8186.conf")
            assert client.recv().code == 1


def test_a_failing_sink_does_not_stop_the_server(root: Path) -> None:
    def broken(event: ev.Event) -> None:
        raise RuntimeError("sink bug")

    server = TftpServer(root, "127.0.0.1", 0, sink=broken, settings=FAST)
    server.start()
    try:
        for _ in range(2):
            with RawClient(server.port) as client:
                assert client.fetch("algom0022EE010203.conf")[0] == CONFIG
        assert server.running
    finally:
        server.stop()


def test_stats_count_devices_files_and_bytes(root: Path) -> None:
    with running_server(root, FAST) as (server, log):
        for name in ("algom0022EE010203.conf", "algom0022EE010203.conf", "missing.conf"):
            with RawClient(server.port) as client:
                client.fetch(name)
        log.wait_for(ev.TransferFinished, 2)
        log.wait_for(ev.RequestRefused)  # worker processes report a moment after they answer
        stats = server.stats()
    assert (stats.devices, stats.files, stats.bytes_sent) == (1, 1, 2 * len(CONFIG))
    assert (stats.requests, stats.refused, stats.done, stats.failed, stats.active) == (
        3,
        1,
        2,
        0,
        0,
    )


def test_an_internal_error_costs_one_request_not_the_server(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from algodesk.services.tftp import engine

    real = engine.negotiate

    def buggy(options: dict[str, str], *args: object) -> object:
        if "boom" in options:
            raise RuntimeError("a bug")
        return real(options, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "negotiate", buggy)
    # The bug is planted in this process: the engine must run here, not in worker processes.
    with running_server(root, replace(FAST, workers=1)) as (server, _log):
        with RawClient(server.port) as client:
            client.rrq("algom0022EE010203.conf", boom=1)
            reply = client.recv()
        assert (reply.opcode, reply.code) == (ERROR, 0)
        with RawClient(server.port) as client:
            assert client.fetch("algom0022EE010203.conf")[0] == CONFIG
        assert server.running


def test_200_simultaneous_transfers_share_one_read(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from algodesk.services.tftp.files import FileCache

    reads: list[Path] = []
    real_read = FileCache._read

    def counting_read(self: FileCache, path: Path, key: tuple[int, ...], fd: int) -> object:
        reads.append(path)
        return real_read(self, path, key, fd)

    monkeypatch.setattr(FileCache, "_read", counting_read)
    # Reads are counted in this process: one engine, here (each worker has its own cache).
    with running_server(root, TftpSettings(max_retries=20, workers=1)) as (server, log):
        clients = [RawClient(server.port) for _ in range(200)]
        try:
            for client in clients:
                client.rrq("algom0022EE010203.conf")
            for client in clients:
                assert client.recv().block == 1  # every transfer is in flight at once
            assert server.stats().active == 200
            received = {id(client): b"" for client in clients}
            for block in (1, 2, 3):
                for client in clients:
                    client.ack(block)
                    if block < 3:
                        received[id(client)] += client.recv().data
            log.wait_for(ev.TransferFinished, 200)
        finally:
            for client in clients:
                client.close()
    started = [e for e in log.events if isinstance(e, ev.TransferStarted)]
    assert len(started) == 200 and server.stats().done == 200
    assert all(len(data) == len(CONFIG) - 512 for data in received.values())
    assert len(reads) == 1


def test_a_slow_disk_holds_up_only_the_request_that_waits_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from algodesk.services.tftp import files

    (tmp_path / "slow.bin").write_bytes(b"s" * 3000)
    (tmp_path / "quick.bin").write_bytes(b"q" * 3000)
    (tmp_path / "running.bin").write_bytes(b"r" * 3000)
    reading = threading.Event()
    disk = threading.Event()
    real = files.FileCache._read

    def read(self: files.FileCache, path: Path, key: tuple[int, ...], fd: int) -> files.Content:
        if path.name == "slow.bin":
            reading.set()
            disk.wait(10)  # a firmware on a slow disk
        return real(self, path, key, fd)

    monkeypatch.setattr(files.FileCache, "_read", read)
    with running_server(tmp_path, FAST) as (server, _log):
        try:
            with RawClient(server.port) as running, RawClient(server.port) as waiting:
                running.rrq("running.bin")
                first = running.recv()  # a transfer under way before the slow request
                waiting.rrq("slow.bin")
                assert reading.wait(10)
                # While slow.bin is read, the transfer under way goes on and a new one starts.
                assert running.finish(first)[0] == b"r" * 3000
                with RawClient(server.port) as quick:
                    assert quick.fetch("quick.bin")[0] == b"q" * 3000
                disk.set()
                assert waiting.finish(waiting.recv())[0] == b"s" * 3000
        finally:
            disk.set()


def test_an_engine_that_fails_outside_a_transfer_ends_its_transfers_and_says_so(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from algodesk.services.tftp.engine import Engine

    broken = threading.Event()
    real = Engine._sweep_progress

    def sweep(self: Engine) -> None:
        if broken.is_set():
            raise RuntimeError("bookkeeping broke")
        real(self)

    monkeypatch.setattr(Engine, "_sweep_progress", sweep)
    monkeypatch.setattr(threading, "excepthook", lambda _hook: None)  # the thread's own report
    settings = TftpSettings(workers=1, progress_interval=0.05, initial_timeout=2.0)
    with running_server(root, settings) as (server, log), RawClient(server.port) as client:
        client.rrq("big.bin")
        assert client.recv().opcode == DATA
        broken.set()
        failed = log.wait_until(lambda e: isinstance(e, ev.TransferFailed))
        assert isinstance(failed, ev.TransferFailed) and failed.reason == "engine failed"
        stopped = log.wait_until(lambda e: isinstance(e, ev.ServerFailed))
        assert isinstance(stopped, ev.ServerFailed) and "bookkeeping broke" in stopped.message
        assert not server.running


def test_by_default_names_are_exact_and_the_refusal_names_the_near_file(root: Path) -> None:
    # guide §5.4: names are case-sensitive on the customer's server; the bench behaves alike.
    assert TftpSettings().case_fallback is False
    with running_server(root, FAST) as (server, log), RawClient(server.port) as client:
        client.rrq("algom0022ee010203.conf")
        reply = client.recv()
        [refused] = log.wait_for(ev.RequestRefused)
    assert reply.opcode == ERROR
    assert isinstance(refused, ev.RequestRefused)
    assert refused.reason is ev.RefusalReason.NOT_FOUND
    assert refused.near == "algom0022EE010203.conf"
    assert not any(isinstance(event, ev.TransferStarted) for event in log.events)


def test_an_idle_engine_sleeps_until_a_packet_comes(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No transfer, no progress to report: the engine must not wake every progress interval.
    from algodesk.services.tftp.poller import Poller

    timeouts: list[float | None] = []
    polled = threading.Event()
    real_poll = Poller.poll

    def spy(self: Poller, timeout: float | None) -> list[tuple[int, int]]:
        timeouts.append(timeout)
        polled.set()
        return real_poll(self, timeout)

    monkeypatch.setattr(Poller, "poll", spy)
    with running_server(root, replace(FAST, workers=1)) as (_server, _log):
        assert polled.wait(10)
    assert timeouts[0] is None


def test_a_repeat_while_the_file_is_opened_is_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The client repeats its request while its file is still being read: the repeat takes no
    # second slot, so a client at its address's cap is not told "busy" about its own request.
    from algodesk.services.tftp import files

    (tmp_path / "slow.bin").write_bytes(b"s" * 3000)
    reading = threading.Event()
    disk = threading.Event()
    real = files.FileCache._read

    def read(self: files.FileCache, path: Path, key: tuple[int, ...], fd: int) -> files.Content:
        reading.set()
        disk.wait(10)
        return real(self, path, key, fd)

    monkeypatch.setattr(files.FileCache, "_read", read)
    settings = replace(FAST, workers=1, max_per_address=1)
    with running_server(tmp_path, settings) as (server, log), RawClient(server.port) as client:
        try:
            client.rrq("slow.bin")
            assert reading.wait(10)
            client.rrq("slow.bin")  # the repeat, while slow.bin is read
            log.wait_for(ev.RequestReceived, 2)
            disk.set()
            assert client.finish(client.recv())[0] == b"s" * 3000
        finally:
            disk.set()
    assert not log.of(ev.RequestRefused)
