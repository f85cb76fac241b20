"""The bench network: DHCP, syslog, zeroconf discovery, check-sync."""
