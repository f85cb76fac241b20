"""The PySide6 we run on must not drop references to None and True.

PySide6-Essentials 6.12.0 under Python 3.11 returns None from void methods and True from
``SignalInstance.emit`` without taking a reference; after a few thousand calls (the live view
makes that many in minutes) CPython aborts with "deallocating None". pyproject.toml excludes that
release; this test fails if a lock update brings it, or a release like it, back.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QCoreApplication, QObject, Signal

    class Probe(QObject):
        fired = Signal()

    app = QCoreApplication([])
    probe = Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(20000):
        probe.setObjectName("x")
        probe.fired.emit()
    print(none_before - sys.getrefcount(None), true_before - sys.getrefcount(True), flush=True)
    """
)


def test_void_calls_and_emits_keep_none_and_true_alive() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    none_lost, true_lost = (int(word) for word in done.stdout.split())
    assert none_lost < 100 and true_lost < 100
