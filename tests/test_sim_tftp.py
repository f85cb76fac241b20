"""The simulator as a real TFTP client: against tftpd-hpa and our engine, on loopback only."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from algodesk.cli import main
from algodesk.core.simulator import DeviceState, folder_fetcher, simulate
from algodesk.services.sim_fleet import SimFleet
from algodesk.services.tftp import TftpServer, TftpSettings
from algodesk.services.tftp_client import Cancelled, TftpError, fetch_file, tftp_fetcher
from tests.bench import _tftp_peers as peers
from tests.lossy_relay import Impairment, LossyRelay

HOST = "127.0.0.1"
MAC = "0022EE010203"
CONFIG = b"prov.version.firmware = 5.4f\nprov.data.tone = tones.zip\nsip.proxy = pbx\n"


def _with_md5(root: Path, name: str, data: bytes) -> None:
    (root / name).write_bytes(data)
    (root / f"{name.rsplit('.', 1)[0]}.md5").write_text(hashlib.md5(data).hexdigest() + "\n")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A bench folder: a generic config, firmware, tones, and odd-sized files."""
    folder = peers.make_root(tmp_path / "root")
    _with_md5(folder, "algop8188.conf", CONFIG)
    (folder / "algo-8188-5.4f.sfw").write_bytes(bytes(range(256)) * 40)
    _with_md5(folder, "tones.zip", b"PK" + bytes(3000))
    (folder / "exact.bin").write_bytes(b"x" * (1428 * 3))  # ends on an empty DATA block
    (folder / "empty.bin").write_bytes(b"")
    for path in folder.iterdir():
        path.chmod(0o644)  # tftpd-hpa reads as nobody
    return folder


@pytest.fixture
def tftpd_hpa(root: Path) -> Iterator[int]:
    """tftpd-hpa serving ``root`` on a free loopback port; stopped by its PID."""
    if not peers.have(peers.TFTPD_HPA):
        pytest.skip("tftpd-hpa is not installed")
    server = peers.start_tftpd_hpa(root)
    try:
        yield server.port
    finally:
        server.stop()


@contextlib.contextmanager
def _engine(root: Path, **settings: Any) -> Iterator[TftpServer]:
    server = TftpServer(root, address=HOST, port=0, settings=TftpSettings(**settings))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def engine(root: Path) -> Iterator[TftpServer]:
    """Our engine in-process, without generated md5s so it serves exactly the folder."""
    with _engine(root, auto_md5=False) as server:
        yield server


def _eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether ``condition`` holds within ``timeout`` (the server counts a transfer done when
    our last ACK reaches it, a moment after the client has returned)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A bound loopback UDP port that never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        yield sock.getsockname()[1]


def _trace(result: object) -> list[dict[str, object]]:
    return [step.to_dict() for step in result.steps]  # type: ignore[attr-defined]


@pytest.mark.peer
@pytest.mark.parametrize("blksize", [8, 512, 1428, 8192])
def test_client_reads_files_from_tftpd_hpa(tftpd_hpa: int, root: Path, blksize: int) -> None:
    for name in ("algop8188.conf", "exact.bin", "empty.bin", "algo-8188-5.4f.sfw"):
        if blksize == 8 and name.endswith(".sfw"):
            continue
        assert fetch_file(HOST, tftpd_hpa, name, blksize=blksize) == (root / name).read_bytes()
    assert fetch_file(HOST, tftpd_hpa, "algom0022EE010203.conf") is None


@pytest.mark.peer
def test_simulation_over_tftpd_hpa_matches_the_folder(tftpd_hpa: int, root: Path) -> None:
    state = DeviceState(mac=MAC, product="8188", firmware="5.3")
    over_tftp = simulate(state, tftp_fetcher(HOST, tftpd_hpa))
    from_folder = simulate(state, folder_fetcher(root))
    assert over_tftp.steady and over_tftp.boots == 3
    assert _trace(over_tftp) == _trace(from_folder)
    assert over_tftp.final_state == from_folder.final_state


