"""TFTP the way a device fetches: our client, one transfer per file."""

from __future__ import annotations

import threading

from algodesk.core.preflight import Failure, ServerFailure
from algodesk.services.tftp_client import Cancelled, TftpError, tftp_fetcher


class TftpFetcher:
    """Files from one TFTP server (no login: TFTP has none)."""

    def __init__(self, host: str, port: int, *, timeout: float, cancel: threading.Event) -> None:
        self.host, self.port = host, port
        self.timeout = timeout
        self.detail = ""
        try:
            # A short per-packet wait with retries, as a device: the whole stays near ``timeout``.
            self._fetch = tftp_fetcher(
                host, port, timeout=max(timeout / 4, 0.2), retries=3, cancel=cancel
            )
        except TftpError:
            raise ServerFailure(Failure.DNS, f"{host} does not resolve") from None

    def __repr__(self) -> str:
        return f"<TftpFetcher tftp://{self.host}:{self.port}>"

    def fetch(self, path: str) -> bytes | None:
        """The file ``path``, or None when the server says it has none."""
        try:
            data = self._fetch(path)
        except Cancelled:
            raise ServerFailure(Failure.CANCELLED, "cancelled") from None
        except TftpError as error:
            raise self._failure(error) from None
        self.detail = "TFTP" if data is not None else "TFTP error 1 (not found)"
        return data

    def probe(self, path: str) -> int | None:
        """TFTP has no size query: the file is read whole (firmware over TFTP is slow anyway)."""
        data = self.fetch(path)
        return None if data is None else len(data)

    def abort(self) -> None:
        """The cancel event given at construction stops a transfer within a poll."""

    def close(self) -> None:
        """Nothing stays open between transfers."""

    def _failure(self, error: TftpError) -> ServerFailure:
        where = f"{self.host}:{self.port}"
        if error.code is not None:
            return ServerFailure(Failure.SERVER_ERROR, f"TFTP {where}: {error}")
        if "no TFTP server" in str(error):
            return ServerFailure(Failure.REFUSED, f"{where} refused TFTP (no server there?)")
        return ServerFailure(Failure.TIMEOUT, f"no TFTP answer from {where}: {error}")
