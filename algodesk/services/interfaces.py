"""The computer's network interfaces (name, IPv4, up/down) for the address picker.

Stdlib only, and never fails: on Linux ``ip -j addr`` (then ``ioctl`` if ``ip`` is missing), on
macOS and the BSDs ``ifconfig``, elsewhere the names from ``socket.if_nameindex`` and the host's
addresses. Whatever goes wrong, the loopback interface is still listed.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import struct
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

LOOPBACK = "127.0.0.1"
_TIMEOUT = 3.0
_SIOCGIFFLAGS = 0x8913
_SIOCGIFADDR = 0x8915
_IFF_UP = 0x1
_IFF_RUNNING = 0x40
_IFF_LOOPBACK = 0x8


@dataclass(frozen=True, slots=True)
class Interface:
    """One IPv4 address of one interface (an interface without IPv4 has ``ipv4 == ""``)."""

    name: str
    ipv4: str
    up: bool
    loopback: bool = False

    @property
    def label(self) -> str:
        """``eth0 — 10.0.0.1 (up)``: what the picker shows."""
        address = self.ipv4 or "no IPv4 address"
        return f"{self.name} — {address} ({'up' if self.up else 'down'})"


def list_interfaces() -> list[Interface]:
    """Every interface with its IPv4 addresses, loopback always included; never raises."""
    found: list[Interface] = []
    with contextlib.suppress(Exception):
        found = _probe()
    if not any(i.ipv4 == LOOPBACK for i in found):
        found.append(Interface("lo", LOOPBACK, True, loopback=True))
    return found


def _probe() -> list[Interface]:
    if sys.platform.startswith("linux"):
        ip = shutil.which("ip")
        if ip:
            with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
                return parse_ip_json(_run([ip, "-j", "addr"]))
        return _linux_ioctl()
    ifconfig = shutil.which("ifconfig")
    if ifconfig and sys.platform != "win32":
        return parse_ifconfig(_run([ifconfig, "-a"]))
    return _portable()


def _run(command: list[str]) -> str:
    return subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=_TIMEOUT
    ).stdout


def parse_ip_json(text: str) -> list[Interface]:
    """Interfaces from the output of ``ip -j addr``."""
    found = []
    links: Any = json.loads(text)
    for link in links if isinstance(links, list) else []:
        name = str(link.get("ifname", ""))
        flags = link.get("flags") or []
        loopback = "LOOPBACK" in flags
        up = "UP" in flags and ("LOWER_UP" in flags or link.get("operstate") == "UP")
        addresses = [
            str(a.get("local", ""))
            for a in link.get("addr_info") or []
            if a.get("family") == "inet" and a.get("local")
        ]
        for address in addresses or [""]:
            found.append(Interface(name, address, up, loopback))
    return found


_IFCONFIG_HEAD = re.compile(r"^(\S+?):? flags=\d+<([^>]*)>")
_IFCONFIG_INET = re.compile(r"^\s+inet (?:addr:)?(\d+\.\d+\.\d+\.\d+)")


def parse_ifconfig(text: str) -> list[Interface]:
    """Interfaces from the output of BSD/macOS ``ifconfig -a``."""
    found: list[Interface] = []
    name, flags, addresses = "", [""], list[str]()

    def flush() -> None:
        if name:
            up = "UP" in flags and "RUNNING" in flags
            for address in addresses or [""]:
                found.append(Interface(name, address, up, "LOOPBACK" in flags))

    for line in text.splitlines():
        if head := _IFCONFIG_HEAD.match(line):
            flush()
            name, flags, addresses = head.group(1), head.group(2).split(","), []
        elif inet := _IFCONFIG_INET.match(line):
            addresses.append(inet.group(1))
    flush()
    return found


def _linux_ioctl() -> list[Interface]:
    import fcntl  # Linux only; imported here so other platforms never need it

    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            flags = struct.unpack("H", fcntl.ioctl(probe, _SIOCGIFFLAGS, request)[16:18])[0]
            address = ""
            with contextlib.suppress(OSError):
                address = socket.inet_ntoa(fcntl.ioctl(probe, _SIOCGIFADDR, request)[20:24])
            up = bool(flags & _IFF_UP and flags & _IFF_RUNNING)
            found.append(Interface(name, address, up, bool(flags & _IFF_LOOPBACK)))
    return found


def _portable() -> list[Interface]:
    """Windows and the rest: interface names, and the host's IPv4 addresses under its name."""
    found = [Interface(name, "", True) for _index, name in socket.if_nameindex()]
    with contextlib.suppress(OSError):
        host = socket.gethostname()
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None, socket.AF_INET)}
        found.extend(Interface(host, str(a), True, str(a).startswith("127.")) for a in addresses)
    return found
