"""Point 8: DECLINE per RFC 2131 §4.3.3, a bounded quarantine, and one notice per MAC in a flood."""

from __future__ import annotations

from algodesk.core import dhcp_packet as dp
from algodesk.core.dhcp_packet import MessageType, Option
from algodesk.core.events import Event, ServiceNotice
from algodesk.services.dhcp import DhcpSettings
from algodesk.services.dhcp.leases import LeaseStore
from algodesk.services.dhcp.responder import Action, DhcpResponder, Outgoing

SERVER = "10.99.0.1"
PEER = ("0.0.0.0", 68)
POOL = 20


def responder(events: list[Event]) -> DhcpResponder:
    settings = DhcpSettings(
        server_address=SERVER,
        pool_start="10.99.0.10",
        pool_size=POOL,
        ping_check=False,
        detect_other_servers=False,
    )
    return DhcpResponder(settings, LeaseStore(None), events.append, ping_check=False)


def mac(n: int) -> bytes:
    return bytes.fromhex("0022ee") + n.to_bytes(3, "big")


def send(
    r: DhcpResponder,
    kind: MessageType,
    chaddr: bytes,
    options: list[tuple[int, bytes]] | None = None,
) -> list[Action]:
    packet = dp.request_packet(kind, xid=7, chaddr=chaddr, options=options or [])
    return r.handle(packet.encode(), PEER)


def select(ip: str) -> list[tuple[int, bytes]]:
    return [(Option.REQUESTED_IP, dp.ip_value(ip)), (Option.SERVER_ID, dp.ip_value(SERVER))]


def dora(r: DhcpResponder, chaddr: bytes) -> str:
    (offer,) = send(r, MessageType.DISCOVER, chaddr)
    assert isinstance(offer, Outgoing)
    (ack,) = send(r, MessageType.REQUEST, chaddr, select(offer.packet.yiaddr))
    assert isinstance(ack, Outgoing) and ack.packet.message_type is MessageType.ACK
    return ack.packet.yiaddr


def test_decline_of_an_address_not_offered_or_leased_to_that_mac_is_ignored() -> None:
    events: list[Event] = []
    r = responder(events)
    holder = mac(1)
    ip = dora(r, holder)
    # a stranger with an Algo MAC and no lease declines the holder's address
    assert send(r, MessageType.DECLINE, mac(99), select(ip)) == []
    assert not r.pool.in_conflict(ip)
    # the holder reboots (INIT-REBOOT) and keeps its address
    (ack,) = send(r, MessageType.REQUEST, holder, [(Option.REQUESTED_IP, dp.ip_value(ip))])
    assert isinstance(ack, Outgoing) and ack.packet.message_type is MessageType.ACK
    # and strangers cannot empty the pool
    for n in range(100, 100 + POOL):
        send(r, MessageType.DECLINE, mac(n), select(f"10.99.0.{10 + n % POOL}"))
    assert not any(r.pool.in_conflict(f"10.99.0.{10 + i}") for i in range(POOL))


def test_a_decline_of_its_own_offer_is_taken_and_the_quarantine_is_bounded() -> None:
    events: list[Event] = []
    r = responder(events)
    declined = []
    for n in range(POOL):  # every device declines what it is offered: a spoofing flood
        replies = send(r, MessageType.DISCOVER, mac(n))
        if not replies:
            break
        (offer,) = replies
        assert isinstance(offer, Outgoing)
        send(r, MessageType.DECLINE, mac(n), select(offer.packet.yiaddr))
        declined.append(offer.packet.yiaddr)
    assert r.pool.in_conflict(declined[0]) or r.pool.in_conflict(declined[-1])
    quarantined = sum(r.pool.in_conflict(f"10.99.0.{10 + i}") for i in range(POOL))
    assert 1 <= quarantined <= POOL // 4
    # a real device still gets an address
    assert dora(r, mac(5000))


def test_discover_flood_gives_one_notice_per_mac() -> None:
    events: list[Event] = []
    r = responder(events)
    for n in range(POOL):
        dora(r, mac(n))
    for _ in range(200):
        assert send(r, MessageType.DISCOVER, mac(777)) == []
    exhausted = [
        e for e in events if isinstance(e, ServiceNotice) and e.code == "dhcp-pool-exhausted"
    ]
    assert len(exhausted) == 1
