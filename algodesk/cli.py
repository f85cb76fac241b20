"""The command-line front door: the desktop app (no sub-command) and the headless commands."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from algodesk import __version__, display
from algodesk.commands import CommandError, table
from algodesk.core.masking import MaskingFilter


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
    window = parser.add_argument_group("the app (no COMMAND), e.g. on a bench PC at login")
    window.add_argument(
        "--folder", dest="app_folder", type=Path, metavar="DIR", help="open serving this folder"
    )
    window.add_argument("--port", dest="app_port", type=int, metavar="P", help="UDP port")
    window.add_argument(
        "--bind", dest="app_bind", metavar="ADDR", help="an address of this computer (0.0.0.0: all)"
    )
    window.add_argument(
        "--start", dest="app_start", action="store_true", help="start serving at once"
    )
    table.register_all(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run algodesk; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _mask_log_records()
    if args.self_test:
        from algodesk import selftest

        return selftest.run()
    launch = (args.app_folder, args.app_port, args.app_bind)
    if args.command is None:
        if args.app_folder is not None and not args.app_folder.is_dir():
            return _fail("", f"--folder: not a folder: {args.app_folder}")
        if args.app_port is not None and not 0 <= args.app_port <= 65535:
            return _fail("", f"--port must be 0..65535, not {args.app_port}")
        return _run_gui(parser, args)
    if any(value is not None for value in launch) or args.app_start:
        return _fail("", "--folder, --port, --bind and --start open the app: give no COMMAND")
    try:
        code = int(args.handler(args) or 0)
        # Flushed here, not at exit, so that a reader that went away is seen below.
        sys.stdout.flush()
        return code
    except CommandError as error:
        return _fail(args.command, str(error))
    except BrokenPipeError:
        return _quiet_after_closed_pipe()
    except OSError as error:
        if error.filename is None:
            raise
        # A file the command was told to read or write cannot be: bad input, one line.
        return _fail(args.command, f"{error.filename}: {error.strerror or error}")
    except KeyboardInterrupt:
        return 130


def _fail(command: str, message: str) -> int:
    print(f"algodesk{' ' if command else ''}{command}: error: {message}", file=sys.stderr)
    return 2


def _quiet_after_closed_pipe() -> int:
    """The reader of our output went away (``algodesk check --json | head``): end quietly.

    Python would flush standard output again at exit and report the same broken pipe, so it is
    pointed at the null device first.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError):
        os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141  # what a shell reports for a program ended by SIGPIPE


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (as Python's last-resort handler does)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def _mask_log_records() -> None:
    """Mask every algodesk log record before any handler sees it.

    Warnings reach stderr as Python's last-resort handler would print them; records still
    propagate, masked, to whatever handlers the caller set up.
    """
    logger = logging.getLogger("algodesk")
    if not any(isinstance(f, MaskingFilter) for h in logger.handlers for f in h.filters):
        handler = _StderrHandler()
        handler.addFilter(MaskingFilter(min_level=logging.WARNING))
        logger.addHandler(handler)


def _run_gui(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    problem = display.problem()
    if problem:
        print(f"algodesk: {problem}", file=sys.stderr)
        return 2
    try:
        app = importlib.import_module("algodesk.app")
    except ModuleNotFoundError as error:
        if error.name != "algodesk.app":
            raise
        parser.print_help()
        return 0
    except ImportError as error:
        message = display.import_problem(error)
        if not message:
            raise
        print(f"algodesk: {message}", file=sys.stderr)
        return 2
    return int(
        app.main(
            folder=args.app_folder,
            address=args.app_bind,
            port=args.app_port,
            start=args.app_start,
        )
    )
