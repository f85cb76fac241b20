"""``algodesk tftp-worker FD FD``: one TFTP engine worker process, started by the TFTP server.

A bundled app has no ``python -m``, so the server starts its workers through this command there.
It is registered without help, so it stays out of the command list.
"""

from __future__ import annotations

import argparse
from typing import Any, NoReturn


def register(subparsers: Any) -> None:
    """Add the hidden ``tftp-worker`` sub-command."""
    p = subparsers.add_parser(
        "tftp-worker",
        description="Internal: serve the TFTP requests forwarded on the inherited channel, "
        "commands on stdin, events on stdout (started by the TFTP server with --workers).",
    )
    p.add_argument("fd", type=int, help="descriptor of the bound listening socket")
    p.add_argument("requests", type=int, help="descriptor of the request channel")
    p.set_defaults(handler=run_worker)


def run_worker(args: argparse.Namespace) -> NoReturn:
    """Run the worker until the server tells it to stop; the process then exits."""
    from algodesk.services.tftp.workers import worker

    worker.main([str(args.fd), str(args.requests)])
