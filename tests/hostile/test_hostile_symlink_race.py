"""Point 7: a folder swapped for a link to the outside while requests run serves nothing outside.

The name was resolved and checked, then opened by path: in between, a folder inside the root
could become a link to one outside (895 outside files served in 20 s). Now the resolved name is
opened one component at a time from the root's descriptor with O_NOFOLLOW, so a link put on the
way fails the open. (A first fix checked the opened file's inode against the name afterwards;
the name could be swapped back and forth between that check's two steps, and the stress test
below caught an outside file in 1 of 5 full-suite runs.)

On Windows a folder holding an open file cannot be renamed, and making links needs a privilege,
so the inode check holds there; this machine (Linux) tests the POSIX race.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from algodesk.core import events as ev
from algodesk.services.tftp import TftpSettings, files, paths
from tests.tftp_helpers import ERROR, RawClient, running_server

INSIDE, OUTSIDE = b"inside\n", b"OUTSIDE SECRET\n"


def layout(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "f.conf").write_bytes(INSIDE)
    (outside / "f.conf").write_bytes(OUTSIDE)
    return root, outside


def swap_to_link(root: Path, outside: Path) -> None:
    os.rename(root / "sub", root / "sub.real")
    os.symlink(outside, root / "sub")


def swap_back(root: Path) -> None:
    os.unlink(root / "sub")
    os.rename(root / "sub.real", root / "sub")


@pytest.mark.skipif(os.name == "nt", reason="POSIX links and renames")
def test_a_swap_between_check_and_open_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race made certain: the swap happens right after the name was checked."""
    root, outside = layout(tmp_path)
    real_find = paths.find_on_disk

    def find_then_swap(*args: object, **kwargs: object) -> paths.DiskMatch:
        match = real_find(*args, **kwargs)  # type: ignore[arg-type]
        swap_to_link(root, outside)
        return match

    monkeypatch.setattr(files, "find_on_disk", find_then_swap)
    settings = TftpSettings(workers=1)
    with running_server(root, settings) as (server, log), RawClient(server.port) as client:
        data, first = client.fetch("sub/f.conf")
        log.wait_for(ev.RequestRefused)
    assert OUTSIDE not in data
    assert first.opcode == ERROR and first.code == 2  # access violation
    assert first.message == "changed to a link while being opened"


@pytest.mark.skipif(os.name == "nt", reason="POSIX links and renames")
def test_a_swap_back_and_forth_after_the_open_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the stress test below once caught, made certain: the folder is a link at the
    open, back in place while a name is resolved, and a link again when that name is looked up.
    A check of the opened file against the name after the open is fooled by it; a walk from
    the root's descriptor never opens through the link."""
    root, outside = layout(tmp_path)
    real_find, real_realpath = paths.find_on_disk, os.path.realpath
    after_open = threading.Event()

    def find_then_swap(*args: object, **kwargs: object) -> paths.DiskMatch:
        match = real_find(*args, **kwargs)  # type: ignore[arg-type]
        swap_to_link(root, outside)
        after_open.set()
        return match

    def realpath_amid_swaps(path: object, *args: object, **kwargs: object) -> str:
        if not after_open.is_set():
            return real_realpath(path, *args, **kwargs)  # type: ignore[call-overload,no-any-return]
        swap_back(root)
        resolved: str = real_realpath(path, *args, **kwargs)  # type: ignore[call-overload]
        swap_to_link(root, outside)
        return resolved

    monkeypatch.setattr(files, "find_on_disk", find_then_swap)
    monkeypatch.setattr(os.path, "realpath", realpath_amid_swaps)
    settings = TftpSettings(workers=1)
    with running_server(root, settings) as (server, log), RawClient(server.port) as client:
        data, first = client.fetch("sub/f.conf")
        log.wait_for(ev.RequestRefused)
    assert OUTSIDE not in data
    assert first.opcode == ERROR and first.code == 2


@pytest.mark.skipif(os.name == "nt", reason="POSIX links and renames")
def test_swapping_while_requests_run_never_serves_outside(
    tmp_path: Path, engine_settings: TftpSettings
) -> None:
    root, outside = layout(tmp_path)
    stop = threading.Event()

    def swapper() -> None:
        while not stop.is_set():
            swap_to_link(root, outside)
            swap_back(root)

    thread = threading.Thread(target=swapper, name="test-swapper")
    served: list[bytes] = []
    with running_server(root, engine_settings) as (server, _log):
        with RawClient(server.port) as client:
            assert client.fetch("sub/f.conf")[0] == INSIDE  # the probe serves, before the swaps
        thread.start()
        try:
            for _ in range(300):
                with RawClient(server.port) as client:
                    data, _first = client.fetch("sub/f.conf")
                    served.append(data)
        finally:
            stop.set()
            thread.join()
    assert OUTSIDE not in served
