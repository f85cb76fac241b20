"""Sub-commands of the ``algodesk`` command line, one module per group."""

from __future__ import annotations

import json
import sys
from typing import Any


class CommandError(Exception):
    """Bad input a person can fix; printed as one line, exit code 2, nothing written."""


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON on standard output."""
    json.dump(value, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