def test_simulation_over_our_engine_matches_the_folder(engine: TftpServer, root: Path) -> None:
    state = DeviceState(mac=MAC, product="8188", firmware="5.3")
    result = simulate(state, tftp_fetcher(HOST, engine.port))
    assert result.steady
    assert _trace(result) == _trace(simulate(state, folder_fetcher(root)))
    assert _eventually(lambda: engine.stats().done == result.files_fetched)
    assert engine.stats().bytes_sent == result.bytes_fetched


def test_fleet_against_our_engine(engine: TftpServer) -> None:
    states = [DeviceState(mac=f"0022EE0000{n:02X}", product="8188") for n in range(1, 21)]
    fleet = SimFleet(states, lambda cancel: tftp_fetcher(HOST, engine.port, cancel=cancel))
    fleet.start()
    try:
        assert fleet.wait(timeout=60)
    finally:
        fleet.stop()
    devices = fleet.devices
    assert [d.mac for d in devices] == [s.mac for s in states]
    assert all(d.steady for d in devices), [d.outcome for d in devices]
    totals = fleet.totals()
    assert totals.steady == 20 and totals.files == 20 * 9
    assert _eventually(lambda: engine.stats().done == totals.files)


def test_client_survives_a_lossy_path(root: Path) -> None:
    impairment = Impairment(drop=0.1, duplicate=0.1, reorder=0.1, hold=0.01)
    fast = {"initial_timeout": 0.05, "min_timeout": 0.02, "max_timeout": 0.5, "max_retries": 12}
    with (
        _engine(root, **fast) as engine,
        LossyRelay(
            (HOST, engine.port), to_server=impairment, to_client=impairment, seed=7
        ) as relay,
    ):
        for name in ("algo-8188-5.4f.sfw", "exact.bin", "algop8188.conf"):
            data = fetch_file(HOST, relay.port, name, timeout=0.1, retries=20)
            assert data == (root / name).read_bytes()
    counts = relay.counts()
    assert counts.dropped and counts.duplicated and counts.reordered


def test_silent_server_is_an_error_not_a_missing_file(silent_port: int) -> None:
    with pytest.raises(TftpError, match=r"no TFTP server answers on 127\.0\.0\.1"):
        fetch_file(HOST, silent_port, "algop8188.conf", timeout=0.05, retries=1)
    result = simulate(
        DeviceState(mac=MAC, product="8188"),
        tftp_fetcher(HOST, silent_port, timeout=0.05, retries=1),
    )
    assert not result.steady
    assert (result.diagnosis or "").startswith("cannot fetch algom0022EE010203.conf: ")


def test_fleet_stop_cancels_devices_waiting_on_a_silent_server(silent_port: int) -> None:
    states = [DeviceState(mac=f"0022EE0001{n:02X}", product="8188") for n in range(5)]
    started = threading.Barrier(len(states) + 1)

    def factory(cancel: threading.Event):  # type: ignore[no-untyped-def]
        fetch = tftp_fetcher(HOST, silent_port, timeout=600, retries=5, cancel=cancel)
        started.wait()
        return fetch

    fleet = SimFleet(states, factory)
    fleet.start()
    started.wait()
    fleet.stop()
    assert fleet.wait(timeout=0)
    assert [d.outcome for d in fleet.devices] == ["stopped"] * len(states)


def test_cancelled_fetch_raises(silent_port: int) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        tftp_fetcher(HOST, silent_port, cancel=cancel)("algop8188.conf")


