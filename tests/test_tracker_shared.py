"""Attribution: a request goes to the device it belongs to, or visibly to no device at all."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from algodesk.core.device import Stage
from algodesk.core.md5 import md5_hex
from algodesk.core.tracked_device import POOLED
from algodesk.core.tracker import Tracker, settle_all
from tests.test_tracker import LOCAL, Bench

MACS = [f"0022EE0100{n:02X}" for n in range(1, 21)]


def _interleaved_boots(bench: Bench, ips: list[str]) -> None:
    """Every device boots at once, request by request, as a PoE switch powering up does."""
    for mac, ip in zip(MACS, ips, strict=False):
        bench.missing(ip, f"algom{mac}.conf")
    for ip in ips:
        bench.serve(ip, "algop8186.conf", LOCAL)
    for ip in ips:
        bench.serve(ip, "algop8186.md5", md5_hex(LOCAL).encode())


def test_devices_sharing_one_address_get_no_guessed_requests_and_say_so() -> None:
    tracker = Tracker()
    _interleaved_boots(Bench(tracker), ["127.0.0.1"] * 20)
    settle_all(tracker)
    for mac in MACS:
        device = tracker.devices[mac]
        codes = {d.code for d in device.diagnoses}
        assert "reboot-loop" not in codes, mac
        assert "shared-address" in codes, mac
        assert [e.requested for e in device.timeline] == [f"algom{mac}.conf"]
        assert device.status[1].startswith("Shares 127.0.0.1")
    pooled = tracker.devices["ip:127.0.0.1"]
    assert pooled.pooled and pooled.status[1] == POOLED
    assert len(pooled.timeline) == 40 and pooled.loop is None
    assert tracker.device_for_ip("127.0.0.1") is None
    assert tracker.counts() == (20, 0, 20)


def test_devices_at_their_own_addresses_each_get_their_own_requests() -> None:
    tracker = Tracker()
    ips = [f"127.1.0.{n}" for n in range(1, 21)]
    _interleaved_boots(Bench(tracker), ips)
    settle_all(tracker)
    assert set(tracker.devices) == set(MACS)
    for mac, ip in zip(MACS, ips, strict=True):
        device = tracker.devices[mac]
        assert {e.client[0] for e in device.timeline} == {ip}
        assert len(device.timeline) == 3
        assert device.shared is None and device.loop is None
        assert device.stage is Stage.LEFT  # no fetcher: its config is not read
    assert tracker.counts() == (20, 0, 0)


def test_an_address_passed_on_after_a_quiet_spell_is_not_shared() -> None:
    tracker = Tracker(settle_seconds=90)
    bench = Bench(tracker)
    bench.boot_generic("10.0.0.20", mac=MACS[0])
    bench.clock = iter(range(5000, 6000))  # the first device left long ago
    bench.boot_generic("10.0.0.20", mac=MACS[1])
    assert tracker.devices[MACS[0]].shared is None
    second = tracker.devices[MACS[1]]
    assert second.shared is None and len(second.timeline) == 3
    assert "ip:10.0.0.20" not in tracker.devices


def test_a_shared_address_is_shared_no_more_once_the_others_went_quiet() -> None:
    tracker = Tracker(settle_seconds=90)
    bench = Bench(tracker)
    bench.missing("10.0.0.20", f"algom{MACS[0]}.conf")
    bench.missing("10.0.0.20", f"algom{MACS[1]}.conf")
    assert tracker.devices[MACS[0]].shared is not None
    bench.clock = iter(range(5000, 6000))
    bench.boot_generic("10.0.0.20", mac=MACS[1])
    assert tracker.devices[MACS[0]].shared is None
    assert tracker.devices[MACS[1]].shared is None
    assert [e.requested for e in tracker.devices[MACS[1]].timeline][-2:] == [
        "algop8186.conf",
        "algop8186.md5",
    ]


@settings(deadline=None, max_examples=60)
@given(st.permutations(list(range(12))), st.integers(min_value=2, max_value=6))
def test_any_interleaving_from_distinct_addresses_attributes_exactly(
    order: list[int], devices: int
) -> None:
    """Each device's three requests, in any interleaving that keeps each device's own order."""
    tracker = Tracker()
    bench = Bench(tracker)
    steps = {n: 0 for n in range(devices)}
    for slot in order:
        n = slot % devices
        ip, mac, step = f"10.9.0.{n + 1}", MACS[n], steps[n]
        if step == 0:
            bench.missing(ip, f"algom{mac}.conf")
        elif step == 1:
            bench.serve(ip, "algop8186.conf", LOCAL)
        elif step == 2:
            bench.serve(ip, "algop8186.md5", md5_hex(LOCAL).encode())
        steps[n] += 1
    for n in range(devices):
        if steps[n] == 0:
            continue
        device = tracker.devices[MACS[n]]
        assert {e.client[0] for e in device.timeline} == {f"10.9.0.{n + 1}"}
        assert len(device.timeline) == min(steps[n], 3)
        assert device.shared is None


def test_property_tests_have_no_wall_clock_deadline() -> None:
    """CPU-bound properties must not fail for a busy machine (conftest's hypothesis profile)."""
    assert settings.default.deadline is None


def test_a_bench_day_keeps_the_latest_devices_and_counts_them_all() -> None:
    tracker = Tracker(device_limit=20)
    bench = Bench(tracker)
    busy = "0022EE0AAAAA"
    bench.missing("10.3.0.1", f"algom{busy}.conf")
    bench.serve("10.3.0.1", "algop8186.conf", LOCAL, finish=False)  # mid-transfer all along
    macs = [f"0022EE02{n:04X}" for n in range(100)]
    for n, mac in enumerate(macs):
        bench.boot_generic(f"10.2.{n // 250}.{n % 250 + 1}", mac=mac)
    assert len(tracker.devices) <= 21
    assert busy in tracker.devices  # never forgotten mid-transfer
    assert set(macs[-19:]) <= set(tracker.devices)  # the latest stay
    assert tracker.counts()[0] == 101
    bench.boot_generic("10.9.9.9", mac=macs[0])  # a forgotten device comes back: counted once
    assert macs[0] in tracker.devices and tracker.counts()[0] == 101


def test_a_device_files_refusal_that_arrives_after_the_generic_config_still_says_fallback() -> None:
    """Two worker processes report on two channels: the algom refusal may come in second."""
    from algodesk.core.events import RefusalReason, RequestReceived, RequestRefused

    tracker = Tracker()
    bench = Bench(tracker)
    mac, ip = MACS[0], "10.5.0.1"
    first = (ip, 41000)
    tracker.apply(RequestReceived(time=bench.now(), client=first, filename=f"algom{mac}.conf"))
    bench.serve(ip, "algop8186.conf", LOCAL)
    tracker.apply(
        RequestRefused(
            time=bench.now(),
            client=first,
            filename=f"algom{mac}.conf",
            reason=RefusalReason.NOT_FOUND,
        )
    )
    assert "generic-fallback" in {d.code for d in tracker.devices[mac].diagnoses}


def test_a_stored_run_replays_every_device_past_the_live_limit() -> None:
    from algodesk.core.events import LeaseGranted
    from algodesk.core.tracker import DEVICE_LIMIT, replay

    count = DEVICE_LIMIT + DEVICE_LIMIT // 10
    leases = [
        LeaseGranted(
            time=float(n),
            mac=f"0022EE04{n:04X}",
            ip=f"10.6.{n // 250}.{n % 250 + 1}",
            lease_seconds=3600,
        )
        for n in range(count)
    ]
    assert len(replay(leases).devices) == count
