"""Another DHCP server on the bench segment: the start-up DISCOVER and the OFFERs it draws.

Two DHCP servers on one segment fight: a device takes whichever offer comes first, and only one
of them names the bench in option 66. The bench server sends one DISCOVER (broadcast flag set, so
answers are broadcast back to port 68) from a made-up client and reports every server that offers.
"""

from __future__ import annotations

import secrets
import socket

from algodesk.core import dhcp_packet as dp
from algodesk.core.dhcp_packet import DhcpError, DhcpPacket, MessageType, Option
from algodesk.core.events import Address, ServiceNotice, Sink
from algodesk.core.syslog_parse import clean

SERVICE = "dhcp"
_MAX_DATAGRAM = 65535
_ASKED = bytes([Option.SUBNET_MASK, Option.ROUTER, Option.TFTP_SERVER_NAME, 150, 160])


def probe_discover() -> DhcpPacket:
    """A DISCOVER from a locally administered MAC no device has, so no server takes it for one."""
    return dp.request_packet(
        MessageType.DISCOVER,
        xid=secrets.randbits(32),
        chaddr=bytes([0x02]) + secrets.token_bytes(5),
        broadcast=True,
        options=[(Option.PARAMETER_REQUEST_LIST, _ASKED)],
    )


class RivalWatch:
    """Reads OFFERs on the client port (non-blocking socket) and reports each rival once."""

    def __init__(self, sock: socket.socket, own_server_id: str, sink: Sink) -> None:
        self.socket = sock
        self._own = own_server_id
        self._sink = sink
        self.rivals: set[str] = set()

    def read(self) -> None:
        """Handle every datagram waiting."""
        while True:
            try:
                data, peer = self.socket.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # a queued ICMP error
            self._consider(data, (peer[0], peer[1]))

    def finish(self) -> None:
        """Read what is left, close the socket, and say so when nobody answered."""
        self.read()
        self.socket.close()
        if not self.rivals:
            self._notice("info", "dhcp-no-other-server", "no other DHCP server answered the probe")

    def _consider(self, data: bytes, peer: Address) -> None:
        try:
            packet = dp.decode(data)
        except DhcpError:
            return
        if packet.op != dp.BOOTREPLY or packet.message_type is not MessageType.OFFER:
            return
        server_id = packet.ip_option(Option.SERVER_ID) or peer[0]
        if server_id == self._own or server_id in self.rivals:
            return
        self.rivals.add(server_id)
        option66 = packet.text_option(Option.TFTP_SERVER_NAME)
        announces = f"; it announces option 66 = {clean(option66)}" if option66 else ""
        self._notice(
            "warning",
            "dhcp-other-server",
            f"another DHCP server is active on this segment at {peer[0]} (server id "
            f"{server_id}), offering {packet.yiaddr}{announces}: devices may take its offer "
            "instead of the bench's",
            peer,
        )

    def _notice(self, level: str, code: str, message: str, client: Address | None = None) -> None:
        self._sink(
            ServiceNotice(service=SERVICE, level=level, code=code, message=message, client=client)
        )
