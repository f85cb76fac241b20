"""Bundle benchmark: size of dist/algodesk/, start-up time to the main window, self-test time.

Run: ``uv run python tests/bench/package_bench.py [--runs N] [--build] [--program PATH]``
(``--build`` runs ``packaging/build.py --no-test`` first; without it an existing bundle is
measured). Goals: bundle < 150 MB, cold start < 3 s.

Start-up is timed from launching the program to its "main window shown" line
(``ALGODESK_EXIT_WHEN_SHOWN=1``), each run with a fresh ``ALGODESK_HOME`` (a first start). A cold
start first evicts the bundle's own files from the page cache (``posix_fadvise``, Linux), so it
reads them from disk as after a reboot; system libraries stay cached, the machine is shared.
With Xvfb installed the window goes to a real X server (the xcb plugin, as on a desktop),
otherwise to Qt's offscreen platform. The last line is the headline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))

import build  # noqa: E402  (packaging/build.py: where the bundle is, its size)

SHOWN = "algodesk: main window shown"
SIZE_GOAL_MB = 150
START_GOAL_S = 3.0
_TIMEOUT = 60.0


def evict(folder: Path) -> int:
    """Drop ``folder``'s files from the page cache; returns how many (0 where unsupported)."""
    if not hasattr(os, "posix_fadvise"):
        return 0
    count = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            descriptor = os.open(path, os.O_RDONLY)
            try:
                os.fsync(descriptor)  # pages still dirty from the build cannot be dropped
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
                count += 1
            finally:
                os.close(descriptor)
    return count


def start_up(program: Path, env: dict[str, str]) -> float:
    """Seconds from launch to the main window shown (a first start in a fresh home)."""
    with tempfile.TemporaryDirectory(prefix="algodesk-bench-") as home:
        run_env = {**env, "ALGODESK_EXIT_WHEN_SHOWN": "1", "ALGODESK_HOME": home}
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(program)],
            env=run_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            shown = time.perf_counter() - started
            process.wait(timeout=_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if line != SHOWN:
        raise RuntimeError(f"{program} printed {line!r}, not {SHOWN!r} (exit {process.returncode})")
    return shown


def self_test(program: Path, env: dict[str, str]) -> float:
    """Seconds ``--self-test`` takes; raises when it fails."""
    started = time.perf_counter()
    result = subprocess.run(
        [str(program), "--self-test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"self-test failed:\n{result.stdout}{result.stderr}")
    return time.perf_counter() - started


@contextmanager
def display() -> Iterator[dict[str, str]]:
    """The environment for showing windows: a private Xvfb server if there is one, else offscreen."""
    env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        yield {**env, "QT_QPA_PLATFORM": "offscreen"}
        return
    read, write = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "1600x1000x24"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield {**env, "DISPLAY": f":{number}", "QT_QPA_PLATFORM": "xcb"}
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    """Measure and print; the last line is the headline."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="warm start-ups and self-tests")
    parser.add_argument("--build", action="store_true", help="build the bundle first")
    parser.add_argument("--program", type=Path, help="the bundle's program (default: dist/)")
    args = parser.parse_args()
    if args.build:
        subprocess.run(
            [sys.executable, str(ROOT / "packaging" / "build.py"), "--no-test"], check=True
        )
    program = args.program or build.bundle_program(ROOT / "dist", onefile=False)
    if not program.exists():
        print(f"no bundle at {program}: run uv run python packaging/build.py", file=sys.stderr)
        return 2
    shipped = program if args.program else ROOT / "dist" / "algodesk"
    size_mb = build.folder_size(shipped) / 1e6
    print(f"bundle: {shipped} {size_mb:.1f} MB ({size_mb / 1.048576:.1f} MiB)")

    with display() as env:
        platform = env["QT_QPA_PLATFORM"]
        evicted = evict(shipped if shipped.is_dir() else shipped.parent)
        cold = start_up(program, env)
        print(f"cold start ({evicted} bundle files evicted, {platform}): {cold:.2f} s")
        warm = [start_up(program, env) for _ in range(args.runs)]
        print(
            f"warm start ({platform}): median {statistics.median(warm):.2f} s, max {max(warm):.2f} s"
        )
        tests = [self_test(program, env) for _ in range(args.runs)]
        print(f"self-test: median {statistics.median(tests):.2f} s, max {max(tests):.2f} s")
    size_ok = "ok" if size_mb < SIZE_GOAL_MB else "OVER"
    start_ok = "ok" if cold < START_GOAL_S else "OVER"
    print(
        f"bundle {size_mb:.1f} MB ({size_ok}, goal < {SIZE_GOAL_MB}), cold start {cold:.2f} s "
        f"({start_ok}, goal < {START_GOAL_S:.0f} s, {platform}), warm "
        f"{statistics.median(warm):.2f} s, self-test {statistics.median(tests):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
