"""One read transfer: windowed sending, ACK handling, retransmission timer.

Blocks are numbered from 1 without limit internally; only the wire carries them modulo 65536, so
rollover past block 65535 (to 0) needs no special case. The engine's loop owns the socket and
calls ``on_ack`` / ``on_timeout``; this class never blocks and never allocates per full block
beyond the slice of the shared file buffer.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from algodesk.services.tftp.packets import DATA

_pack_block = struct.Struct("!H").pack_into
_data_header = struct.Struct("!HH").pack


@dataclass(frozen=True, slots=True)
class Timing:
    """Retransmission bounds (seconds) and the number of consecutive timeouts allowed."""

    initial: float
    minimum: float
    maximum: float
    max_retries: int
    fixed: float | None = None
    """A timeout the client asked for and we acknowledged: used as is, without back-off."""


class Transfer:
    """State of one RRQ being served."""

    __slots__ = (
        "base",
        "blksize",
        "deadline",
        "fast_base",
        "fd",
        "last_block",
        "max_retries",
        "maximum",
        "minimum",
        "oack",
        "out",
        "outv",
        "peer",
        "progress_sent",
        "retransmissions",
        "retried_window",
        "retries",
        "rto",
        "rttvar",
        "sent_at",
        "sent_upto",
        "size",
        "sock",
        "srtt",
        "started",
        "tid",
        "timing",
        "view",
        "window",
    )

    def __init__(
        self,
        tid: int,
        sock: socket.socket,
        peer: tuple[str, int],
        view: memoryview,
        *,
        blksize: int,
        window: int,
        oack: bytes | None,
        timing: Timing,
        now: float,
    ) -> None:
        self.tid = tid
        self.sock = sock
        self.fd = sock.fileno()
        self.peer = peer
        self.view = view
        self.size = len(view)
        self.blksize = blksize
        self.window = window
        self.last_block = self.size // blksize + 1
        self.oack = oack
        self.base = 1
        self.sent_upto = 0
        self.fast_base = 0
        self.out = bytearray(4 + blksize)
        self.out[1] = DATA
        self.outv = memoryview(self.out)
        self.timing = timing
        self.minimum = timing.minimum
        self.maximum = timing.maximum
        self.max_retries = timing.max_retries
        self.rto = timing.fixed if timing.fixed is not None else timing.initial
        self.srtt = 0.0
        self.rttvar = 0.0
        self.sent_at = now
        self.deadline = now + self.rto
        self.retries = 0
        self.retransmissions = 0
        self.retried_window = False
        self.started = now
        self.progress_sent = -1

    @property
    def bytes_acked(self) -> int:
        """Bytes the client has acknowledged."""
        return min(self.size, (self.base - 1) * self.blksize)

    @property
    def in_first_round(self) -> bool:
        """Nothing acknowledged yet (a repeated RRQ may be answered by resending)."""
        return self.base == 1

    def begin(self, now: float) -> None:
        """Send the OACK, or the first window when no options were agreed."""
        if self.oack is not None:
            self.sock.sendto(self.oack, self.peer)
            self.sent_at = now
            self.deadline = now + self.rto
        else:
            self._send_window(now)

    def resend_first(self, now: float) -> None:
        """Answer a repeated request: resend what the first round sent (counts as retransmission)."""
        self.retried_window = True
        self.retransmissions += 1
        if self.oack is not None:
            self.sock.sendto(self.oack, self.peer)
        else:
            self._send_window(now)

    def on_ack(self, block: int, now: float) -> bool:
        """Handle an ACK of wire block ``block``; returns True when the transfer is complete."""
        if self.oack is not None:
            if block == 0:
                self.oack = None
                self.retries = 0
                self._measure(now)
                self._send_window(now)
            return False
        acked_before = self.base - 1
        delta = (block - acked_before) & 0xFFFF
        if delta == 0:
            # A repeated ACK: the client lost part of the window, or an old duplicate arrived.
            # Answer once per window (never per duplicate: the Sorcerer's Apprentice bug).
            if self.fast_base != self.base:
                self.fast_base = self.base
                self.retried_window = True
                self.retransmissions += self.sent_upto - acked_before
                self._send_window(now)
            return False
        if delta > self.sent_upto - acked_before:
            return False  # an ACK for a block never sent: stale or bogus
        acked = acked_before + delta
        if acked >= self.last_block:
            self.base = acked + 1
            return True
        self.retries = 0
        if acked == self.sent_upto:
            self._measure(now)
        self.base = acked + 1
        self._send_window(now)
        return False

    def on_timeout(self, now: float) -> bool:
        """The timer fired: resend from the first unacknowledged block; False when out of tries."""
        self.retries += 1
        if self.retries > self.max_retries:
            return False
        if self.timing.fixed is None:
            self.rto = min(self.rto * 2.0, self.maximum)
        self.retried_window = True
        if self.oack is not None:
            self.retransmissions += 1
            self.sock.sendto(self.oack, self.peer)
            self.sent_at = now
            self.deadline = now + self.rto
            return True
        self.retransmissions += self.sent_upto - self.base + 1
        self._send_window(now)
        return True

    def _measure(self, now: float) -> None:
        # Karn: a window that was retransmitted gives no usable round-trip sample.
        if self.retried_window:
            self.retried_window = False
        elif self.timing.fixed is None:
            sample = now - self.sent_at
            if self.srtt == 0.0:
                self.srtt, self.rttvar = sample, sample / 2.0
            else:
                self.rttvar += 0.25 * (abs(self.srtt - sample) - self.rttvar)
                self.srtt += 0.125 * (sample - self.srtt)
            self.rto = min(max(self.srtt + 4.0 * self.rttvar, self.minimum), self.maximum)

    def _send_window(self, now: float) -> None:
        block = self.base
        end = min(block + self.window, self.last_block + 1)
        blksize = self.blksize
        view = self.view
        outv = self.outv
        out = self.out
        sendto = self.sock.sendto
        peer = self.peer
        try:
            while block < end:
                offset = (block - 1) * blksize
                if block < self.last_block:
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
