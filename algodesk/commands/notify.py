"""``algodesk notify``: send a check-sync SIP NOTIFY to devices and print their answers."""

from __future__ import annotations

import argparse
import socket
from typing import Any

from algodesk.commands import CommandError, print_json
from algodesk.core.sip_notify import CHECKSYNC_NOTE, SIP_PORT, Notify, SipError
from algodesk.services.checksync import DEFAULT_TIMEOUT, NotifyTarget, check_sync


def register(subparsers: Any) -> None:
    """Add the ``notify`` sub-command."""
    p = subparsers.add_parser(
        "notify",
        help="ask devices to re-provision now (SIP NOTIFY check-sync)",
        description="Send the check-sync NOTIFY to each ADDR and print its answer. "
        f"{CHECKSYNC_NOTE} Exit status 0 when every device answered 2xx, 1 otherwise.",
    )
    p.add_argument("addresses", nargs="+", metavar="ADDR", help="host, host:port or [v6]:port")
    p.add_argument("--ext", default="", help="the extension the devices registered (request URI)")
    p.add_argument("--port", type=int, default=SIP_PORT, help=f"SIP port (default {SIP_PORT})")
    p.add_argument("--reboot", action="store_true", help="force a reboot (check-sync;reboot=true)")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for answers (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(handler=run_notify)


def parse_address(text: str, default_port: int) -> tuple[str, int]:
    """``10.0.0.7``, ``10.0.0.7:5062``, ``[fe80::1]:5060`` or ``fe80::1`` -> (host, port)."""
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise CommandError(f"not an address: {text!r}")
            port = _port(rest[1:], text)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, text)
    if not host:
        raise CommandError(f"not an address: {text!r}")
    return host, port


def _resolvable(target: NotifyTarget) -> None:
    """A name that does not resolve is a typo (bad input), not a device that did not answer."""
    try:
        socket.getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)
    except socket.gaierror as error:
        raise CommandError(f"cannot resolve {target.host}: {error.strerror}") from None


def _port(text: str, whole: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise CommandError(f"bad port in {whole!r}")
    return int(text)


def run_notify(args: argparse.Namespace) -> int:
    """``algodesk notify ADDR... [--ext EXT] [--port N] [--reboot] [--timeout S]``."""
    if args.timeout <= 0:
        raise CommandError("--timeout must be positive")
    if not 0 < args.port < 65536:
        raise CommandError(f"bad port: {args.port}")
    try:
        # Build one request up front so a bad extension is refused before anything is sent.
        Notify("127.0.0.1", args.port, args.ext, args.reboot, "127.0.0.1", 1)
    except SipError as error:
        raise CommandError(str(error)) from None
    targets = [
        NotifyTarget(*parse_address(text, args.port), args.ext, args.reboot)
        for text in args.addresses
    ]
    for target in targets:
        _resolvable(target)
    results = check_sync(targets, timeout=args.timeout)
    if args.json:
        print_json(
            [
                {
                    "host": r.target.host,
                    "port": r.target.port,
                    "status": r.status,
                    "reason": r.reason,
                    "elapsed": round(r.elapsed, 4),
                    "retransmissions": r.retransmissions,
                }
                for r in results
            ]
        )
    else:
        for result in results:
            print(result.describe())
    return 0 if all(result.ok for result in results) else 1
