"""ServiceThread: a select loop on a named thread that stop() wakes at once."""

from __future__ import annotations

import selectors
import threading
from collections.abc import Iterator

import pytest

from algodesk.services.service_thread import ServiceThread


@pytest.fixture
def loop() -> Iterator[ServiceThread]:
    thread = ServiceThread("algodesk-test-loop")
    try:
        yield thread
    finally:
        thread.stop()


def test_stop_wakes_a_loop_blocked_in_select(loop: ServiceThread) -> None:
    entered, names = threading.Event(), []

    def run() -> None:
        names.append(threading.current_thread().name)
        with selectors.DefaultSelector() as selector:
            selector.register(loop.wake, selectors.EVENT_READ)
            entered.set()
            while not loop.stopping():
                selector.select()  # no timeout: only the wake-up ends it

    loop.start(run)
    assert entered.wait(10)
    assert loop.started and loop.running and not loop.stopping()
    assert loop.stop() is True
    assert names == ["algodesk-test-loop"]
    assert not loop.started and not loop.running
    assert loop.stop() is False  # a second stop has nothing to do


def test_start_twice_is_refused_and_a_stopped_loop_restarts(loop: ServiceThread) -> None:
    rounds = []
    loop.start(lambda: rounds.append(1))
    with pytest.raises(RuntimeError, match="already running"):
        loop.start(lambda: None)
    loop.stop()
    loop.start(lambda: rounds.append(2))
    loop.stop()
    assert rounds == [1, 2]
