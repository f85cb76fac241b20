"""Socket set-up for the engine: the listener's options, requests with their local address, and
the sockets of one transfer.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys

RECV_BUFFER = 65536
_LISTEN_RCVBUF = 1 << 20
# Linux: learn which local address a request reached, so replies leave from it (multi-homed
# benches). Python 3.11 lacks the constant; the value is fixed by the Linux ABI.
_IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
_PKTINFO = struct.Struct("=i4s4s")
# Linux: the kernel stamps each request with its arrival time (repeats.py tells a late copy of
# a request from a new one by it). Not in Python 3.11's socket module; fixed by the Linux ABI.
_SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("@qq")
# Connected transfer sockets (route cached, strangers filtered by the kernel) plus a catch-all
# socket on the same port for ERROR 5 rely on Linux's UDP lookup preferring the connected socket.
CONNECTED_SOCKETS = sys.platform.startswith("linux")

Received = tuple[bytes, tuple[str, int], str, float | None]
"""A datagram, its sender, the local address it was sent to, and when it reached this computer
(seconds since the epoch, from the kernel; None where it cannot tell)."""


def prepare_listener(listener: socket.socket) -> bool:
    """Set the listener's options; returns whether requests are read with ancillary data (their
    local address, their arrival time)."""
    pktinfo = False
    address = listener.getsockname()[0]
    linux = sys.platform.startswith("linux")
    if linux and listener.family == socket.AF_INET and address == "0.0.0.0":
        with contextlib.suppress(OSError):
            listener.setsockopt(socket.IPPROTO_IP, _IP_PKTINFO, 1)
            pktinfo = True
    if linux:
        with contextlib.suppress(OSError):
            listener.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            pktinfo = True
    with contextlib.suppress(OSError):
        # Room for a burst of requests when a whole bench powers up at once.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _LISTEN_RCVBUF)
    if sys.platform == "win32":
        # Otherwise an ICMP error for an earlier reply fails the listener's next receive.
        with contextlib.suppress(OSError, AttributeError, ValueError):
            listener.ioctl(socket.SIO_UDP_CONNRESET, False)  # type: ignore[attr-defined]
    return pktinfo


def receive_request(listener: socket.socket, pktinfo: bool, bound: str) -> Received | None:
    """One datagram from the listener, or None when there is none (or only an ICMP error).

    ``bound`` is the listener's address: the local address unless ``pktinfo`` tells better.
    """
    local = bound
    arrived = None
    try:
        if pktinfo:
            data, ancillary, _flags, sender = listener.recvmsg(
                RECV_BUFFER, socket.CMSG_SPACE(_PKTINFO.size) + socket.CMSG_SPACE(_TIMESPEC.size)
            )
            for level, kind, value in ancillary:
                if level == socket.IPPROTO_IP and kind == _IP_PKTINFO:
                    local = socket.inet_ntoa(_PKTINFO.unpack_from(value)[1])
                elif level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS:
                    seconds, nanoseconds = _TIMESPEC.unpack_from(value)
                    arrived = seconds + nanoseconds / 1e9
        else:
            data, sender = listener.recvfrom(RECV_BUFFER)
    except OSError:
        # Nothing to read after all, or a Windows listener reporting an earlier reply's ICMP
        # error: either way there is no request.
        return None
    return data, sender, local, arrived


def open_transfer_sockets(
    family: int, local: str, peer: tuple[str, int]
) -> tuple[socket.socket, socket.socket | None]:
    """A transfer's socket (connected where possible) and its catch-all twin, if any."""
    sockets: list[socket.socket] = []
    try:
        first = socket.socket(family, socket.SOCK_DGRAM)
        sockets.append(first)
        if not CONNECTED_SOCKETS:
            first.bind((local, 0))
            first.setblocking(False)
            return first, None
        first.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        first.bind((local, 0))
        connected = socket.socket(family, socket.SOCK_DGRAM)
        sockets.append(connected)
        connected.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        connected.bind(first.getsockname())
        connected.connect(peer)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    first.setblocking(False)
    connected.setblocking(False)
    return connected, first
