"""Serving a profile: bench files in the engine's memory, fetched over TFTP on loopback."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import tftpy

from algodesk.core import config, md5, names
from algodesk.core.profile import BenchProfile
from algodesk.core.roster import parse_roster
from algodesk.services.bench_files import bench_files, virtual_files_for
from algodesk.services.tftp import TftpServer, TftpSettings

PASSWORD = "S3cr3t-Serving-Canary"


def fetch(port: int, name: str) -> bytes:
    """``name`` from the server on 127.0.0.1:``port`` via tftpy's client."""
    out = io.BytesIO()  # tftpy leaves a file-like output open
    tftpy.TftpClient("127.0.0.1", port).download(name, out, timeout=2, retries=2)
    return out.getvalue()


def make(**changes: object) -> BenchProfile:
    settings: dict[str, object] = {
        "name": "bench",
        "host": "prov.example.com",
        "cfgpath": "algo",
        "user": "algo",
        "products": ("8186",),
    }
    settings.update(changes)
    return BenchProfile(**settings)  # type: ignore[arg-type]


@pytest.fixture
def server() -> Iterator[TftpServer]:
    """Our engine on 127.0.0.1, any free port, no folder, no generated md5 files."""
    engine = TftpServer(None, "127.0.0.1", 0, settings=TftpSettings(auto_md5=False))
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


def test_stage1_and_roster_files_are_served(server: TftpServer) -> None:
    roster = parse_roster("mac,admin.devname\n00:22:ee:01:02:03,lobby\n")
    files = bench_files(make(), PASSWORD, roster)
    files.install(server)
    conf = fetch(server.port, "algop8186.conf")
    assert config.ConfigDocument.from_bytes(conf).get("prov.auth.pwd") == PASSWORD
    assert md5.verify(fetch(server.port, "algop8186.md5"), conf)
    assert md5.verify(fetch(server.port, "algop8186.conf.md5"), conf)
    device = fetch(server.port, "algom0022EE010203.conf")
    assert config.ConfigDocument.from_bytes(device).get("admin.devname") == "lobby"
    assert md5.verify(fetch(server.port, "algom0022EE010203.md5"), device)
    with pytest.raises(tftpy.TftpException):
        fetch(server.port, "algop8301.conf")
    files.uninstall(server)
    assert server.virtual_files() == []


def test_any_product_answers_every_known_product(server: TftpServer) -> None:
    files = bench_files(make(products=(), any_product=True), PASSWORD)
    files.install(server)
    first = fetch(server.port, "algop8420.conf")
    assert first == fetch(server.port, "algop8190S.conf")
    assert set(server.virtual_files()) >= {names.generic_name(p) for p in names.PRODUCTS}


def test_virtual_files_for_matches_bench_files() -> None:
    profile = make(products=("8186", "8301"))
    files = virtual_files_for(profile, PASSWORD)
    assert files == dict(bench_files(profile, PASSWORD).files)
    assert sorted(files) == [
        "algop8186.conf",
        "algop8186.conf.md5",
        "algop8186.md5",
        "algop8301.conf",
        "algop8301.conf.md5",
        "algop8301.md5",
    ]


def test_bench_files_repr_and_warnings() -> None:
    files = bench_files(make(method="http", products=("8186", "9999")), PASSWORD)
    assert PASSWORD not in repr(files)
    assert any("9999" in w for w in files.warnings)
    assert any("clear" in w for w in files.warnings)


def test_the_stage1_rules_are_said_where_the_bench_serves_stage1() -> None:
    # domain.md §8 / guide §2: certificate validation applies to HTTPS only
    files = bench_files(make(method="ftp", validate_cert=True), PASSWORD)
    assert any("certificate validation applies to HTTPS only" in w for w in files.warnings)
    assert not any("secrets in a generic file" in w for w in files.warnings)
    assert not any("HTTPS only" in w for w in bench_files(make(method="https"), PASSWORD).warnings)
