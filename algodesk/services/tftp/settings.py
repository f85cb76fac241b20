"""Settings of the TFTP engine."""

from __future__ import annotations

from dataclasses import dataclass

MIN_BLKSIZE = 8
MAX_BLKSIZE = 65464
DEFAULT_BLKSIZE = 512
MAX_WINDOWSIZE = 65535


@dataclass(frozen=True, slots=True, kw_only=True)
class TftpSettings:
    """How the engine negotiates, retransmits and caches.

    Attributes:
        max_blksize: Cap for the RFC 2348 block size (8..65464); the default fits one Ethernet
            frame without IP fragmentation.
        case_fallback: Serve ``ABC.conf`` for ``abc.conf`` when only the former exists. Off by
            default: the customer's server matches names exactly (guide §5.4), so a bench that
            falls back hides a fault; off, such a request is refused and the event names the
            near file.
        auto_md5: Answer ``X.md5`` / ``X.conf.md5`` with a generated md5 when no such file exists.
        auto_md5_firmware: Also generate md5 files for firmware (``.sfw`` / ``.fw``).
        max_windowsize: Cap for the RFC 7440 window size.
        accept_timeout_option: Acknowledge a client's RFC 2349 ``timeout`` and retransmit on it
            instead of on our measured round trip.
        initial_timeout: Retransmission timeout before any round trip was measured (seconds).
        min_timeout: Lower bound of the measured retransmission timeout (a bench LAN answers in
            well under a millisecond; 50 ms still leaves room for a slow device). A client seen
            to ignore duplicate DATA (busybox) gets a lower floor, and after one unanswered
            resend every client gets time for its own timer to repeat its ACK (transfer.py).
        max_timeout: Upper bound of the timeout, back-off included.
        max_retries: Consecutive timeouts after which a transfer fails.
        max_transfers: Simultaneous transfers; more requests are refused as busy. The last
            tenth of them (``reserved_for_new_addresses``) go only to client addresses with
            nothing under way, so one address cannot take every slot.
        max_per_address: Simultaneous transfers one client address may hold (a device fetches
            one file at a time; a loopback fleet or a NAT may hold more).
        first_ack_timeout: Seconds a transfer waits for its first acknowledgement before it
            ends: a request whose answers go unacknowledged (a spoofed source, a client gone)
            frees its slot in seconds, not after every retry.
        progress_interval: Seconds between progress events of one transfer.
        mmap_threshold: Files at least this big are copied to a private unnamed file that is
            mapped, not read into memory (snapshot.py). Smaller files (firmware included, by
            default) are read whole. Either way a file rewritten or truncated in place while it
            is served cannot corrupt or crash a transfer: the original is never mapped. With
            worker processes, files from ``files.SHARE_FROM`` (1 MiB) are copied once for all
            workers and that copy mapped (``snapshot.SharedCopies``), not read by each.
        cache_bytes: Bytes of files no transfer uses that stay cached for the next device.
        md5_limit: Largest file whose md5 is computed for the transfer-started event.
        workers: Engine processes behind the server's port (Linux): the parent reads the
            port and hands each request to the least-loaded worker (``worker``, ``dispatch``).
            1 (the default) serves from one thread of this process, as every other platform
            does: on a device-like bench one engine keeps up with the link (tests/bench/
            tftp_fleet.py). 0 means one per CPU, at most ``worker.AUTO_MAX``.
    """

    max_blksize: int = 1468
    case_fallback: bool = False
    auto_md5: bool = True
    auto_md5_firmware: bool = False
    max_windowsize: int = 64
    accept_timeout_option: bool = False
    initial_timeout: float = 1.0
    min_timeout: float = 0.05
    max_timeout: float = 4.0
    max_retries: int = 6
    max_transfers: int = 500
    max_per_address: int = 250
    first_ack_timeout: float = 5.0
    progress_interval: float = 0.5
    mmap_threshold: int = 128 << 20
    cache_bytes: int = 64 << 20
    md5_limit: int = 8 << 20
    workers: int = 1

    def __post_init__(self) -> None:
        if not MIN_BLKSIZE <= self.max_blksize <= MAX_BLKSIZE:
            raise ValueError(f"max_blksize must be {MIN_BLKSIZE}..{MAX_BLKSIZE}")
        if not 1 <= self.max_windowsize <= MAX_WINDOWSIZE:
            raise ValueError(f"max_windowsize must be 1..{MAX_WINDOWSIZE}")
        if not 0 < self.min_timeout <= self.initial_timeout <= self.max_timeout:
            raise ValueError("need 0 < min_timeout <= initial_timeout <= max_timeout")
        if self.max_retries < 0 or self.max_transfers < 1:
            raise ValueError("max_retries must be >= 0 and max_transfers >= 1")
        if not 0 <= self.workers <= 64:
            raise ValueError("workers must be 0..64")
        if self.max_per_address < 1 or self.first_ack_timeout <= 0:
            raise ValueError("max_per_address must be >= 1 and first_ack_timeout positive")
        if self.progress_interval <= 0:
            raise ValueError("progress_interval must be positive")

    @property
    def reserved_for_new_addresses(self) -> int:
        """Slots only a client address with no transfer under way may take (a tenth)."""
        return self.max_transfers // 10
