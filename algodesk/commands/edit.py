"""Lossless editing commands: ``set``, ``diff``, ``incremental`` and ``md5``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from algodesk.commands import CommandError
from algodesk.core import config, md5, names
from algodesk.core.catalog import Catalog
from algodesk.core.fileio import atomic_write
from algodesk.core.readfile import Stamp
from algodesk.core.wording import count


def register(subparsers: Any) -> None:
    """Add the editing sub-commands."""
    p = subparsers.add_parser(
        "set", help="set parameters in a config file, touching only their lines"
    )
    p.add_argument("file", type=Path)
    p.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    p.add_argument("-o", "--output", type=Path, help="write here instead of editing FILE in place")
    p.add_argument(
        "--add",
        action="store_true",
        help="add keys that are neither in FILE nor in the parameter catalog (a typo otherwise)",
    )
    p.set_defaults(handler=run_set)

    p = subparsers.add_parser("diff", help="parameters added, removed and changed from A to B")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.set_defaults(handler=run_diff)

    p = subparsers.add_parser(
        "incremental", help="write the -i file (added and changed keys) and its md5"
    )
    p.add_argument("base", type=Path)
    p.add_argument("edited", type=Path)
    p.add_argument("-o", "--output", type=Path, help="output file (default: EDITED's -i name)")
    p.set_defaults(handler=run_incremental)

    p = subparsers.add_parser("md5", help="write md5 files, or verify them with --verify")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--verify", action="store_true", help="check each FILE against its md5 file")
    p.add_argument(
        "--md5sum", action="store_true", help="write 'hash  name' instead of a bare hash"
    )
    p.set_defaults(handler=run_md5)


def _load(path: Path) -> config.ConfigDocument:
    return _load_stamped(path)[0]


def _load_stamped(path: Path) -> tuple[config.ConfigDocument, Stamp]:
    try:
        return config.load_stamped(path)
    except config.ConfigError as error:
        raise CommandError(str(error)) from None


def run_set(args: argparse.Namespace) -> int:
    """``algodesk set FILE KEY=VALUE... [-o OUT]``."""
    doc, stamp = _load_stamped(args.file)
    known = Catalog.load()
    present = doc.as_dict()
    try:
        for key, value in config.iter_assignments(args.assignments):
            _check_assignment(known, present, key, value, args)
            doc.set(key, value)
    except config.ConfigError as error:
        raise CommandError(str(error)) from None
    target = args.output or args.file
    # In place: another program may have written to the file since we read it.
    in_place = stamp if _same_file(target, args.file) else None
    atomic_write(target, doc.to_bytes(), if_unchanged=in_place)
    print(f"wrote {target}")
    return 0


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def _check_assignment(
    known: Catalog, present: dict[str, str], key: str, value: str, args: argparse.Namespace
) -> None:
    """The editor's rules: a value the catalog refuses, or a new key it does not know, is bad
    input; a key already in the file may always be set (to a value that fits)."""
    why = known.validate(key, value)
    if why:
        raise CommandError(f"{key} {why}; nothing written")
    if key in present or key in known or args.add:
        return
    near = known.similar(key)
    guess = f"did you mean {' or '.join(near)}? " if near else ""
    raise CommandError(
        f"{key} is neither in {args.file.name} nor in the parameter catalog: {guess}"
        "give --add to add it anyway; nothing written"
    )


def run_diff(args: argparse.Namespace) -> int:
    """``algodesk diff A B``: exit 0 when equal, 1 when they differ."""
    delta = config.diff(_load(args.a), _load(args.b))
    for key, value in delta.added:
        print(f"+ {key} = {value}")
    for key, value in delta.removed:
        print(f"- {key} = {value}")
    for change in delta.changed:
        print(f"~ {change.key}: {change.old!r} -> {change.new!r}")
    return 0 if delta.empty else 1


def incremental_name(edited: Path) -> Path:
    """``algom0022EE010203.conf`` -> ``algom0022EE010203-i.conf`` (any ``X.conf`` -> ``X-i.conf``)."""
    stem = edited.name[: -len(".conf")] if edited.name.endswith(".conf") else edited.stem
    if stem.endswith("-i"):
        raise CommandError(f"{edited.name} is already incremental; give -o")
    return edited.with_name(f"{stem}-i.conf")


def run_incremental(args: argparse.Namespace) -> int:
    """``algodesk incremental BASE EDITED [-o OUT]``."""
    result = config.incremental(_load(args.base), _load(args.edited))
    target: Path = args.output or incremental_name(args.edited)
    kind = names.classify(target.name).kind
    if kind is not names.FileKind.INCREMENTAL:
        print(
            f"note: {target.name} is not a name a device requests as incremental", file=sys.stderr
        )
    for key in result.unexpressed_removals:
        print(f"warning: {key} was removed; an incremental file cannot remove it", file=sys.stderr)
    atomic_write(target, result.document.to_bytes())
    md5_path = md5.write_md5(target)
    parameters = count(len(list(result.document.params())), "parameter")
    print(f"wrote {target} ({parameters}) and {md5_path}")
    return 0


def run_md5(args: argparse.Namespace) -> int:
    """``algodesk md5 FILE... [--verify]``: with --verify, exit 1 when any does not match."""
    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        raise CommandError(f"no such file: {', '.join(missing)}")
    if not args.verify:
        for path in args.files:
            print(f"wrote {md5.write_md5(path, md5sum_style=args.md5sum)}")
        return 0
    failures = 0
    for path in args.files:
        md5_path = path.with_name(md5.md5_name(path.name))
        if not md5_path.is_file():
            print(f"MISSING {path}: no {md5_path.name}")
            failures += 1
            continue
        ok = md5.verify(md5_path.read_bytes(), path.read_bytes())
        print(f"{'OK' if ok else 'MISMATCH'} {path}")
        failures += not ok
    return 1 if failures else 0
