"""The tracker: engine events folded into devices, stages and plain-words diagnoses."""

from __future__ import annotations

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from algodesk.core.device import Stage
from algodesk.core.diagnosis import Level
from algodesk.core.event_codec import event_from_json, event_to_json
from algodesk.core.events import (
    LeaseGranted,
    RefusalReason,
    RequestReceived,
    RequestRefused,
    Source,
    SyslogLine,
    TransferFailed,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from algodesk.core.md5 import md5_hex
from algodesk.core.tracker import SYSLOG_LIMIT, TIMELINE_LIMIT, Outcome, Tracker, settle_all

MAC = "0022EE010203"
STAGE1 = b"prov.server.method = static\nprov.server.static = 10.0.0.5\nprov.download.method = ftp\n"
LOCAL = b"prov.use = 1\nsip.proxy = pbx.example\n"


class Bench:
    """Plays the engine: emits the events a real transfer or refusal produces."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.clock = itertools.count(1000)
        self.ports = itertools.count(40000)
        self.ids = itertools.count(1)

    def now(self) -> float:
        return float(next(self.clock))

    def serve(
        self,
        ip: str,
        name: str,
        content: bytes = b"x" * 100,
        *,
        source: Source = Source.DISK,
        finish: bool = True,
    ) -> int:
        client = (ip, next(self.ports))
        transfer_id = next(self.ids)
        apply = self.tracker.apply
        apply(RequestReceived(time=self.now(), client=client, filename=name))
        apply(
            TransferStarted(
                time=self.now(),
                transfer_id=transfer_id,
                client=client,
                requested=name,
                served=name,
                source=source,
                size=len(content),
                md5=md5_hex(content),
            )
        )
        if finish:
            apply(
                TransferFinished(
                    time=self.now(),
                    transfer_id=transfer_id,
                    client=client,
                    served=name,
                    bytes_sent=len(content),
                    duration=0.5,
                )
            )
        return transfer_id

    def missing(self, ip: str, name: str) -> None:
        client = (ip, next(self.ports))
        self.tracker.apply(RequestReceived(time=self.now(), client=client, filename=name))
        self.tracker.apply(
            RequestRefused(
                time=self.now(), client=client, filename=name, reason=RefusalReason.NOT_FOUND
            )
        )

    def boot_generic(self, ip: str, mac: str = MAC, product: str = "8186", config: bytes = LOCAL):
        """A factory device's boot against a folder with only the generic file (auto-md5)."""
        self.missing(ip, f"algom{mac}.conf")
        self.serve(ip, f"algop{product}.conf", config)
        self.serve(ip, f"algop{product}.md5", md5_hex(config).encode(), source=Source.AUTO_MD5)


def folder(files: dict[str, bytes]):
    return files.get


def codes(tracker: Tracker, key: str = MAC) -> set[str]:
    return {d.code for d in tracker.devices[key].diagnoses}


def test_device_request_names_mac_and_generic_names_product() -> None:
    tracker = Tracker()
    Bench(tracker).boot_generic("10.0.0.20")
    device = tracker.devices[MAC]
    assert (device.mac, device.ip, device.product, device.boots) == (MAC, "10.0.0.20", "8186", 1)
    assert device.files_served == 2
    assert [e.outcome for e in device.timeline] == [
        Outcome.NOT_FOUND,
        Outcome.SERVED,
        Outcome.SERVED,
    ]
    assert "generic-fallback" in codes(tracker)
    assert device.stage is Stage.APPLYING


def test_same_mac_keeps_one_row_across_ip_change() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    bench.boot_generic("192.168.1.111")
    bench.boot_generic("10.0.0.20")
    assert list(tracker.devices) == [MAC]
    assert tracker.devices[MAC].ip == "10.0.0.20"
    assert tracker.devices[MAC].boots == 2
    assert tracker.device_for_ip("192.168.1.111") is None


def test_bare_ip_row_merges_into_mac_row() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    bench.boot_generic("10.0.0.30", mac="0022EE0A0B0C")
    tracker.take_changes()
    bench.missing("10.0.0.20", "algop8186-i.conf")  # no MAC in the name: a bare-IP row
    assert "ip:10.0.0.20" in tracker.devices
    bare = tracker.devices["ip:10.0.0.20"]
    bench.missing("10.0.0.20", f"algom{MAC}.conf")
    # renamed in place: the same object now carries the MAC
    assert tracker.devices[MAC] is bare and "ip:10.0.0.20" not in tracker.devices
    # and a bare row for an IP whose MAC already has a row is merged and reported removed
    bench.missing("10.0.0.40", "algop8186-i.conf")
    stray = tracker.devices["ip:10.0.0.40"]
    tracker.take_changes()
    bench.missing("10.0.0.40", "algom0022EE0A0B0C.conf")
    changes = tracker.take_changes()
    assert changes.removed_devices == [stray]
    merged = tracker.devices["0022EE0A0B0C"]
    assert all(e.device is merged for e in merged.timeline)
    assert [e.seq for e in merged.timeline] == sorted(e.seq for e in merged.timeline)


def test_lease_names_device_before_its_first_request() -> None:
    tracker = Tracker()
    tracker.apply(LeaseGranted(mac="00:22:ee:01:02:03", ip="10.0.0.20", lease_seconds=600))
    device = tracker.devices[MAC]
    assert device.stage is None
    assert device.status[0] is Level.INFO
    Bench(tracker).missing("10.0.0.20", "algop8186-i.conf")
    assert list(tracker.devices) == [MAC]


def test_a_request_missing_only_by_case_is_diagnosed_with_the_near_file() -> None:
    tracker = Tracker()
    client = ("10.0.0.20", 40000)
    wanted = f"algom{MAC}.conf"
    tracker.apply(RequestReceived(time=1.0, client=client, filename=wanted))
    tracker.apply(
        RequestRefused(
            time=2.0,
            client=client,
            filename=wanted,
            reason=RefusalReason.NOT_FOUND,
            near="algom0022ee010203.conf",
        )
    )
    [finding] = [d for d in tracker.devices[MAC].diagnoses if d.code == "case-mismatch"]
    assert finding.level is Level.ERROR
    assert finding.text == (
        "asked for algom0022EE010203.conf; algom0022ee010203.conf is here but names are "
        "case-sensitive"
    )
    Bench(tracker).missing("10.0.0.20", f"algom{MAC}.conf")  # a plain miss says nothing of case
    assert "case-mismatch" not in codes(tracker)


def test_md5_missing_stops_the_device_with_an_error() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    bench.serve("10.0.0.20", f"algom{MAC}.conf", LOCAL)
    bench.missing("10.0.0.20", f"algom{MAC}.md5")
    device = tracker.devices[MAC]
    assert device.stage is Stage.STOPPED
    level, text = device.status
    assert (level, text) == (Level.ERROR, f"md5 missing: algom{MAC}.conf ignored")
    assert "ignores the config" in device.diagnoses[0].text
    assert "md5-missing" in codes(tracker)


def test_md5_mismatch_is_found_with_a_fetcher() -> None:
    wrong = b"0" * 32 + b"\n"
    tracker = Tracker(folder({f"algom{MAC}.conf": LOCAL, f"algom{MAC}.md5": wrong}))
    bench = Bench(tracker)
    bench.serve("10.0.0.20", f"algom{MAC}.conf", LOCAL)
    bench.serve("10.0.0.20", f"algom{MAC}.md5", wrong)
    assert tracker.devices[MAC].stage is Stage.STOPPED
    assert "md5-mismatch" in codes(tracker)


def test_matching_md5_on_disk_is_accepted() -> None:
    good = md5_hex(LOCAL).encode() + b"  whatever.conf\r\n"
    tracker = Tracker(folder({f"algom{MAC}.conf": LOCAL, f"algom{MAC}.md5": good}))
    bench = Bench(tracker)
    bench.serve("10.0.0.20", f"algom{MAC}.conf", LOCAL)
    bench.serve("10.0.0.20", f"algom{MAC}.md5", good)
    assert tracker.devices[MAC].stage is Stage.APPLYING
    assert not codes(tracker)


def test_no_config_at_all() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    bench.missing("10.0.0.20", f"algom{MAC}.conf")
    bench.missing("10.0.0.20", "algop8186.conf")
    assert tracker.devices[MAC].stage is Stage.STOPPED
    assert "no-config" in codes(tracker)


def test_stage1_config_hands_off_once_quiet() -> None:
    tracker = Tracker(folder({"algop8186.conf": STAGE1}), settle_seconds=60)
    Bench(tracker).boot_generic("10.0.0.20", config=STAGE1)
    device = tracker.devices[MAC]
    tracker.tick(device.last_seen + 59)
    assert device.stage is Stage.APPLYING
    tracker.tick(device.last_seen + 60)
    assert device.stage is Stage.LEFT
    assert "handed-off" in codes(tracker)
    assert device.status == (Level.OK, "Stage 1 done → ftp://10.0.0.5")


def test_a_method_switch_under_dhcp_is_diagnosed_not_taken_for_a_hand_off() -> None:
    switch = b"prov.download.method = ftp\n"
    tracker = Tracker(folder({"algop8186.conf": switch}), settle_seconds=60)
    Bench(tracker).boot_generic("10.0.0.20", config=switch)
    device = tracker.devices[MAC]
    tracker.tick(device.last_seen + 60)
    assert "handed-off" not in codes(tracker)
    [finding] = [d for d in device.diagnoses if d.code == "method-switch"]
    assert finding.level is Level.ERROR and "asks this bench over FTP" in finding.text
    assert device.status == (Level.ERROR, "Asks this bench over FTP next")
    # a path change under DHCP is the same server: neither a hand-off nor a fault
    path_only = b"prov.download.cfgpath = algo\n"
    tracker = Tracker(folder({"algop8186.conf": path_only}), settle_seconds=60)
    Bench(tracker).boot_generic("10.0.0.20", config=path_only)
    tracker.tick(tracker.devices[MAC].last_seen + 60)
    assert codes(tracker) & {"handed-off", "method-switch"} == set()


def test_without_fetcher_a_quiet_device_stopped_after_stage1() -> None:
    tracker = Tracker()
    Bench(tracker).boot_generic("10.0.0.20")
    settle_all(tracker)
    assert tracker.devices[MAC].stage is Stage.LEFT
    assert "stopped-after-stage-1" in codes(tracker)


def test_second_boot_with_same_config_settles_done() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    bench.boot_generic("10.0.0.20")
    bench.boot_generic("10.0.0.20")
    settle_all(tracker)
    assert tracker.devices[MAC].stage is Stage.DONE
    assert tracker.devices[MAC].status == (Level.OK, "Done")


def test_provisioning_off_settles_done_and_says_so() -> None:
    config = b"prov.use = 0\n"
    tracker = Tracker(folder({"algop8186.conf": config}))
    Bench(tracker).boot_generic("10.0.0.20", config=config)
    settle_all(tracker)
    assert tracker.devices[MAC].stage is Stage.DONE
    assert "provisioning-disabled" in codes(tracker)


def test_reboot_loop_after_three_boots_but_not_after_settling() -> None:
    tracker = Tracker(loop_threshold=3)
    bench = Bench(tracker)
    bench.boot_generic("10.0.0.20")
    bench.boot_generic("10.0.0.20")
    assert "reboot-loop" not in codes(tracker)
    bench.boot_generic("10.0.0.20")
    assert "reboot-loop" in codes(tracker)
    assert tracker.devices[MAC].status[0] is Level.WARNING
    settle_all(tracker)
    bench.boot_generic("10.0.0.20")  # a power cycle after a quiet spell is no loop
    assert "reboot-loop" not in codes(tracker)


def test_firmware_and_data_files_missing() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    bench.boot_generic("10.0.0.20")
    bench.missing("10.0.0.20", "algo-8186-5.4f.sfw")
    bench.missing("10.0.0.20", "algo-8186-5.4f.fw")
    device = tracker.devices[MAC]
    assert device.stage is Stage.FIRMWARE
    firmware = [d for d in device.diagnoses if d.code == "firmware-missing"]
    assert len(firmware) == 1 and "algo-8186-5.4f.sfw" in firmware[0].text
    bench.missing("10.0.0.20", "bells.md5")
    assert device.stage is Stage.DATA
    assert "data-missing" in codes(tracker)


def test_firmware_fallback_served_clears_missing() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    bench.boot_generic("10.0.0.20")
    bench.missing("10.0.0.20", "algo-8186-5.4f.sfw")
    bench.serve("10.0.0.20", "algo-8186-5.4f.fw", b"f" * 5000)
    assert "firmware-missing" not in codes(tracker)
    assert tracker.devices[MAC].stage is Stage.FIRMWARE


def test_data_served_then_done() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    bench.boot_generic("10.0.0.20")
    bench.serve("10.0.0.20", "bells.md5", b"a" * 33)
    bench.serve("10.0.0.20", "bells.zip", b"z" * 3000)
    assert tracker.devices[MAC].stage is Stage.DATA
    settle_all(tracker)
    assert tracker.devices[MAC].stage is Stage.DONE


def test_progress_then_failure() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    bench.boot_generic("10.0.0.20")
    transfer = bench.serve("10.0.0.20", "algo-8186-5.4f.sfw", b"f" * 10_000, finish=False)
    tracker.take_changes()
    device = tracker.devices[MAC]
    entry = device.current
    assert entry is not None and entry.outcome is Outcome.SENDING
    client = entry.client
    tracker.apply(
        TransferProgress(
            time=entry.time + 2,
            transfer_id=transfer,
            client=client,
            served=entry.served,
            bytes_sent=4000,
            size=10_000,
        )
    )
    assert entry.fraction == 0.4
    assert entry.speed is not None and entry.speed > 0
    changes = tracker.take_changes()
    assert changes.updated_entries == [entry] and changes.updated_devices == [device]
    assert not changes.new_entries and not changes.new_devices
    tracker.apply(
        TransferFailed(
            transfer_id=transfer,
            client=client,
            served=entry.served,
            reason="timeout",
            bytes_sent=4000,
        )
    )
    assert device.current is None
    assert entry.outcome is Outcome.FAILED and entry.reason == "timeout"
    assert "transfer-failed" in codes(tracker)


def test_transfer_without_request_event_is_still_tracked() -> None:
    tracker = Tracker()
    tracker.apply(
        TransferStarted(
            transfer_id=7,
            client=("10.0.0.9", 5000),
            requested="algop8188.conf",
            served="algop8188.conf",
            source=Source.DISK,
            size=10,
        )
    )
    tracker.apply(
        TransferFinished(
            transfer_id=7,
            client=("10.0.0.9", 5000),
            served="algop8188.conf",
            bytes_sent=10,
            duration=0,
        )
    )
    device = tracker.devices["ip:10.0.0.9"]
    assert device.product == "8188" and device.files_served == 1
    assert device.timeline[0].fraction == 1.0


def test_timeline_is_bounded() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    for _ in range(TIMELINE_LIMIT // 3 + 5):
        bench.boot_generic("10.0.0.20")
    assert len(tracker.devices[MAC].timeline) == TIMELINE_LIMIT


def test_take_changes_reports_new_devices_once() -> None:
    tracker = Tracker()
    Bench(tracker).boot_generic("10.0.0.20")
    first = tracker.take_changes()
    assert first.new_devices == [tracker.devices[MAC]]
    assert not first.updated_devices
    assert len(first.new_entries) == 3
    second = tracker.take_changes()
    assert not (second.new_devices or second.new_entries or second.updated_devices)


_names = st.sampled_from(
    [
        f"algom{MAC}.conf",
        f"algom{MAC}.md5",
        "algom0022EE0A0B0C.conf",
        "algop8186.conf",
        "algop8186.md5",
        "algo-8186-5.4f.sfw",
        "bells.zip",
        "bells.md5",
        "../etc/passwd",
        "",
    ]
)
_ips = st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_ips, _names, st.booleans(), st.booleans()), max_size=40))
def test_any_event_stream_keeps_devices_consistent(steps) -> None:
    tracker = Tracker(settle_seconds=0)
    bench = Bench(tracker)
    for ip, name, found, finish in steps:
        if found:
            bench.serve(ip, name, finish=finish)
        else:
            bench.missing(ip, name)
        tracker.tick(math.inf)
    macs = [d.mac for d in tracker.devices.values() if d.mac]
    assert len(macs) == len(set(macs))
    for key, device in tracker.devices.items():
        assert device.key == key
        assert all(entry.device is device for entry in device.timeline)
        assert device.status[1]
    # every IP maps to at most one device, and that device says it is there
    for ip in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        device = tracker.device_for_ip(ip)
        assert device is None or device.ip == ip


