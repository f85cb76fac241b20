"""``algodesk check``: find what will stop devices from provisioning, before they boot."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from algodesk.commands import CommandError, print_json
from algodesk.core.checks import CheckContext, Finding, FolderError, Severity, check_folder
from algodesk.core.device import PROTOCOLS

_EPILOG = """\
Judges DIR as a folder on its own: what the customer's server will hold, names exact, every md5
a file (the bench's automatic md5 answers do not count). DIR is the server's root: configs in it,
firmware and data files under each config's prov.download.fwpath (or in --firmware-dir).
Exit status: 0 when no error was found (warnings and notes allowed), 1 when any error was found,
2 when DIR is not a folder or an option is wrong.
"""


def register(subparsers: Any) -> None:
    """Add the ``check`` sub-command."""
    p = subparsers.add_parser(
        "check",
        help="check a provisioning folder: names, md5 files, data files, firmware",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="the folder devices get configs from")
    p.add_argument(
        "--firmware-dir",
        type=Path,
        metavar="DIR2",
        help="the folder the firmware path leads to (default: DIR/<prov.download.fwpath>)",
    )
    p.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="tftp",
        help="how devices reach the folder (default tftp): config md5 files are needed over "
        "TFTP only, and a config that switches to another method is a fault",
    )
    p.add_argument("--json", action="store_true", help="print the findings as a JSON list")
    p.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    """``algodesk check DIR [--firmware-dir DIR2] [--json]``: exit 1 when any error is found."""
    try:
        context = CheckContext(protocol=args.protocol)
        findings = check_folder(args.folder, args.firmware_dir, context)
    except FolderError as error:
        raise CommandError(str(error)) from None
    if args.json:
        print_json([finding.to_dict() for finding in findings])
    else:
        for finding in findings:
            print(format_finding(finding))
        print(f"{summary(findings)} ({context.label}, served over {args.protocol.upper()})")
    return 1 if any(f.severity is Severity.ERROR for f in findings) else 0


def format_finding(finding: Finding) -> str:
    """``error   md5-missing algop8186.conf: message`` and an indented fix line."""
    where = finding.file if finding.line is None else f"{finding.file}:{finding.line}"
    return f"{finding.severity:<7} {finding.code} {where}: {finding.message}\n  fix: {finding.fix}"


def summary(findings: list[Finding]) -> str:
    """``2 errors, 1 warning, 0 info``, or that nothing was found."""
    if not findings:
        return "no problems found"
    counts = Counter(finding.severity for finding in findings)
    errors, warnings = counts[Severity.ERROR], counts[Severity.WARNING]
    return (
        f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}, "
        f"{counts[Severity.INFO]} info"
    )
