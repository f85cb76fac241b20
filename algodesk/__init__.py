"""algodesk: bench provisioning for Algo IP endpoints."""

__version__ = "0.1.0"
