"""The permanent server as a device finds it in its stage-1 config, and the client it uses."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from algodesk.core import device
from algodesk.services.preflight.ftp_fetcher import FtpFetcher
from algodesk.services.preflight.http_fetcher import HttpFetcher
from algodesk.services.preflight.tftp_fetcher import TftpFetcher
from algodesk.services.preflight.tls import device_context

DEFAULT_PORTS = {"tftp": 69, "ftp": 21, "http": 80, "https": 443}


class ServerFetcher(Protocol):
    """One protocol's client, as a device uses it."""

    detail: str

    def fetch(self, path: str) -> bytes | None:
        """The file at ``path`` or None when the server has none; ServerFailure otherwise."""
        ...

    def probe(self, path: str) -> int | None:
        """The size of the file at ``path`` without downloading it, or None."""
        ...

    def abort(self) -> None:
        """Break off a request in progress (from another thread)."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@dataclass(frozen=True, slots=True)
class StageTwoServer:
    """Where a device goes after stage 1, read from the stage-1 config it applied.

    ``root`` is a path in the static address itself (``host/files``); the config and firmware
    paths are the simulator's to follow (they change with the config in force).
    """

    method: str
    host: str
    port: int
    root: str
    user: str
    validate_cert: bool

    @property
    def where(self) -> str:
        """``https://prov.acme.example:443`` (never a password)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.method}://{host}:{self.port}"


def stage_two_server(values: Mapping[str, str]) -> StageTwoServer:
    """The server a stage-1 config sends the device to; ValueError when it names none."""
    if device.effective(values, "prov.server.method") != "static":
        raise ValueError("the stage-1 config does not name a static server (prov.server.method)")
    static = device.effective(values, "prov.server.static")
    method = device.effective(values, "prov.download.method") or "tftp"
    if "://" in static:
        scheme = static.split("://", 1)[0].lower()
        if scheme in DEFAULT_PORTS:
            method = scheme
    parts = urlsplit(static if "://" in static else f"//{static}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(f"not a server address: {device.mask_credentials(static)}") from None
    if not host:
        raise ValueError("the stage-1 config names no server (prov.server.static is empty)")
    if method not in DEFAULT_PORTS:
        raise ValueError(f"unknown download method {method!r}")
    return StageTwoServer(
        method=method,
        host=host,
        port=port or DEFAULT_PORTS[method],
        root=parts.path.strip("/"),
        user=values.get("prov.auth.user", "").strip(),
        validate_cert=values.get("prov.download.cert", "").strip() == "1",
    )


def make_fetcher(
    server: StageTwoServer,
    password: str,
    *,
    timeout: float,
    ca_file: str,
    cancel: threading.Event,
) -> ServerFetcher:
    """The client a device uses for ``server``'s protocol."""
    if server.method == "ftp":
        return FtpFetcher(
            server.host, server.port, user=server.user, password=password, timeout=timeout
        )
    if server.method in ("http", "https"):
        context = (
            device_context(ca_file or None, validate=server.validate_cert)
            if server.method == "https"
            else None
        )
        return HttpFetcher(
            server.host,
            server.port,
            context=context,
            user=server.user,
            password=password,
            timeout=timeout,
        )
    return TftpFetcher(server.host, server.port, timeout=timeout, cancel=cancel)
