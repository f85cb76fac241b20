"""Hostile input against our TFTP engine (one engine, two workers) and tftpd-hpa, side by side.

The probes of issue 16 that apply to a TFTP server run against each server in its own process on
loopback (tftpd-hpa chrooted with ``-s``, as installed); the probes of our other services (syslog,
DHCP, serve's output) have no tftpd-hpa counterpart and show ``n/a`` there. Each cell says what
happened; ``held`` means the server kept serving and nothing leaked. Prints a table: probe, ours
(workers=1), ours (workers=2), tftpd-hpa; the last line is the summary.

    uv run python tests/bench/hostile_compare.py [--quick]

Needs root for nothing; uses 127.0.0.1 and 127.0.0.2 (Linux loopback answers all of 127/8).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import _tftp_peers as peers

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.tftp_helpers import DATA, ERROR, RawClient

REAL = "127.0.0.2"  # the real client; the hostile ones come from 127.0.0.1


@dataclass
class Cell:
    """What one probe did to one server."""

    text: str
    held: bool | None  # None: does not apply

    def __str__(self) -> str:
        mark = "" if self.held is None else (" [held]" if self.held else " [FAILED]")
        return f"{self.text}{mark}"


NA = Cell("n/a", None)


def alive(server: peers.ServerProcess) -> bool:
    return server.process.poll() is None


def real_fetch(port: int, name: str, timeout: float = 5.0) -> tuple[bytes | None, str]:
    """A real client's download from 127.0.0.2: its bytes, or None and why."""
    try:
        with RawClient(port, timeout=timeout, source=REAL) as client:
            data, first = client.fetch(name)
    except (TimeoutError, OSError) as error:
        return None, f"no answer ({error.__class__.__name__})"
    if first.opcode == ERROR:
        return None, f"refused: {first.message}"
    return data, ""


# -- TFTP probes --------------------------------------------------------------------------------


def probe_long_names(server: peers.ServerProcess, root: Path, count: int) -> Cell:
    """Point 1: requests for a 256-byte name component, then a real client."""
    texts: set[str] = set()
    for index in range(count):
        with RawClient(server.port, timeout=3.0) as client:
            client.rrq(f"{index}" + "a" * 256 + ".conf")
            try:
                reply = client.recv()
                texts.add(reply.message if reply.opcode == ERROR else "data?")
            except TimeoutError:
                texts.add("no answer")
    data, why = real_fetch(server.port, "small.conf")
    ok = data is not None and alive(server)
    return Cell(f"{count}x -> {'/'.join(sorted(texts))}; real: {'served' if ok else why}", ok)


def probe_truncate(server: peers.ServerProcess, root: Path, size: int) -> Cell:
    """Point 2: a big file truncated in place during its transfer."""
    big = root / "big.bin"
    old = os.urandom(size)
    big.write_bytes(old)
    try:
        with RawClient(server.port, timeout=5.0) as client:
            client.rrq("big.bin", blksize=1428)
            first = client.recv()
            with big.open("r+b") as handle:
                handle.truncate(0)
            data, _ = client.finish(first)
    except (TimeoutError, OSError, AssertionError):
        data = None
    if not alive(server):
        return Cell("server died (SIGBUS?)", False)
    if data is None:
        return Cell("transfer broke off; server alive", True)
    if data == old:
        return Cell("old bytes, whole", True)
    return Cell(f"{len(data)} of {len(old)} bytes, silently short", False)


