"""``algodesk serve`` as a subprocess: event lines, JSON lines, summary on SIGINT, port errors."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from algodesk.core import events as ev
from algodesk.core.event_text import line
from tests.tftp_helpers import ERROR, RawClient

CONFIG = b"prov.use = 1\nadmin.pwd = algo\n"
STARTUP_SECONDS = 60


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "algop8188.conf").write_bytes(CONFIG)
    return tmp_path


@contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """Run ``algodesk serve`` on a free loopback port; yields it once it printed the port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "algodesk", "serve", *args, "--bind", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r'127\.0\.0\.1:(\d+)|"port": (\d+)', first)
        assert match, (first, process.stderr.read() if process.stderr else "")
        yield process, int(match.group(1) or match.group(2))
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(STARTUP_SECONDS)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _stop(process: subprocess.Popen[str]) -> tuple[list[str], str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=STARTUP_SECONDS)
    assert process.returncode == 0, err
    return out.splitlines(), err


def _fetch_and_wait(process: subprocess.Popen[str], port: int, marker: str) -> list[str]:
    with RawClient(port) as client:
        assert client.fetch("algop8188.conf")[0] == CONFIG
    assert process.stdout is not None
    lines = []
    while marker not in (line := process.stdout.readline()):
        assert line, "serve ended early"
        lines.append(line)
    return [*lines, line]


def test_human_lines_and_summary_on_sigint(root: Path) -> None:
    with serving(str(root)) as (process, port):
        seen = _fetch_and_wait(process, port, " done ")
        rest, _err = _stop(process)
    text = "".join(seen)
    assert "read algop8188.conf" in text
    size = len(CONFIG)
    assert f"sending algop8188.conf (disk, {size} bytes" in text
    assert f"done algop8188.conf: {size} bytes" in text
    assert "algo" not in text.replace("algop", "").replace("algodesk", "")  # no file contents
    assert rest[-1] == (
        f"summary: 1 device, 1 file, {size} bytes in 1 transfer (0 failed, 0 refused)"
    )
    assert any("tftp stopped" in line for line in rest)


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")
def test_ctrl_c_to_the_whole_process_group_stops_cleanly(root: Path) -> None:
    # A terminal's Ctrl+C reaches every process of the foreground group, worker processes too.
    argv = ["serve", str(root), "--bind", "127.0.0.1", "--port", "0", "--workers", "2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "algodesk", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        match = re.search(r"127\.0\.0\.1:(\d+)", process.stdout.readline())
        assert match
        seen = _fetch_and_wait(process, int(match.group(1)), " done ")
        assert seen
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=STARTUP_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(STARTUP_SECONDS)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "Fatal" not in err, err
    assert out.splitlines()[-1].startswith("summary: 1 device, 1 file")


def test_json_lines(root: Path) -> None:
    with serving(str(root), "--json", "--no-auto-md5") as (process, port):
        seen = _fetch_and_wait(process, port, '"transfer-finished"')
        with RawClient(port) as client:
            client.rrq("algop8188.md5")
            assert client.recv().code == 1  # auto-md5 is off
        rest, _err = _stop(process)
    records = [json.loads(line) for line in seen + rest]
    kinds = [record["event"] for record in records]
    assert kinds[:3] == ["request", "transfer-started", "transfer-finished"]
    assert "refused" in kinds and kinds[-2:] == ["server-stopped", "summary"]
    assert records[1]["served"] == "algop8188.conf" and records[1]["source"] == "disk"
    assert records[-1]["bytes_sent"] == len(CONFIG)


def test_port_in_use_prints_remedies_and_exits_2(root: Path) -> None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    holder.bind(("127.0.0.1", 0))
    try:
        port = str(holder.getsockname()[1])
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "algodesk",
                "serve",
                str(root),
                "--bind",
                "127.0.0.1",
                "--port",
                port,
            ],
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
        )
    finally:
        holder.close()
    assert result.returncode == 2
    assert f"UDP port {port}" in result.stderr and "already in use" in result.stderr
    assert "  - " in result.stderr  # remedies, one per line


@pytest.mark.parametrize(
    "args", [["--max-blksize", "4"], ["--port", "70000"]], ids=["blksize", "port"]
)
def test_bad_options_exit_2(root: Path, args: list[str]) -> None:
    from algodesk.cli import main

    assert main(["serve", str(root), *args]) == 2


def test_missing_folder_exits_2(tmp_path: Path) -> None:
    from algodesk.cli import main

    assert main(["serve", str(tmp_path / "nope")]) == 2


def test_describe_refusals_and_failures() -> None:
    refused = ev.RequestRefused(
        client=("127.0.0.1", 5), filename="", reason=ev.RefusalReason.MALFORMED, detail="short"
    )
    assert line(refused) == "127.0.0.1:5 refused (malformed request): malformed (short)"
    failed = ev.TransferFailed(
        transfer_id=3, client=("127.0.0.1", 5), served="a.conf", reason="timeout", bytes_sent=10
    )
    assert line(failed) == "127.0.0.1:5 #3 failed a.conf: timeout after 10 bytes"


def test_describe_names_the_near_file_of_a_case_miss() -> None:
    refused = ev.RequestRefused(
        client=("127.0.0.1", 5),
        filename="algom0022EE010203.conf",
        reason=ev.RefusalReason.NOT_FOUND,
        detail="no such file (names are exact)",
        near="algom0022ee010203.conf",
    )
    assert line(refused) == (
        "127.0.0.1:5 refused algom0022EE010203.conf: not-found (no such file (names are exact)); "
        "algom0022ee010203.conf is here but names are case-sensitive"
    )


@pytest.mark.parametrize(("flag", "served"), [((), False), (("--case-fallback",), True)])
def test_case_fallback_is_off_unless_asked_for(
    root: Path, flag: tuple[str, ...], served: bool
) -> None:
    with serving(str(root), "--workers", "1", *flag) as (process, port):
        with RawClient(port) as client:
            client.rrq("ALGOP8188.conf")
            reply = client.recv()
        assert process.stdout is not None
        wanted = "sending algop8188.conf" if served else "is here but names are case-sensitive"
        while wanted not in (said := process.stdout.readline()):
            assert said, "serve ended early"
        _stop(process)
    assert (reply.opcode == ERROR) is not served
