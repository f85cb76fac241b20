"""The app's services: paths (portable mode), versioned settings, network interfaces."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from algodesk.services import interfaces, paths
from algodesk.services.settings import RECENT_LIMIT, Settings, SettingsStore

IP_JSON = json.dumps(
    [
        {
            "ifname": "lo",
            "flags": ["LOOPBACK", "UP", "LOWER_UP"],
            "operstate": "UNKNOWN",
            "addr_info": [{"family": "inet", "local": "127.0.0.1"}, {"family": "inet6"}],
        },
        {"ifname": "eth1", "flags": ["BROADCAST", "UP"], "operstate": "DOWN", "addr_info": []},
        {
            "ifname": "eth0",
            "flags": ["BROADCAST", "UP", "LOWER_UP"],
            "operstate": "UP",
            "addr_info": [
                {"family": "inet", "local": "10.0.0.1"},
                {"family": "inet", "local": "10.0.0.9"},
            ],
        },
    ]
)

IFCONFIG = """lo0: flags=8049<UP,LOOPBACK,RUNNING,MULTICAST> mtu 16384
\tinet 127.0.0.1 netmask 0xff000000
en0: flags=8863<UP,BROADCAST,SMART,RUNNING,SIMPLEX,MULTICAST> mtu 1500
\tether 00:11:22:33:44:55
\tinet 192.168.1.20 netmask 0xffffff00 broadcast 192.168.1.255
en1: flags=8822<BROADCAST,SMART,SIMPLEX,MULTICAST> mtu 1500
"""


def test_home_variable_wins_then_portable_then_platform(tmp_path: Path) -> None:
    home = paths.resolve({paths.HOME_VARIABLE: str(tmp_path / "h")}, start_dir=tmp_path)
    assert home.config_dir == tmp_path / "h" / "config" and not home.portable
    platform_paths = paths.resolve({}, start_dir=tmp_path)
    assert not platform_paths.portable
    assert "algodesk" in str(platform_paths.config_dir)
    (tmp_path / paths.PORTABLE_MARKER).write_text("")
    portable = paths.resolve({}, start_dir=tmp_path)
    assert portable.portable
    assert portable.data_dir == tmp_path / "algodesk-data" / "data"
    assert portable.history_file.parent == portable.data_dir
    portable.ensure()
    assert portable.bench_dir.is_dir() and portable.log_dir.is_dir()


def test_settings_round_trip_and_recent_folders(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "cfg" / "settings.json")
    assert store.load() == Settings()
    settings = Settings(address="127.0.0.1", port=6969)
    for n in range(RECENT_LIMIT + 3):
        settings.remember_folder(f"/bench/{n}")
    settings.remember_folder("/bench/4")
    store.save(settings)
    loaded = store.load()
    assert loaded == settings
    assert loaded.folder == "/bench/4"
    assert loaded.recent_folders[:2] == ["/bench/4", f"/bench/{RECENT_LIMIT + 2}"]
    assert len(loaded.recent_folders) == RECENT_LIMIT
    assert json.loads(store.path.read_text())["version"] == 1


def test_damaged_settings_give_defaults_and_are_kept_aside(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.path.write_text("{not json")
    assert store.load() == Settings()
    assert (tmp_path / "settings.json.bad").read_text() == "{not json"


def test_wrong_types_fall_back_field_by_field(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.json")
    store.path.write_text(
        json.dumps({"version": 1, "port": "69", "address": "10.0.0.1", "auto_md5": 1, "x": 2})
    )
    loaded = store.load()
    assert (loaded.port, loaded.address, loaded.auto_md5) == (69, "10.0.0.1", True)
    store.path.write_text(json.dumps({"version": 1, "port": 70000, "recent_folders": [1]}))
    assert store.load() == Settings()


def test_parse_ip_json() -> None:
    found = interfaces.parse_ip_json(IP_JSON)
    assert [(i.name, i.ipv4, i.up, i.loopback) for i in found] == [
        ("lo", "127.0.0.1", True, True),
        ("eth1", "", False, False),
        ("eth0", "10.0.0.1", True, False),
        ("eth0", "10.0.0.9", True, False),
    ]
    assert found[2].label == "eth0 — 10.0.0.1 (up)"
    assert found[1].label == "eth1 — no IPv4 address (down)"


def test_parse_ifconfig() -> None:
    found = interfaces.parse_ifconfig(IFCONFIG)
    assert [(i.name, i.ipv4, i.up, i.loopback) for i in found] == [
        ("lo0", "127.0.0.1", True, True),
        ("en0", "192.168.1.20", True, False),
        ("en1", "", False, False),
    ]


def test_list_interfaces_never_fails_and_has_loopback(monkeypatch) -> None:
    assert any(i.ipv4 == "127.0.0.1" for i in interfaces.list_interfaces())

    def broken() -> list[interfaces.Interface]:
        raise OSError("no")

    monkeypatch.setattr(interfaces, "_probe", broken)
    assert interfaces.list_interfaces() == [interfaces.Interface("lo", "127.0.0.1", True, True)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ioctl fallback is Linux only")
def test_linux_ioctl_fallback_lists_loopback() -> None:
    found = interfaces._linux_ioctl()
    assert any(i.loopback and i.ipv4 == "127.0.0.1" and i.up for i in found)
