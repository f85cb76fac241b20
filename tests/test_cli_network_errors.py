"""Network trouble said plainly and at once: a closed port answered by ICMP, a silent server,
an address that does not resolve (bad input); file names said once."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests import cli_run

HOST = "127.0.0.1"
# The subprocess bound: a command that waited for its full --timeout (60 s) would fail here.
BOUND = 30


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return cli_run.run_cli(*args, timeout=BOUND)


def closed_port() -> int:
    """A UDP port on loopback that nobody listens on (bound, noted, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A UDP port on loopback that takes packets and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        yield int(sock.getsockname()[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ICMP on loopback: Linux")
def test_notify_to_a_closed_port_says_nothing_listens_at_once() -> None:
    port = closed_port()
    result = run_cli("notify", f"{HOST}:{port}", "--timeout", "60")
    assert result.returncode == 1
    assert f"nothing listens on {HOST}:{port}" in result.stdout, result.stdout


def test_notify_to_an_unresolvable_address_is_bad_input() -> None:
    result = run_cli("notify", "no-such-host.invalid", "--timeout", "60")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "cannot resolve no-such-host.invalid" in result.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ICMP on loopback: Linux")
def test_simulate_against_a_closed_port_says_nothing_listens_at_once() -> None:
    port = closed_port()
    result = run_cli(
        "simulate", "--server", f"{HOST}:{port}", "--product", "8186", "--timeout", "60"
    )
    assert result.returncode == 1
    assert f"nothing listens on {HOST}:{port}" in result.stdout
    # The file name once per line: the trace names it, the error does not again.
    for line in result.stdout.splitlines():
        assert line.count("algom0022EE000001.conf") <= 1, line


def test_simulate_against_a_silent_server_gives_up_after_the_first_try(silent_port: int) -> None:
    result = run_cli(
        "simulate", "--server", f"{HOST}:{silent_port}", "--product", "8186", "--timeout", "0.2"
    )
    assert result.returncode == 1
    assert f"no TFTP server answers on {HOST}:{silent_port} (one try of 0.2 s)" in result.stdout