def test_a_config_served_to_many_devices_is_read_once_per_content() -> None:
    reads: list[str] = []
    files = {"algop8186.conf": STAGE1}

    def fetch(name: str) -> bytes | None:
        reads.append(name)
        return files.get(name)

    tracker = Tracker(fetch)
    bench = Bench(tracker)
    for n in range(5):
        bench.boot_generic(f"10.0.0.{n + 2}", mac=f"0022EE0000{n:02X}", config=STAGE1)
    assert reads.count("algop8186.conf") == 1
    files["algop8186.conf"] = LOCAL  # the file changed: new content, read again
    bench.boot_generic("10.0.0.9", mac="0022EE0000AA", config=LOCAL)
    assert reads.count("algop8186.conf") == 2
    settle_all(tracker)
    assert tracker.devices["0022EE000001"].stage is Stage.LEFT
    assert tracker.devices["0022EE0000AA"].stage is Stage.DONE


# --- syslog lines: attached to the device at their source address --------------------------


def _line(ip: str, message: str, when: float, severity: int = 6) -> SyslogLine:
    return SyslogLine(
        time=when,
        client=(ip, 514),
        facility=16,
        severity=severity,
        hostname="algo",
        app="prov",
        message=message,
    )


def test_syslog_line_attaches_to_the_device_leased_that_address() -> None:
    tracker = Tracker(settle_seconds=10)
    tracker.apply(LeaseGranted(time=100.0, mac=MAC, ip="10.0.0.20", lease_seconds=600))
    tracker.take_changes()
    tracker.apply(_line("10.0.0.20", "provisioning: fetching algom0022EE010203.conf", 105.0))
    device = tracker.devices[MAC]
    assert [line.message for line in device.syslog] == [
        "provisioning: fetching algom0022EE010203.conf"
    ]
    # a line is no provisioning step: no new row, no repaint, and the quiet clock runs on
    changes = tracker.take_changes()
    assert (changes.new_devices, changes.updated_devices) == ([], [])
    assert device.last_seen == 100.0


