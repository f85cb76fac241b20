"""``algodesk simulate``: boot a virtual Algo device against a folder and show what it does."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from algodesk.commands import CommandError, print_json
from algodesk.core import names
from algodesk.core.md5 import md5_hex
from algodesk.core.simulator import (
    DeviceState,
    Fetcher,
    SimulationResult,
    StepKind,
    TraceStep,
    folder_fetcher,
    simulate,
)

_MD5_SHOWN = 8


def register(subparsers: Any) -> None:
    """Add the ``simulate`` sub-command."""
    p = subparsers.add_parser(
        "simulate",
        help="boot a virtual device against a provisioning folder and trace what it does",
        description="Boot a virtual Algo device the way domain.md §4 describes and print every "
        "request and decision. Exit 0 when it gets steady, 1 when it never does, 2 on bad input.",
    )
    add_source_arguments(p)
    add_device_arguments(p)
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    p.set_defaults(handler=run_simulate)


def add_source_arguments(parser: argparse.ArgumentParser) -> argparse._MutuallyExclusiveGroup:
    """The server the device talks to: a folder (more kinds of server join this group)."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("dir", nargs="?", type=Path, metavar="DIR", help="provisioning folder")
    parser.add_argument(
        "--firmware-dir",
        type=Path,
        metavar="DIR",
        help="firmware and data files (default: the provisioning folder)",
    )
    return source


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """The virtual device: identity, installed firmware and provisioning settings."""
    group = parser.add_argument_group("device")
    group.add_argument("--mac", help="the device's MAC address (any spelling)")
    group.add_argument("--product", required=True, help="product ID, e.g. 8188")
    group.add_argument("--firmware", default="", metavar="V", help="installed firmware version")
    group.add_argument(
        "--partial", action="store_true", help="partial provisioning on (use -i files)"
    )
    group.add_argument(
        "--protocol",
        choices=("tftp", "ftp", "http", "https"),
        default="tftp",
        help="download method (all but tftp skip the config md5)",
    )
    group.add_argument(
        "--max-boots", type=int, default=10, metavar="N", help="give up after N boots"
    )


def state_from_args(args: argparse.Namespace, mac: str | None = None) -> DeviceState:
    """The device state the arguments describe (``mac`` overrides ``--mac``)."""
    mac = mac or args.mac
    if not mac:
        raise CommandError("--mac is required")
    if args.max_boots < 1:
        raise CommandError("--max-boots must be at least 1")
    try:
        state = DeviceState(
            mac=mac,
            product=args.product,
            firmware=args.firmware,
            partial=args.partial,
            protocol=args.protocol,
        )
    except ValueError as error:
        raise CommandError(str(error)) from None
    if not names.is_algo_mac(state.mac):
        print(f"warning: {names.format_mac(state.mac)} is not an Algo MAC", file=sys.stderr)
    if not names.is_known_product(state.product):
        print(f"warning: {state.product} is not a known Algo product", file=sys.stderr)
    return state


def folder_fetcher_from_args(args: argparse.Namespace) -> Fetcher:
    """The folder fetcher for ``DIR`` and ``--firmware-dir``, checked to exist."""
    for folder in (args.dir, args.firmware_dir):
        if folder is not None and not folder.is_dir():
            raise CommandError(f"{folder}: no such folder")
    return folder_fetcher(args.dir, args.firmware_dir)


def format_step(step: TraceStep) -> str | None:
    """One readable line for a step (requests show with their response: None here)."""
    if step.kind is StepKind.REQUEST:
        return None
    if step.kind is StepKind.RESPONSE:
        if step.found is None:
            return f"  {step.file}: {step.message}"
        if not step.found:
            return f"  {step.file}: not found"
        return f"  {step.file}: {step.size} bytes, md5 {step.md5[:_MD5_SHOWN]}"
    if step.kind is StepKind.DECISION:
        return f"    {step.message}"
    if step.kind is StepKind.REBOOT:
        return "  -- reboot --"
    if step.kind is StepKind.DIAGNOSIS:
        return f"never steady: {step.message}"
    return step.message


class TracePrinter:
    """Prints steps as they come, with a header at each boot."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._boot = 0

    def __call__(self, step: TraceStep) -> None:
        final = step.kind in (StepKind.DONE, StepKind.DIAGNOSIS)
        if step.boot != self._boot and not final:
            self._boot = step.boot
            print(f"boot {step.boot}", file=self._out)
        line = format_step(step)
        if line is not None:
            print(line, file=self._out, flush=final)


def result_to_dict(result: SimulationResult) -> dict[str, Any]:
    """A JSON-ready view of a result; the applied config shows as size and md5 (it may hold
    passwords)."""
    state = result.final_state
    applied = state.applied_config
    return {
        "steady": result.steady,
        "outcome": result.outcome,
        "diagnosis": result.diagnosis,
        "left_for": result.left_for,
        "boots": result.boots,
        "files": result.files_fetched,
        "bytes": result.bytes_fetched,
        "final_state": {
            "mac": state.mac,
            "product": state.product,
            "firmware": state.firmware,
            "protocol": state.protocol,
            "partial": state.partial,
            "provisioning_enabled": state.provisioning_enabled,
            "applied_config_size": len(applied) if applied is not None else None,
            "applied_config_md5": md5_hex(applied) if applied is not None else None,
            "data_md5s": dict(state.data_md5s),
        },
        "steps": [step.to_dict() for step in result.steps],
    }


def run_simulate(args: argparse.Namespace) -> int:
    """``algodesk simulate DIR --mac MAC --product P ...``: exit 0 when steady, else 1."""
    state = state_from_args(args)
    fetch = folder_fetcher_from_args(args)
    if args.json:
        result = simulate(state, fetch, args.max_boots)
        print_json(result_to_dict(result))
    else:
        result = simulate(state, fetch, args.max_boots, on_step=TracePrinter(sys.stdout))
    return 0 if result.steady else 1
