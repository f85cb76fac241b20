"""``algodesk simulate``: boot virtual Algo devices against a folder or a TFTP server.

One device prints its trace; ``--devices N`` boots N at once (a load generator) and prints a
summary table.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import socket
import sys
import threading
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
    device_macs,
    folder_fetcher,
    simulate,
)
from algodesk.core.wording import count
from algodesk.services.sim_fleet import FetcherFactory, FleetDevice, SimFleet
from algodesk.services.tftp_client import DEFAULT_BLKSIZE, DEFAULT_PORT, TftpError, tftp_fetcher

_INDENT = {StepKind.RESPONSE: "  ", StepKind.REBOOT: "  ", StepKind.DECISION: "    "}
FLEET_BASE_MAC = "00:22:EE:00:00:01"


def register(subparsers: Any) -> None:
    """Add the ``simulate`` sub-command."""
    p = subparsers.add_parser(
        "simulate",
        help="boot virtual devices against a folder or a TFTP server and trace what they do",
        description="Boot a virtual Algo device the way a real one boots (fetch configs, md5s, "
        "firmware, tones) and print every request and decision; with --devices N, boot N at "
        "once and print a table. Exit 0 when all get steady, 1 when one never does, 2 on bad "
        "input.",
    )
    add_source_arguments(p)
    add_device_arguments(p)
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    p.set_defaults(handler=run_simulate)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The server the devices talk to: a folder, or a TFTP server."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("dir", nargs="?", type=Path, metavar="DIR", help="provisioning folder")
    source.add_argument(
        "--server", metavar="HOST[:PORT]", help="a TFTP server (port 69 unless given)"
    )
    parser.add_argument(
        "--firmware-dir",
        type=Path,
        metavar="DIR",
        help="with DIR: the folder the firmware path leads to (default: DIR/<prov.download."
        "fwpath>, as a server whose root is DIR serves it)",
    )
    tftp = parser.add_argument_group("TFTP client (with --server)")
    tftp.add_argument("--blksize", type=int, default=DEFAULT_BLKSIZE, help="block size to ask")
    tftp.add_argument(
        "--timeout", type=float, default=1.0, metavar="S", help="seconds before a retransmission"
    )
    tftp.add_argument(
        "--source-base",
        metavar="ADDR",
        help="send device n's requests from IPv4 address ADDR + n - 1 (e.g. 192.168.7.101, "
        "192.168.7.102, ... configured here). Default for a loopback server: each device sends "
        "from 127.X.Y.Z, X.Y.Z the last three bytes of its MAC, so the server tells the devices "
        "apart and every rehearsal gives a MAC the same address (Linux and Windows answer on "
        "all of 127.0.0.0/8; where only 127.0.0.1 is there, as on macOS, all send from it, "
        "with a warning). Default for any other server: all devices send from this machine's "
        "one address, and the server lists their requests that name no MAC under it",
    )
    parser.add_argument(
        "--devices",
        type=int,
        default=1,
        metavar="N",
        help=f"boot N devices at once, MACs counting up from --mac (default {FLEET_BASE_MAC}), "
        "and print a summary table",
    )


def parse_server(text: str) -> tuple[str, int]:
    """``HOST[:PORT]``, ``[v6]:PORT`` or a bare IPv6 address -> (host, port)."""
    host, port = text.strip(), str(DEFAULT_PORT)
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise CommandError(f"not HOST[:PORT]: {text!r}")
            port = rest[1:]
    elif host.count(":") == 1:
        host, port = host.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"not HOST[:PORT]: {text!r}")
    return host, int(port)


def source_addresses(base: str, count: int) -> list[str]:
    """``count`` IPv4 addresses counting up from ``base``."""
    try:
        first = ipaddress.IPv4Address(base.strip())
    except ValueError:
        raise CommandError(f"--source-base must be an IPv4 address, not {base!r}") from None
    if int(first) + count - 1 > int(ipaddress.IPv4Address("255.255.255.255")):
        raise CommandError(f"--source-base {first}: no room for {count} addresses above it")
    return [str(first + i) for i in range(count)]


def loopback_source(mac: str) -> str:
    """The address a virtual device sends from on loopback: 127 and its MAC's last three bytes.

    Derived from the MAC, not from the device's place in the fleet, so a second rehearsal with
    other MACs never reuses the address of a device the server saw a moment ago.
    """
    low = int(names.normalize_mac(mac)[6:], 16)
    if low == 0xFFFFFF:
        low = 0  # 127.255.255.255 is loopback's broadcast address: nothing answers it
    return str(ipaddress.IPv4Address((127 << 24) | low))


def can_send_from(address: str) -> bool:
    """Whether this computer has ``address``: a socket can be bound to it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


def default_sources(host: str, port: int, macs: list[str]) -> list[str | None]:
    """Each device's own loopback address when the server is on loopback (see --source-base)."""
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)}
    except OSError:
        return [None] * len(macs)  # tftp_fetcher reports the bad host
    v4 = [ipaddress.ip_address(a) for a in resolved if ipaddress.ip_address(a).version == 4]
    if not v4 or not all(a.is_loopback for a in v4):
        return [None] * len(macs)
    sources = [loopback_source(mac) for mac in macs]
    if len(set(sources)) > 1 and not all(can_send_from(a) for a in (sources[0], sources[-1])):
        print(
            f"warning: cannot send from {sources[0]} here (only 127.0.0.1 is configured): all "
            f"{len(macs)} devices send from 127.0.0.1, and the server lists their requests that "
            "name no MAC under that address; give --source-base with addresses configured here",
            file=sys.stderr,
        )
        return [None] * len(macs)
    return list(sources)


