"""What the bench DHCP server answers to each datagram (RFC 2131 §4.3), without touching sockets.

Polite by design, because a bench server shares a switch with other people's machines:
- only Algo MACs (00:22:EE) are served unless told otherwise; others are ignored and reported once;
- relayed requests (giaddr set) are ignored: a bench has no relays, so they come from elsewhere;
- a REQUEST naming another server's identifier drops our offer and reports that server;
- a client we hold no record of that asks to keep an address (INIT-REBOOT) gets silence, not NAK;
- renewals of leases that are not ours get silence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from algodesk.core import dhcp_packet as dp
from algodesk.core.dhcp_packet import DhcpError, DhcpPacket, MessageType, Option
from algodesk.core.events import Address, LeaseGranted, ServiceNotice, Sink
from algodesk.core.masking import mask_secrets
from algodesk.core.names import format_mac, is_algo_mac
from algodesk.core.syslog_parse import clean
from algodesk.services.dhcp.leases import LeaseStore
from algodesk.services.dhcp.pool import AddressPool
from algodesk.services.dhcp.settings import DhcpSettings

SERVICE = "dhcp"
BROADCAST = "255.255.255.255"
# A host name is a domain name: at most 255 octets (RFC 1035 §2.3.4), which option 12 carries in
# one piece (RFC 2132 §3.14); RFC 3396 lets a packet split it into several, so bound it here.
HOSTNAME_MAX_CHARS = 255

_REMEMBERED_CLIENTS = 4096


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A reply and where RFC 2131 §4.1 says it goes."""

    packet: DhcpPacket
    destination: Address


@dataclass(frozen=True, slots=True)
class PingCheck:
    """Ping ``ip`` first, then pass the answer to ``DhcpResponder.pinged`` with this check.

    The address stays held for the client meanwhile, and its retransmitted DISCOVERs wait.
    """

    ip: str
    request: DhcpPacket
    peer: Address


Action = Outgoing | PingCheck


