"""Shared test set-up: offscreen Qt, sample files, and a guard against leaked threads."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from hypothesis import settings as hypothesis_settings
from zeroconf import Zeroconf

from algodesk.services.tftp import TftpSettings
from tests.loopback_peers import algo_page, loopback_zeroconf
from tests.memory_keyring import MemoryKeyring
from tests.tftp_helpers import FAST

# Property tests are CPU-bound: on a shared or busy machine a wall-clock deadline fails them for
# the machine's load, not for the code. Every example still runs; only the timer is off.
# The suite must give the same verdict on every run, so the examples are derived from each
# test, not drawn at random (a random draw once found a masked option in 1 of 5 runs). To
# search wider, run `HYPOTHESIS_PROFILE=explore uv run pytest tests/...` now and then.
hypothesis_settings.register_profile("algodesk", deadline=None, derandomize=True)
hypothesis_settings.register_profile("explore", deadline=None, max_examples=2000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "algodesk"))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

DATA = Path(__file__).parent / "data"
SAMPLES = sorted(DATA.glob("*.conf"))


@pytest.fixture
def data_dir() -> Path:
    """The folder of sample files (read-only: copy before editing)."""
    return DATA


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty algodesk home (config, data, logs) for every test: what a test runs (``serve``
    keeps history, DHCP keeps leases, in subprocesses too) never touches the user's folders."""
    monkeypatch.setenv("ALGODESK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """keyring's global backend replaced by an in-memory one for the test."""
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def rival_zeroconf() -> Iterator[Zeroconf]:
    """Another zeroconf participant on loopback (another bench, a device, a rival server)."""
    with loopback_zeroconf() as zc:
        yield zc


@pytest.fixture
def device_page() -> Iterator[int]:
    """The port of an Algo-like web page on loopback, for model probes."""
    with algo_page() as port:
        yield port


@pytest.fixture(params=[1, 2], ids=["one-engine", "two-workers"])
def engine_settings(request: pytest.FixtureRequest) -> TftpSettings:
    """Fast TFTP timers, with one engine thread (workers=1) or two worker processes (workers=2).

    Pinned, never the machine's CPU count: the probes in tests/hostile/ run in both modes.
    """
    return dataclasses.replace(FAST, workers=request.param)


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
