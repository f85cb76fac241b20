"""``algodesk preflight``: check the permanent server as each device will meet it at stage 2.

Every device (a roster row, a ``--mac``, or a product's generic files) starts from the stage-1
config the bench gives it and boots against the server that config names, as a real client.
Exit 0 when every device would complete stage 2, 1 when any would not, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from algodesk.commands import CommandError, print_json
from algodesk.commands.profile import (
    add_password_stdin,
    load_profile,
    load_roster,
    profile_password,
)
from algodesk.core import names
from algodesk.core.fileio import atomic_write
from algodesk.core.preflight import DeviceVerdict, Target, targets
from algodesk.core.profile import BenchProfile, ProfileError, check_product
from algodesk.services.preflight.plan import build_plan
from algodesk.services.preflight.runner import Preflight


class _Ordered(argparse.Action):
    """Keeps ``--mac`` and ``--product`` in the order given: a --mac pairs with the next
    --product; a --product on its own checks that product's generic files."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        items = list(getattr(namespace, "items", None) or [])
        items.append((self.dest, str(values)))
        namespace.items = items


def register(subparsers: Any) -> None:
    """Add the ``preflight`` sub-command."""
    p = subparsers.add_parser(
        "preflight",
        help="check the stage-2 server as each device will use it (before they leave the bench)",
        description="Boot each device the way it will boot after stage 1 against the permanent "
        "server the profile names (FTP, HTTP, HTTPS or TFTP): login, certificate, config names, "
        "md5 files, firmware and data files. Exit 0 when every device would complete stage 2, "
        "1 when any would not, 2 on bad input. Nothing is written unless --save DIR.",
    )
    p.add_argument("--profile", required=True, metavar="NAME", help="the bench profile")
    p.add_argument("--roster", type=Path, metavar="CSV", help="check each roster device")
    p.add_argument(
        "--product",
        dest="product",
        action=_Ordered,
        metavar="P",
        help="check product P's generic files; after --mac: that device's product",
    )
    p.add_argument("--mac", dest="mac", action=_Ordered, metavar="MAC", help="check one device")
    p.add_argument(
        "--firmware",
        action="append",
        default=[],
        metavar="[P=]V",
        help="the firmware the devices (of product P) run now; unknown: 'would install'",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per device")
    p.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="seconds to wait for the server"
    )
    p.add_argument(
        "--full", action="store_true", help="download firmware whole (default: size only)"
    )
    p.add_argument(
        "--save", type=Path, metavar="DIR", help="write every file the server returned to DIR"
    )
    p.add_argument(
        "--ca", type=Path, metavar="PEM", help="trust this CA too (default: the profile's)"
    )
    add_password_stdin(p)
    p.set_defaults(handler=run_preflight, items=[])


def run_preflight(args: argparse.Namespace) -> int:
    """``algodesk preflight --profile NAME ...``: 0 when every device completes stage 2."""
    if args.timeout <= 0:
        raise CommandError("--timeout must be positive")
    profile = load_profile(args.profile)
    roster = load_roster(args.roster) if args.roster else None
    chosen = _targets(
        args.items, profile, [(r.mac, r.product) for r in roster.rows] if roster else []
    )
    firmware = _firmware(args.firmware, {t.product for t in chosen})
    password = profile_password(
        profile, from_stdin=args.password_stdin, allow_empty=args.allow_empty_password
    )
    try:
        plan = build_plan(
            profile,
            password,
            roster,
            chosen,
            firmware=firmware,
            timeout=args.timeout,
            full=args.full,
            ca_file=str(args.ca) if args.ca else None,
        )
    except ValueError as error:  # a base or CA file that cannot be used
        raise CommandError(str(error)) from None
    printer = None if args.json else _print_verdict
    verdicts = Preflight(plan, on_verdict=printer).run()
    if args.save is not None:
        _save(args.save, verdicts)
    if args.json:
        print_json([v.to_dict() for v in verdicts])
    else:
        ready = sum(1 for v in verdicts if v.ok)
        print(
            f"{len(verdicts)} device{'s' * (len(verdicts) != 1)}: {ready} will complete stage 2, "
            f"{len(verdicts) - ready} will not"
        )
    return 0 if all(v.ok for v in verdicts) else 1


def _targets(
    items: Sequence[tuple[str, str]], profile: BenchProfile, rows: list[tuple[str, str]]
) -> list[Target]:
    pairs: list[tuple[str, str]] = []
    products: list[str] = []
    pending_mac: str | None = None
    for kind, value in items:
        if kind == "mac":
            if pending_mac is not None:
                raise CommandError(f"--mac {pending_mac} needs a --product after it")
            try:
                pending_mac = names.normalize_mac(value)
            except ValueError as error:
                raise CommandError(str(error)) from None
        elif pending_mac is not None:
            pairs.append((pending_mac, value))
            pending_mac = None
        else:
            products.append(value)
    if pending_mac is not None:
        raise CommandError(f"--mac {names.format_mac(pending_mac)} needs a --product after it")
    for product in [p for _mac, p in pairs] + products:
        try:
            check_product(product)
        except ProfileError as error:
            raise CommandError(str(error)) from None
    if not rows and not pairs and not products:
        if profile.any_product:
            raise CommandError("the profile serves any product: name them with --product P")
        products = list(profile.products)
    only = (
        products[0]
        if len(products) == 1
        else (profile.products[0] if len(profile.products) == 1 else "")
    )
    try:
        # Roster rows are devices; a --product alone beside a roster names their product.
        generic = products if not rows or len(products) > 1 else []
        return targets(rows + pairs, generic, default_product=only)
    except ValueError as error:
        raise CommandError(str(error)) from None


def _firmware(given: Sequence[str], products: set[str]) -> dict[str, str]:
    """``--firmware 5.4f`` (every product) or ``--firmware 8186=5.4f``."""
    found: dict[str, str] = {}
    for text in given:
        product, sep, version = text.partition("=")
        if not sep:
            found.update(dict.fromkeys(products, text.strip()))
        elif not version.strip() or not product.strip():
            raise CommandError(f"--firmware {text!r}: give V or P=V")
        else:
            found[product.strip()] = version.strip()
    return found


def _print_verdict(_index: int, verdict: DeviceVerdict) -> None:
    mark = "ok  " if verdict.ok else "FAIL"
    print(f"{mark} {verdict.target.label}: {verdict.summary}")
    for line in verdict.evidence:
        print(f"       {line}")
    for record in verdict.fetches:
        print(f"       request: {record.describe()}")
    for line in verdict.config_notes:
        print(f"       config: {line}")
    sys.stdout.flush()


def _save(folder: Path, verdicts: Sequence[DeviceVerdict]) -> None:
    """Every file the server returned, under ``folder/<device>/<path as asked>``."""
    try:
        for verdict in verdicts:
            target = verdict.target
            where = folder / (target.mac or f"{target.product}-generic")
            for record in verdict.fetches:
                relative = PurePosixPath(record.path)
                if record.data is None or ".." in relative.parts or relative.is_absolute():
                    continue
                destination = where.joinpath(*relative.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(destination, record.data)
    except OSError as error:
        raise CommandError(f"{folder}: cannot write ({error.strerror})") from None
    print(f"saved what the server returned under {folder}", file=sys.stderr)
