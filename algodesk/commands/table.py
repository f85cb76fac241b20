"""The table of sub-commands: the modules that register them, and registering them all.

Its own module so that ``cli`` (the front door) and ``selftest`` (which checks that a bundle
holds every module loaded by name) both read it without importing each other.
"""

from __future__ import annotations

import importlib
from typing import Any

# Each module registers its sub-commands with ``register(subparsers)``.
COMMAND_MODULES = (
    "algodesk.commands.edit",
    "algodesk.commands.check",
    "algodesk.commands.simulate",
    "algodesk.commands.serve",
    "algodesk.commands.notify",
    "algodesk.commands.profile",
    "algodesk.commands.preflight",
    "algodesk.commands.history",
    "algodesk.commands.tftp_worker",
)


def register_all(subparsers: Any) -> None:
    """Import every command module and let it add its sub-commands to ``subparsers``."""
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
