"""One read transfer: windowed sending, ACK handling, retransmission timer.

Blocks are numbered from 1 without limit internally; only the wire carries them modulo 65536, so
rollover past block 65535 (to 0) needs no special case. The engine's loop polls the sockets and
calls ``on_readable`` / ``on_timeout``; this class never blocks and allocates nothing per full
block beyond the slice of the shared file buffer.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from algodesk.services.tftp import packets
from algodesk.services.tftp.netascii import Blocks
from algodesk.services.tftp.packets import ACK, DATA, ERROR

_pack_block = struct.Struct("!H").pack_into
_data_header = struct.Struct("!HH").pack
_UNKNOWN_TID = packets.error_packet(packets.ERR_UNKNOWN_TID, "unknown transfer ID")

# On the hot path, one ACK in 16 gives a round-trip sample: plenty for a timer, and cheaper.
_SAMPLE_EVERY = 15
# Some clients never answer a duplicate DATA: they repeat their ACK only when their own timer
# fires, and every packet they receive restarts it (busybox tftp: 100 ms, then x1.5). For them a
# lost ACK is recovered by their timer, and each early resend of ours only postpones it. So after
# one unanswered resend the next waits this long (or the timer learnt from this client, if longer)
# times _PATIENCE, for the client's repeated ACK to arrive first.
_CLIENT_TIMER = 0.1
_PATIENCE = 1.25
# Once a client has shown it ignores duplicates, an early resend costs it nothing (no echoed ACK)
# while a lost DATA is recovered sooner: its timeout floor drops to this.
_DEAF_FLOOR = 0.005

RUNNING = 0
FINISHED = 1
FAILED = 2


@dataclass(frozen=True, slots=True)
class Timing:
    """Retransmission bounds (seconds) and the number of consecutive timeouts allowed."""

    initial: float
    minimum: float
    maximum: float
    max_retries: int
    fixed: float | None = None
    """A timeout the client asked for and we acknowledged: used as is, without back-off."""
    first_answer: float = float("inf")
    """Seconds the first block (or OACK) may go unacknowledged before the transfer ends."""


class Transfer:
    """State of one RRQ being served.

    ``sock`` is connected to the peer where the platform allows (the kernel then filters
    strangers and caches the route); ``stranger`` is then an unconnected socket on the same port
    that receives everyone else's datagrams so they can be told ERROR 5. Without connected
    sockets, ``stranger`` is None and ``sock`` checks each sender itself.
    """

    __slots__ = (
        "base",
        "blksize",
        "client_timer",
        "connected",
        "deadline",
        "failure",
        "fast_base",
        "fd",
        "first_deadline",
        "fixed",
        "last_block",
        "lockstep_until",
        "max_retries",
        "maximum",
        "minimum",
        "oack",
        "out",
        "outv",
        "peer",
        "progress_sent",
        "receive",
        "resent_upto",
        "retransmissions",
        "retried_window",
        "retries",
        "rto",
        "rttvar",
        "scheduled",
        "sent_at",
        "sent_upto",
        "settled",
        "size",
        "sock",
        "srtt",
        "started",
        "stranger",
        "tid",
        "timer_seq",
        "told_stranger",
        "transmit",
        "view",
        "window",
    )

    def __init__(
        self,
        tid: int,
        sock: socket.socket,
        peer: tuple[str, int],
        view: Blocks,
        *,
        stranger: socket.socket | None,
        blksize: int,
        window: int,
        oack: bytes | None,
        timing: Timing,
        now: float,
    ) -> None:
        self.tid = tid
        self.sock = sock
        self.stranger = stranger
        self.connected = stranger is not None
        self.fd = sock.fileno()
        self.peer = peer
        self.view = view
        self.size = len(view)
        self.blksize = blksize
        self.window = window
        self.last_block = self.size // blksize + 1
        self.oack = oack
        self.lockstep_until = self._lockstep_until()
        if self.connected:
            self.receive: Callable[[bytearray], int] = sock.recv_into
            self.transmit: Callable[[bytearray], int] = sock.send
        else:
            self.receive = self._receive_checked
            self.transmit = lambda data: sock.sendto(data, peer)
        self.base = 1
        self.sent_upto = 0
        self.fast_base = 0
        self.resent_upto = -1
        self.out = bytearray(4 + blksize)
        self.out[1] = DATA
        self.outv = memoryview(self.out)
        self.fixed = timing.fixed
        self.minimum = timing.minimum
        self.maximum = timing.maximum
        self.max_retries = timing.max_retries
        self.rto = timing.fixed if timing.fixed is not None else timing.initial
        self.settled = self.rto  # the timeout without back-off
        self.client_timer = _CLIENT_TIMER
        self.srtt = 0.0
        self.rttvar = 0.0
        self.sent_at = now
        self.deadline = now + self.rto
        # The deadline the engine's timer heap holds for this transfer, and that entry's
        # sequence number (the transfer's older entries are stale).
        self.scheduled = float("inf")
        self.timer_seq = -1
        self.retries = 0
        self.retransmissions = 0
        self.retried_window = False
        self.started = now
        self.progress_sent = 0
        self.failure = ""
        self.told_stranger = False
        self.first_deadline = now + timing.first_answer

    def _lockstep_until(self) -> int:
        """The hot path of ``on_readable`` serves ACKs of blocks below this (0: none)."""
        return self.last_block - 1 if self.window == 1 and self.oack is None else 0

    def _receive_checked(self, buffer: bytearray) -> int:
        """Receive on an unconnected socket: a stranger's datagram is answered and counts as 0."""
        size, sender = self.sock.recvfrom_into(buffer)
        if sender == self.peer:
            return size
        if size >= 2 and not (buffer[0] == 0 and buffer[1] == ERROR):
            self.sock.sendto(_UNKNOWN_TID, sender)
            self.told_stranger = True
        return 0

    @property
    def bytes_acked(self) -> int:
        """Bytes the client has acknowledged."""
        return min(self.size, (self.base - 1) * self.blksize)

    @property
    def in_first_round(self) -> bool:
        """Nothing acknowledged yet (a repeated RRQ may be answered by resending)."""
        return self.base == 1

    def send_packet(self, packet: bytes) -> None:
        """Send a control packet (OACK, ERROR) to the peer."""
        if self.connected:
            self.sock.send(packet)
        else:
            self.sock.sendto(packet, self.peer)

    def begin(self, now: float) -> None:
        """Send the OACK, or the first window when no options were agreed."""
        if self.oack is not None:
            self.send_packet(self.oack)
            self.sent_at = now
            self.deadline = now + self.rto
        else:
            self._send_window(now)

    def resend_first(self, now: float) -> None:
        """Answer a repeated request: resend what the first round sent (counts as retransmission)."""
        if self.oack is not None:
            self._resend_oack(now)
        else:
            self._send_window(now)

    def on_readable(self, buffer: bytearray, now: float) -> int:
        """Read one datagram from the peer's socket; returns RUNNING, FINISHED or FAILED."""
        try:
            size = self.receive(buffer)
        except BlockingIOError:
            return RUNNING
        except OSError as error:
            if self.told_stranger:
                # Windows reports the ICMP answer to our ERROR 5 on this socket too; that is the
                # stranger's port being closed, not our peer vanishing.
                self.told_stranger = False
                return RUNNING
            # ICMP port unreachable: ConnectionRefusedError (connected sockets on Unix) or
            # ConnectionResetError (Windows). The peer is gone.
            self.failure = f"client unreachable ({error.strerror or error})"
            return FAILED
        if size < 4 or buffer[0]:
            return RUNNING  # not a TFTP packet from our peer: drop it
        opcode = buffer[1]
        if opcode == ACK:
            block = (buffer[2] << 8) | buffer[3]
            acked = self.sent_upto
            if block == acked & 0xFFFF and self.base == acked and acked < self.lockstep_until:
                # The hot path (window 1, the expected ACK, a full block next): what on_ack and
                # _send_window would do, without their generality.
                self.base = acked + 1
                if self.retried_window:
                    self._recovered(now)
                elif not acked & _SAMPLE_EVERY:
                    self._measure(now)
                if self.retries:
                    self.retries = 0
                offset = acked * self.blksize
                self.outv[4:] = self.view[offset : offset + self.blksize]
                _pack_block(self.out, 2, (acked + 1) & 0xFFFF)
                # Not contextlib.suppress: entering a context manager per packet costs more.
                try:  # noqa: SIM105
                    self.transmit(self.out)
                except BlockingIOError:
                    pass  # the timer resends it
                self.sent_upto = acked + 1
                self.sent_at = now
                self.deadline = now + self.rto
                return RUNNING
            return self.on_ack(block, now)
        if opcode == ERROR:
            code, message = packets.parse_error(bytes(buffer[:size]))
            self.failure = f"client sent error {code}: {message}"
            return FAILED
        return RUNNING

    def on_stranger(self, buffer: bytearray) -> None:
        """A datagram reached the transfer port from another address: answer ERROR 5."""
        assert self.stranger is not None
        try:
            size, sender = self.stranger.recvfrom_into(buffer)
            if size >= 2 and not (buffer[0] == 0 and buffer[1] == ERROR):
                self.stranger.sendto(_UNKNOWN_TID, sender)
        except OSError:
            pass  # a stranger's ICMP error, or a full buffer: nothing to do

    def on_ack(self, block: int, now: float) -> int:
        """Handle an ACK of wire block ``block``; returns RUNNING or FINISHED."""
        if self.oack is not None:
            if block == 0:
                self.oack = None
                self.lockstep_until = self._lockstep_until()
                self._measure(now)
                self.retries = 0
                self._send_window(now)
            return RUNNING
        acked_before = self.base - 1
        delta = (block - acked_before) & 0xFFFF
        if delta == 0:
            # A repeated ACK. Resend the window at once (fast recovery) only when the repeat
            # cannot be an echo: not for a block we sent twice (the client ACKs each copy; that
            # echo is what makes the Sorcerer's Apprentice bug), not within half a timeout of
            # the window leaving (an echo of a duplicated DATA comes back within a round trip;
            # a client that really missed the window repeats its ACK on its own timer), and
            # once per window.
            if (
                self.fast_base != self.base
                and acked_before > self.resent_upto
                and now - self.sent_at >= self.rto * 0.5
            ):
                self.fast_base = self.base
                self._send_window(now)
            return RUNNING
        if delta > self.sent_upto - acked_before:
            return RUNNING  # an ACK for a block never sent: stale or bogus
        acked = acked_before + delta
        self.base = acked + 1
        if acked >= self.last_block:
            return FINISHED
        if acked == self.sent_upto:
            self._measure(now)
        self.retries = 0
        self._send_window(now)
        return RUNNING

    def on_timeout(self, now: float) -> bool:
        """The timer fired: resend from the first unacknowledged block; False when out of tries."""
        self.retries += 1
        if self.retries > self.max_retries:
            self.failure = f"no answer after {self.max_retries} retries"
            return False
        if self.base == 1 and now >= self.first_deadline:
            # Nothing ever acknowledged: a spoofed request or a client gone holds a slot only
            # this long (the slot goes back to clients that answer).
            self.failure = "first block never acknowledged"
            return False
        if self.fixed is None:
            backed_off = self.rto * 2.0
            if self.retries == 1:
                # Early resends recover a lost DATA quickly; once one went unanswered, the
                # client may be one that waits for its own timer (see _CLIENT_TIMER).
                backed_off = max(backed_off, self.client_timer * _PATIENCE)
            self.rto = min(backed_off, self.maximum)
        if self.oack is not None:
            self._resend_oack(now)
        else:
            self._send_window(now)
        return True

    def close(self) -> None:
        """Close the sockets and let go of the shared file buffer."""
        self.sock.close()
        if self.stranger is not None:
            self.stranger.close()
        self.view.release()

    def _resend_oack(self, now: float) -> None:
        self.retried_window = True
        self.retransmissions += 1
        self.resent_upto = max(self.resent_upto, 0)
        self.send_packet(self.oack or b"")
        self.sent_at = now
        self.deadline = now + self.rto

    def _recovered(self, now: float) -> None:
        """A resent window was acknowledged: settle the timeout again, learn the client's timer."""
        self.retried_window = False
        if self.fixed is not None:
            return
        if self.retries:
            # An answer to our resend comes within a round trip; one this late is the client's
            # own timer firing (its wait restarted when our resend arrived).
            waited = now - self.sent_at
            if waited > max(2.0 * self.settled, 0.5 * _CLIENT_TIMER):
                self.client_timer = min(max(waited, self.client_timer), self.maximum)
                if self.minimum > _DEAF_FLOOR:
                    self.minimum = _DEAF_FLOOR
                    if self.srtt:
                        self.settled = max(self.srtt + 4.0 * self.rttvar, _DEAF_FLOOR)
        self.rto = self.settled

    def _measure(self, now: float) -> None:
        # Karn: a window that was retransmitted gives no usable round-trip sample.
        if self.retried_window:
            self._recovered(now)
        elif self.fixed is None:
            sample = now - self.sent_at
            if self.srtt == 0.0:
                self.srtt, self.rttvar = sample, sample / 2.0
            else:
                self.rttvar += 0.25 * (abs(self.srtt - sample) - self.rttvar)
                self.srtt += 0.125 * (sample - self.srtt)
            rto = self.srtt + 4.0 * self.rttvar
            self.rto = self.minimum if rto < self.minimum else min(rto, self.maximum)
            self.settled = self.rto

    def _send_window(self, now: float) -> None:
        block = self.base
        last = self.last_block
        end = min(block + self.window, last + 1)
        if block <= self.sent_upto:
            # Go-back-N: the blocks up to sent_upto already went out once.
            again = min(end - 1, self.sent_upto)
            self.retransmissions += again - block + 1
            self.retried_window = True
            if again > self.resent_upto:
                self.resent_upto = again
        blksize = self.blksize
        view = self.view
        outv = self.outv
        out = self.out
        try:
            if self.connected:
                send = self.sock.send
                while block < end:
                    offset = (block - 1) * blksize
                    if block < last:
                        outv[4:] = view[offset : offset + blksize]
                        _pack_block(out, 2, block & 0xFFFF)
                        send(out)
                    else:
                        send(_data_header(DATA, block & 0xFFFF) + view[offset:])
                    block += 1
            else:
                sendto = self.sock.sendto
                peer = self.peer
                while block < end:
                    offset = (block - 1) * blksize
                    if block < last:
                        outv[4:] = view[offset : offset + blksize]
                        _pack_block(out, 2, block & 0xFFFF)
                        sendto(out, peer)
                    else:
                        sendto(_data_header(DATA, block & 0xFFFF) + view[offset:], peer)
                    block += 1
        except BlockingIOError:
            pass  # the socket buffer is full: the timer resends what did not go out
        if block - 1 > self.sent_upto:
            self.sent_upto = block - 1
        self.sent_at = now
        self.deadline = now + self.rto
