"""The bench DHCP server: RFC 2131 decisions, politeness rules, and the server on loopback."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algodesk.core import dhcp_packet as dp
from algodesk.core.dhcp_packet import DhcpPacket, MessageType, Option
from algodesk.core.events import (
    Event,
    LeaseGranted,
    ServerFailed,
    ServerStarted,
    ServiceNotice,
)
from algodesk.services.dhcp import DhcpServer, DhcpSettings
from algodesk.services.dhcp.leases import LeaseStore
from algodesk.services.dhcp.ping import Pinger, ping_works
from algodesk.services.dhcp.responder import Action, DhcpResponder, Outgoing, PingCheck
from algodesk.services.errors import ServerStartError

SERVER = "10.99.0.1"
ALGO = bytes.fromhex("0022ee010203")
LAPTOP = bytes.fromhex("3c22fb000001")
PEER = ("0.0.0.0", 68)


def bench(**overrides: object) -> DhcpSettings:
    values: dict[str, object] = {
        "server_address": SERVER,
        "pool_start": "10.99.0.10",
        "pool_size": 5,
        "ping_check": False,
        "detect_other_servers": False,
    }
    values.update(overrides)
    return DhcpSettings(**values)  # type: ignore[arg-type]


def responder(
    events: list[Event], *, ping_check: bool = False, **overrides: object
) -> DhcpResponder:
    return DhcpResponder(bench(**overrides), LeaseStore(None), events.append, ping_check=ping_check)


def settle(
    r: DhcpResponder, actions: list[Action], in_use: set[str]
) -> tuple[list[Action], list[str]]:
    """Answer ping checks as the server does (``in_use`` addresses reply); returns the pinged."""
    pinged: list[str] = []
    while any(isinstance(action, PingCheck) for action in actions):
        (check,) = actions
        assert isinstance(check, PingCheck)
        pinged.append(check.ip)
        actions = r.pinged(check, check.ip in in_use)
    return actions, pinged


def message(
    kind: MessageType,
    chaddr: bytes = ALGO,
    *,
    xid: int = 42,
    options: list[tuple[int, bytes]] | None = None,
    ciaddr: str = dp.ZERO_IP,
    broadcast: bool = False,
) -> bytes:
    return dp.request_packet(
        kind, xid=xid, chaddr=chaddr, ciaddr=ciaddr, broadcast=broadcast, options=options or []
    ).encode()


def select(ip: str, server: str = SERVER) -> list[tuple[int, bytes]]:
    return [(Option.REQUESTED_IP, dp.ip_value(ip)), (Option.SERVER_ID, dp.ip_value(server))]


def only(replies: list[Action]) -> DhcpPacket:
    assert len(replies) == 1
    assert isinstance(replies[0], Outgoing)
    return replies[0].packet


def dora(r: DhcpResponder, chaddr: bytes = ALGO) -> DhcpPacket:
    offer = only(r.handle(message(MessageType.DISCOVER, chaddr), PEER))
    return only(r.handle(message(MessageType.REQUEST, chaddr, options=select(offer.yiaddr)), PEER))


def notices(events: list[Event]) -> list[str]:
    return [e.code for e in events if isinstance(e, ServiceNotice)]


# -- decisions -------------------------------------------------------------------------------


def test_discover_offer_request_ack() -> None:
    events: list[Event] = []
    r = responder(events)
    offer = only(r.handle(message(MessageType.DISCOVER), PEER))
    assert offer.message_type is MessageType.OFFER
    assert offer.yiaddr == "10.99.0.10"
    assert offer.ip_option(Option.SERVER_ID) == SERVER
    assert offer.text_option(Option.TFTP_SERVER_NAME) == SERVER
    ack = r.handle(message(MessageType.REQUEST, options=select("10.99.0.10")), PEER)
    assert only(ack).message_type is MessageType.ACK
    assert ack[0].destination == ("255.255.255.255", 68)
    (lease,) = [e for e in events if isinstance(e, LeaseGranted)]
    assert (lease.mac, lease.ip, lease.lease_seconds) == ("00:22:EE:01:02:03", "10.99.0.10", 3600)
    assert lease.options["66"] == SERVER


def test_non_algo_clients_are_ignored_and_reported_once() -> None:
    events: list[Event] = []
    r = responder(events)
    for _ in range(3):
        assert r.handle(message(MessageType.DISCOVER, LAPTOP), PEER) == []
    assert notices(events) == ["dhcp-ignored-client"]
    events.clear()
    r = responder(events, algo_only=False)
    assert dora(r, LAPTOP).message_type is MessageType.ACK


def test_request_for_another_servers_offer_is_never_acknowledged() -> None:
    events: list[Event] = []
    r = responder(events)
    offer = only(r.handle(message(MessageType.DISCOVER), PEER))
    replies = r.handle(
        message(MessageType.REQUEST, options=select(offer.yiaddr, "10.99.0.2")), PEER
    )
    assert replies == []
    assert notices(events) == ["dhcp-other-server"]
    assert r.pool.offered(ALGO.hex().upper()) is None
    assert not [e for e in events if isinstance(e, LeaseGranted)]


def test_request_without_an_offer_is_refused() -> None:
    events: list[Event] = []
    r = responder(events)
    nak = only(r.handle(message(MessageType.REQUEST, options=select("10.99.0.12")), PEER))
    assert nak.message_type is MessageType.NAK
    assert nak.yiaddr == dp.ZERO_IP


def test_init_reboot_unknown_client_gets_silence() -> None:
    r = responder([])
    options = [(Option.REQUESTED_IP, dp.ip_value("192.168.1.111"))]
    assert r.handle(message(MessageType.REQUEST, options=options), PEER) == []


def test_init_reboot_known_client() -> None:
    r = responder([])
    dora(r)
    right = [(Option.REQUESTED_IP, dp.ip_value("10.99.0.10"))]
    assert only(r.handle(message(MessageType.REQUEST, options=right), PEER)).message_type is (
        MessageType.ACK
    )
    wrong = [(Option.REQUESTED_IP, dp.ip_value("10.99.0.13"))]
    nak = r.handle(message(MessageType.REQUEST, options=wrong), PEER)
    assert only(nak).message_type is MessageType.NAK
    assert nak[0].destination == ("255.255.255.255", 68)


def test_renewal_is_unicast_and_foreign_renewals_are_ignored() -> None:
    events: list[Event] = []
    r = responder(events)
    dora(r)
    renew = r.handle(message(MessageType.REQUEST, ciaddr="10.99.0.10"), PEER)
    assert only(renew).message_type is MessageType.ACK
    assert renew[0].destination == ("10.99.0.10", 68)
    assert renew[0].packet.ciaddr == "10.99.0.10"
    assert (
        r.handle(
            message(MessageType.REQUEST, bytes.fromhex("0022ee0000aa"), ciaddr="10.99.0.40"), PEER
        )
        == []
    )
    assert len([e for e in events if isinstance(e, LeaseGranted)]) == 2


def test_same_device_keeps_its_address_and_others_never_get_it() -> None:
    r = responder([])
    first = dora(r)
    again = dora(r)
    other = dora(r, bytes.fromhex("0022ee0000ff"))
    assert first.yiaddr == again.yiaddr == "10.99.0.10"
    assert other.yiaddr == "10.99.0.11"


def test_ping_answer_keeps_an_address_out() -> None:
    events: list[Event] = []
    r = responder(events, ping_check=True)
    actions = r.handle(message(MessageType.DISCOVER), PEER)
    assert actions == [PingCheck("10.99.0.10", dp.decode(message(MessageType.DISCOVER)), PEER)]
    actions, pinged = settle(r, actions, {"10.99.0.10", "10.99.0.11"})
    assert only(actions).yiaddr == "10.99.0.12"
    assert pinged == ["10.99.0.10", "10.99.0.11", "10.99.0.12"]
    assert notices(events) == ["dhcp-address-in-use", "dhcp-address-in-use"]
    assert r.pool.in_conflict("10.99.0.10")


def test_retransmitted_discover_waits_for_the_ping_and_others_go_on() -> None:
    r = responder([], ping_check=True)
    (first,) = r.handle(message(MessageType.DISCOVER), PEER)
    assert isinstance(first, PingCheck)
    assert r.handle(message(MessageType.DISCOVER), PEER) == []
    (other,) = r.handle(message(MessageType.DISCOVER, bytes.fromhex("0022ee0000ff"), xid=7), PEER)
    assert isinstance(other, PingCheck) and other.ip != first.ip
    assert only(r.pinged(first, False)).yiaddr == first.ip
    # Offered once, never pinged again for the same client.
    assert only(r.handle(message(MessageType.DISCOVER), PEER)).yiaddr == first.ip


def test_every_address_in_use_exhausts_the_pool() -> None:
    events: list[Event] = []
    r = responder(events, ping_check=True)
    everything = {f"10.99.0.{i}" for i in range(10, 15)}
    actions, pinged = settle(r, r.handle(message(MessageType.DISCOVER), PEER), everything)
    assert actions == []
    assert sorted(pinged) == sorted(everything)
    assert notices(events).count("dhcp-address-in-use") == 5
    assert notices(events)[-1] == "dhcp-pool-exhausted"


def test_decline_and_release() -> None:
    events: list[Event] = []
    r = responder(events)
    ack = dora(r)
    decline = [
        (Option.REQUESTED_IP, dp.ip_value(ack.yiaddr)),
        (Option.SERVER_ID, dp.ip_value(SERVER)),
    ]
    assert r.handle(message(MessageType.DECLINE, options=decline), PEER) == []
    assert "dhcp-declined" in notices(events)
    assert r.pool.in_conflict(ack.yiaddr)
    second = dora(r)
    assert second.yiaddr == "10.99.0.11"
    r.handle(message(MessageType.RELEASE, ciaddr="10.99.0.11", options=select("10.99.0.11")), PEER)
    lease = r.leases.by_mac(ALGO.hex().upper())
    assert lease is not None and not lease.active(10**10)


def test_inform_gets_options_without_a_lease() -> None:
    r = responder([], option150=True)
    replies = r.handle(message(MessageType.INFORM, ciaddr="10.99.0.77"), PEER)
    ack = only(replies)
    assert ack.message_type is MessageType.ACK
    assert ack.yiaddr == dp.ZERO_IP
    assert ack.option(Option.LEASE_TIME) is None
    assert ack.ip_list_option(Option.TFTP_SERVER_ADDRESSES) == [SERVER]
    assert replies[0].destination == ("10.99.0.77", 68)


def test_relayed_bootp_and_reply_packets_are_ignored() -> None:
    r = responder([])
    relayed = dp.DhcpPacket(
        op=dp.BOOTREQUEST, xid=1, chaddr=ALGO, giaddr="10.1.1.1", options=((53, b"\x01"),)
    )
    bootp = dp.DhcpPacket(op=dp.BOOTREQUEST, xid=1, chaddr=ALGO)
    reply = dp.DhcpPacket(op=dp.BOOTREPLY, xid=1, chaddr=ALGO, options=((53, b"\x01"),))
    for packet in (relayed, bootp, reply):
        assert r.handle(packet.encode(), PEER) == []


def test_url_passwords_in_options_are_masked_in_events() -> None:
    events: list[Event] = []
    dora(responder(events, option66_value="ftp://prov:s3cret@10.99.0.1/algo"))
    (lease,) = [e for e in events if isinstance(e, LeaseGranted)]
    assert lease.options["66"] == "ftp://prov:****@10.99.0.1/algo"


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=600), max_size=4))
def test_garbage_never_crashes_the_responder(datagrams: list[bytes]) -> None:
    r = responder([], algo_only=False)
    for data in datagrams:
        r.handle(data, PEER)
    assert dora(r).message_type is MessageType.ACK


@given(
    kind=st.sampled_from(list(MessageType)),
    options=st.dictionaries(st.integers(1, 254), st.binary(max_size=12), max_size=6),
    ciaddr=st.sampled_from([dp.ZERO_IP, "10.99.0.10", "10.99.0.200", "1.2.3.4"]),
)
def test_odd_but_well_formed_requests_never_crash(
    kind: MessageType, options: dict[int, bytes], ciaddr: str
) -> None:
    r = responder([], algo_only=False)
    options.pop(Option.MESSAGE_TYPE, None)
    options.pop(Option.OVERLOAD, None)
    r.handle(message(kind, options=list(options.items()), ciaddr=ciaddr), PEER)
    assert dora(r).message_type is MessageType.ACK


# -- the server on loopback ------------------------------------------------------------------


class Collector:
    def __init__(self) -> None:
        self.queue: queue.Queue[Event] = queue.Queue()

    def __call__(self, event: Event) -> None:
        self.queue.put(event)

    def next(self, kind: type[Event], code: str = "") -> Event:
        while True:
            event = self.queue.get(timeout=5)
            if isinstance(event, kind) and (not code or getattr(event, "code", "") == code):
                return event


@pytest.fixture
def client() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    try:
        yield sock
    finally:
        sock.close()


def start_server(
    tmp_path: Path, client_port: int, sink: Collector, **overrides: object
) -> DhcpServer:
    server = DhcpServer(
        bench(**overrides),
        sink,
        leases_path=tmp_path / "leases.json",
        bind_address="127.0.0.1",
        server_port=0,
        client_port=client_port,
        redirect_to="127.0.0.1",
    )
    server.start()
    return server


def exchange(sock: socket.socket, server: DhcpServer, data: bytes) -> DhcpPacket:
    sock.sendto(data, ("127.0.0.1", server.port))
    return dp.decode(sock.recv(2048))


def test_server_leases_over_udp_and_remembers_across_restart(
    tmp_path: Path, client: socket.socket
) -> None:
    sink = Collector()
    server = start_server(tmp_path, client.getsockname()[1], sink)
    try:
        assert isinstance(sink.next(ServerStarted), ServerStarted)
        client.sendto(b"\x00garbage", ("127.0.0.1", server.port))
        offer = exchange(client, server, message(MessageType.DISCOVER, broadcast=True))
        assert offer.message_type is MessageType.OFFER
        ack = exchange(client, server, message(MessageType.REQUEST, options=select(offer.yiaddr)))
        assert ack.message_type is MessageType.ACK
        lease = sink.next(LeaseGranted)
        assert isinstance(lease, LeaseGranted) and lease.ip == offer.yiaddr
        server.stop()
        assert not server.running
        server.start()
        again = exchange(
            client,
            server,
            message(
                MessageType.REQUEST, options=[(Option.REQUESTED_IP, dp.ip_value(offer.yiaddr))]
            ),
        )
        assert again.message_type is MessageType.ACK
        assert [lease.ip for lease in server.leases()] == [offer.yiaddr]
    finally:
        server.stop()


def test_server_reports_another_dhcp_server(tmp_path: Path, client: socket.socket) -> None:
    """A fake rival on loopback answers the start-up probe with an OFFER."""
    rival = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rival.bind(("127.0.0.1", 0))
    rival.settimeout(5)
    watch_port = client.getsockname()[1]
    client.close()  # the server's probe listens on this port now
    stop = threading.Event()

    def answer() -> None:
        try:
            data, _peer = rival.recvfrom(2048)
        except TimeoutError:
            return
        discover = dp.decode(data)
        offer = dp.reply_packet(
            discover,
            MessageType.OFFER,
            server_id="10.99.0.2",
            yiaddr="10.99.0.200",
            options=[(Option.TFTP_SERVER_NAME, b"10.99.0.2")],
        )
        if not stop.is_set():
            rival.sendto(offer.encode(), ("127.0.0.1", watch_port))

    thread = threading.Thread(target=answer, name="algodesk-test-rival", daemon=True)
    thread.start()
    sink = Collector()
    server = DhcpServer(
        bench(detect_other_servers=True),
        sink,
        leases_path=None,
        bind_address="127.0.0.1",
        server_port=0,
        client_port=watch_port,
        probe_port=rival.getsockname()[1],
        probe_seconds=5.0,
        redirect_to="127.0.0.1",
    )
    server.start()
    try:
        notice = sink.next(ServiceNotice, "dhcp-other-server")
        assert isinstance(notice, ServiceNotice)
        assert "10.99.0.2" in notice.message and "option 66 = 10.99.0.2" in notice.message
        assert server.other_servers == {"10.99.0.2"}
    finally:
        server.stop()
        stop.set()
        thread.join(timeout=5)
        rival.close()


def test_server_port_in_use(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        events: list[Event] = []
        server = DhcpServer(
            bench(),
            events.append,
            leases_path=None,
            bind_address="127.0.0.1",
            server_port=holder.getsockname()[1],
        )
        with pytest.raises(ServerStartError) as caught:
            server.start()
    assert caught.value.code == "port-in-use"
    assert any("DHCP server" in remedy for remedy in caught.value.remedies)
    assert [type(e) for e in events] == [ServerFailed]
    assert not server.running


def test_wildcard_bind_refuses_a_server_address_that_is_not_ours() -> None:
    server = DhcpServer(bench(), leases_path=None, server_port=0)
    with pytest.raises(ServerStartError) as caught:
        server.start()
    assert caught.value.code == "bad-address"


def test_pinger_runs_pings_side_by_side() -> None:
    pinger = Pinger()
    if not ping_works():
        pytest.skip("no working ping on this computer")
    assert pinger.start("127.0.0.1")
    assert pinger.pending
    results: list[tuple[str, bool]] = []
    while pinger.pending:
        results += pinger.finished()
        time.sleep(0.01)
    assert results == [("127.0.0.1", True)]
    assert pinger.start("127.0.0.1")
    pinger.cancel()
    assert not pinger.pending


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"option66": True, "option160": True}, "option 66 is offered with option 160"),
        ({"option66": True, "option150": True}, "option 66 is offered with option 150"),
        ({"option66": False, "option160": True, "option150": True}, "devices use option 160 only"),
        ({"option66": True}, ""),
    ],
)
def test_options_a_device_will_not_use_are_said_at_start(
    tmp_path: Path, client: socket.socket, options: dict[str, bool], said: str
) -> None:
    # guide §4.1: only the highest-priority option in the offer is used (66, then 160, then 150)
    sink = Collector()
    server = start_server(tmp_path, client.getsockname()[1], sink, **options)
    try:
        assert isinstance(sink.next(ServerStarted), ServerStarted)
        warnings = bench(**options).option_warnings()
        assert (said in warnings[0]) if said else warnings == []
        if said:
            notice = sink.next(ServiceNotice, "dhcp-options-shadowed")
            assert isinstance(notice, ServiceNotice) and said in notice.message
    finally:
        server.stop()
