"""Errors a service raises when it cannot start, with remedies a person can act on.

The TFTP engine uses them today; the DHCP and syslog services bind UDP ports the same way, so the
codes and remedies are written for any service and port.
"""

from __future__ import annotations

import errno
import re
import socket
import sys

from algodesk.core.events import ServerFailed

PORT_IN_USE = "port-in-use"
PERMISSION_DENIED = "permission-denied"
BAD_ADDRESS = "bad-address"
BIND_FAILED = "bind-failed"

_PRIVILEGED_BELOW = 1024
# Windows reports these instead of the POSIX numbers.
_WSAEACCES = 10013
_WSAEADDRINUSE = 10048
_WSAEADDRNOTAVAIL = 10049


class ServerStartError(Exception):
    """A service could not bind its socket.

    ``code`` is stable (one of the module's codes) for programs; ``message`` and ``remedies``
    are for people and already name the address and port.
    """

    def __init__(
        self,
        code: str,
        message: str,
        remedies: tuple[str, ...] = (),
        *,
        address: str = "",
        port: int = 0,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.remedies = remedies
        self.address = address
        self.port = port

    def __str__(self) -> str:
        return self.message

    def failed_event(self, service: str) -> ServerFailed:
        """The ``ServerFailed`` event that reports this failure of ``service``."""
        return ServerFailed(
            service=service,
            address=self.address,
            port=self.port,
            code=self.code,
            message=self.message,
            remedies=self.remedies,
        )


def bind_error(
    error: OSError,
    *,
    service: str,
    address: str,
    port: int,
    platform: str | None = None,
) -> ServerStartError:
    """Turn the ``OSError`` a bind raised into a ``ServerStartError`` with remedies."""
    platform = platform or sys.platform
    where = f"{address or '0.0.0.0'}:{port}"
    number = error.errno
    if isinstance(error, socket.gaierror) or number in (errno.EADDRNOTAVAIL, _WSAEADDRNOTAVAIL):
        return ServerStartError(
            BAD_ADDRESS,
            f"{service}: cannot bind {where}: {address!r} is not an address of this computer",
            bad_address_remedies(),
            address=address,
            port=port,
        )
    if number in (errno.EADDRINUSE, _WSAEADDRINUSE):
        return ServerStartError(
            PORT_IN_USE,
            f"{service}: UDP port {port} on {address or 'all addresses'} is already in use "
            "by another program",
            port_in_use_remedies(port, platform),
            address=address,
            port=port,
        )
    if isinstance(error, PermissionError) or number in (errno.EACCES, errno.EPERM, _WSAEACCES):
        return ServerStartError(
            PERMISSION_DENIED,
            f"{service}: not allowed to bind UDP port {port} on {address or 'all addresses'}",
            permission_remedies(port, platform),
            address=address,
            port=port,
        )
    return ServerStartError(
        BIND_FAILED,
        f"{service}: cannot bind {where}: {error.strerror or error}",
        (),
        address=address,
        port=port,
    )


_PORT_FLAG = re.compile(r"(?:run on|choose) another port with --port")
_BIND_FLAG = re.compile(r"use --bind 0\.0\.0\.0")


def window_remedies(
    remedies: tuple[str, ...], *, port_box: str, address_box: str
) -> tuple[str, ...]:
    """``remedies`` worded for the window: its boxes where the command line has flags.

    The remedies are written once, for the command line (``serve --port``); the window names
    the control that does the same instead (``port_box``, ``address_box``).
    """
    worded = []
    for remedy in remedies:
        remedy = _PORT_FLAG.sub(f"choose another port in {port_box}", remedy)
        worded.append(_BIND_FLAG.sub(f"choose All interfaces in {address_box}", remedy))
    return tuple(worded)


def bad_address_remedies() -> tuple[str, ...]:
    """What to do when the chosen address does not belong to this computer."""
    return (
        "Choose an address of a network interface that is up (or 0.0.0.0 for all of them).",
        "If the bench adapter was just plugged in, wait until it has its address and retry.",
    )


def port_in_use_remedies(port: int, platform: str) -> tuple[str, ...]:
    """How to find and stop the program holding ``port`` on ``platform``."""
    if platform.startswith("linux"):
        return (
            f"Find the program: sudo ss -ulpn 'sport = :{port}'",
            "Stop it, e.g. sudo systemctl stop tftpd-hpa (or dnsmasq with enable-tftp).",
            "Or run on another port with --port (devices always ask port 69, so only for tests).",
        )
    if platform == "darwin":
        return (
            f"Find the program: sudo lsof -nP -iUDP:{port}",
            "The built-in TFTP server: sudo launchctl unload -w "
            "/System/Library/LaunchDaemons/tftp.plist",
            "Or run on another port with --port (devices always ask port 69, so only for tests).",
        )
    if platform.startswith("win"):
        return (
            f"Find the program: netstat -ano -p udp | findstr :{port} (last column is the PID).",
            "Stop the other TFTP server (e.g. Tftpd64, SolarWinds TFTP) or its Windows service.",
            "Or run on another port with --port (devices always ask port 69, so only for tests).",
        )
    return (f"Stop the other program using UDP port {port}, or choose another port with --port.",)


def _program_path() -> str:
    """What ``setcap`` must name: the bundle's executable, or the real Python binary."""
    if getattr(sys, "frozen", False):
        return f'"{sys.executable}"'
    return '"$(readlink -f "$(command -v python3)")"'


def permission_remedies(port: int, platform: str) -> tuple[str, ...]:
    """How to get the right to bind ``port`` on ``platform``."""
    if platform.startswith("linux"):
        remedies = [
            f"Let algodesk bind low ports: sudo setcap cap_net_bind_service=+ep {_program_path()}",
            f"Or allow unprivileged low ports: sudo sysctl net.ipv4.ip_unprivileged_port_start={port}",
            "Or run algodesk serve with privileges (sudo).",
        ]
    elif platform == "darwin":
        remedies = [
            "macOS lets ordinary users bind low ports only on all addresses: use --bind 0.0.0.0.",
            "Or run algodesk serve with privileges (sudo).",
        ]
    elif platform.startswith("win"):
        remedies = [
            "Run algodesk as administrator, or check that the port is not reserved: "
            "netsh int ipv4 show excludedportrange protocol=udp",
            'Allow it through the firewall: netsh advfirewall firewall add rule name="algodesk '
            f'TFTP" dir=in action=allow protocol=UDP localport={port}',
        ]
    else:
        remedies = ["Run algodesk serve with privileges."]
    if port >= _PRIVILEGED_BELOW:
        remedies.append(f"Or choose another port with --port (current: {port}).")
    return tuple(remedies)
