"""A whole bench in network namespaces: `algodesk serve` with DHCP, busybox devices, a rival.

Layout (names unique per run, everything removed in ``finally``):

    bench ns: br0 10.99.0.1/24 -- algodesk serve --dhcp 10.99.0.2-10.99.0.40 --syslog 5514
      |-- rival ns   10.99.0.2: dnsmasq, a second DHCP server (ignores the test devices)
      |-- algo1..3   00:22:EE:99:00:0N: busybox udhcpc, then busybox tftp config + md5
      `-- laptop     3C:22:FB:99:00:01: busybox udhcpc, must get no lease

The pool starts at the rival's address, so the ping check has something to find. A 16 MiB
firmware goes through the lossy relay (tests/lossy_relay.py) run inside the bench namespace.
Only addresses inside these namespaces are used; they have no route anywhere else.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from algodesk.core import md5

TESTS = Path(__file__).parent
BENCH_IP = "10.99.0.1"
RIVAL_IP = "10.99.0.2"
POOL = "10.99.0.2-10.99.0.40"
SYSLOG_PORT = 5514
ALGO_MACS = ["00:22:ee:99:00:01", "00:22:ee:99:00:02", "00:22:ee:99:00:03"]
LAPTOP_MAC = "3c:22:fb:99:00:01"
FIRMWARE = "algo-8186-9.9.9.sfw"
FIRMWARE_SIZE = 16 * 1024 * 1024
WAIT = 30.0

pytestmark = pytest.mark.root

_TOOLS = ("ip", "busybox", "dnsmasq")


def _skip_reason() -> str:
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    return f"missing {', '.join(missing)}" if missing else ""


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=WAIT)


# -- the segment -----------------------------------------------------------------------------


@dataclass
class Segment:
    """Namespaces on one bridge, and every process started in them (stopped on teardown)."""

    prefix: str
    tmp: Path
    namespaces: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def ns(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def add_namespace(self, name: str) -> str:
        full = self.ns(name)
        run("ip", "netns", "add", full)
        self.namespaces.append(full)
        run("ip", "-n", full, "link", "set", "lo", "up")
        return full

    def plug(self, name: str, mac: str, address: str = "") -> str:
        """A namespace whose eth0 is a port of the bench bridge."""
        full = self.add_namespace(name)
        bench = self.ns("bench")
        port = f"v{len(self.namespaces)}"
        run(
            "ip",
            "-n",
            bench,
            "link",
            "add",
            port,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            full,
        )
        run("ip", "-n", bench, "link", "set", port, "master", "br0", "up")
        run("ip", "-n", full, "link", "set", "eth0", "address", mac)
        if address:
            run("ip", "-n", full, "addr", "add", f"{address}/24", "dev", "eth0")
        run("ip", "-n", full, "link", "set", "eth0", "up")
        return full

    def exec(self, name: str, *command: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns(name), *command]

    def start(self, name: str, *command: str, **kwargs: Any) -> subprocess.Popen[str]:
        process = subprocess.Popen(self.exec(name, *command), text=True, **kwargs)
        self.processes.append(process)
        return process

    def teardown(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            for pipe in (process.stdin, process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
        for namespace in reversed(self.namespaces):
            run("ip", "netns", "del", namespace, check=False)


@pytest.fixture
def segment(tmp_path: Path) -> Iterator[Segment]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    seg = Segment(f"algodesk-{os.getpid()}-{secrets.token_hex(3)}", tmp_path)
    try:
        try:
            bench = seg.add_namespace("bench")
        except subprocess.CalledProcessError as error:
            pytest.skip(f"cannot create network namespaces here: {error.stderr.strip()}")
        run("ip", "-n", bench, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", bench, "addr", "add", f"{BENCH_IP}/24", "dev", "br0")
        run("ip", "-n", bench, "link", "set", "br0", "up")
        yield seg
    finally:
        seg.teardown()


# -- serve's event stream --------------------------------------------------------------------


class EventStream:
    """Reads `algodesk serve --json` lines on a thread and lets the test wait for events."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        assert process.stdout is not None
        self._stdout = process.stdout
        self._thread = threading.Thread(target=self._read, name="algodesk-test-serve-reader")
        self._thread.start()

    def _read(self) -> None:
        for line in self._stdout:
            with self._changed:
                self.events.append(json.loads(line))
                self._changed.notify_all()

    def wait_for(self, what: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        with self._changed:
            while True:
                for event in self.events:
                    if match(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"serve never reported {what}; saw {self.events}")
                self._changed.wait(left)

    def of(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        with self._changed:
            return [
                e
                for e in self.events
                if e["event"] == kind and all(e.get(k) == v for k, v in fields.items())
            ]

    def join(self) -> None:
        self._thread.join(timeout=10)


# -- the test --------------------------------------------------------------------------------

LEASE_SCRIPT = """#!/bin/sh
# udhcpc calls this with the lease in its environment: configure eth0, keep what the test needs.
if [ "$1" = bound ]; then
  busybox ifconfig "$interface" "$ip" netmask "$subnet" up
  printf 'ip=%s\\ntftp=%s\\nserverid=%s\\nsubnet=%s\\nlease=%s\\n' \\
    "$ip" "$tftp" "$serverid" "$subnet" "$lease" > "$LEASE_OUT.tmp"
  mv "$LEASE_OUT.tmp" "$LEASE_OUT"
fi
exit 0
"""

RELAY = """
import sys
sys.path.insert(0, sys.argv[1])
from lossy_relay import Impairment, LossyRelay
impair = Impairment(drop=0.002, duplicate=0.01, reorder=0.005, hold=0.005)
relay = LossyRelay((sys.argv[2], 69), to_server=impair, to_client=impair, seed=66, host=sys.argv[2])
relay.start()
print(relay.port, flush=True)
sys.stdin.read()
counts = relay.counts()
relay.stop()
print(counts.dropped, counts.duplicated, counts.reordered, flush=True)
"""


def bare(mac: str) -> str:
    return mac.replace(":", "").upper()


def read_lease(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def event_is(kind: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    """Matches events of ``kind`` whose fields equal, or for ``message`` contain, the values."""

    def match(event: dict[str, Any]) -> bool:
        if event["event"] != kind:
            return False
        return all(
            value in event[key] if key == "message" else event[key] == value
            for key, value in fields.items()
        )

    return match


def bench_files(root: Path) -> bytes:
    """A config and md5 per Algo device, and the firmware (returned)."""
    root.mkdir()
    for mac in ALGO_MACS:
        config = root / f"algom{bare(mac)}.conf"
        config.write_bytes(f"prov.use = 1\nsip.u1.user = {bare(mac)[-4:]}\n".encode())
        md5.write_md5(config)
    firmware = os.urandom(FIRMWARE_SIZE)
    (root / FIRMWARE).write_bytes(firmware)
    return firmware


def start_rival(segment: Segment, tmp_path: Path) -> None:
    """dnsmasq on the segment; it ignores the test devices, so only our probe hears it."""
    ignore = [f"--dhcp-host={mac},ignore" for mac in [*ALGO_MACS, LAPTOP_MAC]]
    segment.start(
        "rival",
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--port=0",
        "--interface=eth0",
        "--bind-interfaces",
        "--dhcp-range=10.99.0.200,10.99.0.210,255.255.255.0,2m",
        f"--dhcp-leasefile={tmp_path / 'dnsmasq.leases'}",
        f"--pid-file={tmp_path / 'dnsmasq.pid'}",
        "--user=root",
        *ignore,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def ask_for_leases(segment: Segment, names: list[str], tmp_path: Path) -> dict[str, int]:
    """busybox udhcpc in every namespace at once (one PoE switch powering up); exit codes."""
    script = tmp_path / "lease.sh"
    script.write_text(LEASE_SCRIPT)
    script.chmod(0o755)
    clients = {}
    for name in names:
        patience = ["-t", "2", "-T", "1"] if name == "laptop" else ["-t", "8", "-T", "2"]
        clients[name] = segment.start(
            name,
            *("env", f"LEASE_OUT={tmp_path / (name + '.lease')}"),
            *("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-O", "tftp"),
            *("-s", str(script), *patience),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return {name: client.wait(timeout=WAIT) for name, client in clients.items()}


def fetch(
    segment: Segment, name: str, server: str, remote: str, local: Path, *, port: str = ""
) -> None:
    """busybox tftp in namespace ``name``, as a device fetches (blocks of 1468 bytes)."""
    command = ["busybox", "tftp", "-g", "-b", "1468", "-r", remote, "-l", str(local), server]
    run(*segment.exec(name, *command, *([port] if port else [])))


def send_syslog(segment: Segment, name: str, text: str) -> None:
    code = (
        "import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"
        ".sendto(sys.argv[1].encode(), (sys.argv[2], int(sys.argv[3])))"
    )
    run(*segment.exec(name, sys.executable, "-c", code, text, BENCH_IP, str(SYSLOG_PORT)))


def firmware_through_lossy_relay(segment: Segment, name: str, local: Path) -> list[int]:
    """Fetch the firmware through the relay; returns its (dropped, duplicated, reordered)."""
    relay = segment.start(
        "bench",
        *(sys.executable, "-c", RELAY, str(TESTS), BENCH_IP),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert relay.stdout is not None and relay.stdin is not None
    port = relay.stdout.readline().strip()
    fetch(segment, name, BENCH_IP, FIRMWARE, local, port=port)
    relay.stdin.close()
    counts = [int(number) for number in relay.stdout.readline().split()]
    relay.wait(timeout=10)
    return counts


def test_virtual_bench(segment: Segment, tmp_path: Path) -> None:
    root = tmp_path / "bench-files"
    firmware = bench_files(root)
    segment.plug("rival", "02:99:00:00:00:02", RIVAL_IP)
    algo_names = [f"algo{i}" for i in range(len(ALGO_MACS))]
    for name, mac in zip(algo_names, ALGO_MACS, strict=True):
        segment.plug(name, mac)
    segment.plug("laptop", LAPTOP_MAC)
    start_rival(segment, tmp_path)
    home = tmp_path / "algodesk-home"
    serve = segment.start(
        "bench",
        *(sys.executable, "-m", "algodesk", "serve", str(root), "--json"),
        *("--dhcp", POOL, "--syslog", str(SYSLOG_PORT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "ALGODESK_HOME": str(home)},
    )
    stream = EventStream(serve)
    try:
        started = stream.wait_for(
            "dhcp start",
            lambda e: e["event"] in ("server-started", "server-failed") and e["service"] == "dhcp",
        )
        assert started["event"] == "server-started", started
        assert started["address"] == BENCH_IP

        exits = ask_for_leases(segment, [*algo_names, "laptop"], tmp_path)
        assert exits == {**dict.fromkeys(algo_names, 0), "laptop": exits["laptop"]}
        assert exits["laptop"] != 0

        # Each Algo device got a lease naming the bench, fetched its config the device way, and
        # its syslog line is tied to it by its leased address.
        addresses = set()
        for name, mac in zip(algo_names, ALGO_MACS, strict=True):
            lease = read_lease(tmp_path / f"{name}.lease")
            assert (lease["serverid"], lease["tftp"]) == (BENCH_IP, BENCH_IP)  # tftp: option 66
            assert lease["ip"] != RIVAL_IP
            addresses.add(lease["ip"])
            granted = stream.wait_for("lease", event_is("lease", mac=mac.upper()))
            assert granted["ip"] == lease["ip"]
            config_name = f"algom{bare(mac)}.conf"
            got, got_md5 = tmp_path / f"{name}.conf", tmp_path / f"{name}.md5"
            fetch(segment, name, lease["tftp"], config_name, got)
            fetch(segment, name, lease["tftp"], md5.md5_name(config_name), got_md5)
            assert got.read_bytes() == (root / config_name).read_bytes()
            assert md5.verify(got_md5.read_bytes(), got.read_bytes())
            send_syslog(segment, name, f"<14>Jan  1 00:00:05 provision: applied {config_name}")
            line = stream.wait_for(
                "syslog line",
                lambda e, ip=lease["ip"]: e["event"] == "syslog" and e["client"][0] == ip,
            )
            assert line["app"] == "provision" and config_name in line["message"]
        assert len(addresses) == len(ALGO_MACS)

        # The laptop: no lease from the bench, ignored and said so.
        assert not (tmp_path / "laptop.lease").exists()
        assert not stream.of("lease", mac=LAPTOP_MAC.upper())
        stream.wait_for(
            "the laptop ignored",
            event_is("notice", code="dhcp-ignored-client", message=LAPTOP_MAC.upper()),
        )
        # The rival: its answer to the start-up probe is reported, its address never leased.
        stream.wait_for("the rival", event_is("notice", code="dhcp-other-server", message=RIVAL_IP))
        stream.wait_for(
            "the rival's address in use",
            event_is("notice", code="dhcp-address-in-use", message=RIVAL_IP),
        )

        got_firmware = tmp_path / "firmware.sfw"
        dropped, duplicated, reordered = firmware_through_lossy_relay(
            segment, algo_names[0], got_firmware
        )
        assert dropped > 0 and duplicated > 0 and reordered > 0
        assert hashlib.md5(got_firmware.read_bytes()).digest() == hashlib.md5(firmware).digest()
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=10)
        finally:
            stream.join()

    assert serve.returncode == 0, serve.stderr.read() if serve.stderr else ""
    leases = json.loads((home / "data" / "dhcp-leases.json").read_text())["leases"]
    assert sorted(lease["mac"] for lease in leases) == sorted(bare(mac) for mac in ALGO_MACS)
    assert stream.of("server-stopped", service="dhcp")
