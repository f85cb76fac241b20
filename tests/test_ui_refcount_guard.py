"""The guard against PySide6 builds that drop references to None and True."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QObject
    from algodesk.ui import refcount_guard
    print(refcount_guard.leaking(), flush=True)
    calls = sys.getrefcount(None) + 1000  # more void calls than None has references
    if sys.argv[1] == "guarded":
        refcount_guard.install()
    probe = QObject()
    for _ in range(calls):
        probe.setObjectName("x")
    print("survived", flush=True)
    """
)


def run(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_guard_keeps_a_leaking_pyside_alive() -> None:
    guarded = run("guarded")
    assert guarded.returncode == 0, guarded.stderr[-2000:]
    assert guarded.stdout.split() == [guarded.stdout.split()[0], "survived"]
    if guarded.stdout.startswith("True"):
        # the leak is real: without the guard the same calls abort the interpreter
        bare = run("bare")
        assert bare.returncode != 0
        assert "deallocating None" in bare.stderr


def test_installing_again_adds_no_more_headroom() -> None:
    """Every compose() installs the guard; the count must not wrap round after a few windows."""
    script = textwrap.dedent(
        """
        import sys
        from algodesk.ui import refcount_guard
        leaks = refcount_guard.install()
        once = sys.getrefcount(None)
        for _ in range(2):
            assert refcount_guard.install() is leaks
        print(abs(sys.getrefcount(None) - once) < 100, flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True"]
