"""The saved DHCP choices turned into the server's settings for the bench address in use.

No Qt here: the dialog and the panel both call :func:`dhcp_settings`, and the server's own
``DhcpSettings`` does the checking (a bad pool or address raises ``DhcpSettingsError``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from algodesk.core.masking import mask_secrets
from algodesk.services.dhcp import DhcpSettings, DhcpSettingsError
from algodesk.services.settings import Settings

_AUTO_START = 100
_LOW_START = 10


def default_pool_start(server_address: str, subnet_mask: str, size: int) -> str:
    """A pool start on the bench subnet that keeps clear of the bench's own address.

    ``.100`` upwards, or ``.10`` upwards when the bench itself sits in that range; the start of
    the subnet for networks too small for either.
    """
    try:
        network = ipaddress.IPv4Network(f"{server_address}/{subnet_mask}", strict=False)
        server = ipaddress.IPv4Address(server_address)
    except ValueError as error:
        raise DhcpSettingsError(f"bad bench address or mask: {error}") from None
    base = int(network.network_address)
    last_usable = int(network.broadcast_address) - 1
    for offset in (_AUTO_START, _LOW_START):
        first = base + offset
        if first + size - 1 <= last_usable and not first <= int(server) < first + size:
            return str(ipaddress.IPv4Address(first))
    return str(ipaddress.IPv4Address(base + 1))


def parse_reservations(lines: Iterable[str]) -> dict[str, str]:
    """``["00:22:EE:01:02:03=10.0.0.50", ...]`` -> ``{MAC: IP}`` (checked by the server)."""
    found: dict[str, str] = {}
    for line in lines:
        mac, equals, ip = line.partition("=")
        if not equals or not mac.strip() or not ip.strip():
            raise DhcpSettingsError(f"a reservation is MAC=IP, not {line!r}")
        found[mac.strip()] = ip.strip()
    return found


def check_no_password(settings: Settings) -> None:
    """Refuse an option 66/160 value with a password in it (DhcpSettingsError).

    Every DHCP client on the segment reads the options in clear, and the settings file never
    holds a secret.
    """
    for option, value in (
        ("66", settings.dhcp_option66_value),
        ("160", settings.dhcp_option160_value),
    ):
        if mask_secrets(value) != value:
            raise DhcpSettingsError(
                f"option {option} holds a password: name the server without it and give the "
                "credentials in the stage-1 config (kept in the keyring)"
            )


def dhcp_settings(settings: Settings, server_address: str) -> DhcpSettings:
    """The server settings for ``server_address`` (the bench interface's own address).

    Raises:
        DhcpSettingsError: the saved choices do not work on this address's subnet.
    """
    if server_address in ("", "0.0.0.0"):
        raise DhcpSettingsError(
            "the bench DHCP server answers on one interface: choose it under 'Listen on'"
        )
    check_no_password(settings)
    size = settings.dhcp_pool_size
    start = settings.dhcp_pool_start or default_pool_start(
        server_address, settings.dhcp_subnet_mask, size
    )
    return DhcpSettings(
        server_address=server_address,
        pool_start=start,
        pool_size=size,
        subnet_mask=settings.dhcp_subnet_mask,
        lease_seconds=settings.dhcp_lease_minutes * 60,
        router=settings.dhcp_router,
        dns=tuple(settings.dhcp_dns),
        option66=settings.dhcp_option66,
        option66_value=settings.dhcp_option66_value,
        option160=settings.dhcp_option160,
        option160_value=settings.dhcp_option160_value,
        option150=settings.dhcp_option150,
        option150_addresses=tuple(settings.dhcp_option150_addresses),
        reservations=parse_reservations(settings.dhcp_reservations),
        algo_only=settings.dhcp_algo_only,
    )


def describe(dhcp: DhcpSettings) -> str:
    """One line for the panel: pool, lease time and the provisioning options sent."""
    last = dhcp.pool()[-1]
    options = []
    if dhcp.option66:
        options.append(f"66 = {dhcp.option66_value or dhcp.server_address}")
    if dhcp.option160:
        options.append(f"160 = {dhcp.option160_value or dhcp.server_address}")
    if dhcp.option150:
        options.append(f"150 = {', '.join(dhcp.option150_addresses or (dhcp.server_address,))}")
    sent = f"option {'; '.join(options)}" if options else "no provisioning option"
    who = "Algo devices only" if dhcp.algo_only else "every client"
    return f"pool {dhcp.pool_start} – {last}, {dhcp.lease_seconds // 60} min leases, {who}; {sent}"
