"""The engine on the wire: RFC 1350/2347/2348/2349/7440 behaviour against a raw client."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import tftpy

from algodesk.core import events as ev
from algodesk.services.tftp import TftpServer, TftpSettings
from tests.tftp_helpers import (
    DATA,
    ERROR,
    FAST,
    MODES,
    OACK,
    WRQ,
    EventLog,
    RawClient,
    ack,
    parse,
    request,
    running_server,
)

# Timers too slow to fire during a test step: what arrives was caused by what the test sent.
PATIENT = TftpSettings(initial_timeout=2.0, min_timeout=2.0, max_timeout=4.0, max_retries=2)
CONFIG = b"prov.use = 1\nprov.download.method = tftp\n" * 40  # 1680 bytes: 3 full blocks + 144


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "algop8188.conf").write_bytes(CONFIG)
    (tmp_path / "exact.bin").write_bytes(os.urandom(1024))
    (tmp_path / "text.txt").write_bytes(b"line 1\nline 2\r\nend\r")
    (tmp_path / "big.bin").write_bytes(os.urandom(300_000))
    return tmp_path


@pytest.fixture(params=MODES)
def server(root: Path, request: pytest.FixtureRequest) -> Iterator[tuple[TftpServer, EventLog]]:
    with running_server(root, replace(FAST, workers=request.param)) as running:
        yield running


@pytest.fixture(params=MODES)
def patient(root: Path, request: pytest.FixtureRequest) -> Iterator[tuple[TftpServer, EventLog]]:
    with running_server(root, replace(PATIENT, workers=request.param)) as running:
        yield running


def test_plain_request_gets_data_without_oack(server: tuple[TftpServer, EventLog]) -> None:
    with RawClient(server[0].port) as client:
        data, first = client.fetch("algop8188.conf")
    assert first.opcode == DATA and first.block == 1 and len(first.data) == 512
    assert data == CONFIG


def test_file_of_whole_blocks_ends_with_an_empty_block(
    server: tuple[TftpServer, EventLog], root: Path
) -> None:
    with RawClient(server[0].port) as client:
        client.rrq("exact.bin")
        blocks = []
        for expected in (1, 2, 3):
            reply = client.recv()
            assert reply.block == expected
            blocks.append(reply.data)
            client.ack(expected)
    assert [len(b) for b in blocks] == [512, 512, 0]
    assert b"".join(blocks) == (root / "exact.bin").read_bytes()


def test_oack_carries_only_what_was_asked_and_supported(
    server: tuple[TftpServer, EventLog],
) -> None:
    with RawClient(server[0].port) as client:
        data, first = client.fetch("algop8188.conf", tsize=0, BLKSIZE=1024, multicast="")
    assert first.opcode == OACK
    assert first.options == {"tsize": str(len(CONFIG)), "BLKSIZE": "1024"}
    assert data == CONFIG
    with RawClient(server[0].port) as client:
        _data, first = client.fetch("algop8188.conf", tsize=0)
    assert first.options == {"tsize": str(len(CONFIG))}  # no blksize when none was asked


def test_blksize_is_capped_by_the_setting(root: Path) -> None:
    capped = TftpSettings(max_blksize=600)
    with running_server(root, capped) as (server, _log), RawClient(server.port) as client:
        client.rrq("algop8188.conf", blksize=1468)
        assert client.recv().options == {"blksize": "600"}
        client.ack(0)
        assert len(client.recv().data) == 600


def test_timeout_option_is_declined_by_default(server: tuple[TftpServer, EventLog]) -> None:
    with RawClient(server[0].port) as client:
        client.rrq("algop8188.conf", timeout=1)
        assert client.recv().opcode == DATA


def test_acknowledged_timeout_is_honoured(root: Path) -> None:
    settings = TftpSettings(
        accept_timeout_option=True, initial_timeout=0.1, min_timeout=0.05, max_timeout=0.2
    )
    with running_server(root, settings) as (server, _log), RawClient(server.port) as client:
        client.rrq("algop8188.conf", timeout=1)
        assert client.recv().options == {"timeout": "1"}
        client.ack(0)
        assert client.recv().block == 1
        # Our own timer would resend after 0.2 s at most; the client asked for 1 s.
        assert client.expect_nothing(0.7)
        client.sock.settimeout(3)
        assert client.recv().block == 1


def test_windowsize_sends_whole_windows(patient: tuple[TftpServer, EventLog]) -> None:
    with RawClient(patient[0].port) as client:
        client.rrq("big.bin", windowsize=4, blksize=512)
        assert client.recv().options == {"windowsize": "4", "blksize": "512"}
        client.ack(0)
        assert [client.recv().block for _ in range(4)] == [1, 2, 3, 4]
        assert client.expect_nothing(0.2)
        client.sock.settimeout(3)
        client.ack(2)  # the client lost 3: the window restarts after its last in-order block
        assert [client.recv().block for _ in range(4)] == [3, 4, 5, 6]


def test_windowed_fetch_is_complete(server: tuple[TftpServer, EventLog], root: Path) -> None:
    with RawClient(server[0].port) as client:
        data, first = client.fetch("big.bin", windowsize=16, blksize=1428)
    assert first.options == {"windowsize": "16", "blksize": "1428"}
    assert data == (root / "big.bin").read_bytes()


@pytest.mark.parametrize("window", [1, 64])
def test_block_numbers_roll_over_past_65535(tmp_path: Path, window: int) -> None:
    payload = os.urandom(8 * 70_000 + 3)
    (tmp_path / "rollover.bin").write_bytes(payload)
    with running_server(tmp_path, FAST) as (server, log), RawClient(server.port) as client:
        data, _first = client.fetch("rollover.bin", blksize=8, windowsize=window)
        (finished,) = log.wait_for(ev.TransferFinished)
    assert data == payload
    assert isinstance(finished, ev.TransferFinished) and finished.bytes_sent == len(payload)


def test_netascii_converts_line_ends(server: tuple[TftpServer, EventLog]) -> None:
    with RawClient(server[0].port) as client:
        data, first = client.fetch("text.txt", mode="netascii", tsize=0)
    expected = b"line 1\r\nline 2\r\0\r\nend\r\0"
    assert data == expected and first.options == {"tsize": str(len(expected))}


def test_write_requests_are_refused(server: tuple[TftpServer, EventLog], root: Path) -> None:
    with RawClient(server[0].port) as client:
        client.sock.sendto(request(WRQ, "upload.conf"), client.server)
        reply = client.recv()
    assert (reply.opcode, reply.code) == (ERROR, 2)
    refused = server[1].wait_for(ev.RequestRefused)[0]
    assert isinstance(refused, ev.RequestRefused) and refused.reason is ev.RefusalReason.WRITE
    assert not (root / "upload.conf").exists()


@pytest.mark.parametrize(("name", "code"), [("missing.conf", 1), ("../etc/passwd", 2)])
def test_missing_and_forbidden_files(
    server: tuple[TftpServer, EventLog], name: str, code: int
) -> None:
    with RawClient(server[0].port) as client:
        client.rrq(name)
        reply = client.recv()
    assert (reply.opcode, reply.code) == (ERROR, code)


def test_unknown_tid_gets_error_5_and_the_transfer_goes_on(
    patient: tuple[TftpServer, EventLog],
) -> None:
    with RawClient(patient[0].port) as client, RawClient(patient[0].port) as stranger:
        client.rrq("algop8188.conf")
        assert client.recv().block == 1
        assert client.peer is not None
        stranger.send(ack(1), to=client.peer)
        packet, sender = stranger.recv_raw()
        assert packet[:4] == b"\x00\x05\x00\x05" and sender == client.peer
        chunks = []
        for block in (1, 2, 3, 4):
            if block > 1:
                reply = client.recv()
                assert reply.block == block
                chunks.append(reply.data)
            client.ack(block)
    assert len(b"".join(chunks)) == len(CONFIG) - 512


def test_repeated_ack_resends_once_per_window(patient: tuple[TftpServer, EventLog]) -> None:
    server, log = patient
    with RawClient(server.port) as client:
        client.rrq("algop8188.conf")
        assert client.recv().block == 1
        client.ack(1)
        assert client.recv().block == 2
        # DATA 2 "was lost": after a while the client repeats its ACK, three times.
        assert client.expect_nothing(1.2)
        client.sock.settimeout(3)
        for _ in range(3):
            client.ack(1)
        assert client.recv().block == 2
        assert client.expect_nothing(0.3)  # one resend, not one per duplicate
        client.sock.settimeout(3)
        for block in (2, 3):
            client.ack(block)
            assert client.recv().block == block + 1
        client.ack(4)
    (finished,) = log.wait_for(ev.TransferFinished)
    assert isinstance(finished, ev.TransferFinished) and finished.retransmissions == 1


def test_echoed_acks_do_not_double_the_transfer(patient: tuple[TftpServer, EventLog]) -> None:
    # A client that sees every DATA twice ACKs twice: answering each repeat would send every
    # following block twice too (the Sorcerer's Apprentice bug).
    server, log = patient
    with RawClient(server.port) as client:
        client.rrq("big.bin")
        received = 0
        while True:
            reply = client.recv()
            assert reply.opcode == DATA
            received += 1
            client.ack(reply.block)
            client.ack(reply.block)
            if len(reply.data) < 512:
                break
        assert client.expect_nothing(0.3)
    blocks = 300_000 // 512 + 1
    assert received == blocks
    (finished,) = log.wait_for(ev.TransferFinished)
    assert isinstance(finished, ev.TransferFinished) and finished.retransmissions == 0


def test_silent_client_fails_after_its_retries(server: tuple[TftpServer, EventLog]) -> None:
    tftp, log = server
    with RawClient(tftp.port) as client:
        client.rrq("algop8188.conf")
        (failed,) = log.wait_for(ev.TransferFailed)
        blocks = []
        client.sock.settimeout(0.5)
        while (reply := client.recv()).opcode == DATA:
            blocks.append(reply.block)
    assert blocks == [1, 1, 1, 1]  # the first send and three retries
    assert reply.code == 0
    assert isinstance(failed, ev.TransferFailed) and "3 retries" in failed.reason
    assert failed.retransmissions == 3
    assert tftp.stats().active == 0


def test_vanished_client_is_freed(server: tuple[TftpServer, EventLog]) -> None:
    tftp, log = server
    client = RawClient(tftp.port)
    client.rrq("big.bin")
    assert client.recv().block == 1
    client.close()
    (failed,) = log.wait_for(ev.TransferFailed)
    assert isinstance(failed, ev.TransferFailed)
    assert "unreachable" in failed.reason or "retries" in failed.reason
    assert tftp.stats().active == 0
    with RawClient(tftp.port) as other:
        assert other.fetch("algop8188.conf")[0] == CONFIG


def test_repeated_request_does_not_start_a_second_transfer(
    patient: tuple[TftpServer, EventLog],
) -> None:
    server, log = patient
    with RawClient(server.port) as client:
        client.rrq("algop8188.conf", tsize=0)
        client.rrq("algop8188.conf", tsize=0)
        assert client.recv().opcode == OACK
        assert client.recv().opcode == OACK
        client.ack(0)
        assert client.recv().block == 1
    log.wait_for(ev.RequestReceived, 2)  # a worker process reports a moment after it answers
    assert len(log.of(ev.TransferStarted)) == 1


def test_a_copy_of_the_request_after_the_first_ack_starts_nothing(
    patient: tuple[TftpServer, EventLog],
) -> None:
    # A copy of the request that waited in the listener's queue until the client had
    # acknowledged a block: a second transfer would send a second stream to the same port.
    server, log = patient
    with RawClient(server.port) as client:
        client.rrq("algop8188.conf")
        assert client.recv().block == 1
        client.ack(1)
        assert client.recv().block == 2
        client.rrq("algop8188.conf")  # the copy
        log.wait_for(ev.RequestReceived, 2)
        # Nothing but the transfer under way answers: its resend of DATA 2 (DATA 2 "was lost").
        packet, sender = client.recv_raw()
        assert sender == client.peer and parse(packet).block == 2
        for block in (2, 3):
            client.ack(block)
            assert client.recv().block == block + 1
        client.ack(4)  # the last block (144 bytes)
        log.wait_for(ev.TransferFinished)
    assert len(log.of(ev.TransferStarted)) == 1


def test_busy_server_refuses_more_transfers(root: Path) -> None:
    with running_server(root, TftpSettings(max_transfers=1)) as (server, log):
        with RawClient(server.port) as first, RawClient(server.port) as second:
            first.rrq("big.bin")
            assert first.recv().opcode == DATA
            second.rrq("big.bin")
            reply = second.recv()
        assert (reply.opcode, reply.code) == (ERROR, 0)
        refused = log.wait_for(ev.RequestRefused)[0]
        assert isinstance(refused, ev.RequestRefused)
        assert refused.reason is ev.RefusalReason.BUSY


def test_replies_come_from_the_address_asked_when_bound_to_all(root: Path) -> None:
    with (
        running_server(root, FAST, address="0.0.0.0") as (server, _log),
        RawClient(server.port) as client,
    ):
        client.rrq("algop8188.conf")
        _packet, sender = client.recv_raw()
    assert sender[0] == "127.0.0.1"


def test_tftpy_client_downloads(server: tuple[TftpServer, EventLog], tmp_path: Path) -> None:
    out = tmp_path / "out.conf"
    client = tftpy.TftpClient("127.0.0.1", server[0].port, options={"blksize": 1024})
    client.download("algop8188.conf", str(out), timeout=2)
    assert out.read_bytes() == CONFIG


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_loopback(root: Path) -> None:
    with running_server(root, FAST, address="::1") as (server, log):
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as client:
            client.bind(("::1", 0))
            port = client.getsockname()[1]
            client.settimeout(3)
            client.sendto(request(1, "algop8188.conf"), ("::1", server.port))
            packet, peer = client.recvfrom(2048)
            assert packet[:4] == b"\x00\x03\x00\x01"
            client.sendto(ack(1), peer)
        started = log.wait_for(ev.TransferStarted)[0]
    assert isinstance(started, ev.TransferStarted)
    assert started.client == ("::1", port)


def test_unconnected_sockets_as_on_windows_and_macos(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from algodesk.services.tftp import sockets

    monkeypatch.setattr(sockets, "CONNECTED_SOCKETS", False)
    # In this process: the single engine thread is the path Windows and macOS take.
    with running_server(root, replace(PATIENT, workers=1)) as (server, log):
        with RawClient(server.port) as client, RawClient(server.port) as stranger:
            client.rrq("algop8188.conf")
            assert client.recv().block == 1
            stranger.send(ack(1), to=client.peer)
            packet, _sender = stranger.recv_raw()
            assert packet[:4] == b"\x00\x05\x00\x05"
            data = b""
            for block in (1, 2, 3):
                client.ack(block)
                data += client.recv().data
            client.ack(4)
        assert len(data) == len(CONFIG) - 512
        (finished,) = log.wait_for(ev.TransferFinished)
        assert isinstance(finished, ev.TransferFinished) and finished.retransmissions == 0
        with RawClient(server.port) as client:
            assert client.fetch("big.bin", windowsize=8)[0] == (root / "big.bin").read_bytes()