def test_a_line_from_an_unknown_address_waits_for_its_device() -> None:
    tracker = Tracker()
    tracker.apply(_line("10.0.0.30", "booting", 10.0))
    tracker.apply(_line("10.0.0.31", "a printer, never provisioned", 11.0))
    tracker.apply(_line("10.0.0.30", "dhcp: bound", 12.0))
    assert tracker.devices == {}
    Bench(tracker).missing("10.0.0.30", "algom0022EE0A0B0C.conf")
    device = tracker.devices["0022EE0A0B0C"]
    assert [line.message for line in device.syslog] == ["booting", "dhcp: bound"]
    tracker.apply(_line("10.0.0.30", "config applied", 2000.0))
    assert [line.message for line in device.syslog][-1] == "config applied"


def test_bare_ip_row_brings_its_lines_when_it_merges() -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    tracker.apply(LeaseGranted(time=1.0, mac=MAC, ip="10.0.0.7", lease_seconds=600))
    bench.missing("10.0.0.8", "algop8186.conf")  # a bare-IP row: no MAC yet
    tracker.apply(_line("10.0.0.8", "second", 3000.0))
    tracker.apply(_line("10.0.0.7", "first", 2000.0))
    bench.missing("10.0.0.8", f"algom{MAC}.conf")  # same device, new address
    (device,) = tracker.devices.values()
    assert [line.message for line in device.syslog] == ["first", "second"]


