"""Shared helpers for the TFTP benchmarks and interop tests: servers, clients, md5 checks.

Every server runs in its own subprocess on loopback, so its CPU time can be measured: from a
cgroup of its own where one can be made (root), which also counts the children tftpd-hpa forks per
transfer, else from ``/proc/<pid>/stat``. Every process started here is stopped by its own PID.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
TFTPD_HPA = "/usr/sbin/in.tftpd"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PROBE_NAME = "algodesk-probe-missing-file"

# Our engine in a process of its own; argv: ROOT PORT [KEY=VALUE settings...].
_OURS_SCRIPT = """
import signal, sys, threading
from pathlib import Path
from algodesk.services.tftp import TftpServer, TftpSettings

settings = {}
for item in sys.argv[3:]:
    key, _, value = item.partition("=")
    settings[key] = type(getattr(TftpSettings(), key))(value)
server = TftpServer(Path(sys.argv[1]), address="127.0.0.1", port=int(sys.argv[2]),
                    sink=lambda event: None, settings=TftpSettings(**settings))
server.start()
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *args: done.set())
while not done.wait(0.5):
    pass
server.stop()
"""

# tftpy's stock server, logging only errors so that logging is not what gets measured.
_TFTPY_SCRIPT = """
import logging, sys, tftpy
logging.getLogger("tftpy").setLevel(logging.ERROR)
tftpy.TftpServer(sys.argv[1]).listen("127.0.0.1", int(sys.argv[2]))
"""


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that ``with`` blocks stop the servers and remove temps."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))


def load_line(when: str) -> str:
    """The machine's load average (it is shared: figures under load are worth less)."""
    one, five, _fifteen = os.getloadavg()
    return f"load {when}: {one:.2f} {five:.2f} (1, 5 min), {os.cpu_count()} CPUs"


def free_udp_port() -> int:
    """A UDP port on loopback that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def make_root(path: Path) -> Path:
    """Create a served folder readable by tftpd-hpa after it drops to ``nobody``."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o755)
    return path


def make_file(root: Path, name: str, size: int, seed: int = 0) -> str:
    """Write ``size`` pseudo-random bytes to ``root/name``; returns their md5."""
    digest = hashlib.md5(usedforsecurity=False)
    block = hashlib.sha512(seed.to_bytes(8, "big")).digest() * 2048  # 128 KiB
    with open(root / name, "wb") as handle:
        written = 0
        counter = 0
        while written < size:
            # A varying prefix per chunk, so a misplaced block changes the md5.
            chunk = (counter.to_bytes(8, "big") + block)[: size - written]
            handle.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            counter += 1
    (root / name).chmod(0o644)
    return digest.hexdigest()


def md5_of(path: Path) -> str:
    """Lowercase hex md5 of a file (empty string if it does not exist)."""
    if not path.exists():
        return ""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and the children it has waited for (utime+stime+cutime+cstime).

    tftpd-hpa ignores SIGCHLD, so its finished children are never counted here: that is why
    servers run in a cgroup of their own when one can be made (see ``CpuGroup``).
    """
    fields = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name, which may itself hold spaces and parentheses.
    after = fields[fields.rindex(")") + 2 :].split()
    return sum(int(value) for value in after[11:15]) / _CLOCK_TICKS


class CpuGroup:
    """A cgroup that counts the CPU time of a server and every process it forks (needs root)."""

    _V1 = Path("/sys/fs/cgroup/cpuacct")
    _V2 = Path("/sys/fs/cgroup")

    def __init__(self, path: Path, usage: Path, scale: float) -> None:
        self.path, self._usage, self._scale = path, usage, scale

    @classmethod
    def create(cls, name: str) -> CpuGroup | None:
        """A new, empty group, or None where cgroups cannot be written."""
        for parent, usage, scale in (
            (cls._V1, "cpuacct.usage", 1e-9),
            (cls._V2, "cpu.stat", 1e-6),
        ):
            if not (parent / usage).exists():
                continue
            path = parent / f"{name}-{os.getpid()}-{time.monotonic_ns()}"
            try:
                path.mkdir()
            except OSError:
                continue
            return cls(path, path / usage, scale)
        return None

    def add(self, pid: int) -> None:
        """Move a process (and so its future children) into the group."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU seconds of the group (v1 ``cpuacct.stat`` or v2 ``cpu.stat``)."""
        if self._usage.name == "cpu.stat":
            stat = dict(line.split() for line in self._usage.read_text().splitlines())
            return int(stat["user_usec"]) / 1e6, int(stat["system_usec"]) / 1e6
        stat = dict(line.split() for line in (self.path / "cpuacct.stat").read_text().splitlines())
        return int(stat["user"]) / _CLOCK_TICKS, int(stat["system"]) / _CLOCK_TICKS

    def cpu_seconds(self) -> float:
        """CPU seconds used by every process that has been in the group."""
        text = self._usage.read_text()
        if self._usage.name == "cpu.stat":
            text = dict(line.split() for line in text.splitlines())["usage_usec"]
        return int(text) * self._scale

    def remove(self) -> None:
        """Delete the group once its processes are gone (forked children may linger briefly)."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


@dataclass
class ServerProcess:
    """A TFTP server running in a subprocess this module started."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    cpu_group: CpuGroup | None = field(default=None)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.process.pid

    @property
    def counts_children(self) -> bool:
        """Whether ``cpu_seconds`` includes forked children that the server never waited for."""
        return self.cpu_group is not None

    def cpu_seconds(self) -> float:
        """CPU seconds the server has used so far."""
        if self.cpu_group is not None:
            return self.cpu_group.cpu_seconds()
        return process_cpu_seconds(self.pid)

    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU seconds so far (children only where there is a cgroup)."""
        if self.cpu_group is not None:
            return self.cpu_group.cpu_split()
        fields = Path(f"/proc/{self.pid}/stat").read_text()
        after = fields[fields.rindex(")") + 2 :].split()
        return int(after[11]) / _CLOCK_TICKS, int(after[12]) / _CLOCK_TICKS

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) by its PID and reap it."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait()
        if self.cpu_group is not None:
            self.cpu_group.remove()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _spawn(name: str, argv: Sequence[str], port: int) -> ServerProcess:
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    server = ServerProcess(name, port, process, CpuGroup.create(f"algodesk-bench-{name}"))
    try:
        if server.cpu_group is not None:
            # Before the first request, so every transfer child it forks is counted.
            server.cpu_group.add(process.pid)
        wait_ready(port, process)
    except BaseException:
        server.stop()
        raise
    return server


def start_tftpd_hpa(root: Path, port: int = 0) -> ServerProcess:
    """tftpd-hpa in the foreground on loopback, serving ``root`` (chrooted)."""
    port = port or free_udp_port()
    argv = [TFTPD_HPA, "-L", "-s", str(root), "-a", f"{HOST}:{port}"]
    return _spawn("tftpd-hpa", argv, port)


def start_tftpy(root: Path, port: int = 0) -> ServerProcess:
    """tftpy's stock ``TftpServer`` in a subprocess."""
    port = port or free_udp_port()
    argv = [sys.executable, "-c", _TFTPY_SCRIPT, str(root), str(port)]
    return _spawn("tftpy", argv, port)


