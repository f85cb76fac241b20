"""Shared test set-up: offscreen Qt, sample files, and a guard against leaked threads."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA = Path(__file__).parent / "data"
SAMPLES = sorted(DATA.glob("*.conf"))


@pytest.fixture
def data_dir() -> Path:
    """The folder of sample files (read-only: copy before editing)."""
    return DATA


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves an algodesk thread running."""
    before = set(threading.enumerate())
    yield
    leaked = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and t.name.startswith("algodesk-")
    ]
    for thread in leaked:
        thread.join(timeout=1.0)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads left running: {still}"
