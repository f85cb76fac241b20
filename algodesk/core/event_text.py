"""Events in plain words: the one wording the headless ``serve`` lines and the GUI's Log share."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from algodesk.core import events as ev
from algodesk.core.diagnosis import Level
from algodesk.core.names import MacError, format_mac
from algodesk.core.syslog_parse import SEVERITY_NAMES
from algodesk.core.wording import measured_rate

SizeText = Callable[[int], str]
"""Spells a byte count: exact for the command line, ``14.2 KB`` for the GUI."""


def exact_bytes(count: int) -> str:
    """``1468 bytes``: what a script reading ``serve`` output can compare."""
    return f"{count} bytes"


def address(client: ev.Address) -> str:
    """``10.0.0.5:2048``."""
    return f"{client[0]}:{client[1]}"


def origin(event: ev.Event) -> str:
    """Who the event is about: a client address, a lease's IP, or the reporting service."""
    client: ev.Address | None = getattr(event, "client", None)
    if client:
        return address(client)
    if isinstance(event, ev.LeaseGranted):
        return event.ip
    return str(getattr(event, "service", ""))


def level(event: ev.Event) -> Level:
    """How worrying ``event`` is."""
    if isinstance(event, ev.ServerStarted | ev.TransferFinished):
        return Level.OK
    if isinstance(event, ev.ServerFailed | ev.TransferFailed):
        return Level.ERROR
    if isinstance(event, ev.RequestRefused):
        return Level.WARNING if event.reason is ev.RefusalReason.NOT_FOUND else Level.ERROR
    if isinstance(event, ev.TransferStarted | ev.TransferProgress):
        return Level.WORKING
    if isinstance(event, ev.ServiceNotice):
        return {"warning": Level.WARNING, "error": Level.ERROR}.get(event.level, Level.INFO)
    return Level.INFO


def describe(event: ev.Event, size: SizeText = exact_bytes) -> str:
    """What happened, in plain words, without when and without the client's address."""
    if isinstance(event, ev.ServerStarted) and event.service == "tftp":
        return f"tftp serving {event.root or '(virtual files only)'} on {_at(event)}"
    if isinstance(event, ev.ServerStarted):
        return f"{event.service} serving on {_at(event)}"
    if isinstance(event, ev.ServerStopped):
        return f"{event.service} stopped on {_at(event)}"
    if isinstance(event, ev.ServerFailed):
        return f"{event.message} [{event.code}]"
    if isinstance(event, ev.LeaseGranted):
        return (
            f"lease {event.ip} to {_mac(event.mac)} for {event.lease_seconds} s"
            f"{_options(event.options)}"
        )
    if isinstance(event, ev.SyslogLine):
        source = " ".join(part for part in (event.hostname, event.app) if part)
        ok = 0 <= event.severity < len(SEVERITY_NAMES)
        severity = SEVERITY_NAMES[event.severity] if ok else str(event.severity)
        return f"syslog {severity} {source}: {event.message}"
    if isinstance(event, ev.ServiceNotice):
        return f"{event.service} {event.level}: {event.message}"
    if isinstance(event, ev.RequestReceived):
        return f"{event.operation} {event.filename}{_options(event.options)}"
    if isinstance(event, ev.RequestRefused):
        name = event.filename or "(malformed request)"
        detail = f" ({event.detail})" if event.detail else ""
        near = f"; {event.near} is here but names are case-sensitive" if event.near else ""
        return f"refused {name}: {event.reason.value}{detail}{near}"
    return _describe_transfer(event, size)


def _describe_transfer(event: ev.Event, size: SizeText) -> str:
    if isinstance(event, ev.TransferStarted):
        asked = f" for {event.requested}" if event.served != event.requested else ""
        options = "".join(f", {key}={value}" for key, value in event.options.items())
        md5 = f" md5 {event.md5}" if event.md5 else ""
        if not md5 and event.source is ev.Source.VIRTUAL:
            md5 = f" {ev.SECRET_DIGEST_TEXT}"
        return (
            f"#{event.transfer_id} sending {event.served}{asked} "
            f"({event.source.value}, {size(event.size)}{options}){md5}"
        )
    if isinstance(event, ev.TransferProgress):
        percent = 100 * event.bytes_sent // event.size if event.size else 100
        return (
            f"#{event.transfer_id} {event.served}: {size(event.bytes_sent)} of "
            f"{size(event.size)} ({percent}%)"
        )
    if isinstance(event, ev.TransferFinished):
        rate = measured_rate(event.bytes_sent, event.duration)
        speed = f" ({rate / 1e6:.1f} MB/s)" if rate is not None else ""
        again = f", {event.retransmissions} resent" if event.retransmissions else ""
        return (
            f"#{event.transfer_id} done {event.served}: {size(event.bytes_sent)} in "
            f"{event.duration:.2f} s{speed}{again}"
        )
    if isinstance(event, ev.TransferFailed):
        return (
            f"#{event.transfer_id} failed {event.served}: {event.reason} "
            f"after {size(event.bytes_sent)}"
        )
    return f"{event.kind} {json.dumps(event.to_dict())}"


def line(event: ev.Event, size: SizeText = exact_bytes) -> str:
    """One line for a log or a terminal: the client's address (when there is one), then what."""
    client: ev.Address | None = getattr(event, "client", None)
    text = describe(event, size)
    return f"{address(client)} {text}" if client else text


def _at(event: ev.ServerStarted | ev.ServerStopped) -> str:
    return f"{event.address}:{event.port}"


def _mac(bare: str) -> str:
    try:
        return format_mac(bare)
    except MacError:
        return bare


def _options(options: Mapping[str, object]) -> str:
    if not options:
        return ""
    return " (" + " ".join(f"{key}={value}" for key, value in options.items()) + ")"
