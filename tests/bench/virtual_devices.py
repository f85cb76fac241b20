"""Virtual devices, each with its own loopback address, for the screenshots; the bench folder.

The live view tells devices apart by IP (an IP's first request names its MAC), so every virtual
device here sends from its own address in 127.0.0.0/8 (Linux routes the whole block to
loopback). Each runs the real device algorithm (core/simulator) through a small TFTP client
bound to that address, whose acknowledgements can be slowed down so transfers stay on screen
(the reason ``algodesk simulate --source-base`` does not replace it here). Loopback only: the
server address must be 127.0.0.1.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from algodesk.core.md5 import write_md5
from algodesk.core.simulator import DeviceState, Fetcher, device_macs
from algodesk.services.sim_fleet import SimFleet

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "fpbx-8196-2025__algom_mac_.conf"
PRODUCT = "8196"
FIRMWARE = "5.4f"
SERVER = "127.0.0.1"
_RRQ, _DATA, _ACK, _ERROR, _OACK = 1, 3, 4, 5, 6
_BLKSIZE = 1468


def source_address(index: int) -> str:
    """The loopback address of virtual device ``index`` (0-based): 127.1.x.y."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


def bound_fetcher(
    port: int,
    source: str,
    cancel: threading.Event,
    *,
    timeout: float = 1.0,
    retries: int = 5,
    ack_delay: float = 0.0,
) -> Fetcher:
    """Reads files from ``127.0.0.1:port`` with requests sent from ``source``.

    ``ack_delay`` slows every acknowledgement down (a device on a slow link: transfers that
    stay in progress long enough to be seen).
    """

    def fetch(name: str) -> bytes | None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            sock.settimeout(timeout)
            request = struct.pack("!H", _RRQ) + name.encode() + b"\0octet\0blksize\0%d\0" % _BLKSIZE
            last, peer, blksize, expected, chunks = request, (SERVER, port), 512, 1, []
            tries = 0
            while not cancel.is_set():
                sock.sendto(last, peer)
                try:
                    packet, sender = sock.recvfrom(65536)
                except TimeoutError:
                    tries += 1
                    if tries > retries:
                        raise TimeoutError(f"{name}: no answer") from None
                    continue
                tries = 0
                peer = sender
                opcode, number = struct.unpack("!HH", packet[:4])
                if opcode == _ERROR:
                    if number == 1:
                        return None
                    raise OSError(f"{name}: TFTP error {number}")
                if opcode == _OACK:
                    fields = packet[2:].split(b"\0")
                    options = dict(zip(fields[::2], fields[1::2], strict=False))
                    blksize = int(options.get(b"blksize", b"512"))
                    last = struct.pack("!HH", _ACK, 0)
                    continue
                if opcode == _DATA and number == expected & 0xFFFF:
                    if ack_delay:
                        time.sleep(ack_delay)
                    chunks.append(packet[4:])
                    last = struct.pack("!HH", _ACK, number)
                    if len(packet) - 4 < blksize:
                        sock.sendto(last, peer)
                        return b"".join(chunks)
                    expected += 1
            raise InterruptedError(f"{name}: cancelled")

    return fetch


def make_bench_folder(root: Path, *, firmware_kib: int = 256, tones_kib: int = 100) -> Path:
    """A realistic folder: a generic 8196 config naming firmware and tones, with md5s."""
    root.mkdir(parents=True, exist_ok=True)
    lines = [
        line
        for line in SAMPLE.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        if not line.startswith(
            ("prov.version.firmware", "prov.data.", "prov.server", "prov.download")
        )
    ]
    lines += [f"prov.version.firmware = {FIRMWARE}", "prov.data.tone = tones.zip"]
    config = root / f"algop{PRODUCT}.conf"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogateescape")
    write_md5(config)
    (root / f"algo-{PRODUCT}-{FIRMWARE}.sfw").write_bytes(os.urandom(firmware_kib * 1024))
    (root / "tones.zip").write_bytes(os.urandom(tones_kib * 1024))
    write_md5(root / "tones.zip")
    return root


def run_fleet(
    port: int,
    count: int,
    *,
    first: int = 0,
    base_mac: str = "00:22:EE:10:00:00",
    product: str = PRODUCT,
    ack_delay: float = 0.0,
) -> SimFleet:
    """Boot ``count`` factory devices at once, MACs from ``base_mac`` up, sending from the
    loopback addresses of devices ``first``.. of the address plan."""
    addresses = itertools.count(first)
    lock = threading.Lock()

    def factory(cancel: threading.Event) -> Fetcher:
        with lock:
            source = source_address(next(addresses))
        return bound_fetcher(port, source, cancel, ack_delay=ack_delay)

    macs = device_macs(base_mac, count)
    states = [DeviceState(mac=mac, product=product, firmware="5.3") for mac in macs]
    fleet = SimFleet(states, factory)
    fleet.start()
    return fleet
