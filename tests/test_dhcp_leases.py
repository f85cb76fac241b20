"""Bench DHCP settings, the lease file, and address choice (no sockets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from algodesk.core.dhcp_packet import Option
from algodesk.services.dhcp import server as dhcp_server
from algodesk.services.dhcp.leases import LeaseStore
from algodesk.services.dhcp.pool import CONFLICT_HOLD, OFFER_HOLD, AddressPool
from algodesk.services.dhcp.server import find_bench_address
from algodesk.services.dhcp.settings import DhcpSettings, DhcpSettingsError, parse_pool
from algodesk.services.interfaces import Interface

A = "0022EE000001"
B = "0022EE000002"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def settings(**overrides: object) -> DhcpSettings:
    values: dict[str, object] = {
        "server_address": "10.99.0.1",
        "pool_start": "10.99.0.10",
        "pool_size": 3,
    }
    values.update(overrides)
    return DhcpSettings(**values)  # type: ignore[arg-type]


# -- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"server_address": "10.99.0"}, "not an IPv4"),
        ({"pool_start": "10.98.0.10"}, "does not fit"),
        ({"pool_start": "10.99.0.250", "pool_size": 6}, "does not fit"),
        ({"pool_start": "10.99.0.0"}, "network address"),
        ({"pool_size": 0}, "at least one"),
        ({"lease_seconds": 5}, "at least"),
        ({"subnet_mask": "255.0.255.0"}, "subnet mask"),
        ({"router": "nope"}, "not an IPv4"),
        ({"reservations": {"zz": "10.99.0.5"}}, "not a MAC"),
        ({"reservations": {A: "10.99.1.5"}}, "not usable"),
        ({"reservations": {A: "10.99.0.1"}}, "not usable"),
        ({"reservations": {A: "10.99.0.5", B: "10.99.0.5"}}, "reserved twice"),
        ({"option66_value": "tftp://bänk/"}, "ASCII"),
    ],
)
def test_settings_refuse_what_cannot_work(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(DhcpSettingsError, match=message):
        settings(**overrides)


def test_reservation_macs_are_normalised() -> None:
    assert dict(settings(reservations={"00:22:ee:00:00:01": "10.99.0.5"}).reservations) == {
        A: "10.99.0.5"
    }


def test_provisioning_options_default_to_the_bench_and_switch() -> None:
    default = dict(settings().provisioning_options())
    assert default == {Option.TFTP_SERVER_NAME: b"10.99.0.1"}
    every = dict(
        settings(
            option66_value="tftp://10.99.0.1/algo",
            option160=True,
            option150=True,
            option150_addresses=("10.99.0.1", "10.99.0.2"),
        ).provisioning_options()
    )
    assert every[Option.TFTP_SERVER_NAME] == b"tftp://10.99.0.1/algo"
    assert every[Option.PROVISIONING_SERVER] == b"10.99.0.1"
    assert every[Option.TFTP_SERVER_ADDRESSES] == bytes([10, 99, 0, 1, 10, 99, 0, 2])
    assert settings(option66=False).provisioning_options() == []


def test_lease_options() -> None:
    options = dict(
        settings(lease_seconds=800, router="10.99.0.254", dns=("10.99.0.53",)).lease_options()
    )
    assert options[Option.LEASE_TIME] == (800).to_bytes(4, "big")
    assert options[Option.RENEWAL_TIME] == (400).to_bytes(4, "big")
    assert options[Option.REBINDING_TIME] == (700).to_bytes(4, "big")
    assert options[Option.SUBNET_MASK] == bytes([255, 255, 255, 0])
    assert options[Option.ROUTER] == bytes([10, 99, 0, 254])
    assert options[Option.DNS] == bytes([10, 99, 0, 53])


@pytest.mark.parametrize(
    ("text", "pool"),
    [
        ("10.99.0.10-10.99.0.50", ("10.99.0.10", 41)),
        ("10.99.0.10-50", ("10.99.0.10", 41)),
        (" 10.99.0.10 - 10.99.0.10 ", ("10.99.0.10", 1)),
        ("10.99.0.250-10.99.1.5", ("10.99.0.250", 12)),
    ],
)
def test_parse_pool(text: str, pool: tuple[str, int]) -> None:
    assert parse_pool(text) == pool


@pytest.mark.parametrize("text", ["10.99.0.10", "10.99.0.50-10.99.0.10", "a-b", "10.99.0.1-300"])
def test_parse_pool_refuses(text: str) -> None:
    with pytest.raises(DhcpSettingsError):
        parse_pool(text)


def test_find_bench_address_picks_the_interface_on_the_pool_subnet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    interfaces = [
        Interface("lo", "127.0.0.1", True, loopback=True),
        Interface("wlan0", "192.168.1.20", True),
        Interface("eth1", "", False),
        Interface("eth2", "10.99.0.1", True),
    ]
    monkeypatch.setattr(dhcp_server, "list_interfaces", lambda: interfaces)
    assert find_bench_address("10.99.0.10") == "10.99.0.1"
    assert find_bench_address("10.99.1.10") == ""
    assert find_bench_address("10.99.1.10", "255.255.0.0") == "10.99.0.1"
    assert find_bench_address("not-an-address") == ""


# -- the lease file --------------------------------------------------------------------------


def test_leases_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "data" / "leases.json"
    clock = Clock()
    store = LeaseStore(path, clock)
    store.load()
    store.grant(A, "10.99.0.10", 3600, "spk1")
    again = LeaseStore(path, clock)
    again.load()
    lease = again.by_mac(A)
    assert lease is not None
    assert (lease.ip, lease.expires, lease.hostname) == ("10.99.0.10", clock.now + 3600, "spk1")
    assert again.holder("10.99.0.10") == lease
    assert json.loads(path.read_text())["version"] == 1


def test_broken_lease_file_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "leases.json"
    path.write_text("{not json")
    store = LeaseStore(path)
    store.load()
    assert store.all() == []
    assert "moved to leases.json.bad" in store.load_problem
    assert (tmp_path / "leases.json.bad").read_text() == "{not json"
    assert not path.exists()


def test_grant_takes_the_address_from_an_expired_lease(tmp_path: Path) -> None:
    clock = Clock()
    store = LeaseStore(None, clock)
    store.grant(A, "10.99.0.10", 60)
    clock.now += 120
    store.grant(B, "10.99.0.10", 60)
    assert store.by_mac(A) is None
    holder = store.holder("10.99.0.10")
    assert holder is not None and holder.mac == B


def test_end_keeps_the_address_remembered() -> None:
    clock = Clock()
    store = LeaseStore(None, clock)
    store.grant(A, "10.99.0.10", 3600)
    ended = store.end(A)
    assert ended is not None and not ended.active(clock.now)
    assert store.by_mac(A) == ended


# -- address choice --------------------------------------------------------------------------


def pool_for(**overrides: object) -> tuple[AddressPool, LeaseStore, Clock]:
    clock = Clock()
    leases = LeaseStore(None, clock)
    return AddressPool(settings(**overrides), leases, clock), leases, clock


def test_never_the_server_address() -> None:
    pool, _, _ = pool_for(pool_start="10.99.0.1", pool_size=2)
    assert list(pool.candidates(A)) == ["10.99.0.2"]


def test_never_an_address_leased_or_offered_to_another_mac() -> None:
    pool, leases, clock = pool_for()
    leases.grant(A, "10.99.0.10", 3600)
    pool.hold_offer(B, "10.99.0.11")
    assert list(pool.candidates("0022EE000003")) == ["10.99.0.12"]
    assert not pool.usable("10.99.0.10", B)
    assert pool.usable("10.99.0.10", A)
    clock.now += OFFER_HOLD + 1
    assert "10.99.0.11" in pool.candidates("0022EE000003")


def test_a_device_gets_its_old_address_back_even_after_expiry() -> None:
    pool, leases, clock = pool_for()
    leases.grant(A, "10.99.0.12", 60)
    clock.now += 3600
    assert next(pool.candidates(A)) == "10.99.0.12"
    assert not pool.needs_ping(A, "10.99.0.12")
    assert pool.needs_ping(A, "10.99.0.10")


def test_an_address_already_offered_is_not_probed_again() -> None:
    pool, _, _ = pool_for()
    assert pool.needs_ping(A, "10.99.0.10")
    pool.hold_offer(A, "10.99.0.10")
    assert not pool.needs_ping(A, "10.99.0.10")
    assert pool.needs_ping(B, "10.99.0.11")


def test_never_leased_addresses_before_expired_ones() -> None:
    pool, leases, clock = pool_for()
    leases.grant(A, "10.99.0.10", 60)
    clock.now += 120
    assert list(pool.candidates(B)) == ["10.99.0.11", "10.99.0.12", "10.99.0.10"]


def test_requested_address_is_honoured_when_free() -> None:
    pool, _, _ = pool_for()
    assert next(pool.candidates(A, "10.99.0.12")) == "10.99.0.12"
    assert next(pool.candidates(A, "10.99.0.200")) == "10.99.0.10"  # outside the pool


def test_reservations_are_exclusive() -> None:
    pool, _, _ = pool_for(reservations={A: "10.99.0.50", B: "10.99.0.11"})
    assert list(pool.candidates(A)) == ["10.99.0.50"]
    assert not pool.needs_ping(A, "10.99.0.50")
    assert "10.99.0.11" not in list(pool.candidates("0022EE000003"))
    assert list(pool.candidates(B)) == ["10.99.0.11"]


def test_conflicts_are_held_out_for_a_while() -> None:
    pool, _, clock = pool_for()
    pool.mark_conflict("10.99.0.10")
    assert pool.in_conflict("10.99.0.10")
    assert next(pool.candidates(A)) == "10.99.0.11"
    clock.now += CONFLICT_HOLD + 1
    assert next(pool.candidates(A)) == "10.99.0.10"


def test_full_pool_has_no_candidates() -> None:
    pool, leases, _ = pool_for(pool_size=1)
    leases.grant(A, "10.99.0.10", 3600)
    assert list(pool.candidates(B)) == []
