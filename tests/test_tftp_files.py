"""Confinement, lookup, the shared file cache, virtual files and generated md5 files."""

from __future__ import annotations

import mmap
import os
import threading
from pathlib import Path

import pytest

from algodesk.core.events import RefusalReason, Source
from algodesk.core.md5 import md5_hex
from algodesk.services.tftp.files import Content, FileCache, FileStore, VirtualFiles
from algodesk.services.tftp.paths import PathRefused, find_on_disk, split_name
from tests.tftp_helpers import count_copies


@pytest.fixture
def root(tmp_path: Path) -> Path:
    served = tmp_path / "root"
    (served / "cfg").mkdir(parents=True)
    (served / "algop8188.conf").write_bytes(b"prov.use = 1\n")
    (served / "cfg" / "algom0022EE010203.conf").write_bytes(b"sip.u1.user = 100\n")
    (served / "tones.zip").write_bytes(b"PK tones")
    (served / "algo-8180-5.4f.sfw").write_bytes(b"firmware")
    (tmp_path / "secret.txt").write_bytes(b"outside")
    return served.resolve()


def _store(**cache: int) -> FileStore:
    sizes = {"mmap_threshold": 1 << 20, "cache_bytes": 1 << 20, **cache}
    files = FileCache(mmap_threshold=sizes["mmap_threshold"], cache_bytes=sizes["cache_bytes"])
    return FileStore(files, VirtualFiles())


def _open(store: FileStore, root: Path | None, name: str, **flags: bool):  # type: ignore[no-untyped-def]
    options = {"case_fallback": True, "auto_md5": True, "auto_md5_firmware": False, **flags}
    return store.open(root, name, **options)


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd",
        "\\windows\\win.ini",
        "C:\\boot.ini",
        "c:boot.ini",
        "../secret.txt",
        "cfg/../../secret.txt",
        "cfg\\..\\..\\secret.txt",
        "a\x01b",
        "a\x7fb",
        "file.conf:stream",
    ],
)
def test_names_that_escape_or_smuggle_are_refused(name: str) -> None:
    with pytest.raises(PathRefused) as refused:
        split_name(name)
    assert refused.value.reason is RefusalReason.ACCESS


def test_backslash_separates_and_dots_collapse() -> None:
    assert split_name("cfg\\algom0022EE010203.conf") == ("cfg", "algom0022EE010203.conf")
    assert split_name("./cfg//a.conf") == ("cfg", "a.conf")


def test_backslash_path_is_served(root: Path) -> None:
    match = find_on_disk(root, split_name("cfg\\algom0022EE010203.conf"), case_fallback=False)
    assert match.served == "cfg/algom0022EE010203.conf" and not match.case_fallback


def test_symlink_leaving_the_root_is_refused(root: Path) -> None:
    (root / "escape.conf").symlink_to(root.parent / "secret.txt")
    (root / "linkdir").symlink_to(root.parent, target_is_directory=True)
    for name in ("escape.conf", "linkdir/secret.txt"):
        with pytest.raises(PathRefused) as refused:
            find_on_disk(root, split_name(name), case_fallback=True)
        assert refused.value.reason is RefusalReason.ACCESS


def test_symlink_inside_the_root_is_served_under_its_own_name(root: Path) -> None:
    (root / "latest.conf").symlink_to(root / "algop8188.conf")
    match = find_on_disk(root, ("latest.conf",), case_fallback=False)
    assert match.served == "latest.conf" and match.path == root / "algop8188.conf"


def test_case_fallback_finds_the_file_and_says_so(root: Path) -> None:
    match = find_on_disk(root, ("CFG", "algom0022ee010203.conf"), case_fallback=True)
    assert match.served == "cfg/algom0022EE010203.conf" and match.case_fallback
    with pytest.raises(PathRefused) as refused:
        find_on_disk(root, ("CFG", "algom0022ee010203.conf"), case_fallback=False)
    assert refused.value.reason is RefusalReason.NOT_FOUND
    assert refused.value.near == "cfg/algom0022EE010203.conf"
    with pytest.raises(PathRefused) as missing:
        find_on_disk(root, ("cfg", "algom0022EE010204.conf"), case_fallback=False)
    assert missing.value.near == ""