def probe_unacked(server: peers.ServerProcess, root: Path, count: int) -> Cell:
    """Point 5: requests never acknowledged fill the slots; a real client asks at once."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.sendto(b"\0\1small.conf\0octet\0", ("127.0.0.1", server.port))
            socks.append(sock)
        started = time.monotonic()
        data, why = real_fetch(server.port, "small.conf", timeout=2.0)
        while data is None and time.monotonic() - started < 30:
            data, why = real_fetch(server.port, "small.conf", timeout=2.0)
        waited = time.monotonic() - started
    finally:
        for sock in socks:
            sock.close()
    if data is None:
        return Cell(f"{count} unACKed: real client locked out 30+ s ({why})", False)
    return Cell(f"{count} unACKed: real client served after {waited:.2f} s", waited < 5)


def probe_slow_ackers(server: peers.ServerProcess, root: Path, count: int) -> Cell:
    """Point 5: clients of one address that ACK once a second; a real client asks meanwhile."""
    clients = []
    stop = threading.Event()
    try:
        for _ in range(count):
            client = RawClient(server.port, timeout=3.0)
            clients.append(client)
            client.rrq("slow.bin", blksize=512)

        def ack_slowly() -> None:
            blocks = dict.fromkeys(range(len(clients)), 0)
            while not stop.wait(1.0):
                for index, client in enumerate(clients):
                    client.sock.settimeout(0.0)
                    try:
                        while True:
                            reply = client.recv()
                            if reply.opcode == DATA:
                                blocks[index] = reply.block
                    except (BlockingIOError, TimeoutError, OSError):
                        pass
                    if blocks[index] and client.peer is not None:
                        client.ack(blocks[index])

        thread = threading.Thread(target=ack_slowly, name="bench-slow-ackers")
        thread.start()
        time.sleep(1.5)  # the slow clients hold their slots by now
        data, why = real_fetch(server.port, "small.conf")
        stop.set()
        thread.join()
    finally:
        stop.set()
        for client in clients:
            client.close()
    ok = data is not None
    return Cell(f"{count} slow ACKers: real client {'served' if ok else why}", ok)


def probe_symlink_race(server: peers.ServerProcess, root: Path, count: int) -> Cell:
    """Point 7: a folder swapped for a link to the outside while requests run."""
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    (outside / "f.conf").write_bytes(b"OUTSIDE\n")
    sub = root / "sub"
    sub.mkdir(exist_ok=True)
    (sub / "f.conf").write_bytes(b"inside\n")
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            os.rename(sub, root / "sub.real")
            os.symlink(outside, sub)
            os.unlink(sub)
            os.rename(root / "sub.real", sub)
            stop.wait(0.002)  # inside for a moment too, so that the probe is served at times

    thread = threading.Thread(target=swap, name="bench-swapper")
    thread.start()
    leaked = inside = 0
    try:
        for _ in range(count):
            try:
                with RawClient(server.port, timeout=2.0) as client:
                    data, _ = client.fetch("sub/f.conf")
            except (TimeoutError, OSError, AssertionError):
                continue
            leaked += data == b"OUTSIDE\n"
            inside += data == b"inside\n"
    finally:
        stop.set()
        thread.join()
    return Cell(f"{count} requests: {leaked} outside, {inside} inside", leaked == 0)


def probe_netascii(server: peers.ServerProcess, root: Path, size: int) -> Cell:
    """Point 6: a netascii request for a big file: first block delay, the servers' memory.

    Memory is the peak resident size of the server and its child processes (workers, or
    tftpd-hpa's forked transfer) while the first block is prepared; converting the whole file
    would add twice its size (CR LF for LF) on top of the file itself.
    """
    text = (b"line\n" * (size // 5))[:size]
    (root / "big.txt").write_bytes(text)
    before = _tree_rss(server.pid)
    with RawClient(server.port, timeout=30.0) as client:
        started = time.monotonic()
        client.rrq("big.txt", "netascii", blksize=1428)
        first = client.recv()
        delay = time.monotonic() - started
        grew = (_tree_rss(server.pid) - before) / (1 << 20)
        if first.opcode != ERROR:
            client.send(b"\0\5\0\0aborted\0")  # enough: the first answer is what we time
    ok = first.opcode != ERROR and grew < 2 * size / (1 << 20)
    return Cell(f"{size >> 20} MiB: first answer {delay:.2f} s, RSS +{grew:.0f} MiB", ok)


def probe_md5_repeat(server: peers.ServerProcess, root: Path, size: int) -> Cell:
    """Point 6: the same generated md5 asked for three times (kept once; workers share it)."""
    (root / "tones.zip").write_bytes(os.urandom(size))
    times = []
    for _ in range(3):
        started = time.monotonic()
        try:
            with RawClient(server.port, timeout=30.0) as client:
                _data, first = client.fetch("tones.md5")
        except TimeoutError:
            return Cell("no answer", False)
        times.append(time.monotonic() - started)
        if first.opcode == ERROR:
            return Cell(f"not generated ({first.message})", None)
    later = ", ".join(f"{t:.3f}" for t in times[1:])
    return Cell(
        f"{size >> 20} MiB: {times[0]:.2f} s, then {later} s", min(times[1:]) < times[0] / 4
    )


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its children now."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    for each in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


# -- our other services: no tftpd-hpa counterpart ---------------------------------------------


def probe_masking() -> Cell:
    """Point 3: one 64 KiB syslog datagram of a.a.a.… (the old patterns: ~146 s of CPU)."""
    from algodesk.core.syslog_parse import parse

    datagram = b"<14>app: " + b"a." * 32_000
    started = time.process_time()
    parse(datagram)
    cost = time.process_time() - started
    return Cell(f"64 KiB a.a.a.: {cost * 1000:.1f} ms CPU", cost < 1.0)


def probe_dhcp_flood(count: int) -> Cell:
    """Point 8: a DISCOVER flood at a full pool: CPU per packet, notices per MAC."""
    from algodesk.core import dhcp_packet as dp
    from algodesk.core.dhcp_packet import MessageType
    from algodesk.core.events import Event, ServiceNotice
    from algodesk.services.dhcp import DhcpSettings
    from algodesk.services.dhcp.leases import LeaseStore
    from algodesk.services.dhcp.responder import DhcpResponder

    events: list[Event] = []
    settings = DhcpSettings(
        server_address="10.99.0.1",
        pool_start="10.99.0.10",
        pool_size=1,
        ping_check=False,
        detect_other_servers=False,
    )
    responder = DhcpResponder(settings, LeaseStore(None), events.append, ping_check=False)
    macs = [bytes.fromhex("0022ee") + (n % 50).to_bytes(3, "big") for n in range(count)]
    packets = [
        dp.request_packet(MessageType.DISCOVER, xid=n, chaddr=mac, options=[]).encode()
        for n, mac in enumerate(macs)
    ]
    started = time.process_time()
    for packet in packets:
        responder.handle(packet, ("0.0.0.0", 68))
    per_packet = (time.process_time() - started) / count * 1e6
    notices = sum(isinstance(e, ServiceNotice) for e in events)
    return Cell(
        f"{count} DISCOVERs, 50 MACs: {per_packet:.0f} us each, {notices} notices", notices <= 50
    )


def probe_unread_output(root: Path, requests: int) -> Cell:
    """Point 4: serve with a stdout pipe nobody reads; a real client asks after a burst."""
    import fcntl
    import re

    env = {**os.environ, "ALGODESK_HOME": str(root.parent / "home")}
    argv = [sys.executable, "-m", "algodesk", "serve", str(root), "--bind", "127.0.0.1"]
    argv += ["--port", "0", "--no-history"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env) as proc:
        try:
            assert proc.stdout is not None
            fcntl.fcntl(proc.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)
            match = re.search(rb":(\d+)\s*$", proc.stdout.readline())
            port = int(match.group(1)) if match else 0
            with RawClient(port, timeout=5.0) as client:
                for index in range(requests):
                    client.rrq(f"missing-{index}")
                    client.recv()
            data, why = real_fetch(port, "small.conf")
        except (TimeoutError, OSError) as error:
            data, why = None, f"no answer ({error.__class__.__name__})"
        finally:
            proc.kill()
    return Cell(f"{requests} requests unread: real client {'served' if data else why}", bool(data))


# -- the run ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts and files")
    args = parser.parse_args()
    peers.exit_on_sigterm()
    quick = args.quick
    resource.setrlimit(
        resource.RLIMIT_NOFILE, (4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    )
    tftp: list[tuple[str, Callable[[peers.ServerProcess, Path], Cell]]] = [
        ("1 long names (ENAMETOOLONG)", lambda s, r: probe_long_names(s, r, 50 if quick else 500)),
        ("2 truncated while served", lambda s, r: probe_truncate(s, r, 4 << 20)),
        ("5 unACKed request flood", lambda s, r: probe_unacked(s, r, 100 if quick else 500)),
        ("5 slow ACKers, one address", lambda s, r: probe_slow_ackers(s, r, 100 if quick else 500)),
        ("6 netascii big file", lambda s, r: probe_netascii(s, r, (16 if quick else 256) << 20)),
        (
            "6 generated md5 twice",
            lambda s, r: probe_md5_repeat(s, r, (32 if quick else 512) << 20),
        ),
        ("7 symlink swap race", lambda s, r: probe_symlink_race(s, r, 100 if quick else 500)),
    ]
    servers: list[tuple[str, Callable[[Path], peers.ServerProcess]]] = [
        # mmap_threshold 1 MiB: the truncation probe's 4 MiB file takes the big-file path
        ("ours w=1", lambda r: peers.start_ours(r, workers=1, mmap_threshold=1 << 20)),
        ("ours w=2", lambda r: peers.start_ours(r, workers=2, mmap_threshold=1 << 20)),
        ("tftpd-hpa", peers.start_tftpd_hpa),
    ]
    print(peers.load_line("before"))
    rows: list[tuple[str, list[Cell]]] = []
    for title, probe in tftp:
        cells = []
        for _name, start in servers:
            with tempfile.TemporaryDirectory(prefix="algodesk-hostile-") as temp:
                root = peers.make_root(Path(temp) / "root")
                (root / "small.conf").write_bytes(b"admin.devname = bench\n")
                (root / "slow.bin").write_bytes(os.urandom(1 << 20))
                with start(root) as server:
                    try:
                        cells.append(probe(server, root))
                    except Exception as error:  # a probe that broke says so in its cell
                        cells.append(Cell(f"probe error: {error!r}"[:60], not alive(server)))
        rows.append((title, cells))
        print(f"  ran {title}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="algodesk-hostile-") as temp:
        root = peers.make_root(Path(temp) / "root")
        (root / "small.conf").write_bytes(b"admin.devname = bench\n")
        output = probe_unread_output(root, 1000 if quick else 3000)
    rows.append(("3 syslog masking, 64 KiB", [probe_masking(), NA, NA]))
    rows.append(("4 serve output unread", [output, NA, NA]))
    rows.append(("8 DHCP DISCOVER flood", [probe_dhcp_flood(2000 if quick else 20000), NA, NA]))
    header = ["probe", *(name for name, _ in servers)]
    widths = [
        max(len(str(x)) for x in col)
        for col in zip(header, *([t, *c] for t, c in rows), strict=True)
    ]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for title, cells in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip([title, *cells], widths, strict=True)))
    print(peers.load_line("after"))
    totals = []
    for index, (name, _start) in enumerate(servers):
        applied = [cells[index] for _t, cells in rows if cells[index].held is not None]
        totals.append(f"{name} held {sum(c.held is True for c in applied)}/{len(applied)}")
    print("summary: " + ", ".join(totals))
    return 0


if __name__ == "__main__":
    sys.exit(main())