def start_ours(root: Path, port: int = 0, **settings: object) -> ServerProcess:
    """Our engine (``algodesk.services.tftp``) in a subprocess; ``settings`` go to TftpSettings."""
    port = port or free_udp_port()
    extra = [f"{key}={value}" for key, value in settings.items()]
    argv = [sys.executable, "-c", _OURS_SCRIPT, str(root), str(port), *extra]
    return _spawn("ours", argv, port)


def start_python_floor(root: Path, port: int = 0) -> ServerProcess:
    """The least a Python server can do per packet (``_python_floor.py``), as a yardstick."""
    port = port or free_udp_port()
    script = Path(__file__).with_name("_python_floor.py")
    return _spawn("python-floor", [sys.executable, str(script), str(root), str(port)], port)


SERVERS = {
    "ours": start_ours,
    "tftpd-hpa": start_tftpd_hpa,
    "tftpy": start_tftpy,
    "python-floor": start_python_floor,
}


def wait_ready(
    port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 15.0
) -> None:
    """Wait until a TFTP server answers on ``port`` (any reply to a read request will do)."""
    request = b"\x00\x01" + _PROBE_NAME.encode() + b"\x00octet\x00"
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.1)
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(
                    f"server exited with code {process.returncode} before it was ready"
                )
            sock.sendto(request, (HOST, port))
            try:
                sock.recvfrom(2048)
                return
            except (TimeoutError, ConnectionRefusedError):
                continue
    raise RuntimeError(f"no TFTP server answered on {HOST}:{port} within {timeout} s")


# -- clients -----------------------------------------------------------------------------


def have(program: str) -> bool:
    """Whether a client or server binary is installed."""
    if program == "busybox-tftp":
        busybox = shutil.which("busybox")
        return busybox is not None and "tftp" in _run_quiet([busybox, "--list"]).split()
    return shutil.which(program) is not None or Path(program).exists()


def _run_quiet(argv: Sequence[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def curl_argv(port: int, name: str, out: Path, blksize: int = 512, host: str = HOST) -> list[str]:
    """curl fetching ``name`` (it asks for blksize and tsize)."""
    url = f"tftp://{host}:{port}/{name}"
    return ["curl", "-s", "-S", "--tftp-blksize", str(blksize), url, "-o", str(out)]


def busybox_argv(
    port: int, name: str, out: Path, blksize: int = 512, host: str = HOST
) -> list[str]:
    """busybox tftp: an embedded client that asks for blksize only, never timeout."""
    argv = ["busybox", "tftp", "-g", "-r", name, "-l", str(out)]
    if blksize != 512:
        argv[3:3] = ["-b", str(blksize)]
    return [*argv, host, str(port)]


def tftp_hpa_argv(port: int, name: str, out: Path, host: str = HOST) -> list[str]:
    """tftp-hpa's client: plain RFC 1350, 512-byte blocks (this version sends no options)."""
    return ["tftp", host, str(port), "-m", "binary", "-c", "get", name, str(out)]


def atftp_argv(
    port: int, name: str, out: Path, blksize: int = 1428, windowsize: int = 4, host: str = HOST
) -> list[str]:
    """atftp with RFC 2348 blksize and RFC 7440 windowsize."""
    return [
        "atftp",
        "--option",
        f"blksize {blksize}",
        "--option",
        f"windowsize {windowsize}",
        "-g",
        "-r",
        name,
        "-l",
        str(out),
        host,
        str(port),
    ]


def fetch(argv: Sequence[str], timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run one client to completion (its output captured for error messages)."""
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
    )
