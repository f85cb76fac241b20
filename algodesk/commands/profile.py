"""Bench profiles and stage-1 export: ``algodesk profile ...`` and ``algodesk stage1``."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import Any

from algodesk.commands import CommandError, print_json
from algodesk.core import config
from algodesk.core.catalog import is_secret
from algodesk.core.fileio import atomic_write
from algodesk.core.profile import DEFAULT_METHOD, METHODS, BenchProfile, ProfileError
from algodesk.core.roster import Roster, device_configs, parse_roster
from algodesk.core.stage1 import Stage1, Stage1Error, build_stage1, check_password, parse_server
from algodesk.core.wording import count
from algodesk.services.bench_files import BenchFiles, bench_files, load_base
from algodesk.services.credentials import (
    CredentialStore,
    PasswordState,
    Storage,
)
from algodesk.services.profiles import ProfileStore

# ``show`` previews with a stand-in: the preview masks the password anyway, so the keyring is
# not asked for a secret nobody will see.
_SHOWN_PASSWORD = "password-stand-in"


def register(subparsers: Any) -> None:
    """Add ``profile`` (with its actions) and ``stage1``."""
    profile = subparsers.add_parser("profile", help="bench profiles for two-stage provisioning")
    actions = profile.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = actions.add_parser("create", help="create (or with --replace, replace) a profile")
    p.add_argument("name")
    p.add_argument(
        "--server",
        required=True,
        help="permanent server: URL (https://host/path, ftp://user@host/path) or host[/path]",
    )
    p.add_argument(
        "--method",
        choices=METHODS,
        help=f"download method when --server has no scheme (default: {DEFAULT_METHOD})",
    )
    p.add_argument("--user", help="user name for the permanent server")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--products", help="product IDs to serve, comma-separated (8186,8301)")
    which.add_argument(
        "--any-product", action="store_true", help="serve the stage-1 file to every product"
    )
    p.add_argument("--fwpath", help="firmware download path (default: the config path)")
    p.add_argument(
        "--validate-cert", action="store_true", help="devices validate the HTTPS certificate"
    )
    p.add_argument("--base", type=Path, help="a device backup to start from (default: minimal)")
    p.add_argument(
        "--ca",
        type=Path,
        metavar="PEM",
        help="the CA certificate that signs the server's certificate (preflight trusts it)",
    )
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE")
    p.add_argument("--replace", action="store_true", help="replace an existing profile")
    p.set_defaults(handler=run_create)

    p = actions.add_parser("list", help="list the profiles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_list)

    p = actions.add_parser("show", help="a profile's settings and its stage-1 config (masked)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run_show)

    p = actions.add_parser("delete", help="delete a profile and its stored password")
    p.add_argument("name")
    p.set_defaults(handler=run_delete)

    p = actions.add_parser(
        "set-password", help="store the server password in the keyring (read from stdin)"
    )
    p.add_argument("name")
    p.add_argument("--clear", action="store_true", help="forget the stored password")
    p.set_defaults(handler=run_set_password)

    p = subparsers.add_parser(
        "stage1", help="export a profile's stage-1 files (they hold the password in clear)"
    )
    p.add_argument("--profile", required=True, metavar="NAME")
    p.add_argument("--out", required=True, type=Path, metavar="DIR")
    p.add_argument("--roster", type=Path, metavar="CSV", help="also write algom<MAC>.conf files")
    p.add_argument("--md5sum", action="store_true", help="write md5 files as 'hash  name'")
    add_password_stdin(p)
    p.set_defaults(handler=run_stage1)


def add_password_stdin(parser: argparse._ActionsContainer) -> None:
    """``--password-stdin`` (for machines without a keyring) and ``--allow-empty-password``."""
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of the keyring",
    )
    parser.add_argument(
        "--allow-empty-password",
        action="store_true",
        help="go ahead with a profile that has a user and no password (devices log in without one)",
    )


def _store() -> ProfileStore:
    return ProfileStore()


def _credentials() -> CredentialStore:
    return CredentialStore(
        on_unavailable=lambda message: print(f"note: {message}", file=sys.stderr)
    )


def load_profile(name: str) -> BenchProfile:
    """Profile ``name`` from the default store, or CommandError."""
    try:
        return _store().load(name)
    except ProfileError as error:
        raise CommandError(str(error)) from None


def read_password(*, confirm: bool = False) -> str:
    """A password from standard input: without echo on a terminal, else its first line."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Again: ") != password:
            raise CommandError("the two passwords differ")
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    try:
        check_password(password)
    except Stage1Error as error:
        raise CommandError(str(error)) from None
    return password


