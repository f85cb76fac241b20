"""Malformed datagrams to the listening port and to a transfer port never stop the server."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algodesk.core import events as ev
from algodesk.services.tftp import TftpServer
from tests.tftp_helpers import DATA, ERROR, FAST, EventLog, RawClient, running_server

CONFIG = b"prov.use = 1\n" * 200
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _opcode_packets() -> st.SearchStrategy[bytes]:
    """Datagrams that start like TFTP packets, with garbage after the opcode."""
    return st.builds(
        lambda opcode, rest: struct.pack("!H", opcode) + rest,
        st.integers(0, 8),
        st.binary(max_size=80),
    )


DATAGRAMS = st.one_of(st.binary(max_size=600), _opcode_packets())
KNOWN_BAD = [
    b"",
    b"\x00",
    b"\x00\x01\x00",
    b"\x00\x01a\0octet\0blksize\0abc\0",
    b"\x00\x01a\0octet\0blksize\0" + b"9" * 5000 + b"\0",
    "\x00\x01\u00e9t\u00e9.conf\0octet\0".encode(),
    b"\x00\x01a\xff\xfe\0netascii\0tsize\0-1\0windowsize\x000\0",
    b"\x00\x02../../x\0octet\0",
    b"\x00\x05\x00\x01boom\0",
    b"\x00\x04\x00\x01",
    b"\xff" * 70000,
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[TftpServer, EventLog]]:
    (tmp_path / "algop8188.conf").write_bytes(CONFIG)
    with running_server(tmp_path, FAST) as running:
        yield running


def _still_serves(server: TftpServer) -> None:
    assert server.running
    with RawClient(server.port) as client:
        assert client.fetch("algop8188.conf", blksize=1024)[0] == CONFIG


def test_known_bad_requests(server: tuple[TftpServer, EventLog]) -> None:
    tftp, log = server
    with RawClient(tftp.port) as client:
        for datagram in KNOWN_BAD:
            client.sock.sendto(datagram[:65000], client.server)
    _still_serves(tftp)
    # Worker processes report their events a moment after they answered the client.
    assert log.wait_until(
        lambda e: isinstance(e, ev.RequestRefused) and e.reason is ev.RefusalReason.MALFORMED
    )


def test_malformed_request_is_answered_with_error_4(server: tuple[TftpServer, EventLog]) -> None:
    with RawClient(server[0].port) as client:
        client.sock.sendto(b"\x00\x01abc", client.server)
        reply = client.recv()
    assert (reply.opcode, reply.code) == (ERROR, 4)


@FUZZ
@given(datagram=DATAGRAMS)
def test_fuzz_listening_port(server: tuple[TftpServer, EventLog], datagram: bytes) -> None:
    with RawClient(server[0].port, timeout=2) as fuzzer:
        fuzzer.sock.sendto(datagram, fuzzer.server)
    _still_serves(server[0])


@FUZZ
@given(from_peer=DATAGRAMS, from_stranger=DATAGRAMS)
def test_fuzz_transfer_port(
    server: tuple[TftpServer, EventLog], from_peer: bytes, from_stranger: bytes
) -> None:
    tftp, _log = server
    with RawClient(tftp.port, timeout=2) as client, RawClient(tftp.port) as stranger:
        client.rrq("algop8188.conf")
        assert client.recv().opcode == DATA
        stranger.send(from_stranger, to=client.peer)
        client.send(from_peer)  # may end its own transfer (an ERROR), nobody else's
    _still_serves(tftp)


def test_transfer_packets_to_the_listening_port_are_dropped(
    server: tuple[TftpServer, EventLog],
) -> None:
    # tftp-hpa ACKs the ERROR of a refusal to the listening port: that is no second request.
    tftp, log = server
    with RawClient(tftp.port) as client:
        for packet in (b"\x00\x04\x00\x00", b"\x00\x03\x00\x01data", b"\x00\x06tsize\x001\0"):
            client.sock.sendto(packet, client.server)
        assert client.expect_nothing(0.2)
    _still_serves(tftp)
    tftp.stop()  # every event is in once the server stopped (workers report asynchronously)
    assert not log.of(ev.RequestRefused)
