"""Point 1: every request ends in exactly one ending event, whatever the OS says.

A name with a 256-byte component made ``is_file()`` raise ENAMETOOLONG: the client got
"internal error", the log a traceback, and in worker mode the parent never released the slot,
so after ``max_transfers`` such requests every real client was refused as busy.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import pytest

from algodesk.core import events as ev
from algodesk.services.tftp import TftpSettings
from algodesk.services.tftp.files import FileCache, FileStore, VirtualFiles
from algodesk.services.tftp.paths import PathRefused
from tests.tftp_helpers import ERROR, RawClient, running_server

LONG = "a" * 256 + ".conf"


def test_long_names_end_in_one_refusal_and_free_their_slot(
    tmp_path: Path, engine_settings: TftpSettings, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "algop8186.conf").write_bytes(b"admin.devname = bench\n")
    settings = dataclasses.replace(engine_settings, max_transfers=4)
    with running_server(tmp_path, settings) as (server, log):
        for index in range(12):  # three times the slots there are
            with RawClient(server.port) as client:
                client.rrq(f"{index}{LONG}")
                reply = client.recv()
            assert reply.opcode == ERROR
            assert reply.message == "file name too long", reply
        log.wait_for(ev.RequestRefused, count=12)
        with RawClient(server.port) as client:
            data, _first = client.fetch("algop8186.conf")
        assert data == b"admin.devname = bench\n"
        log.wait_for(ev.TransferFinished)
    refused = log.of(ev.RequestRefused)
    assert len(refused) == 12
    assert all(
        isinstance(e, ev.RequestRefused) and e.detail == "file name too long" for e in refused
    )
    assert not [r for r in caplog.records if r.exc_info], "no traceback for an OS error"


@pytest.mark.parametrize(
    ("errno_name", "reason", "detail"),
    [
        ("ENAMETOOLONG", ev.RefusalReason.NOT_FOUND, "file name too long"),
        ("ENOENT", ev.RefusalReason.NOT_FOUND, "no such file"),
        ("EACCES", ev.RefusalReason.ACCESS, "access violation"),
        ("ELOOP", ev.RefusalReason.ACCESS, "too many symbolic links"),
        ("EMFILE", ev.RefusalReason.BUSY, "too many open files"),
    ],
)
def test_os_errors_become_refusals_with_their_meaning(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    errno_name: str,
    reason: ev.RefusalReason,
    detail: str,
) -> None:
    """Errors this machine cannot provoke (EACCES as root, a realpath race) are injected."""
    import errno

    (tmp_path / "x.conf").write_bytes(b"x")
    code = getattr(errno, errno_name)

    def fail(*_args: object, **_kwargs: object) -> object:
        raise OSError(code, os.strerror(code))

    store = FileStore(FileCache(mmap_threshold=1 << 30, cache_bytes=1 << 20), VirtualFiles())
    monkeypatch.setattr(os.path, "realpath", fail)
    with pytest.raises(PathRefused) as refused:
        store.open(tmp_path, "x.conf", case_fallback=True, auto_md5=True, auto_md5_firmware=True)
    assert (refused.value.reason, refused.value.detail) == (reason, detail)


def test_a_bug_in_start_still_ends_the_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """One engine: any exception while starting a transfer ends in a refusal (and frees the file)."""
    from algodesk.services.tftp import engine

    (tmp_path / "x.conf").write_bytes(b"x" * 2000)

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("bug")

    monkeypatch.setattr(engine, "negotiate", broken)
    settings = dataclasses.replace(TftpSettings(), workers=1)
    with caplog.at_level(logging.ERROR), running_server(tmp_path, settings) as (server, log):
        with RawClient(server.port) as client:
            client.rrq("x.conf")
            assert client.recv().message == "internal error"
        (refused,) = log.wait_for(ev.RequestRefused)
        assert server.stats().active == 0
    assert isinstance(refused, ev.RequestRefused) and refused.detail == "internal error"