def test_virtual_files_name_their_near_miss_too() -> None:
    store = _store()
    store.virtual.set("algop8188.conf", b"x = 1\n")
    with pytest.raises(PathRefused) as refused:
        _open(store, None, "ALGOP8188.conf", case_fallback=False)
    assert refused.value.near == "algop8188.conf"


def test_directories_and_missing_files_are_not_found(root: Path) -> None:
    for parts in (("cfg",), ("nope.conf",)):
        with pytest.raises(PathRefused) as refused:
            find_on_disk(root, parts, case_fallback=True)
        assert refused.value.reason is RefusalReason.NOT_FOUND


def test_a_file_is_read_once_and_shared(root: Path) -> None:
    store = _store()
    first, path = _open(store, root, "algop8188.conf")
    second, _ = _open(store, root, "algop8188.conf")
    assert first.content is second.content and store.cache.users() == 2
    assert path is not None
    store.cache.release(path, first.content)
    store.cache.release(path, second.content)
    assert store.cache.users() == 0
    third, _ = _open(store, root, "algop8188.conf")
    assert third.content is first.content  # kept while idle, within the budget


def test_an_edited_file_is_read_again_while_old_readers_keep_old_bytes(root: Path) -> None:
    store = _store()
    old, path = _open(store, root, "algop8188.conf")
    (root / "algop8188.conf").write_bytes(b"prov.use = 0 # edited\n")
    new, _ = _open(store, root, "algop8188.conf")
    assert bytes(old.content.data) == b"prov.use = 1\n"
    assert bytes(new.content.data) == b"prov.use = 0 # edited\n"
    assert path is not None
    store.cache.release(path, old.content)
    store.cache.release(path, new.content)


def test_idle_files_are_evicted_past_the_budget(root: Path) -> None:
    store = _store(cache_bytes=10)
    opened, path = _open(store, root, "algop8188.conf")
    assert path is not None
    store.cache.release(path, opened.content)
    again, _ = _open(store, root, "algop8188.conf")
    assert again.content is not opened.content


