"""Virtual devices sending from their own loopback addresses (``simulate --source-base``).

Linux answers on all of 127.0.0.0/8, so these tests use 127.1.0.x; elsewhere they are skipped
unless those addresses exist.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from algodesk.cli import main
from algodesk.commands.simulate import can_send_from
from algodesk.core.events import Event, RequestReceived, TransferFinished, TransferStarted
from algodesk.core.tracker import Tracker
from algodesk.services.tftp import TftpServer, TftpSettings
from algodesk.services.tftp_client import TftpError, fetch_file, tftp_fetcher

HOST = "127.0.0.1"
BASE = "127.1.0.250"  # the fleet crosses a byte boundary: 127.1.0.250 .. 127.1.1.1
CONFIG = b"prov.version.firmware = 5.4f\nsip.proxy = pbx\n"


pytestmark = pytest.mark.skipif(
    not can_send_from("127.1.1.1"), reason="127.1.x.y is not a local address here"
)


class _Events:
    """Collects the engine's events (it calls the sink from its own thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def __call__(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def all(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def finished(self) -> int:
        return sum(isinstance(e, TransferFinished) for e in self.all())

    def started(self, count: int) -> list[TransferStarted]:
        """The transfer-started events, once ``count`` arrived (bounded wait): worker processes
        report them a moment after they answered."""
        deadline = time.monotonic() + 10
        while True:
            started = [e for e in self.all() if isinstance(e, TransferStarted)]
            if len(started) >= count or time.monotonic() > deadline:
                return started
            time.sleep(0.01)


@pytest.fixture
def events() -> _Events:
    return _Events()


@pytest.fixture
def engine(tmp_path: Path, events: _Events) -> Iterator[TftpServer]:
    """Our engine on 127.0.0.1 serving a generic 8188 config, its md5 and the firmware."""
    (tmp_path / "algop8188.conf").write_bytes(CONFIG)
    (tmp_path / "algop8188.md5").write_text(hashlib.md5(CONFIG).hexdigest() + "\n")
    (tmp_path / "algo-8188-5.4f.sfw").write_bytes(bytes(range(256)) * 8)
    server = TftpServer(tmp_path, HOST, 0, sink=events, settings=TftpSettings(auto_md5=False))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _settle(events: _Events, transfers: int) -> None:
    """Wait (bounded) until the engine has counted ``transfers`` done: it sees our last ACK a
    moment after the client returns."""
    deadline = time.monotonic() + 10
    while events.finished() < transfers and time.monotonic() < deadline:
        time.sleep(0.01)


def test_fetch_file_sends_from_the_source_address(engine: TftpServer, events: _Events) -> None:
    assert fetch_file(HOST, engine.port, "algop8188.conf", source="127.1.0.9") == CONFIG
    assert fetch_file(HOST, engine.port, "algop8188.md5") is not None
    started = events.started(2)
    assert sorted(e.client[0] for e in started) == sorted(["127.1.0.9", HOST])


def test_a_source_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(TftpError, match="not an IP address"):
        tftp_fetcher(HOST, 69, source="bench-7")


def test_a_source_of_the_other_family_cannot_reach_the_server() -> None:
    with pytest.raises(TftpError, match=r"cannot resolve 127\.0\.0\.1"):
        tftp_fetcher(HOST, 69, source="::1")


def test_fleet_devices_each_have_their_own_address_and_show_as_distinct_devices(
    engine: TftpServer, events: _Events, capsys: pytest.CaptureFixture[str]
) -> None:
    count = 8
    argv = ["simulate", "--server", f"{HOST}:{engine.port}", "--product", "8188"]
    argv += ["--devices", str(count), "--mac", "00:22:EE:00:00:FE", "--source-base", BASE]
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    _settle(events, json.loads(out)["totals"]["files"])

    macs = [f"0022EE{n:06X}" for n in range(0xFE, 0xFE + count)]
    addresses = [f"127.1.0.{n}" for n in range(250, 256)] + ["127.1.1.0", "127.1.1.1"]
    started = [e for e in events.all() if isinstance(e, TransferStarted)]
    assert sorted({e.client[0] for e in started}) == sorted(addresses)
    # The first file each address asks for (its MAC config, not found here) names its device.
    first_by_ip: dict[str, str] = {}
    for event in events.all():
        if isinstance(event, RequestReceived):
            first_by_ip.setdefault(event.client[0], event.filename)
    assert sorted(first_by_ip.values()) == [f"algom{mac}.conf" for mac in macs]

    tracker = Tracker()
    tracker.apply_all(events.all())
    devices = [d for d in tracker.devices.values() if d.mac]
    assert sorted(d.mac for d in devices) == macs
    assert all(first_by_ip[d.ip] == f"algom{d.mac}.conf" for d in devices)
    assert len(tracker.devices) == count


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--source-base", "::1"], "must be an IPv4 address"),
        (["--source-base", "127.1.0"], "must be an IPv4 address"),
        (["--source-base", "255.255.255.254", "--devices", "3"], "no room for 3 addresses"),
    ],
)
def test_cli_bad_source_base_exits_2(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    argv = ["simulate", "--server", f"{HOST}:6969", "--product", "8188", "--mac", "0022EE000001"]
    assert main([*argv, *extra]) == 2
    assert message in capsys.readouterr().err


def test_cli_source_base_goes_with_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", str(tmp_path), "--product", "8188", "--mac", "0022EE000001"]
    assert main([*argv, "--source-base", "127.1.0.1"]) == 2
    assert "--source-base goes with --server" in capsys.readouterr().err


def _fleet(engine: TftpServer, events: _Events, capsys: pytest.CaptureFixture[str], *extra: str):
    argv = ["simulate", "--server", f"{HOST}:{engine.port}", "--product", "8188", *extra]
    code = main([*argv, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured
    _settle(events, events.finished() + json.loads(captured.out)["totals"]["files"])
    return captured


def test_on_loopback_each_device_sends_from_its_own_address_by_default(
    engine: TftpServer, events: _Events, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's rehearsal (20 devices, then 10 more): 30 devices, each its own requests."""
    _fleet(engine, events, capsys, "--devices", "20")
    _fleet(engine, events, capsys, "--devices", "10", "--mac", "00:22:EE:00:01:00")
    macs = [f"0022EE{n:06X}" for n in [*range(1, 21), *range(0x100, 0x10A)]]
    tracker = Tracker()
    tracker.apply_all(events.all())
    devices = list(tracker.devices.values())
    assert sorted(d.key for d in devices) == sorted(macs)
    for device in devices:
        assert device.ip == f"127.0.{int(device.mac[8:10], 16)}.{int(device.mac[10:], 16)}"
        assert {e.client[0] for e in device.timeline} == {device.ip}
        assert device.shared is None and device.loop is None, device.diagnoses
    assert tracker.counts() == (30, 0, 0)


def test_where_only_127_0_0_1_exists_the_fleet_shares_it_and_says_so(
    engine: TftpServer,
    events: _Events,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("algodesk.commands.simulate.can_send_from", lambda _address: False)
    captured = _fleet(engine, events, capsys, "--devices", "3")
    assert "all 3 devices send from 127.0.0.1" in captured.err
    assert {e.client[0] for e in events.all() if isinstance(e, RequestReceived)} == {HOST}
    tracker = Tracker()
    tracker.apply_all(events.all())
    assert tracker.counts()[0] == 3
    assert all(d.pooled or d.shared is not None for d in tracker.devices.values())
