"""Is an address already in use? An ICMP echo through the system's ``ping``.

Raw sockets (ARP, ICMP) need privileges a desktop app rarely has, while the system ``ping`` is
allowed to send echoes almost everywhere. One echo, one second: a host that answers is using the
address. Where no ``ping`` works (checked against loopback once), the check is off and the caller
says so. ``Pinger`` runs several pings at once without a thread: the DHCP server polls it from its
own loop, so a bench of devices powering up together is checked in parallel.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys

# A windowed Windows app would flash a console window for every ping without this.
_NO_CONSOLE = getattr(subprocess, "CREATE_NO_WINDOW", 0)
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
            creationflags=_NO_CONSOLE,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return completed.returncode == 0


def ping_works() -> bool:
    """Whether pinging works here at all (loopback answers)."""
    return answers("127.0.0.1")


class Pinger:
    """Pings in flight, each a ``ping`` process this object started and alone may end."""

    def __init__(self) -> None:
        self._running: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def pending(self) -> bool:
        """Whether a ping is still running."""
        return bool(self._running)

    def start(self, address: str) -> bool:
        """Start pinging ``address`` (False when no ping can be started)."""
        command = ping_command(address)
        if command is None:
            return False
        try:
            self._running[address] = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                creationflags=_NO_CONSOLE,
            )
        except OSError:
            return False
        return True

    def finished(self) -> list[tuple[str, bool]]:
        """Pings that ended since the last call, as (address, answered)."""
        done = []
        for address, process in list(self._running.items()):
            code = process.poll()
            if code is not None:
                del self._running[address]
                done.append((address, code == 0))
        return done

    def cancel(self) -> None:
        """End every ping still running."""
        for process in self._running.values():
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1.0)
        self._running.clear()