def test_a_big_file_is_copied_once_per_version_and_few_copies_are_kept(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Devices ask for one firmware one after another: the private copy of a big file is made
    # once per version, not once per request (it was dropped when its transfer ended).
    copies = count_copies(monkeypatch)
    for name in ("big.bin", "b2.bin", "b3.bin"):
        (root / name).write_bytes(os.urandom(4096))
    store = _store(mmap_threshold=1024)

    def closed(content: Content) -> bool:
        return isinstance(content.data, mmap.mmap) and content.data.closed

    def serve(name: str) -> Content:
        opened, path = _open(store, root, name)
        assert opened.content.mapped and opened.content.size == 4096 and path is not None
        store.cache.release(path, opened.content)
        return opened.content  # type: ignore[no-any-return]

    first = serve("big.bin")
    assert serve("big.bin") is first and len(copies) == 1 and not closed(first)
    (root / "big.bin").write_bytes(os.urandom(4096))  # a new version: copied, the old one goes
    second = serve("big.bin")
    assert second is not first and closed(first) and len(copies) == 2
    b2 = serve("b2.bin")
    b3 = serve("b3.bin")  # beyond KEPT_COPIES (2): the least recently served copy goes
    assert closed(second) and not closed(b2)
    store.cache.clear()  # the server stopped: every kept copy goes
    assert closed(b2) and closed(b3)


def test_virtual_files_take_precedence_and_never_touch_disk(root: Path) -> None:
    store = _store()
    before = sorted(p.name for p in root.iterdir())
    store.virtual.set("algop8188.conf", b"prov.server.static = 10.0.0.9\n")
    opened, path = _open(store, root, "algop8188.conf")
    assert opened.source is Source.VIRTUAL and path is None
    assert bytes(opened.content.data) == b"prov.server.static = 10.0.0.9\n"
    assert sorted(p.name for p in root.iterdir()) == before
    opened, _ = _open(store, None, "ALGOP8188.CONF")
    assert opened.served == "algop8188.conf" and opened.case_fallback
    store.virtual.remove("algop8188.conf")
    assert _open(store, root, "algop8188.conf")[0].source is Source.DISK


def test_virtual_names_are_checked() -> None:
    with pytest.raises(ValueError):
        VirtualFiles().set("../x.conf", b"")


@pytest.mark.parametrize(
    ("name", "served", "of"),
    [
        ("algop8188.md5", "algop8188.md5", "algop8188.conf"),
        ("algop8188.conf.md5", "algop8188.conf.md5", "algop8188.conf"),
        ("cfg/algom0022EE010203.md5", "cfg/algom0022EE010203.md5", "cfg/algom0022EE010203.conf"),
        ("tones.md5", "tones.md5", "tones.zip"),
        ("ALGOP8188.md5", "algop8188.md5", "algop8188.conf"),
    ],
)
def test_auto_md5_answers_for_configs_and_data(root: Path, name: str, served: str, of: str) -> None:
    opened, path = _open(_store(), root, name)
    assert opened.source is Source.AUTO_MD5 and path is None
    assert opened.served == served
    assert bytes(opened.content.data) == (md5_hex((root / of).read_bytes()) + "\n").encode()


def test_auto_md5_covers_virtual_files() -> None:
    store = _store()
    store.virtual.set("algop8186.conf", b"stage 1\n")
    opened, _ = _open(store, None, "algop8186.md5")
    assert bytes(opened.content.data) == (md5_hex(b"stage 1\n") + "\n").encode()


def test_auto_md5_not_for_firmware_unless_asked(root: Path) -> None:
    for name in ("algo-8180-5.4f.md5", "algo-8180-5.4f.sfw.md5"):
        with pytest.raises(PathRefused):
            _open(_store(), root, name)
        opened, _ = _open(_store(), root, name, auto_md5_firmware=True)
        assert bytes(opened.content.data).strip() == md5_hex(b"firmware").encode()


def test_auto_md5_off_and_real_md5_files_win(root: Path) -> None:
    with pytest.raises(PathRefused):
        _open(_store(), root, "algop8188.md5", auto_md5=False)
    (root / "algop8188.md5").write_bytes(b"0" * 32 + b"\n")
    opened, _ = _open(_store(), root, "algop8188.md5")
    assert opened.source is Source.DISK


def test_netascii_conversion() -> None:
    from algodesk.services.tftp.files import Content

    assert Content(b"a\nb\rc\r\n").netascii()[:] == b"a\r\nb\r\0c\r\0\r\n"


def test_openers_asking_for_a_file_being_read_wait_for_that_one_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The engine opens files on several threads (opener.py): a fleet asking for one firmware
    # at once must not read it (and hold it) once per thread.
    (tmp_path / "fw.sfw").write_bytes(b"f" * 5000)
    cache = FileCache(mmap_threshold=1 << 30, cache_bytes=1 << 20)
    reads: list[Path] = []
    first_read = threading.Event()
    disk = threading.Event()
    real = FileCache._read

    def slow_read(self: FileCache, path: Path, key: tuple[int, ...], fd: int) -> object:
        reads.append(path)
        first_read.set()
        disk.wait(10)
        return real(self, path, key, fd)

    monkeypatch.setattr(FileCache, "_read", slow_read)
    opened: list[object] = []

    def open_cached() -> None:
        fd = os.open(tmp_path / "fw.sfw", os.O_RDONLY)
        try:
            opened.append(cache.open(tmp_path / "fw.sfw", fd, os.fstat(fd)))
        finally:
            os.close(fd)

    threads = [threading.Thread(target=open_cached) for _ in range(3)]
    threads[0].start()
    assert first_read.wait(10)
    for thread in threads[1:]:
        thread.start()
    disk.set()
    for thread in threads:
        thread.join(10)
    assert len(reads) == 1
    assert len(opened) == 3 and all(content is opened[0] for content in opened)
    assert cache.users() == 3
