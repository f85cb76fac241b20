"""Run the command line as a user does: a subprocess, with its exit code, stdout and stderr."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping


def run_cli(
    *args: str, env: Mapping[str, str] | None = None, umask: int = -1, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m algodesk ARGS`` (stdin closed), bounded by ``timeout`` seconds."""
    return subprocess.run(
        [sys.executable, "-m", "algodesk", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
        umask=umask,
        stdin=subprocess.DEVNULL,
    )
