"""The lossy relay, checked with plain UDP sockets on loopback (the test plays both ends)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.lossy_relay import Counts, Direction, Impairment, LossyRelay

# Generous: a healthy relay answers in microseconds, this only bounds a broken one.
WAIT = 5.0


def _udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(WAIT)
    return sock


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Sockets a test opens; all closed afterwards."""
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


def _open(sockets: list[socket.socket]) -> socket.socket:
    sock = _udp()
    sockets.append(sock)
    return sock


def _receive_all(sock: socket.socket, count: int) -> list[bytes]:
    return [sock.recvfrom(2048)[0] for _ in range(count)]


def _nothing_waiting(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        sock.recvfrom(2048)
    except BlockingIOError:
        return True
    finally:
        sock.settimeout(WAIT)
    return False


def test_a_clean_relay_carries_a_tftp_style_exchange(sockets: list[socket.socket]) -> None:
    server, client = _open(sockets), _open(sockets)
    with LossyRelay(server.getsockname()) as relay:
        client.sendto(b"request", relay.address)
        data, relay_side = server.recvfrom(2048)
        assert data == b"request"
        assert relay_side[1] != relay.port

        # The server answers from a fresh transfer port, as a TFTP server does.
        transfer = _open(sockets)
        transfer.sendto(b"block 1", relay_side)
        data, peer = client.recvfrom(2048)
        assert data == b"block 1"
        assert peer[1] not in (relay.port, transfer.getsockname()[1])

        # The client answers the peer it saw; the server sees the same relay-side client.
        client.sendto(b"ack 1", peer)
        data, seen = transfer.recvfrom(2048)
        assert (data, seen) == (b"ack 1", relay_side)
        transfer.sendto(b"block 2", relay_side)
        assert client.recvfrom(2048) == (b"block 2", peer)

        counts = relay.counts()
    assert counts == Counts(received=4, forwarded=4)
    assert relay.counts(Direction.TO_SERVER) == Counts(received=2, forwarded=2)


def test_replies_from_the_server_port_come_from_the_listen_port(
    sockets: list[socket.socket],
) -> None:
    server, client = _open(sockets), _open(sockets)
    with LossyRelay(server.getsockname()) as relay:
        client.sendto(b"request", relay.address)
        _data, relay_side = server.recvfrom(2048)
        server.sendto(b"error: no such file", relay_side)
        assert client.recvfrom(2048) == (b"error: no such file", relay.address)


def test_each_client_gets_its_own_relay_side_address(sockets: list[socket.socket]) -> None:
    server, first, second = _open(sockets), _open(sockets), _open(sockets)
    with LossyRelay(server.getsockname()) as relay:
        first.sendto(b"one", relay.address)
        _data, first_side = server.recvfrom(2048)
        second.sendto(b"two", relay.address)
        _data, second_side = server.recvfrom(2048)
        first.sendto(b"one again", relay.address)
        assert server.recvfrom(2048) == (b"one again", first_side)
        assert first_side != second_side

        transfer = _open(sockets)
        transfer.sendto(b"for two", second_side)
        assert second.recvfrom(2048)[0] == b"for two"
        assert _nothing_waiting(first)


def test_a_stranger_on_a_transfer_port_is_not_relayed(sockets: list[socket.socket]) -> None:
    server, client, stranger = _open(sockets), _open(sockets), _open(sockets)
    with LossyRelay(server.getsockname()) as relay:
        client.sendto(b"request", relay.address)
        _data, relay_side = server.recvfrom(2048)
        transfer = _open(sockets)
        transfer.sendto(b"block 1", relay_side)
        _data, peer = client.recvfrom(2048)
        stranger.sendto(b"intruder", peer)
        client.sendto(b"ack 1", peer)
        assert transfer.recvfrom(2048)[0] == b"ack 1"
        assert _nothing_waiting(transfer)


def _send_numbered(relay: LossyRelay, client: socket.socket, count: int) -> None:
    for number in range(count):
        client.sendto(number.to_bytes(4, "big"), relay.address)


def _wait_for(condition: Callable[[], bool]) -> None:
    pause = threading.Event()
    for _ in range(int(WAIT / 0.01)):
        if condition():
            return
        pause.wait(0.01)
    raise AssertionError("condition never became true")


def _wait_received(relay: LossyRelay, count: int) -> Counts:
    _wait_for(lambda: relay.counts(Direction.TO_SERVER).received >= count)
    return relay.counts(Direction.TO_SERVER)


def _dropped_numbers(seed: int, sockets: list[socket.socket]) -> set[int]:
    server, client = _open(sockets), _open(sockets)
    impairment = Impairment(drop=0.3)
    with LossyRelay(server.getsockname(), to_server=impairment, seed=seed) as relay:
        _send_numbered(relay, client, 200)
        counts = _wait_received(relay, 200)
        arrived = {int.from_bytes(data, "big") for data in _receive_all(server, counts.forwarded)}
    assert counts.dropped + counts.forwarded == 200
    assert _nothing_waiting(server)
    return set(range(200)) - arrived


def test_drops_follow_the_seed(sockets: list[socket.socket]) -> None:
    first = _dropped_numbers(7, sockets)
    assert 30 <= len(first) <= 90
    assert _dropped_numbers(7, sockets) == first
    assert _dropped_numbers(8, sockets) != first


def test_duplicates_arrive_twice(sockets: list[socket.socket]) -> None:
    server, client = _open(sockets), _open(sockets)
    impairment = Impairment(duplicate=1.0)
    with LossyRelay(server.getsockname(), to_server=impairment) as relay:
        _send_numbered(relay, client, 5)
        assert sorted(_receive_all(server, 10)) == sorted(
            [n.to_bytes(4, "big") for n in range(5)] * 2
        )
        assert relay.counts() == Counts(received=5, forwarded=10, duplicated=5)


def test_held_datagrams_are_overtaken(sockets: list[socket.socket]) -> None:
    server, client = _open(sockets), _open(sockets)
    # A long hold: the datagrams sent after a held one are on their way long before it.
    impairment = Impairment(reorder=0.3, hold=0.5)
    with LossyRelay(server.getsockname(), to_server=impairment, seed=3) as relay:
        _send_numbered(relay, client, 50)
        order = [int.from_bytes(data, "big") for data in _receive_all(server, 50)]
        counts = relay.counts()
    assert sorted(order) == list(range(50))
    assert order != sorted(order)
    assert 0 < counts.reordered < 50
    assert counts == Counts(received=50, forwarded=50, reordered=counts.reordered)


def test_each_direction_has_its_own_impairment(sockets: list[socket.socket]) -> None:
    server, client = _open(sockets), _open(sockets)
    relay = LossyRelay(server.getsockname(), to_client=Impairment(drop=1.0))
    with relay:
        client.sendto(b"request", relay.address)
        _data, relay_side = server.recvfrom(2048)
        server.sendto(b"lost", relay_side)
        _wait_for(lambda: relay.counts(Direction.TO_CLIENT).dropped == 1)
    assert _nothing_waiting(client)
    assert relay.counts(Direction.TO_SERVER) == Counts(received=1, forwarded=1)


def test_stop_ends_the_thread_and_a_relay_can_start_again(sockets: list[socket.socket]) -> None:
    server, client = _open(sockets), _open(sockets)
    relay = LossyRelay(server.getsockname())
    relay.start()
    assert any(t.name == "algodesk-lossy-relay" for t in threading.enumerate())
    relay.stop()
    assert not any(t.name == "algodesk-lossy-relay" for t in threading.enumerate())
    relay.stop()  # a second stop is harmless

    relay.start()
    try:
        client.sendto(b"again", relay.address)
        assert server.recvfrom(2048)[0] == b"again"
    finally:
        relay.stop()


@pytest.mark.parametrize(
    ("impairment", "arrivals"),
    [
        (Impairment(drop=1.0, grace=3), [0, 1, 2]),
        (Impairment(duplicate=1.0, grace=3), [0, 1, 2, 3, 3, 4, 4]),
    ],
)
def test_the_first_datagrams_pass_in_grace(
    sockets: list[socket.socket], impairment: Impairment, arrivals: list[int]
) -> None:
    server, client = _open(sockets), _open(sockets)
    with LossyRelay(server.getsockname(), to_server=impairment) as relay:
        _send_numbered(relay, client, 5)
        received = _receive_all(server, len(arrivals))
        _wait_received(relay, 5)
        assert _nothing_waiting(server)
    assert [int.from_bytes(data, "big") for data in received] == arrivals
    assert relay.counts().received == 5


@pytest.mark.parametrize("field", ["drop", "duplicate", "reorder"])
def test_probabilities_outside_zero_to_one_are_refused(field: str) -> None:
    values: dict[str, Any] = {field: 1.5}
    with pytest.raises(ValueError, match=field):
        Impairment(**values)
