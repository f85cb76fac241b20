"""A small TFTP read client (RFC 1350 with the blksize and tsize options of RFC 2347-2349).

It fetches whole files into memory, as a device does with its config, and turns a server into a
simulator :data:`~algodesk.core.simulator.Fetcher`: ERROR 1 (file not found) is "no such file",
every other failure raises :class:`TftpError`. Its own loop rather than tftpy's client: that one
logs every packet, cannot say "not found" apart from other errors without parsing messages, and
cannot be cancelled mid-transfer, which a fleet of 200 virtual devices needs on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
import threading
import time

from algodesk.core.simulator import Fetcher, FetchError, Prober

DEFAULT_PORT = 69
DEFAULT_BLKSIZE = 1428
_RRQ, _DATA, _ACK, _ERROR, _OACK = 1, 3, 4, 5, 6
_NOT_FOUND = 1
_OPTION_REFUSED = 8
_UNKNOWN_TID = 5
_POLL = 0.1  # how often a waiting receive looks at the cancel event
_MAX_PACKET = 65536 + 4


class TftpError(FetchError):
    """The server answered with an error other than "not found", or not at all.

    ``code`` is the TFTP error code, or None when no error packet came (time-out, bad packet).
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Cancelled(FetchError):
    """The fetch was abandoned because its cancel event was set."""


def tftp_fetcher(
    host: str,
    port: int = DEFAULT_PORT,
    *,
    blksize: int = DEFAULT_BLKSIZE,
    timeout: float = 1.0,
    retries: int = 5,
    cancel: threading.Event | None = None,
    source: str | None = None,
    quick_first_answer: bool = False,
) -> Fetcher:
    """A fetcher reading each requested file from the TFTP server at ``host``:``port``.

    ``source`` is the local IP address every request is sent from (any port): a virtual device
    of its own, since servers tell devices apart by address. The host resolves in its family.
    With ``quick_first_answer``, a server that has not answered this fetcher yet gets one try:
    no answer within ``timeout`` means no server there (a typo in the address, or not started),
    said at once instead of after every retransmission. A port nobody listens on is said as soon
    as the system reports it, either way.
    """
    if not 8 <= blksize <= 65464:
        raise ValueError("blksize must be 8..65464")
    want = socket.AF_UNSPEC
    if source is not None:
        try:
            want = socket.AF_INET6 if ipaddress.ip_address(source).version == 6 else socket.AF_INET
        except ValueError:
            raise TftpError(f"not an IP address: {source!r}") from None
    family, address = _resolve(host, port, want)
    answered = threading.Event()

    def fetch(name: str) -> bytes | None:
        tries = retries if answered.is_set() or not quick_first_answer else 0
        transfer = _Transfer(family, address, name, blksize, timeout, tries, cancel, source)
        try:
            return transfer.run()
        finally:
            if transfer.answered:
                answered.set()

    return fetch


def tftp_prober(
    host: str,
    port: int = DEFAULT_PORT,
    *,
    blksize: int = DEFAULT_BLKSIZE,
    timeout: float = 1.0,
    retries: int = 5,
    cancel: threading.Event | None = None,
) -> Prober:
    """Sizes of files on the server without reading them: the ``tsize`` its option
    acknowledgement announces, after which the transfer is ended. A server that announces no
    size sends the file, which is then read whole to learn it."""
    family, address = _resolve(host, port)

    def probe(name: str) -> int | None:
        transfer = _Transfer(family, address, name, blksize, timeout, retries, cancel)
        transfer.size_only = True
        data = transfer.run()
        if data is None:
            return None
        return transfer.size if transfer.size is not None else len(data)

    return probe


def fetch_file(
    host: str,
    port: int,
    name: str,
    *,
    blksize: int = DEFAULT_BLKSIZE,
    timeout: float = 1.0,
    retries: int = 5,
    source: str | None = None,
) -> bytes | None:
    """Read one file: its bytes, or None when the server says it has no such file."""
    fetch = tftp_fetcher(
        host, port, blksize=blksize, timeout=timeout, retries=retries, source=source
    )
    return fetch(name)


def _resolve(
    host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
) -> tuple[socket.AddressFamily, tuple[str, int]]:
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_DGRAM)
    except socket.gaierror as error:
        raise TftpError(f"cannot resolve {host}: {error.strerror}") from None
    family, _type, _proto, _name, sockaddr = infos[0]
    return family, (str(sockaddr[0]), int(sockaddr[1]))


