"""Point 6: big files cost neither memory nor the engine's time.

netascii converted the whole file in memory (1 GiB -> 3 GiB, the engine blocked 11 s) and a
generated md5 was recomputed on every request (2 GiB zip: 3.5 s each, engine blocked).
"""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest

from algodesk.core import events as ev
from algodesk.services.tftp import TftpSettings, digests
from algodesk.services.tftp.files import Content, FileCache, FileStore, VirtualFiles
from algodesk.services.tftp.netascii import CHUNK
from tests.tftp_helpers import RawClient, running_server


def netascii(data: bytes) -> bytes:
    return data.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")


def test_netascii_is_converted_as_it_is_sliced() -> None:
    source = (b"line one\nline\rtwo\r\n" * 1000 + b"x" * 977) * 100  # ~2 MiB, odd boundaries
    expected = hashlib.sha256(netascii(source)).hexdigest()
    content = Content(source)
    tracemalloc.start()
    try:
        stream = content.netascii()
        digest = hashlib.sha256()
        offset = 0
        while offset < len(stream):
            block = stream[offset : offset + 1468]
            digest.update(block)
            offset += len(block)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == expected
    converted = netascii(source)
    assert len(stream) == len(converted)
    assert stream[100_000:101_468] == converted[100_000:101_468]  # an earlier block, resent
    # a few converted chunks at a time, never the whole converted file (~2.3 MiB)
    assert peak < 12 * CHUNK


def test_netascii_transfers_in_both_modes(tmp_path: Path, engine_settings: TftpSettings) -> None:
    body = os.urandom(300_000)  # random bytes: CR and LF everywhere, chunk edges included
    (tmp_path / "f.txt").write_bytes(body)
    with running_server(tmp_path, engine_settings) as (server, _log), RawClient(server.port) as c:
        data, _first = c.fetch("f.txt", "netascii", blksize=1024)
    assert data == netascii(body)


def test_generated_md5_is_computed_once_per_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zipped = tmp_path / "tones.zip"
    zipped.write_bytes(os.urandom(3 << 20))
    expected = hashlib.md5(zipped.read_bytes()).hexdigest()
    changed = hashlib.md5(b"changed").hexdigest()
    computed: list[int] = []
    real_md5 = digests.hashlib.md5

    def counting(*args: object, **kwargs: object) -> object:
        computed.append(1)
        return real_md5(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(digests.hashlib, "md5", counting)
    store = FileStore(FileCache(mmap_threshold=1 << 20, cache_bytes=1 << 20), VirtualFiles())

    def ask() -> bytes:
        opened, path = store.open(
            tmp_path, "tones.md5", case_fallback=True, auto_md5=True, auto_md5_firmware=False
        )
        assert path is None and opened.source is ev.Source.AUTO_MD5
        return bytes(opened.content.data)

    assert ask().startswith(expected.encode())
    assert ask().startswith(expected.encode())
    assert len(computed) == 1  # the second request found it
    assert store.cache.users() == 0  # the zip itself was never opened whole, nor kept
    zipped.write_bytes(b"changed")
    assert ask().startswith(changed.encode())
    assert len(computed) == 2


def test_generated_md5_in_both_modes(tmp_path: Path, engine_settings: TftpSettings) -> None:
    body = os.urandom(200_000)
    (tmp_path / "tones.zip").write_bytes(body)
    with running_server(tmp_path, engine_settings) as (server, _log):
        for _ in range(2):
            with RawClient(server.port) as client:
                data, _first = client.fetch("tones.md5")
            assert data.startswith(hashlib.md5(body).hexdigest().encode())


def test_a_digest_being_computed_holds_up_only_its_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One engine (the digest is held up in this process): others are served meanwhile."""
    import threading

    (tmp_path / "tones.zip").write_bytes(b"z" * 10_000)
    (tmp_path / "algop8186.conf").write_bytes(b"admin.devname = bench\n")
    computing, disk = threading.Event(), threading.Event()
    real_md5 = digests.DiskDigests.md5

    def slow_md5(self: digests.DiskDigests, path: Path, fd: int, status: os.stat_result) -> str:
        computing.set()
        disk.wait(10)  # a 2 GiB zip on a slow disk
        return real_md5(self, path, fd, status)

    monkeypatch.setattr(digests.DiskDigests, "md5", slow_md5)
    settings = TftpSettings(workers=1)
    with running_server(tmp_path, settings) as (server, _log), RawClient(server.port) as waiting:
        waiting.rrq("tones.md5")
        assert computing.wait(10)
        try:
            with RawClient(server.port) as other:
                data, _first = other.fetch("algop8186.conf")
            assert data == b"admin.devname = bench\n"
        finally:
            disk.set()
        md5_data, _first = waiting.finish(waiting.recv())
    assert md5_data.startswith(hashlib.md5(b"z" * 10_000).hexdigest().encode())