class DhcpResponder:
    """Turns client datagrams into replies, leases and events.

    With ``ping_check`` a DISCOVER for an address nobody has checked yields a ``PingCheck`` instead
    of an OFFER: the caller pings (without blocking other clients) and reports back through
    ``pinged``. The sink gets ``LeaseGranted`` for every ACK and ``ServiceNotice`` for what a
    person should know.
    """

    def __init__(
        self,
        settings: DhcpSettings,
        leases: LeaseStore,
        sink: Sink,
        *,
        client_port: int = 68,
        broadcast_address: str = BROADCAST,
        ping_check: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.leases = leases
        self.pool = AddressPool(settings, leases, clock)
        self._sink = sink
        self._client_port = client_port
        self._broadcast = broadcast_address
        self._ping_check = ping_check
        self._pinging: set[str] = set()
        self._own_xids: set[int] = set()
        self._reported: set[tuple[str, str]] = set()
        self.malformed = 0

    def ignore_xid(self, xid: int) -> None:
        """Ignore requests with this transaction id (our own probe DISCOVER, looped back)."""
        self._own_xids.add(xid)

    def handle(self, data: bytes, peer: Address) -> list[Action]:
        """The replies to one datagram from ``peer`` (usually none or one). Never raises."""
        try:
            packet = dp.decode(data)
        except DhcpError:
            self.malformed += 1
            return []
        kind = packet.message_type
        if (
            packet.op != dp.BOOTREQUEST
            or kind is None
            or packet.htype != 1
            or len(packet.chaddr) != 6
            or packet.xid in self._own_xids
            or packet.giaddr != dp.ZERO_IP
        ):
            return []
        mac = packet.mac
        if self.settings.algo_only and not is_algo_mac(mac):
            self._report_once(
                "ignored",
                mac,
                "info",
                "dhcp-ignored-client",
                f"ignored DHCP {kind.name} from {format_mac(mac)}: not an Algo device "
                "('Algo devices only' is on)",
                peer,
            )
            return []
        handler = {
            MessageType.DISCOVER: self._discover,
            MessageType.REQUEST: self._request,
            MessageType.DECLINE: self._decline,
            MessageType.RELEASE: self._release,
            MessageType.INFORM: self._inform,
        }.get(kind)
        return handler(packet, mac, peer) if handler else []

    # -- message types ----------------------------------------------------------------------

    def pinged(self, check: PingCheck, answered: bool) -> list[Action]:
        """Take a ping's verdict on ``check.ip`` and carry on with the DISCOVER that asked."""
        self._pinging.discard(check.ip)
        if answered:
            self.pool.mark_conflict(check.ip)
            self._notice(
                "warning",
                "dhcp-address-in-use",
                f"{check.ip} answers ping but is not leased by this server: kept out of the "
                "pool for now",
                check.peer,
            )
        return self._discover(check.request, check.request.mac, check.peer)

    def _discover(self, packet: DhcpPacket, mac: str, peer: Address) -> list[Action]:
        requested = packet.ip_option(Option.REQUESTED_IP)
        for ip in self.pool.candidates(mac, requested):
            if ip in self._pinging:
                return []  # a retransmitted DISCOVER: the answer comes when the ping does
            needs_ping = self._ping_check and self.pool.needs_ping(mac, ip)
            self.pool.hold_offer(mac, ip)
            if needs_ping:
                self._pinging.add(ip)
                return [PingCheck(ip, packet, peer)]
            return [self._reply(packet, MessageType.OFFER, ip)]
        # Once per MAC: a device retries DISCOVER every few seconds, a flood every microsecond.
        self._report_once(
            "exhausted",
            mac,
            "warning",
            "dhcp-pool-exhausted",
            f"no free address to offer {format_mac(mac)}: enlarge the pool",
            peer,
        )
        return []

    def _request(self, packet: DhcpPacket, mac: str, peer: Address) -> list[Action]:
        server_id = packet.ip_option(Option.SERVER_ID)
        requested = packet.ip_option(Option.REQUESTED_IP)
        if server_id is not None:
            if server_id != self.settings.server_address:
                # SELECTING another server's offer: never acknowledge it, and tell someone.
                self.pool.drop_offer(mac)
                self._report_once(
                    "other-server",
                    server_id,
                    "warning",
                    "dhcp-other-server",
                    f"another DHCP server ({server_id}) made an offer that "
                    f"{format_mac(mac)} accepted: two DHCP servers share this segment",
                    peer,
                )
                return []
            lease = self.leases.by_mac(mac)
            ip = requested or packet.ciaddr
            ours = (self.pool.offered(mac), lease.ip if lease else None)
            if ip != dp.ZERO_IP and ip in ours and self.pool.usable(ip, mac):
                return [self._ack(packet, mac, ip)]
            return [self._nak(packet, mac, ip, "the offer is no longer valid")]
        lease = self.leases.by_mac(mac)
        if requested is not None:
            # INIT-REBOOT: only a client we know may be told no.
            if lease is None:
                return []
            if lease.ip == requested and self.pool.usable(requested, mac):
                return [self._ack(packet, mac, requested)]
            return [self._nak(packet, mac, requested, f"its address here is {lease.ip}")]
        renewing = packet.ciaddr != dp.ZERO_IP and lease is not None and lease.ip == packet.ciaddr
        if renewing and self.pool.usable(packet.ciaddr, mac):
            # RENEWING or REBINDING one of our leases.
            return [self._ack(packet, mac, packet.ciaddr)]
        return []

    def _decline(self, packet: DhcpPacket, mac: str, peer: Address) -> list[Action]:
        ip = packet.ip_option(Option.REQUESTED_IP)
        if packet.ip_option(Option.SERVER_ID) != self.settings.server_address or ip is None:
            return []
        lease = self.leases.by_mac(mac)
        leased = lease is not None and lease.ip == ip
        if not leased and self.pool.offered(mac) != ip:
            # RFC 2131 §4.3.3: a client declines the address it was given. Anyone else's
            # DECLINE would let one spoofed packet take a device's lease or empty the pool.
            self._report_once(
                "decline-ignored",
                mac,
                "info",
                "dhcp-decline-ignored",
                f"ignored a DECLINE of {ip} from {format_mac(mac)}: not offered or leased to it",
                peer,
            )
            return []
        self.pool.mark_declined(ip)
        self.pool.drop_offer(mac)
        if leased:
            self.leases.forget(mac)
        self._notice(
            "warning",
            "dhcp-declined",
            f"{format_mac(mac)} declined {ip}: another host uses it; kept out of the pool",
            peer,
        )
        return []

    def _release(self, packet: DhcpPacket, mac: str, peer: Address) -> list[Action]:
        lease = self.leases.by_mac(mac)
        if lease is not None and lease.ip == packet.ciaddr:
            self.leases.end(mac)
        return []

    def _inform(self, packet: DhcpPacket, mac: str, peer: Address) -> list[Action]:
        if packet.ciaddr == dp.ZERO_IP:
            return []
        reply = dp.reply_packet(
            packet,
            MessageType.ACK,
            server_id=self.settings.server_address,
            options=self.settings.network_options(),
        )
        return [Outgoing(reply, self._destination(reply, packet))]

    # -- replies ----------------------------------------------------------------------------

    def _reply(self, request: DhcpPacket, kind: MessageType, ip: str) -> Outgoing:
        reply = dp.reply_packet(
            request,
            kind,
            server_id=self.settings.server_address,
            yiaddr=ip,
            siaddr=self.settings.server_address,
            options=self.settings.lease_options(),
        )
        return Outgoing(reply, self._destination(reply, request))

    def _ack(self, request: DhcpPacket, mac: str, ip: str) -> Outgoing:
        hostname = clean(request.text_option(Option.HOSTNAME) or "", limit=HOSTNAME_MAX_CHARS)
        lease = self.leases.grant(mac, ip, self.settings.lease_seconds, hostname)
        self.pool.drop_offer(mac)
        out = self._reply(request, MessageType.ACK, ip)
        self._sink(
            LeaseGranted(
                mac=format_mac(mac),
                ip=lease.ip,
                lease_seconds=self.settings.lease_seconds,
                options=self._announced(hostname),
            )
        )
        return out

    def _nak(self, request: DhcpPacket, mac: str, ip: str, why: str) -> Outgoing:
        self.pool.drop_offer(mac)
        self._notice(
            "info",
            "dhcp-nak",
            f"refused {format_mac(mac)} the address {ip}: {why}",
            None,
        )
        reply = dp.reply_packet(
            request,
            MessageType.NAK,
            server_id=self.settings.server_address,
            options=[(Option.MESSAGE, dp.text_value(why))],
        )
        # RFC 2131 §4.3.2: a NAK is broadcast, the client may not have a usable address.
        return Outgoing(reply, (self._broadcast, self._client_port))

    def _destination(self, reply: DhcpPacket, request: DhcpPacket) -> Address:
        """RFC 2131 §4.1 (relays excluded): unicast to ciaddr, else broadcast.

        Unicast to a client that has no address yet needs an ARP entry written by hand (a raw
        socket or ioctl); broadcasting is what every client accepts, so it is used instead.
        """
        if request.ciaddr != dp.ZERO_IP:
            return (request.ciaddr, self._client_port)
        return (self._broadcast, self._client_port)

    def _announced(self, hostname: str) -> dict[str, str]:
        """The provisioning options a lease carried, for the live view (secrets masked)."""
        settings = self.settings
        announced = {"server_id": settings.server_address}
        if hostname:
            announced["hostname"] = hostname
        if settings.option66:
            announced["66"] = mask_secrets(settings.option66_value or settings.server_address)
        if settings.option160:
            announced["160"] = mask_secrets(settings.option160_value or settings.server_address)
        if settings.option150:
            announced["150"] = ",".join(settings.option150_addresses or (settings.server_address,))
        return announced

    # -- notices ----------------------------------------------------------------------------

    def _notice(self, level: str, code: str, message: str, peer: Address | None) -> None:
        self._sink(
            ServiceNotice(service=SERVICE, level=level, code=code, message=message, client=peer)
        )

    def _report_once(
        self, topic: str, key: str, level: str, code: str, message: str, peer: Address
    ) -> None:
        if (topic, key) in self._reported:
            return
        if len(self._reported) >= _REMEMBERED_CLIENTS:
            self._reported.clear()  # a flood of strangers: start over rather than grow forever
        self._reported.add((topic, key))
        self._notice(level, code, message, peer)
