"""Is an address already in use? An ICMP echo through the system's ``ping``.

Raw sockets (ARP, ICMP) need privileges a desktop app rarely has, while the system ``ping`` is
allowed to send echoes almost everywhere. One echo, one second: a host that answers is using the
address. Where no ``ping`` works (checked against loopback once), the check is off and the caller
says so.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable

_TIMEOUT = 3.0


def ping_command(address: str, platform: str | None = None) -> list[str] | None:
    """The command that sends one echo to ``address`` and waits at most a second, or None."""
    platform = platform or sys.platform
    ping = shutil.which("ping")
    if platform.startswith("win"):
        return [ping, "-n", "1", "-w", "1000", address] if ping else None
    if platform == "darwin" or "bsd" in platform:
        return [ping, "-c", "1", "-t", "1", "-q", address] if ping else None
    if ping:
        return [ping, "-c", "1", "-W", "1", "-q", address]
    busybox = shutil.which("busybox")
    return [busybox, "ping", "-c", "1", "-W", "1", "-q", address] if busybox else None


def answers(address: str) -> bool:
    """Whether a host answers an echo on ``address`` (False when it cannot be checked)."""
    command = ping_command(address)
    if command is None:
        return False
    try:
        completed = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return completed.returncode == 0


def pinger() -> Callable[[str], bool] | None:
    """``answers`` if pinging works here (loopback answers), else None."""
    return answers if answers("127.0.0.1") else None