class _Transfer:
    """One read request from RRQ to the last ACK."""

    def __init__(
        self,
        family: socket.AddressFamily,
        server: tuple[str, int],
        name: str,
        blksize: int,
        timeout: float,
        retries: int,
        cancel: threading.Event | None,
        source: str | None = None,
    ) -> None:
        self.family = family
        self.source = source
        self.server = server
        self.name = name
        self.blksize = blksize
        self.timeout = timeout
        self.retries = retries
        self.cancel = cancel
        self.answered = False
        self.size_only = False
        self.size: int | None = None

    def run(self) -> bytes | None:
        with socket.socket(self.family, socket.SOCK_DGRAM) as sock:
            _report_unreachable(sock)
            if self.source is not None:
                try:
                    sock.bind((self.source, 0))
                except OSError as error:
                    raise TftpError(f"cannot send from {self.source}: {error.strerror}") from None
            try:
                return self._read(sock, with_options=True)
            except _RetryWithoutOptions:
                return self._read(sock, with_options=False)

    def _read(self, sock: socket.socket, *, with_options: bool) -> bytes | None:
        request = _rrq(self.name, self.blksize if with_options else None)
        sock.sendto(request, self.server)
        last_sent, peer = request, None
        target = self.server
        blksize, expected = 512, 1
        tsize: int | None = None
        chunks: list[bytes] = []
        tries = 0
        while True:
            packet, sender = self._receive(sock, last_sent, target, answered=peer is not None)
            if peer is None:
                if sender[0] != self.server[0]:
                    continue
                peer = target = (sender[0], sender[1])
                self.answered = True
            elif sender[:2] != peer:
                sock.sendto(_error(_UNKNOWN_TID, "unknown transfer ID"), sender)
                continue
            if len(packet) < 4:
                raise TftpError("short packet from the server")
            opcode, number = struct.unpack("!HH", packet[:4])
            if opcode == _ERROR:
                message = packet[4:].split(b"\0", 1)[0].decode("utf-8", "replace")
                if number == _NOT_FOUND:
                    return None
                if number == _OPTION_REFUSED and with_options and not chunks:
                    raise _RetryWithoutOptions
                raise TftpError(f"server error {number}: {message}", number)
            if opcode == _OACK and expected == 1 and not chunks:
                blksize, tsize = _agreed(packet[2:], self.blksize, self.name)
                if self.size_only and tsize is not None:
                    sock.sendto(_error(0, "size only"), peer)  # ends the transfer (RFC 2347)
                    self.size = tsize
                    return b""
                last_sent = _ack(0)
                sock.sendto(last_sent, peer)
                continue
            if opcode != _DATA:
                raise TftpError(f"unexpected packet (opcode {opcode})")
            if number == expected & 0xFFFF:
                payload = packet[4:]
                chunks.append(payload)
                last_sent = _ack(number)
                sock.sendto(last_sent, peer)
                if len(payload) < blksize:
                    data = b"".join(chunks)
                    if tsize is not None and len(data) != tsize:
                        raise TftpError(f"got {len(data)} bytes, announced {tsize}")
                    return data
                expected += 1
                tries = 0
            elif number == (expected - 1) & 0xFFFF:
                # Our ACK was lost: the server sent the block again, so acknowledge it again.
                tries += 1
                if tries > self.retries:
                    raise TftpError(f"server keeps repeating block {number}")
                sock.sendto(last_sent, peer)

    def _receive(
        self, sock: socket.socket, last_sent: bytes, target: tuple[str, int], *, answered: bool
    ) -> tuple[bytes, tuple[str, int]]:
        """The next packet, retransmitting ``last_sent`` on each time-out."""
        for attempt in range(self.retries + 1):
            deadline = time.monotonic() + self.timeout
            while (left := deadline - time.monotonic()) > 0:
                if self.cancel is not None and self.cancel.is_set():
                    raise Cancelled("cancelled")
                sock.settimeout(min(left, _POLL) if self.cancel is not None else left)
                try:
                    packet, sender = sock.recvfrom(_MAX_PACKET)
                except TimeoutError:
                    continue
                except (ConnectionRefusedError, ConnectionResetError):
                    # An ICMP port-unreachable (WSAECONNRESET on Windows). Once the server has
                    # answered, it is about a packet to an old transfer port: not news.
                    if answered:
                        continue
                    raise TftpError(f"nothing listens on {_where(self.server)}") from None
                except OSError as error:  # host or network unreachable
                    if answered:
                        continue
                    raise TftpError(f"{_where(self.server)}: {error.strerror or error}") from None
                return packet, (str(sender[0]), int(sender[1]))
            if attempt < self.retries:
                sock.sendto(last_sent, target)
        if not answered and not self.answered:
            tries = "one try" if self.retries == 0 else f"{self.retries + 1} tries"
            raise TftpError(
                f"no TFTP server answers on {_where(self.server)} ({tries} of {self.timeout:g} s)"
            )
        raise TftpError(
            f"no answer from {_where(self.server)} "
            f"after {self.retries + 1} tries of {self.timeout:g} s"
        )


# Linux reports ICMP errors (port unreachable) on an unconnected UDP socket only when asked; a
# TFTP client cannot connect its socket, since the server answers from a new port.
_RECVERR = {socket.AF_INET: (0, 11), socket.AF_INET6: (41, 25)}  # (SOL_IP, IP_RECVERR), v6


def _report_unreachable(sock: socket.socket) -> None:
    if sys.platform.startswith("linux") and sock.family in _RECVERR:
        level, option = _RECVERR[sock.family]
        with contextlib.suppress(OSError):
            sock.setsockopt(level, option, 1)


class _RetryWithoutOptions(Exception):
    """The server refused our options (ERROR 8): ask again the plain RFC 1350 way."""


def _rrq(name: str, blksize: int | None) -> bytes:
    parts = [struct.pack("!H", _RRQ), name.encode("utf-8", "surrogateescape"), b"\0octet\0"]
    if blksize is not None:
        parts.append(b"blksize\0%d\0tsize\0" % blksize + b"0\0")
    return b"".join(parts)


def _ack(block: int) -> bytes:
    return struct.pack("!HH", _ACK, block & 0xFFFF)


def _error(code: int, message: str) -> bytes:
    return struct.pack("!HH", _ERROR, code) + message.encode() + b"\0"


def _agreed(body: bytes, asked: int, name: str) -> tuple[int, int | None]:
    """The block size and transfer size an OACK settles (512 and None when absent)."""
    fields = body.split(b"\0")
    options = {
        fields[i].decode("ascii", "replace").lower(): fields[i + 1].decode("ascii", "replace")
        for i in range(0, len(fields) - 1, 2)
    }
    try:
        blksize = int(options.get("blksize", "512"))
        tsize = int(options["tsize"]) if "tsize" in options else None
    except ValueError:
        raise TftpError("server sent a malformed option acknowledgement") from None
    if not 8 <= blksize <= asked:
        raise TftpError(f"server chose blksize {blksize}, more than the {asked} asked")
    return blksize, tsize


def _where(address: tuple[str, int]) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
