"""The command-line front door: the desktop app (no sub-command) and the headless commands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from algodesk import __version__
from algodesk.commands import CommandError

# Each module registers its sub-commands with ``register(subparsers)``.
COMMAND_MODULES = (
    "algodesk.commands.edit",
    "algodesk.commands.check",
    "algodesk.commands.simulate",
    "algodesk.commands.serve",
    "algodesk.commands.notify",
    "algodesk.commands.profile",
    "algodesk.commands.tftp_worker",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="algodesk",
        description="Bench provisioning for Algo IP endpoints. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"algodesk {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation (window, TFTP on 127.0.0.1, keyring) and exit 0 or 1",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run algodesk; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        from algodesk import selftest

        return selftest.run()
    if args.command is None:
        return _run_gui(parser)
    try:
        return int(args.handler(args) or 0)
    except CommandError as error:
        print(f"algodesk {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run_gui(parser: argparse.ArgumentParser) -> int:
    try:
        app = importlib.import_module("algodesk.app")
    except ModuleNotFoundError as error:
        if error.name != "algodesk.app":
            raise
        parser.print_help()
        return 0
    return int(app.main())
