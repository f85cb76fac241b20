"""Stage-1 configs: the bench file that sends a device to its permanent server (domain.md §8).

A minimal stage-1 config holds only the provisioning keys; since a full config returns every
omitted parameter to its factory default, a device that applies it is a clean factory device with
a new server. Alternatively a device backup serves as the base and only the provisioning keys are
changed (losslessly). The server is static (``prov.server.method = static``) because the DHCP
option that found the bench is removed after stage 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from algodesk.core import catalog, md5, names
from algodesk.core.config import ConfigDocument, Line, LineKind
from algodesk.core.profile import (
    DEFAULT_METHOD,
    METHODS,
    BenchProfile,
    ProfileError,
    check_host,
    check_method,
    check_path,
    check_user,
)

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_CLEAR_METHODS = ("ftp", "http")
_STAGE1_EXTRA_PREFIXES = ("prov.", "log.server", "sip.interop.checksync")


class Stage1Error(ValueError):
    """A stage-1 config cannot be built as asked; the message never holds a secret."""


@dataclass(frozen=True, slots=True)
class ServerTarget:
    """A permanent server parsed from what a person typed: method, host[:port], config path."""

    method: str
    host: str
    cfgpath: str = ""
    user: str = ""


def parse_server(text: str, *, method: str | None = None, user: str | None = None) -> ServerTarget:
    """Parse ``https://host/algo/cfg``, ``ftp://user@host/path``, ``host/path`` or ``host``.

    A URL's scheme gives the method; without one ``method`` applies (default
    :data:`~algodesk.core.profile.DEFAULT_METHOD`). A password in the URL is refused: it belongs
    in the keyring, and is never echoed back in the error.
    """
    raw = text.strip()
    if not raw:
        raise Stage1Error("no server given")
    scheme_match = _SCHEME.match(raw)
    scheme = scheme_match.group(1).lower() if scheme_match else None
    if scheme is not None and scheme not in METHODS:
        raise Stage1Error(
            f"{scheme}:// is not a stage-2 method; use one of {', '.join(METHODS)} "
            "(the download methods a device knows)"
        )
    if scheme is not None and method is not None and method != scheme:
        raise Stage1Error(f"the URL says {scheme} but the method given is {method}")
    parts = urlsplit(raw if scheme else f"//{raw}")
    if parts.password is not None:
        raise Stage1Error(
            "the server URL holds a password; leave it out and store it with "
            "'algodesk profile set-password' (it goes to the keyring, never to a file)"
        )
    if parts.query or parts.fragment or "?" in raw or "#" in raw:
        raise Stage1Error("a server URL cannot have a query or fragment ('?', '#')")
    url_user = unquote(parts.username) if parts.username is not None else ""
    if url_user and user and url_user != user:
        raise Stage1Error(f"the URL names user {url_user!r} but the user given is {user!r}")
    host = parts.netloc.rpartition("@")[2]
    try:
        return ServerTarget(
            method=check_method(scheme or method or DEFAULT_METHOD),
            host=check_host(host),
            cfgpath=check_path(unquote(parts.path).strip("/"), "config path"),
            user=check_user(url_user or user or ""),
        )
    except ProfileError as error:
        raise Stage1Error(str(error)) from None


def check_password(password: str) -> None:
    """Refuse a password a config line cannot carry; the error never shows the password."""
    if any(ord(char) < 32 or ord(char) == 127 for char in password):
        raise Stage1Error("the password holds a line break or control character (not shown)")
    if password != password.strip(" \t"):
        # A config parser drops spaces around a value, so the device would get another password.
        raise Stage1Error("the password starts or ends with a space (not shown)")


def provisioning_values(profile: BenchProfile, password: str) -> dict[str, str]:
    """The provisioning keys a stage-1 config sets for ``profile``, in byte order."""
    values = {
        "prov.use": "1",
        "prov.server.method": "static",
        "prov.server.static": profile.host,
        "prov.download.method": profile.method,
        "prov.download.cfgpath": profile.cfgpath,
        "prov.download.fwpath": profile.firmware_path,
        "prov.download.cert": "1" if profile.validate_cert else "0",
        "prov.auth.user": profile.user,
        "prov.auth.pwd": password,
        **dict(profile.extras),
    }
    return {key: values[key] for key in sorted(values, key=lambda k: k.encode())}


@dataclass(frozen=True, slots=True)
class Stage1:
    """A built stage-1 config and what a person should know about it.

    The document holds the password in clear, so it is kept out of ``repr``.
    """

    document: ConfigDocument = field(repr=False)
    products: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    def to_bytes(self) -> bytes:
        """The config file's bytes (password in clear)."""
        return self.document.to_bytes()

    def preview(self) -> str:
        """The config as text with every secret masked."""
        return preview(self.document)

    def files(self, *, md5sum_style: bool = False, conf_md5: bool = False) -> dict[str, bytes]:
        """``algop<P>.conf`` and its ``.md5`` for every product (``.conf.md5`` too if asked)."""
        return generic_files(self.to_bytes(), self.products, md5sum_style, conf_md5)


