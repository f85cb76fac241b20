"""The bench TFTP engine: a read-only server for provisioning files (see ``server``)."""

from __future__ import annotations

from algodesk.services.tftp.server import TftpServer, TftpStats
from algodesk.services.tftp.settings import TftpSettings

__all__ = ["TftpServer", "TftpSettings", "TftpStats"]
