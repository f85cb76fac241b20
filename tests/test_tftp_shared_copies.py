"""One copy of a big file for every engine worker process (snapshot.SharedCopies).

With worker processes each worker read a served file into its own cache: a 50 MB firmware was
held once per worker. Now the workers map one copy per version, published in a folder only the
server's processes know, removed when the server stops.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from algodesk.core import events as ev
from algodesk.core.md5 import md5_hex
from algodesk.services.tftp import TftpServer, TftpSettings, snapshot
from algodesk.services.tftp.files import SHARE_FROM, Content, FileCache, FileStore, VirtualFiles
from algodesk.services.tftp.snapshot import SharedCopies
from algodesk.services.tftp.workers import worker
from tests.tftp_helpers import EventLog, RawClient, Reply, count_copies, running_server

pytestmark = pytest.mark.skipif(not worker.AVAILABLE, reason="worker processes are Linux's")

# Patient transfers: a held one waits while the other client downloads.
WORKERS = TftpSettings(workers=2, max_retries=20, first_ack_timeout=30.0)
SIZE = 2 * SHARE_FROM  # shared with workers, yet far below the default mmap_threshold
BLKSIZE = 1428


@pytest.fixture
def root(tmp_path: Path) -> Path:
    served = tmp_path / "root"
    served.mkdir()
    (served / "fw.sfw").write_bytes(os.urandom(SIZE))
    (served / "small.conf").write_bytes(b"prov.use = 1\n")
    return served


@pytest.fixture
def copies(tmp_path: Path) -> Path:
    folder = tmp_path / "copies"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture
def copy_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every copy of a file made (by any cache of this process)."""
    return count_copies(monkeypatch)


def _worker_cache(copies: Path) -> FileCache:
    """The cache one worker process builds (worker.main), sharing ``copies``."""
    return FileCache(mmap_threshold=128 << 20, cache_bytes=64 << 20, shared=SharedCopies(copies))


def _open(cache: FileCache, path: Path) -> Content:
    fd = os.open(path, os.O_RDONLY)
    try:
        return cache.open(path, fd, os.fstat(fd))
    finally:
        os.close(fd)


def _published(folder: Path) -> list[Path]:
    """The copies published in ``folder`` (not the temporary names, not the md5 files)."""
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.suffix != ".md5")


def _version_name(path: Path) -> str:
    status = path.stat()
    return f"{status.st_dev}-{status.st_ino}-{status.st_size}-{status.st_mtime_ns}"


