"""Point 4: ``serve`` serves on when nobody reads its output.

The pipe to ``serve`` is shrunk to one page and never read while thousands of requests make
thousands of lines; a real client must still get its file, and the lines that could not wait are
counted ("N events not shown") once the reader comes back.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from algodesk.services.line_output import QUEUE_LINES
from tests.tftp_helpers import RawClient

BURSTS, BURST = 60, 50  # 3,000 refused requests: 6,000 lines, more than the queue holds


@pytest.mark.skipif(not hasattr(fcntl, "F_SETPIPE_SZ"), reason="needs Linux pipes")
@pytest.mark.parametrize("workers", [1, 2], ids=["one-engine", "two-workers"])
def test_serve_answers_while_its_output_is_not_read(tmp_path: Path, workers: int) -> None:
    assert BURSTS * BURST * 2 > QUEUE_LINES
    (tmp_path / "algop8186.conf").write_bytes(b"admin.devname = bench\n")
    env = {**os.environ, "ALGODESK_HOME": str(tmp_path / "home")}
    command = [sys.executable, "-m", "algodesk", "serve", str(tmp_path)]
    command += ["--bind", "127.0.0.1", "--port", "0", "--workers", str(workers), "--no-history"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        assert proc.stdout is not None
        fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)
        first = proc.stdout.readline().decode()
        port = int(re.search(r":(\d+)\s*$", first).group(1))  # type: ignore[union-attr]
        # From here on nobody reads: the pipe fills after a few dozen lines.
        with RawClient(port, timeout=10.0) as client:
            for burst in range(BURSTS):
                for index in range(BURST):
                    client.rrq(f"missing-{burst}-{index}.conf")
                for _ in range(BURST):
                    assert client.recv().code == 1  # "file not found", every time
        with RawClient(port, timeout=10.0) as client:
            data, _first = client.fetch("algop8186.conf")
        assert data == b"admin.devname = bench\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    text = out.decode()
    shown = re.findall(r"(\d+) events not shown", text)
    assert shown and sum(map(int, shown)) > 0, text[-2000:]
    assert "summary:" in text.splitlines()[-1]


class _StuckStream:
    """A stream whose writes wait until the test lets them through (a reader that stopped)."""

    def __init__(self) -> None:
        import threading

        self.go = threading.Event()
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.go.wait()
        self.lines.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def test_a_stuck_stream_drops_counts_and_never_holds_the_writer() -> None:
    from algodesk.services.line_output import LineOutput

    stream = _StuckStream()
    output = LineOutput(limit=10)
    output.start()
    try:
        for index in range(100):
            output.write(stream, f"line {index}")  # type: ignore[arg-type]
        assert output.dropped_total >= 100 - 10 - 1
        assert output.stop(timeout=0.05) is False  # the reader is gone: stop does not wait on it
    finally:
        stream.go.set()
    assert output.stop(timeout=10.0) is True
    assert "events not shown" in stream.lines[-1]
    assert stream.lines[0] == "line 0\n"