def fetcher_factories_from_args(args: argparse.Namespace, macs: list[str]) -> list[FetcherFactory]:
    """Each device's fetcher factory (one per MAC): one folder fetcher shared by all, or a TFTP
    client each, sending from its own address (``--source-base``, or on loopback by default)."""
    count = len(macs)
    if args.server is None:
        if args.source_base is not None:
            raise CommandError("--source-base goes with --server, not with DIR")
        shared = folder_fetcher_from_args(args)
        return [lambda _cancel: shared] * count
    if args.firmware_dir is not None:
        raise CommandError("--firmware-dir goes with DIR, not with --server")
    host, port = parse_server(args.server)
    if not 8 <= args.blksize <= 65464:
        raise CommandError("--blksize must be 8..65464")
    if args.timeout <= 0:
        raise CommandError("--timeout must be positive")
    if args.source_base is not None:
        sources: list[str | None] = list(source_addresses(args.source_base, count))
    else:
        sources = default_sources(host, port, macs)
    try:
        # Resolves the host now (in the sources' family), so a typo is bad input (exit 2).
        tftp_fetcher(host, port, source=sources[0])
    except TftpError as error:
        raise CommandError(str(error)) from None

    def factory(source: str | None) -> FetcherFactory:
        return lambda cancel: tftp_fetcher(
            host,
            port,
            blksize=args.blksize,
            timeout=args.timeout,
            cancel=cancel,
            source=source,
            quick_first_answer=True,
        )

    return [factory(source) for source in sources]


def add_device_arguments(parser: argparse.ArgumentParser) -> None:
    """The virtual device: identity, installed firmware and provisioning settings."""
    group = parser.add_argument_group("device")
    group.add_argument(
        "--mac",
        help=f"the device's MAC address (any spelling; default {FLEET_BASE_MAC}, said when used)",
    )
    group.add_argument("--product", required=True, help="product ID, e.g. 8188")
    group.add_argument(
        "--firmware",
        default="",
        metavar="V",
        help="installed firmware version (default unknown: any version a config names is fetched)",
    )
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


def state_from_args(args: argparse.Namespace) -> DeviceState:
    """The device state the arguments describe."""
    mac = args.mac
    if not mac:
        mac = FLEET_BASE_MAC
        print(f"note: no --mac given: the device is {mac}", file=sys.stderr)
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
    """One line for a step, indented by what it is (requests show with their response: None)."""
    if step.kind is StepKind.REQUEST:
        return None
    indent = _INDENT.get(step.kind, "")
    return indent + ("-- reboot --" if step.kind is StepKind.REBOOT else step.describe())


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


def print_fleet(fleet: list[FleetDevice], out: TextIO) -> None:
    """A table with one row per device."""
    print(f"{'MAC':<17}  {'boots':>5}  {'files':>5}  {'bytes':>10}  outcome", file=out)
    for d in fleet:
        boots = d.result.boots if d.result else 0
        files = d.result.files_fetched if d.result else 0
        size = d.result.bytes_fetched if d.result else 0
        mac = names.format_mac(d.mac)
        print(f"{mac:<17}  {boots:>5}  {files:>5}  {size:>10}  {d.outcome}", file=out)


def fleet_device_to_dict(d: FleetDevice) -> dict[str, Any]:
    """A JSON-ready summary of one fleet device (no steps: a fleet's traces are too long)."""
    r = d.result
    return {
        "mac": d.mac,
        "steady": d.steady,
        "outcome": d.outcome,
        "boots": r.boots if r else 0,
        "files": r.files_fetched if r else 0,
        "bytes": r.bytes_fetched if r else 0,
        "seconds": round(d.seconds, 3),
    }


def run_simulate(args: argparse.Namespace) -> int:
    """``algodesk simulate (DIR | --server HOST[:PORT]) --product P ...``: 0 when all are steady."""
    if args.devices < 1:
        raise CommandError("--devices must be at least 1")
    macs = [args.mac]
    if args.devices > 1:
        try:
            macs = device_macs(args.mac or FLEET_BASE_MAC, args.devices)
        except ValueError as error:
            raise CommandError(str(error)) from None
        args.mac = macs[0]
    state = state_from_args(args)
    factories = fetcher_factories_from_args(args, [state.mac] if args.devices == 1 else macs)
    if args.devices > 1:
        return _run_fleet(args, [dataclasses.replace(state, mac=mac) for mac in macs], factories)
    fetch = factories[0](threading.Event())
    if args.json:
        result = simulate(state, fetch, args.max_boots)
        print_json(result_to_dict(result))
    else:
        result = simulate(state, fetch, args.max_boots, on_step=TracePrinter(sys.stdout))
    return 0 if result.steady else 1


def _run_fleet(
    args: argparse.Namespace, states: list[DeviceState], factories: list[FetcherFactory]
) -> int:
    fleet = SimFleet(states, factories, max_boots=args.max_boots)
    fleet.start()
    try:
        fleet.wait()
    finally:
        fleet.stop()
    devices, totals = fleet.devices, fleet.totals()
    if args.json:
        print_json(
            {
                "devices": [fleet_device_to_dict(d) for d in devices],
                "totals": dataclasses.asdict(totals),
            }
        )
    else:
        print_fleet(devices, sys.stdout)
        rate = totals.files / totals.seconds if totals.seconds > 0 else 0.0
        print(
            f"{totals.devices} devices: {totals.steady} steady, "
            f"{totals.devices - totals.steady} not; {count(totals.files, 'file')}, "
            f"{count(totals.bytes, 'byte')} "
            f"in {totals.seconds:.2f} s ({rate:.0f} files/s)"
        )
    return 0 if totals.steady == totals.devices else 1
