"""Keep None, True and False alive under PySide6 builds that under-count their references.

PySide6-Essentials 6.12.0 (its stable-ABI wheel) returns None from void methods and True from
``SignalInstance.emit`` without taking a reference, as if they were immortal. From Python 3.12
on they are; on 3.11 every such call drops one reference, and after some thousands of calls
(``QTimer.start``, ``QLabel.setText``, ``dataChanged.emit``, ...) CPython aborts with
"deallocating None". Measured here: 100 calls of ``QTimer.start`` lower None's count by 100, 100
``emit`` calls lower True's by 100; the live view makes that many calls in minutes.

:func:`install` probes for the leak and, only when it is there, gives the three singletons so
many references that no session can use them up, which is what Python 3.12 does for them.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

_PROBES = 64
_HEADROOM = sys.maxsize // 4


class _Probe(QObject):
    fired = Signal()


def leaking() -> bool:
    """Whether void calls drop a reference to None, or ``emit`` one to True."""
    if sys.version_info >= (3, 12):
        return False
    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.setObjectName("probe")
        probe.fired.emit()
    none_lost = none_before - sys.getrefcount(None) >= _PROBES
    true_lost = true_before - sys.getrefcount(True) >= _PROBES
    return none_lost or true_lost


_installed = False


def install() -> bool:
    """Give None, True and False headroom if this PySide6 leaks; returns whether it does.

    Only the first call adds headroom: eight more would wrap the count round to where it was.
    """
    global _installed
    if _installed:
        return True
    if not leaking():
        return False
    for singleton in (None, True, False):
        # CPython keeps an object's reference count in its first field (ob_refcnt).
        ctypes.c_ssize_t.from_address(id(singleton)).value += _HEADROOM
    _installed = True
    return True