def profile_password(profile: BenchProfile, *, from_stdin: bool, allow_empty: bool) -> str:
    """The password to put in ``profile``'s stage-1 files ('' when it has none)."""
    password = read_password() if from_stdin else None
    if password is None and profile.has_password:
        credentials = _credentials()
        password = credentials.get_password(profile.name)  # one keyring lookup when it is there
        if password is None:  # the state says why, in the words `profile show` uses
            state = credentials.state(profile, command_line=True)
            raise CommandError(f"the password of {profile.name!r} is {state.text}; {state.advice}")
    password = password or ""
    if not password and profile.user and not allow_empty:
        raise CommandError(
            f"profile {profile.name!r} has user {profile.user} and an empty password: devices "
            f"would log in without one; set one with `algodesk profile set-password "
            f"{profile.name}`, or give --allow-empty-password if the server takes none"
        )
    return password


def load_roster(path: Path) -> Roster:
    """Parse the roster at ``path``; CommandError when unreadable or unusable as a whole."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"{path}: cannot read the roster ({error})") from None
    roster = parse_roster(text)
    if not roster.rows and roster.errors:
        raise CommandError(f"{path}: {roster.errors[0]}")
    return roster


def serving_files(
    name: str,
    roster_path: Path | None = None,
    *,
    password_stdin: bool = False,
    allow_empty_password: bool = False,
) -> BenchFiles:
    """The files ``serve --profile NAME`` serves from memory; notes go to stderr."""
    profile = load_profile(name)
    roster = load_roster(roster_path) if roster_path else None
    password = profile_password(
        profile, from_stdin=password_stdin, allow_empty=allow_empty_password
    )
    try:
        files = bench_files(profile, password, roster)
    except (config.ConfigError, Stage1Error) as error:
        raise CommandError(str(error)) from None
    for warning in files.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for issue in files.roster_issues:
        print(str(issue), file=sys.stderr)
    return files


def _build(profile: BenchProfile, password: str) -> Stage1:
    try:
        return build_stage1(profile, password, load_base(profile))
    except (config.ConfigError, Stage1Error) as error:
        raise CommandError(str(error)) from None


def run_create(args: argparse.Namespace) -> int:
    """``algodesk profile create NAME --server URL ...``."""
    store = _store()
    try:
        target = parse_server(args.server, method=args.method, user=args.user)
        extras = tuple(config.iter_assignments(args.set))
        products = tuple(p.strip() for p in (args.products or "").split(",") if p.strip())
        previous = store.load(args.name) if store.exists(args.name) else None
        if previous is not None and not args.replace:
            raise CommandError(f"profile {args.name!r} exists; give --replace to replace it")
        base = str(args.base.resolve()) if args.base else ""
        if base:
            config.load(base)
        profile = BenchProfile(
            name=args.name,
            host=target.host,
            method=target.method,
            cfgpath=target.cfgpath,
            fwpath=args.fwpath.strip("/") if args.fwpath is not None else None,
            user=target.user,
            products=products,
            any_product=args.any_product,
            extras=extras,
            validate_cert=args.validate_cert,
            ca_file=str(args.ca.resolve()) if args.ca else "",
            base_file=base,
            has_password=previous.has_password if previous else False,
        )
        path = store.save(profile)
    except (ProfileError, Stage1Error, config.ConfigError) as error:
        raise CommandError(str(error)) from None
    print(f"wrote {path}")
    for warning in _build(profile, _SHOWN_PASSWORD if profile.has_password else "").warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not profile.has_password and profile.user:
        print(f"next: algodesk profile set-password {profile.name}", file=sys.stderr)
    return 0


def _summary(profile: BenchProfile, state: PasswordState) -> dict[str, Any]:
    return {
        "name": profile.name,
        "server": profile.server_url,
        "products": "any" if profile.any_product else ",".join(profile.products),
        "password": state.text,
        "password_place": str(state.place),
        "password_advice": state.advice,
    }


def _say_password(profile: BenchProfile, state: PasswordState) -> None:
    """A warning for a password that is missing or empty, with what to do."""
    if not state.usable:
        print(f"warning: {profile.name}: password {state.text}; {state.advice}", file=sys.stderr)


def run_list(args: argparse.Namespace) -> int:
    """``algodesk profile list [--json]``."""
    store = _store()
    credentials = _credentials()
    rows: list[dict[str, Any]] = []
    for name in store.names():
        try:
            profile = store.load(name)
        except ProfileError as error:
            print(f"warning: {error}", file=sys.stderr)
            continue
        state = credentials.state(profile, command_line=True)
        rows.append(_summary(profile, state))
        _say_password(profile, state)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print(f"no profiles in {store.folder}")
    for row in rows:
        print(
            f"{row['name']}\t{row['server']}\tproducts: {row['products']}\t"
            f"password: {row['password']}"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    """``algodesk profile show NAME [--json]``: settings and the masked stage-1 config."""
    profile = load_profile(args.name)
    state = _credentials().state(profile, command_line=True)
    stage1 = _build(profile, _SHOWN_PASSWORD if profile.has_password else "")
    _say_password(profile, state)
    if args.json:
        print_json(
            {
                **profile.to_dict(),
                "password": state.text,
                "password_place": str(state.place),
                "password_advice": state.advice,
                "server_url": profile.server_url,
                "stage1_preview": stage1.preview(),
                "warnings": list(stage1.warnings),
            }
        )
        return 0
    for key, value in _summary(profile, state).items():
        if key != "password_place" and value:
            print(f"{key.replace('_', ' ')}: {value}")
    print(f"base: {profile.base_file or '(minimal stage-1 config)'}")
    print("--- stage-1 config (secrets masked) ---")
    sys.stdout.write(stage1.preview())
    for warning in stage1.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    """``algodesk profile delete NAME``."""
    store = _store()
    try:
        existed = store.delete(args.name)
    except ProfileError as error:
        raise CommandError(str(error)) from None
    if not existed:
        raise CommandError(f"no profile named {args.name!r}")
    _credentials().delete_password(args.name)
    print(f"deleted profile {args.name}")
    return 0


def run_set_password(args: argparse.Namespace) -> int:
    """``algodesk profile set-password NAME [--clear]``: the password comes from stdin."""
    store = _store()
    profile = load_profile(args.name)
    credentials = _credentials()
    if args.clear:
        credentials.delete_password(profile.name)
        store.save(profile.with_password_flag(False))
        print(f"forgot the password of {profile.name}")
        return 0
    password = read_password(confirm=True)
    if not password:
        raise CommandError("empty password; use --clear to remove a stored one")
    if credentials.set_password(profile.name, password) is Storage.MEMORY:
        raise CommandError(
            "nothing stored: without a keyring the password would only live until this command "
            "ends; install a keyring backend, or give --password-stdin to serve, stage1 or preflight"
        )
    store.save(profile.with_password_flag(True))
    print(f"stored the password of {profile.name} in the keyring")
    return 0


def run_stage1(args: argparse.Namespace) -> int:
    """``algodesk stage1 --profile NAME --out DIR [--roster CSV]``: exit 1 if roster rows failed."""
    profile = load_profile(args.profile)
    roster = load_roster(args.roster) if args.roster else None
    password = profile_password(
        profile, from_stdin=args.password_stdin, allow_empty=args.allow_empty_password
    )
    stage1 = _build(profile, password)
    files = stage1.files(md5sum_style=args.md5sum)
    if roster is not None:
        files.update(device_configs(roster, stage1.document, md5sum_style=args.md5sum))
    secret = bool(password) or _roster_has_secrets(roster)
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            # The md5 of a file holding the password verifies guesses of it: it is kept as close.
            atomic_write(args.out / name, data, secret=secret)
    except OSError as error:
        raise CommandError(
            f"{error.filename or args.out}: cannot write ({error.strerror})"
        ) from None
    configs = [name for name in files if name.endswith(".conf")]
    print(
        f"wrote {count(len(configs), 'config file')} and their md5 files to {args.out}"
        + (" (mode 600: readable by you only, as they hold a password)" if secret else "")
    )
    for warning in stage1.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if secret:
        print(
            f"warning: the files in {args.out} hold passwords in clear; "
            "delete them once the devices have passed stage 1",
            file=sys.stderr,
        )
    issues = roster.issues if roster is not None else ()
    for issue in issues:
        print(str(issue), file=sys.stderr)
    return 1 if roster is not None and roster.errors else 0


def _roster_has_secrets(roster: Roster | None) -> bool:
    return roster is not None and any(
        is_secret(key) for row in roster.rows for key, _value in row.params
    )