def test_two_workers_caches_map_one_copy_per_version(
    root: Path, copies: Path, copy_calls: list[int]
) -> None:
    firmware = root / "fw.sfw"
    old = firmware.read_bytes()
    first, second = _worker_cache(copies), _worker_cache(copies)
    a = _open(first, firmware)
    b = _open(second, firmware)
    assert a.mapped and b.mapped and bytes(a.data) == bytes(b.data) == old
    assert copy_calls == [SIZE]  # the second worker mapped the first one's copy
    (published,) = _published(copies)
    assert published.name == _version_name(firmware) and published.stat().st_size == SIZE
    assert published.stat().st_mode & 0o777 == 0o600
    small = _open(first, root / "small.conf")  # below SHARE_FROM: read whole, as before
    assert not small.mapped and len(_published(copies)) == 1

    # A new version: the first worker copies it and drops the old one (its name goes), while
    # the second still serves the old bytes from its map of the unlinked copy.
    first.release(firmware, a)
    new = os.urandom(SIZE)
    before = firmware.stat()
    firmware.write_bytes(new)  # in place: the same inode and size, a later mtime
    os.utime(firmware, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    fresh = _open(first, firmware)
    assert bytes(fresh.data) == new and len(copy_calls) == 2
    assert _published(copies) == [copies / _version_name(firmware)]
    assert bytes(b.data) == old
    second.release(firmware, b)
    assert bytes(_open(second, firmware).data) == new and len(copy_calls) == 2


@pytest.mark.parametrize("planted", ["wrong-size", "link-to-original", "folder"])
def test_a_stale_or_foreign_file_at_a_versions_name_is_never_mapped(
    root: Path, copies: Path, copy_calls: list[int], planted: str
) -> None:
    firmware = root / "fw.sfw"
    name = copies / _version_name(firmware)
    if planted == "wrong-size":
        name.write_bytes(b"stale")
    elif planted == "folder":
        name.mkdir()
    else:  # the original itself: mapped, a truncation in place would SIGBUS the worker
        name.symlink_to(firmware)
    content = _open(_worker_cache(copies), firmware)
    assert bytes(content.data) == firmware.read_bytes() and copy_calls == [SIZE]
    if planted == "folder":  # cannot be replaced: our copy serves, unpublished
        assert name.is_dir()
        return
    assert not name.is_symlink() and name.stat().st_size == SIZE
    assert name.stat().st_ino != firmware.stat().st_ino
    assert _open(_worker_cache(copies), firmware).size == SIZE and copy_calls == [SIZE]


def test_a_file_changed_while_copied_is_not_published(
    root: Path, copies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    firmware = root / "fw.sfw"
    real = snapshot._copy

    def rewritten_meanwhile(source: int, target: int, size: int) -> int:
        copied = real(source, target, size)
        os.utime(firmware, ns=(1, 1))  # another program wrote it during the copy
        return copied

    monkeypatch.setattr(snapshot, "_copy", rewritten_meanwhile)
    with pytest.raises(snapshot.ChangedWhileCopied):
        _open(_worker_cache(copies), firmware)
    assert list(copies.iterdir()) == []  # nor left under its temporary name


def test_the_md5_one_worker_computed_is_the_others(root: Path, copies: Path) -> None:
    stores = [FileStore(_worker_cache(copies), VirtualFiles()) for _ in range(2)]
    options = {"case_fallback": False, "auto_md5": True, "auto_md5_firmware": True}
    opened, _ = stores[0].open(root, "fw.md5", **options)
    digest = md5_hex((root / "fw.sfw").read_bytes())
    assert bytes(opened.content.data).startswith(digest.encode())
    sidecar = copies / f"{_version_name(root / 'fw.sfw')}.md5"
    assert sidecar.read_text() == digest
    sidecar.write_text("0" * 32)  # proves the second worker reads it instead of the file
    opened, _ = stores[1].open(root, "fw.md5", **options)
    assert bytes(opened.content.data).startswith(b"0" * 32)
    sidecar.write_text("not a digest")
    third = FileStore(_worker_cache(copies), VirtualFiles())
    opened, _ = third.open(root, "fw.md5", **options)
    assert bytes(opened.content.data).startswith(digest.encode())


# ----- through the server's worker processes ---------------------------------------------------


@pytest.fixture
def served(root: Path) -> Iterator[tuple[TftpServer, EventLog]]:
    with running_server(root, WORKERS) as running:
        yield running


def _copies_of(server: TftpServer) -> Path:
    pool = server._pool
    assert pool is not None and pool.copies is not None
    return pool.copies


def _hold(port: int, source: str) -> tuple[RawClient, Reply]:
    """A client whose transfer of the firmware is held open (its first DATA not acknowledged)."""
    client = RawClient(port, timeout=10.0, source=source)
    client.rrq("fw.sfw")
    return client, client.recv()


def _two_workers_hold_the_firmware(
    server: TftpServer, log: EventLog
) -> list[tuple[RawClient, Reply]]:
    held = [_hold(server.port, "127.0.0.2"), _hold(server.port, "127.0.0.3")]
    started = log.wait_for(ev.TransferStarted, 2)
    # Worker i numbers its transfers i + 1, i + 3, ...: one transfer in each worker.
    assert {e.transfer_id % 2 for e in started if isinstance(e, ev.TransferStarted)} == {0, 1}
    return held


def test_two_workers_serving_one_big_file_map_one_copy(
    served: tuple[TftpServer, EventLog], root: Path
) -> None:
    server, log = served
    expected = hashlib.md5((root / "fw.sfw").read_bytes()).hexdigest()
    held = _two_workers_hold_the_firmware(server, log)
    try:
        (published,) = _published(_copies_of(server))
        inode = str(published.stat().st_ino)
        for pid in server.worker_pids():  # both processes map that one file
            lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
            assert any(line.split()[4] == inode for line in lines)
        for client, first in held:
            data, _ = client.finish(first)
            assert hashlib.md5(data).hexdigest() == expected
    finally:
        for client, _first in held:
            client.close()
    log.wait_for(ev.TransferFinished, 2)


def test_a_big_file_truncated_while_workers_serve_it_kills_none(
    served: tuple[TftpServer, EventLog], root: Path
) -> None:
    server, log = served
    firmware = root / "fw.sfw"
    old = firmware.read_bytes()
    held = _two_workers_hold_the_firmware(server, log)
    try:
        with firmware.open("r+b") as handle:  # in place, as cp does: same inode, now empty
            handle.truncate(0)
        for client, first in held:
            assert client.finish(first)[0] == old  # a worker mapping the original died here
    finally:
        for client, _first in held:
            client.close()
    log.wait_for(ev.TransferFinished, 2)
    firmware.write_bytes(b"new")
    for source in ("127.0.0.2", "127.0.0.3"):
        with RawClient(server.port, source=source) as client:
            assert client.fetch("fw.sfw")[0] == b"new"
    assert not log.of(ev.TransferFailed)
    assert not [e for e in log.of(ev.ServiceNotice) if getattr(e, "code", "") == "worker-lost"]
    pool = server._pool
    assert pool is not None and all(process.poll() is None for process in pool._processes)


def test_the_copies_go_when_the_server_stops_even_after_a_lost_worker(root: Path) -> None:
    with running_server(root, WORKERS) as (server, log):
        with RawClient(server.port) as client:
            assert client.fetch("fw.sfw", blksize=BLKSIZE)[0] == (root / "fw.sfw").read_bytes()
        folder = _copies_of(server)
        assert len(_published(folder)) == 1
        os.kill(server.worker_pids()[0], signal.SIGKILL)  # a worker this test's server started
        log.wait_until(lambda e: isinstance(e, ev.ServiceNotice) and e.code == "worker-lost")
        assert folder.is_dir()  # the other worker serves on from it
    assert not folder.exists()
    server.start()  # a new run, a new folder
    try:
        assert _copies_of(server) != folder
    finally:
        server.stop()


def test_the_copies_go_when_every_worker_is_lost(served: tuple[TftpServer, EventLog]) -> None:
    server, log = served
    folder = _copies_of(server)
    for pid in server.worker_pids():
        os.kill(pid, signal.SIGKILL)
    log.wait_for(ev.ServerStopped)
    assert not folder.exists()


def test_workers_serve_on_when_the_copies_folder_is_gone(
    served: tuple[TftpServer, EventLog], root: Path
) -> None:
    server, _log = served
    shutil.rmtree(_copies_of(server))  # a cleaner emptied the temporary folder
    with RawClient(server.port) as client:
        assert client.fetch("fw.sfw", blksize=BLKSIZE)[0] == (root / "fw.sfw").read_bytes()


_SERVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from algodesk.services.tftp import TftpServer, TftpSettings

    server = TftpServer(Path(sys.argv[1]), "127.0.0.1", 0, settings=TftpSettings(workers=2))
    server.start()
    print(server.port, server._pool.copies, *server.worker_pids(), flush=True)
    sys.stdin.read()
    """
)


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_copies_go_when_the_server_process_is_killed(root: Path) -> None:
    # Nothing in the killed process removes its folder: its workers, told by their commands
    # ending without a stop, do.
    with subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as parent:
        assert parent.stdout is not None
        port, folder, *pids = parent.stdout.readline().split()
        try:
            with RawClient(int(port), timeout=10.0) as client:
                assert client.fetch("fw.sfw", blksize=BLKSIZE)[0] == (root / "fw.sfw").read_bytes()
            assert len(_published(Path(folder))) == 1
            parent.kill()  # the process this test started, by its PID
            parent.wait()
            deadline = time.monotonic() + 30
            while not all(_gone(int(pid)) for pid in pids) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not Path(folder).exists()
        finally:
            for pid in pids:  # its workers, started for this test, if still there
                if not _gone(int(pid)):
                    os.kill(int(pid), signal.SIGKILL)
            shutil.rmtree(folder, ignore_errors=True)
