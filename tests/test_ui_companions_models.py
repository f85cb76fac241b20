"""The companions' models and dialogs without a network: syslog tables and filter, DHCP choices
and reservations, the check-sync table and dialog, the zeroconf device list."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from algodesk.core.diagnosis import Level
from algodesk.core.events import SyslogLine
from algodesk.services.checksync import NotifyResult, NotifyTarget
from algodesk.services.dhcp import DhcpSettingsError
from algodesk.services.discovery import HTTP_TYPE, FoundService
from algodesk.services.settings import Settings, SettingsStore
from algodesk.ui.live.syslog_model import (
    QUEUE_LIMIT,
    DeviceSyslogModel,
    SyslogFilter,
    SyslogModel,
)
from algodesk.ui.network.checksync_dialog import CheckSyncDialog, CheckSyncModel
from algodesk.ui.network.dhcp_config import default_pool_start, describe, dhcp_settings
from algodesk.ui.network.dhcp_dialog import DhcpDialog, ReservationsModel
from algodesk.ui.network.discovery_model import DiscoveredModel
from algodesk.ui.widgets import status_style

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication


def line(ip: str, message: str, severity: int = 6, when: float = 1_700_000_000.0) -> SyslogLine:
    return SyslogLine(
        time=when,
        client=(ip, 514),
        facility=16,
        severity=severity,
        hostname="algo-8186",
        app="prov",
        message=message,
    )


# --- syslog ---------------------------------------------------------------------------------


def test_syslog_model_names_devices_and_stays_bounded(qtmodeltester) -> None:
    known = {"10.0.0.5": "00:22:EE:01:02:03"}
    model = SyslogModel(lambda ip: known.get(ip, ""), limit=50)
    model.append([line("10.0.0.5", f"step {n}") for n in range(30)])
    assert model.rowCount() == 0  # lines wait for the refresh tick
    model.flush()
    qtmodeltester.check(model)
    assert model.rowCount() == 30
    cells = [model.data(model.index(0, c)) for c in range(model.columnCount())]
    assert cells[1:] == ["10.0.0.5", "00:22:EE:01:02:03", "info", "algo-8186 prov", "step 0"]
    model.append([line("10.0.0.6", f"other {n}", severity=3) for n in range(40)])
    model.flush()
    qtmodeltester.check(model)
    assert model.rowCount() == 50
    first, last = model.line(0), model.line(49)
    assert first is not None and first.message == "step 20"
    assert last is not None and last.message == "other 39"
    assert model.data(model.index(49, 2)) == ""  # no device known at that address
    err = model.index(49, 3)
    assert model.data(err, Qt.ItemDataRole.ForegroundRole) == status_style.colour(Level.ERROR)
    model.clear()
    assert model.rowCount() == 0


def test_a_syslog_flood_is_shown_in_slices_and_skips_to_the_newest() -> None:
    waiting = SyslogModel(lambda ip: "")
    waiting.append([line("10.0.0.5", f"n{n}") for n in range(QUEUE_LIMIT + 10)])
    assert waiting.pending == QUEUE_LIMIT  # the oldest ten were skipped
    model = SyslogModel(lambda ip: "", limit=100)
    model.append([line("10.0.0.5", f"n{n}") for n in range(150)])
    model.flush(budget=0.0)  # one slice, then the event loop's turn
    assert 0 < model.rowCount() < 100 and model.pending == 100 - model.rowCount()
    model.flush()
    assert model.pending == 0 and model.rowCount() == 100
    oldest, newest = model.line(0), model.line(99)
    assert oldest is not None and oldest.message == "n50"
    assert newest is not None and newest.message == "n149"


def test_syslog_filter_by_severity_and_text(qtmodeltester) -> None:
    model = SyslogModel(lambda ip: "00:22:EE:00:00:01" if ip == "10.0.0.1" else "")
    model.append(
        [
            line("10.0.0.1", "config applied"),
            line("10.0.0.1", "md5 mismatch", severity=3),
            line("10.0.0.2", "link up", severity=5),
            line("10.0.0.2", "tone zip missing", severity=4),
            line("10.0.0.3", "debugging", severity=7),
        ]
    )
    model.flush()
    proxy = SyslogFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)

    def shown() -> list[str]:
        return [proxy.data(proxy.index(r, 5)) for r in range(proxy.rowCount())]

    assert len(shown()) == 5
    proxy.set_severity(4)
    assert shown() == ["md5 mismatch", "tone zip missing"]
    proxy.set_text("00:22:ee:00:00:01")  # the device column is searched too
    assert shown() == ["md5 mismatch"]
    proxy.set_severity(7)
    assert shown() == ["config applied", "md5 mismatch"]
    proxy.set_text("")
    proxy.set_severity(0)
    assert shown() == []


def test_device_syslog_follows_appends_drops_and_merges(qtmodeltester) -> None:
    model = DeviceSyslogModel()
    lines = [line("10.0.0.1", f"n{n}") for n in range(5)]
    model.show_lines(lines)
    qtmodeltester.check(model)
    inserted: list[tuple[int, int]] = []
    removed: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    model.rowsRemoved.connect(lambda _parent, first, last: removed.append((first, last)))
    grown = [*lines[2:], line("10.0.0.1", "n5"), line("10.0.0.1", "n6")]  # two fell off
    model.follow(grown)
    assert removed == [(0, 1)]
    assert [model.data(model.index(r, 3)) for r in range(model.rowCount())] == [
        "n2",
        "n3",
        "n4",
        "n5",
        "n6",
    ]
    assert inserted[-2:] == [(3, 3), (4, 4)]
    model.follow(grown)  # nothing new: nothing happens
    assert len(inserted) == 2
    merged = [line("10.0.0.9", "earlier"), *grown]
    model.follow(merged)  # lines from an earlier address came first: shown afresh
    assert model.data(model.index(0, 3)) == "earlier"
    assert model.rowCount() == 6
    qtmodeltester.check(model)
    model.follow([])
    assert model.rowCount() == 0


# --- DHCP choices ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "mask", "size", "start"),
    [
        ("10.99.0.1", "255.255.255.0", 50, "10.99.0.100"),
        ("10.99.0.120", "255.255.255.0", 50, "10.99.0.10"),
        ("10.99.0.1", "255.255.255.0", 200, "10.99.0.10"),
        ("192.168.7.1", "255.255.255.240", 5, "192.168.7.10"),
        ("192.168.7.1", "255.255.255.248", 5, "192.168.7.1"),
    ],
)
def test_default_pool_start(server: str, mask: str, size: int, start: str) -> None:
    assert default_pool_start(server, mask, size) == start


def test_saved_choices_become_server_settings(tmp_path: Path) -> None:
    settings = Settings(
        dhcp_pool_start="10.99.0.20",
        dhcp_pool_size=10,
        dhcp_lease_minutes=90,
        dhcp_router="10.99.0.254",
        dhcp_dns=["10.99.0.53"],
        dhcp_option66_value="tftp://10.99.0.1/algo",
        dhcp_option150=True,
        dhcp_reservations=["00:22:ee:01:02:03=10.99.0.77"],
        dhcp_algo_only=False,
    )
    store = SettingsStore(tmp_path / "settings.json")
    store.save(settings)
    loaded = store.load()
    assert loaded == settings
    dhcp = dhcp_settings(loaded, "10.99.0.1")
    assert (dhcp.pool()[0], dhcp.pool()[-1]) == ("10.99.0.20", "10.99.0.29")
    assert dhcp.lease_seconds == 5400
    assert dict(dhcp.reservations) == {"0022EE010203": "10.99.0.77"}
    assert [code for code, _value in dhcp.provisioning_options()] == [66, 150]
    assert describe(dhcp) == (
        "pool 10.99.0.20 – 10.99.0.29, 90 min leases, every client; "
        "option 66 = tftp://10.99.0.1/algo; 150 = 10.99.0.1"
    )
    automatic = dhcp_settings(Settings(), "10.99.0.1")
    assert automatic.pool_start == "10.99.0.100" and automatic.algo_only
    assert describe(automatic).endswith("Algo devices only; option 66 = 10.99.0.1")


@pytest.mark.parametrize(
    ("settings", "address", "problem"),
    [
        (Settings(), "0.0.0.0", "choose it under 'Listen on'"),
        (Settings(dhcp_pool_start="10.98.0.10"), "10.99.0.1", "does not fit"),
        (Settings(dhcp_reservations=["00:22:EE:01:02:03"]), "10.99.0.1", "MAC=IP"),
        (Settings(dhcp_reservations=["nope=10.99.0.5"]), "10.99.0.1", "nope"),
        (Settings(dhcp_option66_value="ftp://bench:s3cret@10.99.0.1/algo"), "10.99.0.1", "66"),
    ],
)
def test_unworkable_choices_are_refused(settings: Settings, address: str, problem: str) -> None:
    with pytest.raises(DhcpSettingsError, match=problem):
        dhcp_settings(settings, address)


def test_reservations_model_takes_only_macs_and_addresses(qtmodeltester) -> None:
    model = ReservationsModel(["00:22:EE:01:02:03=10.99.0.50"])
    qtmodeltester.check(model)
    row = model.add_row()
    assert not model.setData(model.index(row, 0), "not a mac")
    assert model.setData(model.index(row, 0), "0022ee0a0b0c")
    assert model.data(model.index(row, 0)) == "00:22:EE:0A:0B:0C"
    with pytest.raises(DhcpSettingsError, match="reservation 2"):
        model.lines()
    assert not model.setData(model.index(row, 1), "10.99.0.300")
    assert model.setData(model.index(row, 1), " 10.99.0.51 ")
    assert model.lines() == ["00:22:EE:01:02:03=10.99.0.50", "00:22:EE:0A:0B:0C=10.99.0.51"]
    model.remove_row(0)
    qtmodeltester.check(model)
    assert model.lines() == ["00:22:EE:0A:0B:0C=10.99.0.51"]


def test_dhcp_dialog_keeps_workable_choices_only(qtbot) -> None:
    settings = Settings()
    dialog = DhcpDialog(settings, "10.99.0.1")
    qtbot.addWidget(dialog)
    assert dialog.pool_start.placeholderText() == "automatic: 10.99.0.100"
    assert not dialog.option160_value.isEnabled()
    assert dialog.options_note.isHidden()
    dialog.option160.setChecked(True)  # guide §4.1: with 66 on, devices never use 160
    assert not dialog.options_note.isHidden()
    assert "devices use option 66 only" in dialog.options_note.text()
    dialog.option160.setChecked(False)
    dialog.pool_start.setText("10.98.0.10")
    dialog.accept()
    assert "does not fit" in dialog.error.text()
    assert settings.dhcp_pool_start == ""  # nothing kept from a refused dialog
    unbound = DhcpDialog(settings, "")  # no bench address yet: the password is still refused
    qtbot.addWidget(unbound)
    unbound.option66_value.setText("ftp://bench:s3cret@10.99.0.1/algo")
    unbound.accept()
    assert "option 66 holds a password" in unbound.error.text()
    assert settings.dhcp_option66_value == ""
    dialog.pool_start.setText("10.99.0.30")
    dialog.pool_size.setValue(5)
    dialog.option66_value.setText("tftp://10.99.0.1/algo")
    dialog.option160.setChecked(True)
    assert dialog.option160_value.isEnabled()
    dialog.dns.setText("10.99.0.53; 10.99.0.54")
    dialog.algo_only.setChecked(False)
    row = dialog.reservations.add_row()
    dialog.reservations.setData(dialog.reservations.index(row, 0), "00:22:EE:01:02:03")
    dialog.reservations.setData(dialog.reservations.index(row, 1), "10.99.0.200")
    dialog.accept()
    assert dialog.result() == DhcpDialog.DialogCode.Accepted
    assert (settings.dhcp_pool_start, settings.dhcp_pool_size) == ("10.99.0.30", 5)
    assert settings.dhcp_option66_value == "tftp://10.99.0.1/algo"
    assert settings.dhcp_option160 and not settings.dhcp_algo_only
    assert settings.dhcp_dns == ["10.99.0.53", "10.99.0.54"]
    assert settings.dhcp_reservations == ["00:22:EE:01:02:03=10.99.0.200"]


# --- check-sync -----------------------------------------------------------------------------


def result(target: NotifyTarget, status: int | None, reason: str) -> NotifyResult:
    return NotifyResult(target, status, reason, 0.012)


def test_checksync_model(qtmodeltester) -> None:
    model = CheckSyncModel([("00:22:EE:00:00:01", "10.0.0.7"), ("", "10.0.0.8")], "1001")
    qtmodeltester.check(model)
    assert not model.setData(model.index(0, 2), "10 01")  # not a SIP user part
    assert not model.setData(model.index(0, 1), "")
    assert model.setData(model.index(1, 2), "1002")
    assert not model.set_extension("a\r\nX: 1")
    model.add_address("10.0.0.9")
    targets = model.targets(5062, True)
    assert [(t.host, t.port, t.extension, t.reboot) for t in targets] == [
        ("10.0.0.7", 5062, "1001", True),
        ("10.0.0.8", 5062, "1002", True),
        ("10.0.0.9", 5062, "1002", True),
    ]
    model.set_sending()
    assert model.data(model.index(0, 3)) == "sending…"
    assert not model.flags(model.index(0, 1)) & Qt.ItemFlag.ItemIsEditable
    model.set_results(
        [
            result(targets[0], 200, "OK"),
            result(targets[1], 486, "Busy Here"),
            result(targets[2], None, "timeout"),
        ]
    )
    qtmodeltester.check(model)
    answers = [model.data(model.index(r, 3)) for r in range(3)]
    assert answers == ["200 OK (12 ms)", "486 Busy Here (12 ms)", "no answer (timeout)"]
    colours = [model.data(model.index(r, 3), Qt.ItemDataRole.ForegroundRole) for r in range(3)]
    assert colours == [
        status_style.colour(level) for level in (Level.OK, Level.WARNING, Level.ERROR)
    ]


def test_checksync_dialog_sends_off_the_gui_thread_and_waits_to_close(qtbot) -> None:
    release = threading.Event()
    threads: list[str] = []

    def send(targets: list[NotifyTarget]) -> list[NotifyResult]:
        threads.append(threading.current_thread().name)
        release.wait(5)
        return [result(targets[0], 200, "OK"), result(targets[1], 486, "Busy Here")]

    settings = Settings()
    dialog = CheckSyncDialog([("A", "10.0.0.7"), ("B", "10.0.0.8")], settings, send)
    qtbot.addWidget(dialog)
    dialog.extension.setText("1001")
    dialog.extension.textEdited.emit("1001")
    dialog.port.setValue(5070)
    dialog.send_button.click()
    assert not dialog.send_button.isEnabled()
    assert dialog.model.data(dialog.model.index(1, 3)) == "sending…"
    dialog.reject()  # asked to close while NOTIFYs are out: hides, closes once answered
    assert dialog.worker.running and not dialog.isVisible()
    release.set()
    qtbot.waitUntil(lambda: dialog.model.result(1) is not None)
    assert threads == ["algodesk-checksync"]
    assert dialog.result() == CheckSyncDialog.DialogCode.Rejected
    assert "1 of 2 accepted, 1 refused, 0 did not answer" in dialog.summary.text()
    assert "only while provisioning is enabled" in dialog.note.text()  # guide §6
    assert (settings.checksync_port, settings.checksync_extension) == (5070, "1001")
    assert not dialog.worker.running


# --- zeroconf -------------------------------------------------------------------------------


def test_discovered_model(qtmodeltester) -> None:
    horn = FoundService("Algo 8186 Horn._http._tcp.local.", HTTP_TYPE, ("10.0.0.7",), 80)
    model = DiscoveredModel()
    model.set_devices([horn])
    qtmodeltester.check(model)
    assert [model.data(model.index(0, c)) for c in range(3)] == [
        "Algo 8186 Horn",
        "10.0.0.7:80",
        "not probed",
    ]
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    model.set_devices([horn])
    assert resets == []
    probed = FoundService(horn.name, HTTP_TYPE, horn.addresses, 80, model="8186")
    model.set_devices([probed])
    assert model.data(model.index(0, 2)) == "8186" and resets == [True]
    qtmodeltester.check(model)
