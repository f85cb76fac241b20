"""What the bench DHCP server hands out, checked once so the server can trust it."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from algodesk.core import dhcp_packet as dp
from algodesk.core.dhcp_packet import Option
from algodesk.core.names import MacError, normalize_mac

DEFAULT_LEASE_SECONDS = 3600
MIN_LEASE_SECONDS = 60


class DhcpSettingsError(ValueError):
    """Settings that cannot work (a pool outside the subnet, a bad address, ...)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DhcpSettings:
    """The bench DHCP server's settings.

    ``server_address`` is the bench interface's own address: the server identifier, and what
    options 66/150/160 name unless given a value. Options 66 (host or URL), 160 (host or URL)
    and 150 (IPv4 list) are each switchable. ``reservations`` maps a MAC (any spelling) to an
    address inside the subnet. ``algo_only`` serves MACs in 00:22:EE only; ``ping_check``
    pings an address before offering it; ``detect_other_servers`` sends a DISCOVER at start.
    """

    server_address: str
    pool_start: str
    pool_size: int
    subnet_mask: str = "255.255.255.0"
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    router: str = ""
    dns: tuple[str, ...] = ()
    option66: bool = True
    option66_value: str = ""
    option160: bool = False
    option160_value: str = ""
    option150: bool = False
    option150_addresses: tuple[str, ...] = ()
    reservations: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    algo_only: bool = True
    ping_check: bool = True
    detect_other_servers: bool = True
    interface: str = ""

    def __post_init__(self) -> None:
        server = _ip(self.server_address, "server address")
        network = self.network
        if server not in network:
            raise DhcpSettingsError(f"server address {server} is not inside {network}")
        start = _ip(self.pool_start, "pool start")
        if self.pool_size < 1:
            raise DhcpSettingsError("the pool needs at least one address")
        last = int(start) + self.pool_size - 1
        if start not in network or last >= int(network.broadcast_address):
            raise DhcpSettingsError(
                f"pool {start} + {self.pool_size} does not fit inside {network} "
                "(network and broadcast addresses excluded)"
            )
        if start == network.network_address:
            raise DhcpSettingsError(f"the pool cannot start at the network address {start}")
        if self.lease_seconds < MIN_LEASE_SECONDS:
            raise DhcpSettingsError(f"lease time must be at least {MIN_LEASE_SECONDS} s")
        for address in (self.router, *self.dns, *self.option150_addresses):
            if address:
                _ip(address, "address")
        if self.option66 and self.option66_value and not self.option66_value.isascii():
            raise DhcpSettingsError("option 66 must be ASCII")
        if self.option160 and self.option160_value and not self.option160_value.isascii():
            raise DhcpSettingsError("option 160 must be ASCII")
        reservations: dict[str, str] = {}
        for mac, address in self.reservations.items():
            try:
                bare = normalize_mac(mac)
            except MacError as error:
                raise DhcpSettingsError(str(error)) from None
            ip = _ip(address, f"reservation for {mac}")
            if ip not in network or ip in (server, network.broadcast_address):
                raise DhcpSettingsError(f"reservation {ip} for {mac} is not usable in {network}")
            if str(ip) in reservations.values():
                raise DhcpSettingsError(f"{ip} is reserved twice")
            reservations[bare] = str(ip)
        object.__setattr__(self, "reservations", MappingProxyType(reservations))

    @property
    def network(self) -> ipaddress.IPv4Network:
        """The bench subnet."""
        try:
            return ipaddress.IPv4Network(f"{self.server_address}/{self.subnet_mask}", strict=False)
        except ValueError as error:
            raise DhcpSettingsError(f"bad subnet mask {self.subnet_mask!r}: {error}") from None

    def pool(self) -> list[str]:
        """Every pool address in order."""
        start = int(ipaddress.IPv4Address(self.pool_start))
        return [str(ipaddress.IPv4Address(start + i)) for i in range(self.pool_size)]

    def in_pool(self, address: str) -> bool:
        """Whether ``address`` lies in the pool."""
        try:
            value = int(ipaddress.IPv4Address(address))
        except ValueError:
            return False
        start = int(ipaddress.IPv4Address(self.pool_start))
        return start <= value < start + self.pool_size

    def provisioning_options(self) -> list[tuple[int, bytes]]:
        """Options 66, 160 and 150 as switched on (domain.md §2: the device uses 66 first)."""
        options: list[tuple[int, bytes]] = []
        if self.option66:
            value = self.option66_value or self.server_address
            options.append((Option.TFTP_SERVER_NAME, dp.text_value(value)))
        if self.option160:
            value = self.option160_value or self.server_address
            options.append((Option.PROVISIONING_SERVER, dp.text_value(value)))
        if self.option150:
            addresses = self.option150_addresses or (self.server_address,)
            options.append((Option.TFTP_SERVER_ADDRESSES, dp.ip_list_value(addresses)))
        return options

    def option_warnings(self) -> list[str]:
        """What a technician should know about the provisioning options offered."""
        warning = shadowed_options(self.option66, self.option160, self.option150)
        return [warning] if warning else []

    def lease_options(self) -> list[tuple[int, bytes]]:
        """What every OFFER and ACK carries besides the server identifier."""
        options = [
            (Option.LEASE_TIME, dp.u32_value(self.lease_seconds)),
            (Option.RENEWAL_TIME, dp.u32_value(self.lease_seconds // 2)),
            (Option.REBINDING_TIME, dp.u32_value(self.lease_seconds * 7 // 8)),
            *self.network_options(),
        ]
        return options

    def network_options(self) -> list[tuple[int, bytes]]:
        """Subnet mask, router, DNS and the provisioning options (also the INFORM answer)."""
        options: list[tuple[int, bytes]] = [
            (Option.SUBNET_MASK, dp.ip_value(str(self.network.netmask)))
        ]
        if self.router:
            options.append((Option.ROUTER, dp.ip_value(self.router)))
        if self.dns:
            options.append((Option.DNS, dp.ip_list_value(self.dns)))
        return options + self.provisioning_options()


def parse_pool(text: str) -> tuple[str, int]:
    """``10.99.0.10-10.99.0.50`` or ``10.99.0.10-50`` -> ``("10.99.0.10", 41)``."""
    first_text, dash, last_text = text.strip().partition("-")
    if not dash:
        raise DhcpSettingsError(f"a pool is FIRST-LAST, e.g. 10.99.0.10-10.99.0.50, not {text!r}")
    first = _ip(first_text.strip(), "pool start")
    last_text = last_text.strip()
    if last_text.isdigit() and int(last_text) <= 255:
        last_text = str(first).rsplit(".", 1)[0] + "." + last_text
    last = _ip(last_text, "pool end")
    if last < first:
        raise DhcpSettingsError(f"pool end {last} comes before its start {first}")
    return str(first), int(last) - int(first) + 1


def _ip(text: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise DhcpSettingsError(f"{what} {text!r} is not an IPv4 address") from None


def shadowed_options(option66: bool, option160: bool, option150: bool) -> str:
    """A warning when an offer carries options a device will not use ("" when none).

    A device uses only the highest-priority provisioning option in the offer (66, then 160,
    then 150; guide §4.1), even when that server has no files.
    """
    offered = [number for number, on in ((66, option66), (160, option160), (150, option150)) if on]
    if len(offered) < 2:
        return ""
    used, *unused = offered
    never = " and ".join(map(str, unused))
    return (
        f"option {used} is offered with option {never}: devices use option {used} only "
        f"(guide §4.1), so {never} will not be used"
    )