def build_stage1(
    profile: BenchProfile, password: str = "", base: ConfigDocument | None = None
) -> Stage1:
    """Build the stage-1 config of ``profile``: minimal, or ``base`` with provisioning keys set.

    With ``profile.any_product`` the file is named for every product in the product table.
    """
    check_password(password)
    values = provisioning_values(profile, password)
    if base is None:
        document = ConfigDocument([Line.parse(f"{k} = {v}", "\n") for k, v in values.items()])
    else:
        document = base.copy()
        for key, value in values.items():
            document.set(key, value)
    products = tuple(names.PRODUCTS) if profile.any_product else profile.products
    warnings = _warnings(profile, password, base)
    return Stage1(document, products, tuple(warnings))


def generic_files(
    content: bytes, products: tuple[str, ...], md5sum_style: bool = False, conf_md5: bool = False
) -> dict[str, bytes]:
    """``content`` under each product's generic name, each with its md5 file(s)."""
    files: dict[str, bytes] = {}
    for product in products:
        files.update(with_md5(names.generic_name(product), content, md5sum_style, conf_md5))
    return files


def with_md5(
    name: str, content: bytes, md5sum_style: bool = False, conf_md5: bool = False
) -> dict[str, bytes]:
    """``name`` -> ``content`` plus its md5 file (``X.md5``; with ``conf_md5`` also ``X.conf.md5``)."""
    digest = md5.format_md5(md5.md5_hex(content), name, md5sum_style=md5sum_style)
    files = {name: content, md5.md5_name(name): digest}
    if conf_md5:
        # Some firmware asks for X.conf.md5 (domain.md §3): answer both spellings.
        files[f"{name}.md5"] = digest
    return files


def preview(document: ConfigDocument) -> str:
    """``document`` as text with every secret value masked (for screens and logs)."""
    out: list[str] = []
    for line in document.lines:
        if line.kind is LineKind.PARAM and line.value and catalog.is_secret(line.key):
            out.append(line.with_value(catalog.mask(line.value)).to_text())
        else:
            out.append(line.to_text())
    return "".join(out)


def _warnings(profile: BenchProfile, password: str, base: ConfigDocument | None) -> list[str]:
    warnings: list[str] = []
    unknown = [p for p in profile.products if not names.is_known_product(p)]
    if unknown:
        warnings.append(
            f"unknown product ID(s) {', '.join(unknown)}: no known device requests them"
        )
    if password and profile.method in _CLEAR_METHODS:
        warnings.append(
            f"{profile.method.upper()} carries the user name and password in clear on every boot"
        )
    if profile.method == "tftp" and (password or profile.user):
        warnings.append("TFTP takes no user name or password (guide §2): devices do not send them")
    elif password and not profile.user:
        warnings.append("a password is set but no user name")
    for key, value in profile.extras:
        problem = catalog.validate(key, value)
        if problem:
            warnings.append(f"{key}: {problem}")
        if base is None and not key.startswith(_STAGE1_EXTRA_PREFIXES):
            warnings.append(f"{key} is not a provisioning key: every device gets it in stage 1")
    if base is not None:
        secrets = sorted(
            {
                line.key
                for line in base.params()
                if line.value and catalog.is_secret(line.key) and line.key != "prov.auth.pwd"
            }
        )
        if secrets:
            warnings.append(
                f"the base file holds secrets ({', '.join(secrets)}): every device gets them"
            )
    return warnings
