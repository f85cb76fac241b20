"""TFTP the way a device fetches: our client, one transfer per file."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from algodesk.core.preflight import Failure, ServerFailure
from algodesk.services.tftp_client import Cancelled, TftpError, tftp_fetcher, tftp_prober

_T = TypeVar("_T")


class TftpFetcher:
    """Files from one TFTP server (no login: TFTP has none)."""

    def __init__(self, host: str, port: int, *, timeout: float, cancel: threading.Event) -> None:
        self.host, self.port = host, port
        self.timeout = timeout
        self.detail = ""
        try:
            # A short per-packet wait with retries, as a device: the whole stays near ``timeout``.
            wait = max(timeout / 4, 0.2)
            self._fetch = tftp_fetcher(host, port, timeout=wait, retries=3, cancel=cancel)
            self._probe = tftp_prober(host, port, timeout=wait, retries=3, cancel=cancel)
        except TftpError:
            raise ServerFailure(Failure.DNS, f"{host} does not resolve") from None

    def __repr__(self) -> str:
        return f"<TftpFetcher tftp://{self.host}:{self.port}>"

    def fetch(self, path: str) -> bytes | None:
        """The file ``path``, or None when the server says it has none."""
        data = self._ask(self._fetch, path)
        self.detail = "TFTP" if data is not None else "TFTP error 1 (not found)"
        return data

    def probe(self, path: str) -> int | None:
        """The size the server announces (``tsize``), the transfer then ended; or None."""
        size = self._ask(self._probe, path)
        self.detail = "TFTP tsize" if size is not None else "TFTP error 1 (not found)"
        return size

    def _ask(self, ask: Callable[[str], _T], path: str) -> _T:
        try:
            return ask(path)
        except Cancelled:
            raise ServerFailure(Failure.CANCELLED, "cancelled") from None
        except TftpError as error:
            raise self._failure(error) from None

    def abort(self) -> None:
        """The cancel event given at construction stops a transfer within a poll."""

    def close(self) -> None:
        """Nothing stays open between transfers."""

    def _failure(self, error: TftpError) -> ServerFailure:
        where = f"{self.host}:{self.port}"
        if error.code is not None:
            return ServerFailure(Failure.SERVER_ERROR, f"TFTP {where}: {error}")
        if "nothing listens on" in str(error):  # the system reported port unreachable
            return ServerFailure(Failure.REFUSED, f"{where} refused TFTP (no server there?)")
        return ServerFailure(Failure.TIMEOUT, f"no TFTP answer from {where}: {error}")
