"""The engine's loop: one thread polls the listening socket and every transfer socket.

Requests are resolved and answered here; ACKs are dispatched to their transfer; a lazy timer heap
drives retransmissions. A transfer's deadline moves later with every ACK without touching the heap
(an entry found early is simply pushed again); when it moves earlier (the timeout shrank once a
round trip was measured) a new entry is pushed and the old one goes stale: each entry carries a
sequence number and only the transfer's latest one counts. Progress events come from a periodic
sweep, so nothing per packet ever reaches the sink.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from algodesk.core import events as ev
from algodesk.core.events import RefusalReason, Sink
from algodesk.services.tftp import packets
from algodesk.services.tftp.files import FileStore, Opened
from algodesk.services.tftp.negotiate import negotiate
from algodesk.services.tftp.netascii import Blocks
from algodesk.services.tftp.opener import Key, Opener, Outcome
from algodesk.services.tftp.paths import PathRefused
from algodesk.services.tftp.poller import Poller
from algodesk.services.tftp.repeats import RecentlyServed
from algodesk.services.tftp.settings import TftpSettings
from algodesk.services.tftp.sockets import (
    RECV_BUFFER,
    Received,
    open_transfer_sockets,
    prepare_listener,
    receive_request,
)
from algodesk.services.tftp.transfer import FAILED, FINISHED, Timing, Transfer

log = logging.getLogger(__name__)

_TRANSFER_OPCODES = (packets.DATA, packets.ACK, packets.ERROR, packets.OACK)
# The TFTP error code each refusal is told with (0, "not defined", for the rest: busy, internal).
_REFUSAL_CODES = {
    RefusalReason.NOT_FOUND: packets.ERR_NOT_FOUND,
    RefusalReason.ACCESS: packets.ERR_ACCESS,
    RefusalReason.WRITE: packets.ERR_ACCESS,
    RefusalReason.MALFORMED: packets.ERR_ILLEGAL,
}


def _filename(data: bytes) -> str:
    """The name a request asks for, or "" when it cannot be told."""
    try:
        return packets.parse_request(data).filename
    except Exception:
        return ""


def _client(address: tuple[str, int]) -> tuple[str, int]:
    # IPv6 addresses come as (host, port, flowinfo, scope); events carry (host, port).
    return (address[0], address[1])


ReadForwarded = Callable[[socket.socket], tuple[Received, int, int, int] | None]
"""Reads one request a worker's parent forwarded: ``(received, in_flight, commands,
from_address)``, or None when there is none (``workers.dispatch.receive_forwarded``)."""


@dataclass
class Counters:
    """What the engine has done since it was created; read from any thread."""

    devices: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)
    requests: int = 0
    refused: int = 0
    bytes_sent: int = 0
    active: int = 0
    done: int = 0
    failed: int = 0

    def count(self, event: ev.Event) -> None:
        """Fold one event in: the engine counts what it emits, a pool what its workers emit."""
        if isinstance(event, ev.RequestReceived):
            self.requests += 1
        elif isinstance(event, ev.RequestRefused):
            self.refused += 1
        elif isinstance(event, ev.TransferStarted):
            self.active += 1
            self.devices.add(event.client[0])
        elif isinstance(event, ev.TransferFinished):
            self.active -= 1
            self.done += 1
            self.bytes_sent += event.bytes_sent
            self.files.add(event.served)
        elif isinstance(event, ev.TransferFailed):
            self.active -= 1
            self.failed += 1
            self.bytes_sent += event.bytes_sent


@dataclass
class _Active:
    transfer: Transfer
    opened: Opened
    release_path: Path | None
    requested: str


class Engine:
    """Owns the sockets and transfers while the server runs; lives on the engine thread."""

    def __init__(
        self,
        listener: socket.socket,
        wake: socket.socket,
        *,
        store: FileStore,
        settings: TftpSettings,
        root: Path | None,
        sink: Sink,
        counters: Counters,
        requests: socket.socket | None = None,
        read_forwarded: ReadForwarded | None = None,
        await_commands: Callable[[int], None] | None = None,
        answered: Callable[[tuple[str, int]], None] | None = None,
        first_id: int = 1,
        id_step: int = 1,
    ) -> None:
        self.listener = listener
        self.wake = wake
        # A worker's engine reads the requests its parent forwards (dispatch.py) from here and
        # only sends on the listener (refusals leave from the server's port, as a lone engine's).
        self.requests = requests
        # How to read one forwarded request: given by the worker (workers/dispatch.py), so that
        # the engine knows nothing of the multi-process parts.
        self.read_forwarded = read_forwarded
        # Called with a forwarded request's command count before it is answered, and with its
        # sender once it is (worker.py: the parent counts each worker's load from that).
        self.await_commands = await_commands
        self.answered = answered
        self.store = store
        self.settings = settings
        self.root = root
        self.sink = sink
        self.counters = counters
        self.stopping = threading.Event()
        self.local_address = listener.getsockname()[0]
        self.family = listener.family
        self.poller = Poller()
        # Files are opened (read) off this thread; a request waits here meanwhile, keyed by
        # its client and file name (a repeat of it is not opened twice).
        self.opener: Opener | None = None
        self.opening: dict[Key, tuple[packets.Request, str]] = {}
        self.recent = RecentlyServed()
        self.active: dict[int, _Active] = {}
        self.transfers: dict[int, Transfer] = {}
        self.strangers: dict[int, Transfer] = {}
        self.by_client: dict[tuple[str, int], Transfer] = {}
        self.timers: list[tuple[float, int, Transfer]] = []
        self.timer_seq = itertools.count()
        # Transfer numbers are the server's, not this engine's: the tracker and the history key
        # transfers by them, so a worker numbers first_id, first_id + id_step, ... (its index
        # among id_step workers) and a restarted server goes on from where it stopped.
        self.next_id = first_id
        self.id_step = id_step
        self.buffer = bytearray(RECV_BUFFER)
        self.pktinfo = False
        self.timing = Timing(
            settings.initial_timeout,
            settings.min_timeout,
            settings.max_timeout,
            settings.max_retries,
            first_answer=settings.first_ack_timeout,
        )

    def emit(self, event: ev.Event) -> None:
        """Count ``event`` and hand it to the sink; a failing sink never stops the engine."""
        self.counters.count(event)
        try:
            self.sink(event)
        except Exception:
            log.exception("event sink failed on %s", event.kind)

    # ----- loop -----------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until ``stopping`` is set; then end every transfer and close every socket."""
        if self.requests is None:
            listen_fd = self.listener.fileno()
            self.pktinfo = prepare_listener(self.listener)
        else:
            listen_fd = self.requests.fileno()
        wake_fd = self.wake.fileno()
        self.opener = Opener(self.store, self.settings.md5_limit)
        opened_fd = self.opener.fd
        self.poller.register(listen_fd)
        self.poller.register(wake_fd)
        self.poller.register(opened_fd)
        transfers = self.transfers
        buffer = self.buffer
        interval = self.settings.progress_interval
        next_sweep = time.monotonic() + interval
        poll = self.poller.poll
        monotonic = time.monotonic
        ending = "server stopped"
        try:
            while not self.stopping.is_set():
                now = monotonic()
                # with no transfer there is no progress to report: sleep until a packet or timer
                wait = next_sweep - now if transfers else None
                if self.timers and (wait is None or self.timers[0][0] - now < wait):
                    wait = self.timers[0][0] - now
                ready = poll(None if wait is None else max(wait, 0.0))
                now = monotonic()
                for fd, _events in ready:
                    transfer = transfers.get(fd)
                    if transfer is not None:
                        try:
                            status = transfer.on_readable(buffer, now)
                        except OSError as error:
                            transfer.failure = f"send failed ({error.strerror or error})"
                            status = FAILED
                        except Exception:
                            # A bug must cost one transfer, never the server.
                            log.exception("transfer %d failed unexpectedly", transfer.tid)
                            transfer.failure = "internal error"
                            status = FAILED
                        if status == FINISHED:
                            self._finish(transfer, now)
                        elif status == FAILED:
                            self._fail(transfer, transfer.failure, notify=False)
                        elif transfer.deadline < transfer.scheduled:
                            self._schedule(transfer)
                    elif fd in self.strangers:
                        self.strangers[fd].on_stranger(buffer)
                    elif fd == listen_fd:
                        self._on_listener(now)
                    elif fd == opened_fd:
                        self._on_opened(now)
                    elif fd == wake_fd:
                        with contextlib.suppress(OSError):
                            self.wake.recv(64)
                if self.timers and self.timers[0][0] <= now:
                    self._run_timers(now)
                if now >= next_sweep or not transfers:
                    self._sweep_progress()
                    next_sweep = now + interval
        except BaseException:
            ending = "engine failed"
            raise
        finally:
            self._shutdown(ending)

    def _schedule(self, transfer: Transfer) -> None:
        """Push the transfer's deadline; any older entry of the transfer goes stale."""
        seq = next(self.timer_seq)
        transfer.scheduled = transfer.deadline
        transfer.timer_seq = seq
        heapq.heappush(self.timers, (transfer.deadline, seq, transfer))

    def _run_timers(self, now: float) -> None:
        timers = self.timers
        while timers and timers[0][0] <= now:
            _deadline, seq, transfer = heapq.heappop(timers)
            if seq != transfer.timer_seq or self.transfers.get(transfer.fd) is not transfer:
                continue
            if transfer.deadline > now:
                self._schedule(transfer)
                continue
            try:
                alive = transfer.on_timeout(now)
            except OSError as error:
                self._fail(transfer, f"send failed ({error.strerror or error})", notify=False)
                continue
            except Exception:
                log.exception("transfer %d failed unexpectedly", transfer.tid)
                self._fail(transfer, "internal error")
                continue
            if not alive:
                self._fail(transfer, transfer.failure)
                continue
            self._schedule(transfer)

    def _sweep_progress(self) -> None:
        for record in list(self.active.values()):
            transfer = record.transfer
            sent = transfer.bytes_acked
            if sent != transfer.progress_sent:
                transfer.progress_sent = sent
                self.emit(
                    ev.TransferProgress(
                        transfer_id=transfer.tid,
                        client=_client(transfer.peer),
                        served=record.opened.served,
                        bytes_sent=sent,
                        size=transfer.size,
                    )
                )

    # ----- requests -------------------------------------------------------------------------

    def _on_listener(self, now: float) -> None:
        if self.requests is None:
            received = receive_request(self.listener, self.pktinfo, self.local_address)
            in_flight = len(self.transfers) + len(self.opening)
        else:
            assert self.read_forwarded is not None, "a worker's engine reads forwarded requests"
            forwarded = self.read_forwarded(self.requests)
            if forwarded is None:
                return
            received, in_flight, commands, from_address = forwarded
            if self.await_commands is not None:
                self.await_commands(commands)
            waits = False
            try:
                waits = self._on_received(received, now, in_flight, from_address)
            finally:
                # A request whose file is being opened is answered once it started (_on_opened).
                if self.answered is not None and not waits:
                    self.answered(received[1])
            return
        if received is not None:
            self._on_received(received, now, in_flight)

    def _on_received(
        self, received: Received, now: float, in_flight: int, from_address: int | None = None
    ) -> bool:
        """Handle one datagram; returns whether its answer waits for a file (``_on_opened``)."""
        data, sender, local, arrived = received
        if len(data) >= 2 and data[0] == 0 and data[1] in _TRANSFER_OPCODES:
            # Packets of a transfer sent to the wrong port: an ERROR must never be answered,
            # and tftp-hpa ACKs a refusal to the port that sent it. Neither is a request.
            return False
        before = self.by_client.get(sender)
        try:
            return self._on_request(data, sender, local, now, in_flight, from_address, arrived)
        except Exception:
            # A bug must cost one request, never the server.
            log.exception("request from %s could not be handled", sender)
            if self.by_client.get(sender) is before:
                # No transfer took the request: it ends here, in exactly one ending event (the
                # parent of a worker frees the client's slot on it).
                self._refuse(sender, _filename(data), RefusalReason.INTERNAL, "internal error")
            return False

    def _on_request(
        self,
        data: bytes,
        sender: tuple[str, int],
        local: str,
        now: float,
        in_flight: int,
        from_address: int | None = None,
        arrived: float | None = None,
    ) -> bool:
        """Answer a request; ``in_flight`` is the server's transfers (all workers' included),
        ``from_address`` what the sender's address holds server-wide (None: count here),
        ``arrived`` when it reached this computer (None: unknown). Returns whether the answer
        waits for the file to be opened."""
        try:
            request = packets.parse_request(data)
        except packets.MalformedPacket as error:
            self._refuse(sender, "", RefusalReason.MALFORMED, str(error))
            return False
        if self.recent.is_late_copy(sender, request.filename, arrived):
            return False  # a copy of a request whose transfer ended: nobody waits for an answer
        operation = "read" if request.opcode == packets.RRQ else "write"
        self.emit(
            ev.RequestReceived(
                client=_client(sender),
                filename=request.filename,
                operation=operation,
                options=request.options,
            )
        )
        if request.opcode == packets.WRQ:
            detail = "this server does not accept uploads"
            self._refuse(sender, request.filename, RefusalReason.WRITE, detail)
            return False
        if self._repeats(sender, request.filename, now):
            return False
        self._supersede(sender)
        detail = self._no_slot(sender[0], in_flight, from_address)
        if detail:
            self._refuse(sender, request.filename, RefusalReason.BUSY, detail)
            return False
        self._start(request, sender, local)
        return True

    def _repeats(self, sender: tuple[str, int], name: str, now: float) -> bool:
        """Whether a request repeats one this engine is answering (the client sent it again
        before our first answer reached it). It takes no slot and gets no refusal: it is
        answered by resending that first answer, or not at all while the file is opened or
        once the client acknowledged something (then it is a stale copy; a second transfer
        would send a second stream of blocks to the same port). A copy that comes after the
        transfer ended is ``RecentlyServed``'s."""
        if (sender, name) in self.opening:
            return True  # the answer follows once the file is open
        previous = self.by_client.get(sender)
        if previous is None or self.active[previous.fd].requested != name:
            return False
        if previous.in_first_round:
            with contextlib.suppress(OSError):
                previous.resend_first(now)
        return True

    def _supersede(self, sender: tuple[str, int]) -> None:
        """End the transfer to ``sender`` whose answer was never acknowledged: a request for
        another file from that port means the program that asked for it is gone (it gave up),
        and another program has the port now. Resent, that answer would reach the new program,
        which takes the first answer it gets for its own: the fleet bench (200 busybox clients)
        saw a config asked for and a whole firmware received. No ERROR goes to the port: it
        is the new program's. A transfer under way (its client acknowledged data) goes on."""
        previous = self.by_client.get(sender)
        if previous is not None and previous.in_first_round:
            self._fail(
                previous, "its client gave up (another request came from its port)", notify=False
            )

    def _no_slot(self, address: str, in_flight: int, from_address: int | None) -> str:
        """Why a request from ``address`` gets no slot ("" when it does): fair admission.

        ``from_address`` is what that address holds server-wide (a worker's parent counts it);
        None here means one engine, which counts its own.
        """
        settings = self.settings
        if in_flight >= settings.max_transfers:
            return f"{in_flight} transfers in progress"
        cap, reserved = settings.max_per_address, settings.reserved_for_new_addresses
        if in_flight < min(cap, settings.max_transfers - reserved):
            return ""  # neither rule can bite: no need to count
        held = self._held_by(address) if from_address is None else from_address
        if held >= cap:
            return f"{address} has {held} transfers in progress"
        if held and in_flight >= settings.max_transfers - reserved:
            return f"{in_flight} transfers in progress (the last {reserved} are for new clients)"
        return ""

    def _held_by(self, address: str) -> int:
        """Transfers running or waiting for their file for client ``address``."""
        running = sum(1 for client in self.by_client if client[0] == address)
        return running + sum(1 for (client, _name) in self.opening if client[0] == address)

    def _start(self, request: packets.Request, sender: tuple[str, int], local: str) -> None:
        """Have the file opened off this thread; the transfer starts in ``_on_opened``."""
        assert self.opener is not None
        self.opening[(sender, request.filename)] = (request, local)
        settings = self.settings
        self.opener.submit(
            (sender, request.filename),
            self.root,
            request.filename,
            case_fallback=settings.case_fallback,
            auto_md5=settings.auto_md5,
            auto_md5_firmware=settings.auto_md5_firmware,
            netascii=request.mode == "netascii",
        )

    def _on_opened(self, now: float) -> None:
        assert self.opener is not None
        for key, outcome in self.opener.take():
            request, local = self.opening.pop(key)
            sender = key[0]
            before = self.by_client.get(sender)
            try:
                self._begin(request, sender, local, now, outcome)
            except Exception:
                log.exception("request from %s could not be handled", sender)
                if self.by_client.get(sender) is before:
                    detail = "internal error"
                    self._refuse(sender, request.filename, RefusalReason.INTERNAL, detail)
            finally:
                if self.answered is not None:
                    self.answered(sender)

    def _begin(
        self,
        request: packets.Request,
        sender: tuple[str, int],
        local: str,
        now: float,
        outcome: Outcome,
    ) -> None:
        settings = self.settings
        if isinstance(outcome, PathRefused):
            refused = outcome
            self._refuse(sender, request.filename, refused.reason, refused.detail, refused.near)
            return
        if isinstance(outcome, BaseException):
            raise outcome
        opened, release_path = outcome
        try:
            content = opened.content
            # netascii was indexed on the opener thread and is converted as it is sent
            netascii = request.mode == "netascii"
            view: Blocks = content.netascii() if netascii else memoryview(content.data)
            agreed = negotiate(request.options, request.option_names, len(view), settings)
            sock, stranger = open_transfer_sockets(self.family, local, sender)
        except OSError as error:
            self._release(opened, release_path)
            detail = f"no socket for the transfer ({error.strerror or error})"
            self._refuse(sender, request.filename, RefusalReason.BUSY, detail)
            return
        except BaseException:
            self._release(opened, release_path)
            raise
        timing = self.timing
        if agreed.timeout is not None:
            timing = Timing(
                agreed.timeout,
                agreed.timeout,
                agreed.timeout,
                timing.max_retries,
                agreed.timeout,
                # A client that asked for a long timeout gets at least two of them to answer.
                first_answer=max(timing.first_answer, 2 * agreed.timeout),
            )
        tid = self.next_id
        self.next_id += self.id_step
        transfer = Transfer(
            tid,
            sock,
            sender,
            view,
            stranger=stranger,
            blksize=agreed.blksize,
            window=agreed.windowsize,
            oack=packets.oack_packet(agreed.reply) if agreed.reply else None,
            timing=timing,
            now=now,
        )
        self.transfers[transfer.fd] = transfer
        self.by_client[sender] = transfer
        self.active[transfer.fd] = _Active(transfer, opened, release_path, request.filename)
        self.poller.register(transfer.fd)
        if stranger is not None:
            self.strangers[stranger.fileno()] = transfer
            self.poller.register(stranger.fileno())
        self.emit(
            ev.TransferStarted(
                transfer_id=tid,
                client=_client(sender),
                requested=request.filename,
                served=opened.served,
                source=opened.source,
                size=transfer.size,
                options=agreed.reply,
                case_fallback=opened.case_fallback,
                md5=opened.shown_md5(settings.md5_limit),
            )
        )
        try:
            transfer.begin(now)
        except OSError as error:
            self._fail(transfer, f"send failed ({error.strerror or error})", notify=False)
            return
        self._schedule(transfer)

    def _refuse(
        self,
        client: tuple[str, int],
        name: str,
        reason: RefusalReason,
        detail: str,
        near: str = "",
    ) -> None:
        code = _REFUSAL_CODES.get(reason, packets.ERR_UNDEFINED)
        self._send_quietly(self.listener, packets.error_packet(code, detail), client)
        # The near name goes to the event only, never to the device's error packet.
        self.emit(
            ev.RequestRefused(
                client=_client(client), filename=name, reason=reason, detail=detail, near=near
            )
        )

    @staticmethod
    def _send_quietly(sock: socket.socket, packet: bytes, address: tuple[str, int]) -> None:
        with contextlib.suppress(OSError):
            sock.sendto(packet, address)

    # ----- endings --------------------------------------------------------------------------

    def _close(self, transfer: Transfer) -> _Active:
        record = self.active.pop(transfer.fd)
        del self.transfers[transfer.fd]
        if self.by_client.get(transfer.peer) is transfer:
            del self.by_client[transfer.peer]
        with contextlib.suppress(OSError, ValueError):
            self.poller.unregister(transfer.fd)
        if transfer.stranger is not None:
            del self.strangers[transfer.stranger.fileno()]
            with contextlib.suppress(OSError, ValueError):
                self.poller.unregister(transfer.stranger.fileno())
        transfer.close()
        self._release(record.opened, record.release_path)
        return record

    def _release(self, opened: Opened, path: Path | None) -> None:
        if path is not None:
            self.store.cache.release(path, opened.content)

    def _finish(self, transfer: Transfer, now: float) -> None:
        record = self._close(transfer)
        self.recent.served(transfer.peer, record.requested, self._wall(transfer.sent_at))
        self.emit(
            ev.TransferFinished(
                transfer_id=transfer.tid,
                client=_client(transfer.peer),
                served=record.opened.served,
                bytes_sent=transfer.size,
                duration=now - transfer.started,
                retransmissions=transfer.retransmissions,
            )
        )

    @staticmethod
    def _wall(monotonic: float) -> float:
        """A ``time.monotonic()`` instant in wall-clock time (the kernel stamps requests so)."""
        return time.time() - (time.monotonic() - monotonic)

    def _fail(self, transfer: Transfer, reason: str, *, notify: bool = True, code: int = 0) -> None:
        if notify:
            with contextlib.suppress(OSError):
                transfer.send_packet(packets.error_packet(code, reason))
        sent = transfer.bytes_acked
        record = self._close(transfer)
        if sent:
            # The client had our answer: a copy of its request still queued is as late as one
            # of a finished transfer. Most often the failure is its last ACK lost, the program
            # gone ("client unreachable"); answered, the copy starts a transfer that the next
            # program on that port takes for its own (fleet bench, N=200: whole files of
            # another name received, 4 a run).
            self.recent.served(transfer.peer, record.requested, self._wall(transfer.sent_at))
        self.emit(
            ev.TransferFailed(
                transfer_id=transfer.tid,
                client=_client(transfer.peer),
                served=record.opened.served,
                reason=reason,
                bytes_sent=sent,
                duration=time.monotonic() - transfer.started,
                retransmissions=transfer.retransmissions,
            )
        )

    def _shutdown(self, reason: str) -> None:
        for transfer in list(self.transfers.values()):
            self._fail(transfer, reason)
        if self.opener is not None:
            for _key, outcome in self.opener.close():
                if not isinstance(outcome, BaseException):
                    self._release(*outcome)
            for (sender, name), _waiting in list(self.opening.items()):
                self._refuse(sender, name, RefusalReason.BUSY, reason)
            self.opening.clear()
        self.poller.close()
        self.listener.close()
        self.wake.close()
        if self.requests is not None:
            self.requests.close()
        self.store.cache.clear()
