"""Expected devices (a roster): rows before any request, marked as each device shows up."""

from __future__ import annotations

import pytest

from algodesk.core.device import Stage
from algodesk.core.diagnosis import Level
from algodesk.core.events import LeaseGranted
from algodesk.core.names import MacError
from algodesk.core.tracker import NOT_SEEN, Tracker
from tests.test_tracker import MAC, Bench

OTHER = "0022EE0A0B0C"


def test_expected_devices_get_rows_before_any_request() -> None:
    tracker = Tracker()
    tracker.expect({"00:22:ee:01:02:03": "8186", OTHER: ""})
    changes = tracker.take_changes()
    assert [d.key for d in changes.new_devices] == [MAC, OTHER]
    device = tracker.devices[MAC]
    assert (device.mac, device.product, device.expected, device.seen) == (MAC, "8186", True, False)
    assert device.status == (Level.INFO, NOT_SEEN)
    assert device.stage is None


def test_an_expected_device_is_marked_when_it_is_served() -> None:
    tracker = Tracker()
    tracker.expect({MAC: "8186", OTHER: "8180"})
    tracker.take_changes()
    Bench(tracker).boot_generic("10.0.0.20")
    changes = tracker.take_changes()
    assert changes.new_devices == [] and changes.removed_devices == []
    assert [d.key for d in changes.updated_devices] == [MAC]
    device = tracker.devices[MAC]
    assert device.seen and device.expected and device.ip == "10.0.0.20"
    assert device.first_seen == 1000.0  # the first event's time, not the roster's
    assert device.stage is Stage.APPLYING
    assert device.status[1] != NOT_SEEN
    assert tracker.devices[OTHER].status == (Level.INFO, NOT_SEEN)


def test_a_bare_ip_row_becomes_the_expected_device() -> None:
    tracker = Tracker()
    tracker.expect({MAC: "8186"})
    placeholder = tracker.devices[MAC]
    tracker.take_changes()
    bench = Bench(tracker)
    bench.serve("10.0.0.21", "algop8186.conf")  # no MAC in the name: a bare-IP row first
    bench.serve("10.0.0.21", f"algom{MAC}.md5")  # now the MAC is known
    changes = tracker.take_changes()
    assert placeholder in changes.removed_devices
    device = tracker.devices[MAC]
    assert device is not placeholder
    assert device.expected and device.seen and device.product == "8186"
    assert len(device.timeline) == 2
    assert list(tracker.devices) == [MAC]


def test_a_lease_makes_an_expected_device_seen() -> None:
    tracker = Tracker()
    tracker.expect({MAC: ""})
    tracker.apply(LeaseGranted(time=5.0, mac="00-22-EE-01-02-03", ip="10.0.0.30", lease_seconds=60))
    device = tracker.devices[MAC]
    assert device.seen and device.first_seen == 5.0
    assert device.status[1] != NOT_SEEN


def test_a_new_list_replaces_the_old_one() -> None:
    tracker = Tracker()
    tracker.expect({MAC: "8186", OTHER: ""})
    Bench(tracker).boot_generic("10.0.0.20")
    tracker.take_changes()
    gone = tracker.devices[OTHER]
    tracker.expect({"0022EE999999": "8180"})
    changes = tracker.take_changes()
    assert changes.removed_devices == [gone]
    assert [d.key for d in changes.new_devices] == ["0022EE999999"]
    assert MAC in tracker.devices and not tracker.devices[MAC].expected  # seen: stays
    assert OTHER not in tracker.devices
    tracker.expect({})
    assert list(tracker.devices) == [MAC]


def test_expecting_a_seen_device_keeps_its_product() -> None:
    tracker = Tracker()
    Bench(tracker).boot_generic("10.0.0.20", product="8188")
    tracker.expect({MAC: "8186"})
    assert tracker.devices[MAC].product == "8188"
    assert tracker.devices[MAC].expected


def test_expect_refuses_what_is_not_a_mac() -> None:
    with pytest.raises(MacError):
        Tracker().expect({"not-a-mac": ""})
