"""Our TFTP engine against real Debian clients on loopback: tftp-hpa, atftp, busybox, curl.

Each test skips (with the reason) when its client is not installed. Through the lossy relay the
engine runs with a short minimum retransmission timeout so that recovering from a loss is quick.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from algodesk.core import events as ev
from algodesk.core.md5 import md5_hex, verify
from algodesk.services.tftp import TftpServer, TftpSettings
from tests.bench import _tftp_peers as peers
from tests.lossy_relay import Direction, Impairment, LossyRelay

pytestmark = pytest.mark.peer
E = TypeVar("E", bound=ev.Event)

HOST = peers.HOST
CONFIG = "algop8186.conf"
BINARY = "firmware.bin"  # not a multiple of any block size used here
EXACT = "exact.bin"  # a multiple of both 512 and 1428: the transfer ends on an empty block
BINARY_SIZE = 1_500_001
EXACT_SIZE = 512 * 1428
LOSSY_FILE = "tones.zip"  # small enough that some 30 losses each way stay quick
LOSSY_SIZE = 200_000
# Quick recovery through the lossy relay. The back-off must still outgrow the clients' own timers
# (1 s here): a client that ignores a window it already has re-ACKs only when its timer fires,
# and every resend it receives restarts that timer.
FAST_SETTINGS = TftpSettings(
    initial_timeout=0.05, min_timeout=0.02, max_timeout=2.0, max_retries=12
)
CLIENT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Client:
    """A command-line TFTP client: how to fetch a file with it, and what it needs installed."""

    name: str
    program: str
    build: Callable[[int, str, Path], tuple[list[str], str | None]]
    blksize: int = 512
    windowsize: int = 1

    def fetch(self, port: int, remote: str, out: Path) -> subprocess.CompletedProcess[str]:
        """Run the client to completion; the result holds its output for failure messages."""
        if not peers.have(self.program):
            pytest.skip(f"{self.program} is not installed")
        argv, stdin = self.build(port, remote, out)
        return subprocess.run(
            argv, input=stdin or "", capture_output=True, text=True, timeout=CLIENT_TIMEOUT
        )


def _tftp_hpa_commands(*commands: str) -> Callable[[int, str, Path], tuple[list[str], str]]:
    # Commands on standard input: -c takes only one, and rexmt/blksize must come before get.
    def build(port: int, remote: str, out: Path) -> tuple[list[str], str]:
        script = "\n".join([*commands, "binary", f"get {remote} {out}", "quit", ""])
        return ["tftp", HOST, str(port)], script

    return build


def _tftp_hpa_supports_blksize() -> bool:
    # Given a host (nothing is sent), it reads commands; an unknown one is "?Invalid command".
    result = subprocess.run(
        ["tftp", HOST, "9"],
        input="blksize 1428\nquit\n",
        capture_output=True,
        text=True,
        timeout=10,
    )
    return "Invalid command" not in result.stdout + result.stderr


CLIENTS = {
    # rexmt 1: its default of 5 s only matters when its own request is lost.
    "tftp-hpa": Client("tftp-hpa", "tftp", _tftp_hpa_commands("rexmt 1")),
    "tftp-hpa-blksize": Client(
        "tftp-hpa-blksize", "tftp", _tftp_hpa_commands("rexmt 1", "blksize 1428"), blksize=1428
    ),
    "atftp": Client(
        "atftp",
        "atftp",
        # It ignores a resent window it already has and ACKs again only on its own timer (5 s
        # by default).
        lambda port, remote, out: (
            [*peers.atftp_argv(port, remote, out, 1428, 4), "--tftp-timeout", "1"],
            None,
        ),
        blksize=1428,
        windowsize=4,
    ),
    "busybox": Client(
        "busybox",
        "busybox-tftp",
        lambda port, remote, out: (peers.busybox_argv(port, remote, out, 1428), None),
        blksize=1428,
    ),
    "curl": Client(
        "curl",
        "curl",
        # A lost request costs curl its connect-phase retry (1 s here), not minutes.
        lambda port, remote, out: (
            [*peers.curl_argv(port, remote, out, 1428), "--connect-timeout", "3"],
            None,
        ),
        blksize=1428,
    ),
}


class Recorder:
    """A sink that keeps every event and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: list[ev.Event] = []
        self._changed = threading.Condition()

    def __call__(self, event: ev.Event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def of(self, kind: type[E]) -> list[E]:
        """The events of one type so far."""
        with self._changed:
            return [e for e in self.events if isinstance(e, kind)]

    def wait_for(self, kind: type[E], count: int = 1) -> list[E]:
        """Wait (at most 10 s) until ``count`` events of ``kind`` arrived; returns them."""
        with self._changed:
            self._changed.wait_for(
                lambda: sum(isinstance(e, kind) for e in self.events) >= count, timeout=10
            )
        found = self.of(kind)
        assert len(found) >= count, f"{len(found)} {kind.__name__} events, wanted {count}"
        return found


@dataclass(frozen=True)
class Folder:
    """The served folder and the md5 of each file in it."""

    path: Path
    md5: dict[str, str]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Folder:
    """A folder with a sample config and binary files of awkward sizes."""
    folder = peers.make_root(tmp_path_factory.mktemp("tftp-root"))
    sample = Path(__file__).parent / "data" / "fpbx-8186-2025__algo_mac_.conf"
    shutil.copyfile(sample, folder / CONFIG)
    return Folder(
        folder,
        {
            CONFIG: peers.md5_of(folder / CONFIG),
            BINARY: peers.make_file(folder, BINARY, BINARY_SIZE, seed=1),
            EXACT: peers.make_file(folder, EXACT, EXACT_SIZE, seed=2),
            LOSSY_FILE: peers.make_file(folder, LOSSY_FILE, LOSSY_SIZE, seed=4),
        },
    )


@pytest.fixture
def served(root: Folder) -> Iterator[tuple[TftpServer, Recorder]]:
    """Our engine on a free loopback port, serving the root; stopped even on failure."""
    recorder = Recorder()
    server = TftpServer(root.path, address=HOST, port=0, sink=recorder, settings=FAST_SETTINGS)
    server.start()
    try:
        yield server, recorder
    finally:
        server.stop()


def _check(result: subprocess.CompletedProcess[str], out: Path, md5: str) -> None:
    detail = f"exit {result.returncode}: {result.stdout[-300:]} {result.stderr[-300:]}"
    assert result.returncode == 0, detail
    assert peers.md5_of(out) == md5, f"wrong content ({out.stat().st_size} bytes) {detail}"


def _client(name: str) -> Client:
    if name == "tftp-hpa-blksize" and peers.have("tftp") and not _tftp_hpa_supports_blksize():
        pytest.skip("this tftp-hpa has no blksize command (5.2 sends no options at all)")
    return CLIENTS[name]


@pytest.mark.parametrize("remote", [CONFIG, BINARY, EXACT])
@pytest.mark.parametrize("client_name", list(CLIENTS))
def test_every_client_fetches_every_file_intact(
    served: tuple[TftpServer, Recorder],
    root: Folder,
    tmp_path: Path,
    client_name: str,
    remote: str,
) -> None:
    client = _client(client_name)
    server, recorder = served
    out = tmp_path / "out.bin"
    _check(client.fetch(server.port, remote, out), out, root.md5[remote])

    started = recorder.wait_for(ev.TransferStarted)[0]
    assert int(started.options.get("blksize", 512)) == client.blksize
    assert int(started.options.get("windowsize", 1)) == client.windowsize
    finished = recorder.wait_for(ev.TransferFinished)[0]
    assert finished.bytes_sent == (root.path / remote).stat().st_size


@pytest.mark.parametrize("client_name", ["tftp-hpa", "atftp", "busybox", "curl"])
def test_a_missing_file_fails_the_client_quickly(
    served: tuple[TftpServer, Recorder], tmp_path: Path, client_name: str
) -> None:
    server, recorder = served
    result = _client(client_name).fetch(server.port, "algom0022EE000000.conf", tmp_path / "out")
    refused = recorder.wait_for(ev.RequestRefused)[0]
    assert refused.reason is ev.RefusalReason.NOT_FOUND
    # tftp-hpa prints the error but exits 0; the others exit non-zero.
    text = result.stdout + result.stderr
    assert result.returncode != 0 or "error code 1" in text.lower(), text


def test_a_missing_file_is_refused_once_for_tftp_hpa(
    served: tuple[TftpServer, Recorder], root: Folder, tmp_path: Path
) -> None:
    # tftp-hpa ACKs the ERROR it got (its abort path) to the port that sent it, the listening
    # one: that ACK is no second request.
    client = _client("tftp-hpa")
    server, recorder = served
    client.fetch(server.port, "algom0022EE000000.conf", tmp_path / "missing")
    # The listening socket handles datagrams in order: once this later request has started, the
    # client's stray ACK (sent before it exited) has been handled too.
    out = tmp_path / CONFIG
    _check(client.fetch(server.port, CONFIG, out), out, root.md5[CONFIG])
    recorder.wait_for(ev.TransferStarted)
    refused = recorder.of(ev.RequestRefused)
    assert [r.reason for r in refused] == [ev.RefusalReason.NOT_FOUND]


def test_a_device_style_client_gets_the_config_and_a_generated_md5(
    served: tuple[TftpServer, Recorder], root: Folder, tmp_path: Path
) -> None:
    busybox = _client("busybox")
    server, _recorder = served
    conf, md5_file = tmp_path / CONFIG, tmp_path / "algop8186.md5"
    _check(busybox.fetch(server.port, CONFIG, conf), conf, root.md5[CONFIG])
    result = busybox.fetch(server.port, md5_file.name, md5_file)
    assert result.returncode == 0, result.stderr
    assert verify(md5_file.read_bytes(), conf.read_bytes())


def test_a_virtual_file_reaches_curl(served: tuple[TftpServer, Recorder], tmp_path: Path) -> None:
    curl = _client("curl")
    server, recorder = served
    content = b"prov.use = 1\nprov.server.static = 10.0.0.5\n"
    server.set_virtual_file("algom0022EE010203.conf", content)
    out = tmp_path / "stage1.conf"
    _check(curl.fetch(server.port, "algom0022EE010203.conf", out), out, md5_hex(content))
    started = recorder.wait_for(ev.TransferStarted)[0]
    assert started.source is ev.Source.VIRTUAL


def test_block_numbers_roll_over_past_32_mib_at_blksize_512(
    served: tuple[TftpServer, Recorder], root: Folder, tmp_path: Path
) -> None:
    curl_512 = Client("curl-512", "curl", lambda p, r, o: (peers.curl_argv(p, r, o, 512), None))
    client = CLIENTS["tftp-hpa"] if peers.have("tftp") else curl_512
    server, recorder = served
    # 65536 blocks of 512 bytes plus a partial one: block number 0 comes round again.
    size = 65536 * 512 + 3000
    md5 = peers.make_file(root.path, "rollover.bin", size, seed=3)
    out = tmp_path / "rollover.bin"
    try:
        _check(client.fetch(server.port, "rollover.bin", out), out, md5)
    finally:
        (root.path / "rollover.bin").unlink()
        out.unlink(missing_ok=True)
    finished = recorder.wait_for(ev.TransferFinished)[0]
    assert finished.bytes_sent == size


# (client, seed, datagrams spared to the server, to the client). atftp 0.8.0 aborts on a repeated
# OACK ("unexpected OACK", with tftpd-hpa too), which a lost ACK 0 rightly causes: its negotiation
# (RRQ and ACK 0 one way, OACK the other) passes untouched.
LOSSY = [("tftp-hpa", 11, 0, 0), ("atftp", 12, 2, 1), ("busybox", 13, 0, 0), ("curl", 14, 0, 0)]


@pytest.mark.parametrize(("client_name", "seed", "grace_up", "grace_down"), LOSSY)
def test_transfers_through_a_lossy_relay_arrive_intact(
    served: tuple[TftpServer, Recorder],
    root: Folder,
    tmp_path: Path,
    client_name: str,
    seed: int,
    grace_up: int,
    grace_down: int,
) -> None:
    client = _client(client_name)
    server, _recorder = served
    impaired = {"drop": 0.05, "duplicate": 0.05, "reorder": 0.05, "hold": 0.01}
    relay = LossyRelay(
        (HOST, server.port),
        to_server=Impairment(**impaired, grace=grace_up),
        to_client=Impairment(**impaired, grace=grace_down),
        seed=seed,
    )
    out = tmp_path / "out.bin"
    with relay:
        result = client.fetch(relay.port, LOSSY_FILE, out)
    _check(result, out, root.md5[LOSSY_FILE])
    counts = relay.counts()
    assert counts.dropped and counts.duplicated and counts.reordered, counts


def test_duplicated_data_does_not_double_the_rest_of_the_transfer(
    served: tuple[TftpServer, Recorder], root: Folder, tmp_path: Path
) -> None:
    # tftp-hpa ACKs every DATA it receives, a duplicate too, so the server sees a repeated ACK.
    client = _client("tftp-hpa")
    server, recorder = served
    relay = LossyRelay((HOST, server.port), to_client=Impairment(duplicate=0.02), seed=21)
    out = tmp_path / "out.bin"
    with relay:
        _check(client.fetch(relay.port, EXACT, out), out, root.md5[EXACT])
        # The relay must outlive the client's last ACK on its way to the server (the client
        # exits once it sent it): wait for the server to have seen it.
        finished = recorder.wait_for(ev.TransferFinished)[0]
    duplicated = relay.counts(Direction.TO_CLIENT).duplicated
    assert duplicated
    # Nothing was lost: at most one resend per duplicate, never one per block from then on.
    assert finished.retransmissions <= duplicated, (finished.retransmissions, duplicated)
