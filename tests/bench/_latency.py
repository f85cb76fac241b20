"""GUI event-loop latency: a timer that should fire every few ms, and how late it was."""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QTimer

PROBE_MS = 10


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (0 when empty)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


class LatencyProbe:
    """Records, for every tick of a ``PROBE_MS`` timer, how much later than due it fired (ms)."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._clock = QElapsedTimer()
        self._last = 0
        self._timer = QTimer()
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        """Start ticking (the event loop must run for ticks to come)."""
        self._clock.start()
        self._last = self._clock.nsecsElapsed()
        self._timer.start()

    def stop(self) -> None:
        """Stop ticking."""
        self._timer.stop()

    def summary(self) -> str:
        """p50/p90/p99/max and the number of ticks, one line."""
        late = self.lateness
        return (
            f"GUI latency (ms): p50 {percentile(late, 0.5):.1f}  p90 {percentile(late, 0.9):.1f}  "
            f"p99 {percentile(late, 0.99):.1f}  max {max(late, default=0):.1f}  ({len(late)} ticks, "
            f"{sum(ms > 100 for ms in late)} over 100 ms)"
        )

    def p99(self) -> float:
        """The 99th percentile of lateness, ms."""
        return percentile(self.lateness, 0.99)

    def _on_timer_timeout(self) -> None:
        now = self._clock.nsecsElapsed()
        self.lateness.append(max(0.0, (now - self._last) / 1e6 - PROBE_MS))
        self._last = now
