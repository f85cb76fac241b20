"""Hostile-input probes: each engine probe runs in both engine modes, pinned explicitly."""

from __future__ import annotations

import dataclasses

import pytest

from algodesk.services.tftp import TftpSettings
from tests.tftp_helpers import FAST


@pytest.fixture(params=[1, 2], ids=["one-engine", "two-workers"])
def engine_settings(request: pytest.FixtureRequest) -> TftpSettings:
    """Fast timers, with one engine thread (workers=1) or two worker processes (workers=2)."""
    return dataclasses.replace(FAST, workers=request.param)
