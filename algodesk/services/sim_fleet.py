"""Many virtual devices booting at once against one server: a load generator and bench rehearsal.

Each device runs the simulator on its own thread, ``algodesk-sim-<n>``, with its own fetcher (a
TFTP client per device, like real devices each with their own sockets). One factory may make
every device's fetcher, or each device may have its own (to send from its own address, say). ``stop()`` sets a cancel
event that the fetchers and the step loop watch, so it returns within a poll interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from algodesk.core.simulator import DeviceState, Fetcher, SimulationResult, run

FetcherFactory = Callable[[threading.Event], Fetcher]
"""Makes one device's fetcher; the event is set when the fleet stops (fetchers may watch it)."""

_STOP_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class FleetDevice:
    """How one virtual device ended: its result, or why it has none."""

    index: int
    mac: str
    result: SimulationResult | None
    error: str | None
    seconds: float

    @property
    def steady(self) -> bool:
        """Whether the device got steady."""
        return self.result is not None and self.result.steady

    @property
    def outcome(self) -> str:
        """One line for people."""
        if self.result is not None:
            return self.result.outcome
        return self.error or "stopped"


@dataclass(frozen=True, slots=True)
class FleetTotals:
    """Sums over a fleet."""

    devices: int
    steady: int
    files: int
    bytes: int
    seconds: float


class SimFleet:
    """Boot ``states`` at once, one thread each; collect how each ended.

    ``fetcher_factory`` serves every device, or is a sequence with one factory per state.
    """

    def __init__(
        self,
        states: Sequence[DeviceState],
        fetcher_factory: FetcherFactory | Sequence[FetcherFactory],
        *,
        max_boots: int = 10,
        on_finished: Callable[[FleetDevice], None] | None = None,
    ) -> None:
        self._states = list(states)
        if callable(fetcher_factory):
            self._factories = [fetcher_factory] * len(self._states)
        else:
            self._factories = list(fetcher_factory)
            if len(self._factories) != len(self._states):
                raise ValueError("one fetcher factory per device, or one for all")
        self._max_boots = max_boots
        self._on_finished = on_finished
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._finished: dict[int, FleetDevice] = {}
        self._threads: list[threading.Thread] = []
        self._started = 0.0
        self._ended: float | None = None

    def start(self) -> None:
        """Start every device's thread (all at once, like a PoE switch powering up)."""
        if self._threads:
            raise RuntimeError("a fleet runs once")
        self._started = time.monotonic()
        self._threads = [
            threading.Thread(
                target=self._run_device, args=(n, state), name=f"algodesk-sim-{n}", daemon=True
            )
            for n, state in enumerate(self._states, start=1)
        ]
        for thread in self._threads:
            thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every device to finish; returns whether they all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
        done = not any(thread.is_alive() for thread in self._threads)
        if done and self._ended is None:
            self._ended = time.monotonic()
        return done

    def stop(self) -> None:
        """Abandon the devices still booting; returns once their threads have ended."""
        self._cancel.set()
        self.wait(_STOP_TIMEOUT)

    @property
    def devices(self) -> list[FleetDevice]:
        """The finished devices, in start order."""
        with self._lock:
            return [self._finished[n] for n in sorted(self._finished)]

    def totals(self) -> FleetTotals:
        """Sums over the finished devices; seconds from start to the last one finishing."""
        devices = self.devices
        results = [d.result for d in devices if d.result is not None]
        end = self._ended if self._ended is not None else time.monotonic()
        return FleetTotals(
            devices=len(self._states),
            steady=sum(1 for d in devices if d.steady),
            files=sum(r.files_fetched for r in results),
            bytes=sum(r.bytes_fetched for r in results),
            seconds=end - self._started,
        )

    def _run_device(self, n: int, state: DeviceState) -> None:
        started = time.monotonic()
        result: SimulationResult | None = None
        error: str | None = None
        try:
            trace = run(state, self._factories[n - 1](self._cancel), self._max_boots)
            while True:
                if self._cancel.is_set():
                    trace.close()
                    error = "stopped"
                    break
                try:
                    next(trace)
                except StopIteration as stop:
                    result = stop.value
                    break
        except Exception as failure:  # a device thread must report its failure, not die
            error = f"{type(failure).__name__}: {failure}"
        if result is not None and self._cancel.is_set() and not result.steady:
            result, error = None, "stopped"
        finished = FleetDevice(n, state.mac, result, error, time.monotonic() - started)
        with self._lock:
            self._finished[n] = finished
        if self._on_finished is not None:
            self._on_finished(finished)
