"""``algodesk check``: find what will stop devices from provisioning, before they boot."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from algodesk.commands import CommandError, print_json
from algodesk.core.checks import Finding, FolderError, Severity, check_folder


def register(subparsers: Any) -> None:
    """Add the ``check`` sub-command."""
    p = subparsers.add_parser(
        "check", help="check a provisioning folder: names, md5 files, data files, firmware"
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="the folder devices get configs from")
    p.add_argument(
        "--firmware-dir",
        type=Path,
        metavar="DIR2",
        help="the folder devices get firmware and data files from (default: DIR)",
    )
    p.add_argument("--json", action="store_true", help="print the findings as a JSON list")
    p.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace) -> int:
    """``algodesk check DIR [--firmware-dir DIR2] [--json]``: exit 1 when any error is found."""
    try:
        findings = check_folder(args.folder, args.firmware_dir)
    except FolderError as error:
        raise CommandError(str(error)) from None
    if args.json:
        print_json([finding.to_dict() for finding in findings])
    else:
        for finding in findings:
            print(format_finding(finding))
        print(summary(findings))
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