class _ScriptedServer:
    """A loopback server that refuses options (ERROR 8), then serves two blocks from a transfer
    port with a stray packet from another port in between (which the client must refuse)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.listen = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.listen.bind((HOST, 0))
        self.listen.settimeout(5)
        self.requests: list[bytes] = []
        self.stray_answer: bytes = b""
        self.acks: list[bytes] = []
        self.thread = threading.Thread(target=self._run, name="algodesk-test-scripted-tftp")

    def _run(self) -> None:
        with self.listen:
            packet, client = self.listen.recvfrom(2048)
            self.requests.append(packet)
            self.listen.sendto(b"\x00\x05\x00\x08options refused\x00", client)
            packet, client = self.listen.recvfrom(2048)
            self.requests.append(packet)
            with (
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as transfer,
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stray,
            ):
                transfer.bind((HOST, 0))
                transfer.settimeout(5)
                stray.bind((HOST, 0))
                stray.settimeout(5)
                transfer.sendto(b"\x00\x03\x00\x01" + self.data[:512], client)
                self.acks.append(transfer.recvfrom(2048)[0])
                stray.sendto(b"\x00\x03\x00\x02junk", client)
                self.stray_answer = stray.recvfrom(2048)[0]
                transfer.sendto(b"\x00\x03\x00\x02" + self.data[512:], client)
                self.acks.append(transfer.recvfrom(2048)[0])


def test_client_retries_without_options_and_refuses_strangers() -> None:
    data = bytes(range(256)) * 2 + b"tail"
    server = _ScriptedServer(data)
    server.thread.start()
    try:
        assert fetch_file(HOST, server.listen.getsockname()[1], "x.conf") == data
    finally:
        server.thread.join(10)
    first, second = server.requests
    assert b"blksize\x001428\x00tsize\x000\x00" in first
    assert second == b"\x00\x01x.conf\x00octet\x00"
    assert server.stray_answer.startswith(b"\x00\x05\x00\x05")  # ERROR 5: unknown transfer ID
    assert server.acks == [b"\x00\x04\x00\x01", b"\x00\x04\x00\x02"]


# --- the command line ----------------------------------------------------------------------------


@pytest.mark.peer
def test_cli_single_device_over_tftpd_hpa(
    tftpd_hpa: int, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["simulate", "--server", f"{HOST}:{tftpd_hpa}", "--mac", MAC, "--product", "8188"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "  algo-8188-5.4f.sfw: 10240 bytes, md5 " in out
    assert out.splitlines()[-1] == "steady after 3 boots (2 reboots)"


def test_cli_fleet_against_our_engine(
    engine: TftpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--server", f"{HOST}:{engine.port}", "--product", "8188"]
    code = main([*argv, "--devices", "12", "--mac", "00:22:EE:00:00:FF"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0, lines
    assert lines[0].split() == ["MAC", "boots", "files", "bytes", "outcome"]
    assert lines[1].startswith("00:22:EE:00:00:FF      3      9 ")
    assert lines[12].startswith("00:22:EE:00:01:0A ")
    assert lines[-1].startswith("12 devices: 12 steady, 0 not; 108 files, ")

    code = main([*argv, "--devices", "3", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [d["mac"] for d in doc["devices"]] == ["0022EE000001", "0022EE000002", "0022EE000003"]
    assert doc["totals"]["steady"] == 3 and doc["totals"]["files"] == 27


def test_cli_fleet_exit_1_when_a_device_is_not_steady(
    engine: TftpServer, root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "algop8188.md5").write_text("0" * 32 + "\n")
    argv = ["simulate", "--server", f"{HOST}:{engine.port}", "--product", "8188", "--devices", "2"]
    assert main(argv) == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("2 devices: 0 steady, 2 not;")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--server", "127.0.0.1:99999"], "not HOST[:PORT]"),
        (["--server", "[::1]x"], "not HOST[:PORT]"),
        (["--server", "127.0.0.1:6969", "--firmware-dir", "."], "--firmware-dir goes with DIR"),
        (["--server", "127.0.0.1:6969", "--blksize", "4"], "--blksize"),
        (["--server", "127.0.0.1:6969", "--devices", "0"], "--devices"),
    ],
)
def test_cli_bad_server_input_exits_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["simulate", *argv, "--mac", MAC, "--product", "8188"]) == 2
    assert message in capsys.readouterr().err


def test_cli_dir_and_server_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", str(tmp_path), "--server", HOST, "--mac", MAC, "--product", "8188"])
    assert exit_info.value.code == 2