def test_syslog_is_bounded_per_device_and_per_waiting_address() -> None:
    tracker = Tracker()
    for n in range(SYSLOG_LIMIT + 5):
        tracker.apply(_line("10.0.0.40", f"line {n}", float(n)))
    for n in range(100):
        tracker.apply(_line(f"10.1.{n // 200}.{n % 200}", "noise", 1.0))
    tracker.apply(LeaseGranted(time=1.0, mac=MAC, ip="10.0.0.40", lease_seconds=600))
    # the oldest waiting senders were let go to keep memory bounded; this one was among them
    assert len(tracker.devices[MAC].syslog) == 0
    for n in range(SYSLOG_LIMIT + 5):
        tracker.apply(_line("10.0.0.40", f"line {n}", float(n)))
    lines = tracker.devices[MAC].syslog
    assert len(lines) == SYSLOG_LIMIT
    assert lines[0].message == "line 5"


def test_stored_syslog_lines_replay_onto_their_device() -> None:
    events = [
        LeaseGranted(time=1.0, mac=MAC, ip="10.0.0.9", lease_seconds=600),
        _line("10.0.0.9", "sip.u1.pwd = **** applied", 2.0, severity=3),
    ]
    stored = [event_from_json(event_to_json(event)) for event in events]
    assert stored == events
    tracker = Tracker()
    tracker.apply_all(stored)
    (line,) = tracker.devices[MAC].syslog
    assert (line.severity, line.client) == (3, ("10.0.0.9", 514))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(_ips, st.sampled_from(["line", "lease", f"algom{MAC}.conf", "algop8186.conf"])),
        max_size=30,
    )
)
def test_every_syslog_line_is_kept_once(steps) -> None:
    tracker = Tracker()
    bench = Bench(tracker)
    sent = []
    for n, (ip, what) in enumerate(steps):
        if what == "line":
            sent.append(_line(ip, f"line {n}", float(n)))
            tracker.apply(sent[-1])
        elif what == "lease":
            tracker.apply(LeaseGranted(time=float(n), mac=MAC, ip=ip, lease_seconds=60))
        else:
            bench.missing(ip, what)
    # a device showing up at each address takes the lines still waiting there
    for n, ip in enumerate(("10.0.0.1", "10.0.0.2", "10.0.0.3")):
        tracker.apply(LeaseGranted(time=99.0, mac=f"0022EEFFFF0{n}", ip=ip, lease_seconds=60))
    kept = [line for device in tracker.devices.values() for line in device.syslog]
    assert sorted(kept, key=lambda line: line.time) == sent
    for device in tracker.devices.values():
        times = [line.time for line in device.syslog]
        assert times == sorted(times)
