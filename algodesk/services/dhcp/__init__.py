"""The bench DHCP server: options 66/160/150 for Algo devices, and nobody else's business."""

from algodesk.services.dhcp.leases import Lease, LeaseStore
from algodesk.services.dhcp.server import CLIENT_PORT, SERVER_PORT, DhcpServer, find_bench_address
from algodesk.services.dhcp.settings import DhcpSettings, DhcpSettingsError, parse_pool

__all__ = [
    "CLIENT_PORT",
    "SERVER_PORT",
    "DhcpServer",
    "DhcpSettings",
    "DhcpSettingsError",
    "Lease",
    "LeaseStore",
    "find_bench_address",
    "parse_pool",
]
