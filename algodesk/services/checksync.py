"""Check-sync: send the SIP NOTIFY of domain.md §9 to devices and collect their answers.

All targets are sent at once from one socket per address family and answered in parallel, so
checking a bench of 50 devices takes one timeout at most, not fifty. Requests are retransmitted
on the RFC 3261 non-INVITE schedule (Timer E: 0.5 s doubling to 4 s) until a final answer or the
timeout.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

from algodesk import __version__
from algodesk.core.events import ServiceNotice, Sink, null_sink
from algodesk.core.sip_notify import SIP_PORT, Notify, SipError, SipResponse, parse_response

SERVICE = "checksync"
DEFAULT_TIMEOUT = 4.0
_T1 = 0.5
_T2 = 4.0
_MAX_DATAGRAM = 65535
NOTHING_LISTENS = "nothing listens"
"""The reason of a result whose host reported its port unreachable (ICMP)."""


@dataclass(frozen=True, slots=True)
class NotifyTarget:
    """A device to NOTIFY: its address, SIP port, the extension it registered, reboot or not."""

    host: str
    port: int = SIP_PORT
    extension: str = ""
    reboot: bool = False


@dataclass(frozen=True, slots=True)
class NotifyResult:
    """What one device answered: a final SIP status, or none (``status`` None) and why."""

    target: NotifyTarget
    status: int | None
    reason: str
    elapsed: float
    retransmissions: int = 0

    @property
    def ok(self) -> bool:
        """The device accepted the check-sync (a 2xx answer)."""
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        """One line for people: ``10.0.0.7:5060 200 OK (12 ms)``."""
        where = f"{self.target.host}:{self.target.port}"
        if self.reason == NOTHING_LISTENS:
            return f"nothing listens on {where} (the host answered: port unreachable)"
        if self.status is None:
            return f"{where} no answer ({self.reason})"
        return f"{where} {self.status} {self.reason} ({self.elapsed * 1000:.0f} ms)".rstrip()


@dataclass(slots=True)
class _Pending:
    target: NotifyTarget
    notify: Notify
    sock: socket.socket
    destination: tuple[str, int]
    next_send: float
    interval: float
    sends: int = 0
    result: NotifyResult | None = None


def check_sync(
    targets: Iterable[NotifyTarget],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    sink: Sink = null_sink,
) -> list[NotifyResult]:
    """NOTIFY every target and return their results in the same order.

    Never raises for network trouble: an unresolvable host or an unreachable network is a
    result with ``status`` None and the reason.
    """
    targets = list(targets)
    started = time.monotonic()
    pending: list[_Pending] = []
    results: dict[int, NotifyResult] = {}
    try:
        for index, target in enumerate(targets):
            try:
                pending.append(_prepare(target, started))
            except (OSError, SipError) as error:
                results[index] = NotifyResult(target, None, _reason(error), 0.0)
        _exchange(pending, started + timeout, started)
    finally:
        for item in pending:
            item.sock.close()
    by_target = iter(pending)
    ordered: list[NotifyResult] = []
    for index, target in enumerate(targets):
        if index in results:
            ordered.append(results[index])
            continue
        item = next(by_target)
        ordered.append(
            item.result or NotifyResult(target, None, "timeout", timeout, max(item.sends - 1, 0))
        )
    for result in ordered:
        _report(result, sink)
    return ordered


def _prepare(target: NotifyTarget, now: float) -> _Pending:
    """Resolve the target, open its socket and build its NOTIFY.

    One connected socket per target: the system then reports an ICMP "port unreachable" for
    that target alone (an unconnected socket on Linux never hears of it), so a device with
    nothing on its SIP port is said at once instead of after the timeout.
    """
    info = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)[0]
    family, destination = info[0], (str(info[4][0]), int(info[4][1]))
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.connect(destination)
        sock.setblocking(False)
        local = sock.getsockname()
    except OSError:
        sock.close()
        raise
    notify = Notify(
        host=destination[0],
        port=destination[1],
        extension=target.extension,
        reboot=target.reboot,
        local_host=str(local[0]),
        local_port=int(local[1]),
        user_agent=f"algodesk/{__version__}",
    )
    return _Pending(target, notify, sock, destination, next_send=now, interval=_T1)


def _exchange(pending: list[_Pending], deadline: float, started: float) -> None:
    """Send, retransmit and read answers until every target has a final answer or time is up."""
    with selectors.DefaultSelector() as selector:
        for item in pending:
            selector.register(item.sock, selectors.EVENT_READ, item)
        while True:
            now = time.monotonic()
            waiting = [item for item in pending if item.result is None]
            if not waiting or now >= deadline:
                return
            for item in waiting:
                if now >= item.next_send:
                    _send(item, now, started)
            waiting = [item for item in pending if item.result is None]
            if not waiting:
                return
            wake = min([deadline, *(item.next_send for item in waiting)])
            for key, _events in selector.select(max(0.0, wake - time.monotonic())):
                item = key.data
                if item.result is None:
                    _receive(item, started)


def _send(item: _Pending, now: float, started: float) -> None:
    try:
        item.sock.send(item.notify.encode())
    except ConnectionRefusedError:
        item.result = _nothing_listens(item, now - started)
        return
    except OSError as error:
        item.result = NotifyResult(item.target, None, _reason(error), now - started)
        return
    item.sends += 1
    item.next_send = now + item.interval
    item.interval = min(item.interval * 2, _T2)


def _receive(item: _Pending, started: float) -> None:
    while item.result is None:
        try:
            data = item.sock.recv(_MAX_DATAGRAM)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionRefusedError:
            item.result = _nothing_listens(item, time.monotonic() - started)
            return
        except OSError as error:  # host or network unreachable, reported by ICMP
            item.result = NotifyResult(
                item.target, None, _reason(error), time.monotonic() - started
            )
            return
        try:
            response = parse_response(data)
        except SipError:
            continue
        if item.notify.matches(response):
            _answer(item, response, time.monotonic() - started)


def _nothing_listens(item: _Pending, elapsed: float) -> NotifyResult:
    return NotifyResult(item.target, None, NOTHING_LISTENS, elapsed, max(item.sends - 1, 0))


def _answer(item: _Pending, response: SipResponse, elapsed: float) -> None:
    if response.final:
        item.result = NotifyResult(
            item.target, response.status, response.reason, elapsed, max(item.sends - 1, 0)
        )
    else:
        # RFC 3261 §17.1.2.2: once a provisional answer arrives, retransmit only every T2.
        item.interval = _T2
        item.next_send = time.monotonic() + _T2


def _reason(error: Exception) -> str:
    if isinstance(error, socket.gaierror):
        return f"cannot resolve: {error.strerror or error}"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    return str(error)


def _report(result: NotifyResult, sink: Sink) -> None:
    level = "info" if result.ok else "warning"
    code = (
        "notify-ok"
        if result.ok
        else ("notify-no-answer" if result.status is None else "notify-refused")
    )
    sink(
        ServiceNotice(
            service=SERVICE,
            level=level,
            code=code,
            message=f"check-sync {result.describe()}",
            client=(result.target.host, result.target.port),
        )
    )
