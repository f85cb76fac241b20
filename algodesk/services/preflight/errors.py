"""Network failures in words a technician acts on: each its own verdict."""

from __future__ import annotations

import socket

from algodesk.core.preflight import Failure, ServerFailure


def network_failure(error: OSError, where: str, timeout: float) -> ServerFailure:
    """The verdict for a connection that could not be made or broke off.

    Messages are built here, never copied from the error, so nothing a library put in one
    (a URL with credentials, say) reaches the output.
    """
    if isinstance(error, socket.gaierror):
        host = where.rsplit(":", 1)[0]
        return ServerFailure(Failure.DNS, f"{host} does not resolve (DNS: {error.strerror})")
    if isinstance(error, TimeoutError | socket.timeout):
        return ServerFailure(Failure.TIMEOUT, f"no answer from {where} within {timeout:g} s")
    if isinstance(error, ConnectionRefusedError):
        return ServerFailure(
            Failure.REFUSED, f"{where} refused the connection (nothing listens there?)"
        )
    if isinstance(error, ConnectionResetError | BrokenPipeError):
        return ServerFailure(Failure.SERVER_ERROR, f"{where} closed the connection")
    reason = error.strerror or type(error).__name__
    return ServerFailure(Failure.SERVER_ERROR, f"cannot talk to {where} ({reason})")
