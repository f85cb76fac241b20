"""The item models: Qt's model tester on each, batching, bounds and filters."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt

from algodesk.core.diagnosis import Level
from algodesk.core.events import ServerStarted, TransferFailed, TransferStarted
from algodesk.core.md5 import md5_hex
from algodesk.core.simulator import folder_fetcher, simulate
from algodesk.core.trace import DeviceState
from algodesk.core.tracker import Tracker
from algodesk.ui.bridge import EventBridge
from algodesk.ui.folder.model import FolderModel, scan
from algodesk.ui.live.device_model import Column, DeviceTableModel
from algodesk.ui.live.feed import LiveFeed
from algodesk.ui.live.log_model import LogFilter, LogModel
from algodesk.ui.live.timeline_model import TimelineModel
from algodesk.ui.live.trace_model import TraceModel
from algodesk.ui.live.transfer_model import TransferFilter, TransferTableModel
from algodesk.ui.widgets import status_style
from algodesk.ui.widgets.item_table import PROGRESS_ROLE, TRIM_ROWS
from tests.conftest_qt import EventScript, fleet

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication


def folded(script: EventScript) -> Tracker:
    tracker = Tracker()
    tracker.apply_all(script.events)
    return tracker


def test_device_model_passes_model_tester(qtmodeltester) -> None:
    tracker = folded(fleet(12))
    model = DeviceTableModel()
    model.apply(tracker.take_changes())
    qtmodeltester.check(model)
    assert model.rowCount() == 12
    broken = model.device(1)
    assert broken is not None and broken.status[0] is Level.ERROR
    status = model.index(1, Column.STATUS)
    assert model.data(status) == "md5 missing: algop8186.conf ignored"
    assert "ignores the config" in model.data(status, Qt.ItemDataRole.ToolTipRole)
    assert model.data(status, Qt.ItemDataRole.ForegroundRole) == status_style.colour(Level.ERROR)
    assert model.data(status, Qt.ItemDataRole.DecorationRole) is not None
    assert model.data(model.index(0, Column.MAC)) == "00:22:EE:00:00:00"


def test_device_model_updates_in_one_range_per_batch(qtbot) -> None:
    tracker = folded(fleet(50))
    model = DeviceTableModel()
    model.apply(tracker.take_changes())
    more = EventScript()
    for n in range(10, 20):  # ten neighbouring devices boot again
        more.boot(f"10.0.0.{n + 2}", f"0022EE{n:06X}")
    tracker.apply_all(more.events)
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, _roles: changed.append((top.row(), bottom.row())))
    with qtbot.assertNotEmitted(model.rowsInserted):
        model.apply(tracker.take_changes())
    assert changed == [(10, 19)]  # one signal for the range of rows that changed


def test_device_model_removes_a_merged_row(qtmodeltester) -> None:
    script = EventScript().boot("10.0.0.30", "0022EE0A0B0C")
    tracker = folded(script)
    model = DeviceTableModel()
    model.apply(tracker.take_changes())
    tracker.apply_all(EventScript().missing("10.0.0.40", "algop8186-i.conf").events)
    model.apply(tracker.take_changes())
    assert model.rowCount() == 2
    tracker.apply_all(EventScript().missing("10.0.0.40", "algom0022EE0A0B0C.conf").events)
    model.apply(tracker.take_changes())
    assert model.rowCount() == 1
    qtmodeltester.check(model)


def test_progress_role_follows_the_current_transfer() -> None:
    script = EventScript().served("10.0.0.2", "algom0022EE000001.conf", b"y" * 1000, finish=False)
    tracker = folded(script)
    model = DeviceTableModel()
    model.apply(tracker.take_changes())
    assert model.data(model.index(0, Column.PROGRESS), PROGRESS_ROLE) == 0.5
    assert model.data(model.index(0, Column.PROGRESS)) == "algom0022EE000001.conf  50%"
    assert model.data(model.index(0, Column.PROGRESS), Qt.ItemDataRole.BackgroundRole) is not None


def test_transfer_model_and_filter(qtmodeltester) -> None:
    tracker = folded(fleet(8))
    model = TransferTableModel(limit=1000)
    model.apply_changes(tracker.take_changes())
    qtmodeltester.check(model)
    assert model.rowCount() == 8 * 3
    proxy = TransferFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    proxy.set_outcomes("Problems")
    problems = proxy.rowCount()
    assert problems == 8 + 2  # every device's missing algom file, and two missing md5s
    proxy.set_text("algop8186.md5")
    assert proxy.rowCount() == 2
    proxy.set_outcomes("All")
    proxy.set_text("00:22:EE:00:00:03")
    assert proxy.rowCount() == 3


def test_transfer_model_drops_oldest_past_its_limit(qtmodeltester) -> None:
    tracker = folded(fleet(10))
    model = TransferTableModel(limit=7)
    model.apply_changes(tracker.take_changes())
    assert model.rowCount() == 7
    newest = model.entry(6)
    tracker.apply_all(fleet(1).events)
    model.apply_changes(tracker.take_changes())
    assert model.rowCount() == 7 and model.entry(3) is newest
    qtmodeltester.check(model)


def test_transfer_failure_repaints_its_row() -> None:
    script = EventScript().served("10.0.0.2", "algo-8186-5.4f.sfw", b"f" * 5000, finish=False)
    tracker = folded(script)
    model = TransferTableModel()
    model.apply_changes(tracker.take_changes())
    entry = model.entry(0)
    assert entry is not None and entry.transfer_id is not None
    tracker.apply(
        TransferFailed(
            transfer_id=entry.transfer_id,
            client=entry.client,
            served=entry.served,
            reason="timeout",
        )
    )
    rows: set[int] = set()
    model.dataChanged.connect(lambda top, _bottom, _roles: rows.add(top.row()))
    model.apply_changes(tracker.take_changes())
    assert rows == {0}
    assert model.data(model.index(0, 7)) == "failed: timeout"


def test_timeline_model_follows_the_selected_device(qtmodeltester) -> None:
    tracker = folded(fleet(3))
    changes = tracker.take_changes()
    model = TimelineModel()
    model.show_device(changes.new_devices[1])
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    assert model.data(model.index(2, 6)) == "not found"
    tracker.apply_all(EventScript().boot("10.0.0.3", "0022EE000001").events)
    tracker.apply_all(EventScript().boot("10.0.0.2", "0022EE000000").events)
    model.apply_changes(tracker.take_changes())
    assert model.rowCount() == 6


def test_log_model_batches_bounds_and_filters(qtmodeltester) -> None:
    model = LogModel(limit=50)
    script = fleet(10)
    model.append(script.events)
    assert model.rowCount() == 0  # nothing shows before the refresh tick
    model.flush()
    assert model.rowCount() == 50
    qtmodeltester.check(model)
    proxy = LogFilter()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    proxy.set_kind("refused")
    assert 0 < proxy.rowCount() < 50
    assert all(proxy.data(proxy.index(row, 1)) == "refused" for row in range(proxy.rowCount()))
    proxy.set_kind("")
    proxy.set_text("algop8186.md5")
    assert proxy.rowCount() > 0
    model.append([ServerStarted(service="tftp", address="127.0.0.1", port=69, root="/b")])
    model.flush()
    last = model.rowCount() - 1
    assert model.data(model.index(last, 3)) == "tftp serving /b on 127.0.0.1:69"
    assert 50 <= model.rowCount() <= 55  # trimmed in chunks of a tenth of the limit


def test_folder_and_trace_models(qtmodeltester, tmp_path: Path) -> None:
    config = b"prov.use = 1\n"
    (tmp_path / "algop8186.conf").write_bytes(config)
    (tmp_path / "algop8186.md5").write_text(md5_hex(config) + "\n")
    (tmp_path / "algop8188.conf").write_bytes(config)
    (tmp_path / "algop8188.md5").write_text("0" * 32 + "\n")
    (tmp_path / "notes.txt").write_text("hello")
    folder = FolderModel()
    folder.load(scan(tmp_path, [], auto_md5=False))
    qtmodeltester.check(folder)
    states = {r.name: r.md5_state for r in folder.rows()}
    assert states["algop8186.conf"] == "matches"
    assert states["algop8188.conf"] == "does not match"
    assert states["algop8186.md5"] == "checks algop8186.conf"
    trace = TraceModel()
    result = simulate(DeviceState(mac="0022EE000001", product="8186"), folder_fetcher(tmp_path))
    trace.set_steps(result.steps)
    qtmodeltester.check(trace)
    assert trace.rowCount() > 0
    assert trace.data(trace.index(0, 3), Qt.ItemDataRole.DisplayRole) == "algom0022EE000001.conf"


def test_bridge_carries_events_from_a_thread_in_order(qtbot) -> None:
    bridge = EventBridge()
    received: list = []
    bridge.events_received.connect(received.extend)
    script = fleet(20)

    def produce() -> None:
        for event in script.events:
            bridge.post(event)

    worker = threading.Thread(target=produce, name="algodesk-test-producer")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(received) == len(script.events))
    assert received == script.events


def test_live_feed_coalesces_a_burst_into_one_refresh(qtbot) -> None:
    bridge = EventBridge()
    feed = LiveFeed(bridge, Tracker(), interval_ms=60_000)
    inserted: list[int] = []
    feed.devices.rowsInserted.connect(
        lambda _parent, first, last: inserted.extend(range(first, last + 1))
    )
    for event in fleet(100).events:
        bridge.post(event)
    qtbot.waitUntil(lambda: feed.events_seen == len(fleet(100).events))
    assert feed.devices.rowCount() == 0  # the timer has not ticked
    feed.refresh()
    feed.stop()
    assert inserted == list(range(100))  # all in the one refresh
    assert feed.counts() == (100, 0, 25)


def test_an_empty_bench_feed_sleeps_until_an_event_comes(qtbot) -> None:
    bridge = EventBridge()
    feed = LiveFeed(bridge, Tracker(), interval_ms=60_000)
    timer = feed._timer
    try:
        feed.refresh()
        assert not timer.isActive()  # nothing on the bench ages: no periodic refresh
        for event in fleet(1).events:
            bridge.post(event)
        qtbot.waitUntil(lambda: feed.events_seen == len(fleet(1).events))
        assert timer.isActive()
        feed.refresh()
        assert timer.isActive()  # a device's "last seen" must keep moving
    finally:
        feed.stop()


@pytest.mark.parametrize("limit", [1, 3])
def test_entry_model_limit_edge_cases(limit: int, qtmodeltester) -> None:
    tracker = folded(fleet(2))
    model = TransferTableModel(limit=limit)
    model.apply_changes(tracker.take_changes())
    assert model.rowCount() == limit
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.data(QModelIndex()) is None
    qtmodeltester.check(model)


def test_tables_follow_new_rows_until_the_user_scrolls_away(qtbot) -> None:
    from algodesk.ui.widgets.table_view import EndFollower, table

    tracker = Tracker()
    model = TransferTableModel()
    view = table(None)
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(600, 200)
    view.show()
    EndFollower(view)
    bar = view.verticalScrollBar()
    tracker.apply_all(fleet(30).events)
    model.apply_changes(tracker.take_changes())
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
    bar.setValue(0)  # the user looks at older rows
    tracker.apply_all(fleet(5).events)
    model.apply_changes(tracker.take_changes())
    qtbot.waitUntil(lambda: model.rowCount() == 35 * 3)
    qtbot.wait(50)
    assert bar.value() == 0


def test_a_full_transfer_table_trims_a_few_rows_at_a_time(qtbot) -> None:
    """Removing many rows from the front of a big table at once stalls the GUI (see TRIM_ROWS):
    the table stays at its limit and each removal takes at most TRIM_ROWS rows."""
    model = TransferTableModel(limit=300)
    removed: list[int] = []
    model.rowsRemoved.connect(lambda _parent, first, last: removed.append(last - first + 1))
    tracker = Tracker()
    for round_ in range(3):
        script = EventScript()
        for n in range(60):
            script.boot(f"10.1.{round_}.{n + 2}", f"0022EE{round_:02X}{n:04X}")
        tracker.apply_all(script.events)
        model.queue_changes(tracker.take_changes())
        while model.queued:
            model.apply_queued(25)
            assert model.rowCount() <= 300 + 25
    assert removed and max(removed) <= 25 and TRIM_ROWS <= 25
    assert model.rowCount() >= 300 - 25


def test_device_rows_follow_a_tracker_that_forgets_past_its_limit(qtmodeltester) -> None:
    tracker = Tracker(device_limit=20)
    model = DeviceTableModel()
    for start in range(0, 100, 25):
        script = EventScript()
        for n in range(start, start + 25):
            script.boot(f"10.4.0.{n + 1}", f"0022EE03{n:04X}")
        tracker.apply_all(script.events)
        model.apply(tracker.take_changes())
        assert [d.key for d in model.devices()] == list(tracker.devices)
    assert model.rowCount() <= 21
    qtmodeltester.check(model)


def test_a_request_from_a_shared_address_names_no_device_on_the_transfers_page() -> None:
    script = EventScript()
    script.missing("127.0.0.1", "algom0022EE000001.conf")
    script.missing("127.0.0.1", "algom0022EE000002.conf")
    script.served("127.0.0.1", "algop8186.conf")
    tracker = Tracker()
    tracker.apply_all(script.events)
    model = TransferTableModel()
    model.apply_changes(tracker.take_changes())
    devices = [model.data(model.index(row, 2)) for row in range(model.rowCount())]
    # the words the Live page's MAC column uses; the address is in the Client column (the
    # address again made the cell wrap to two lines)
    assert devices == ["00:22:EE:00:00:01", "00:22:EE:00:00:02", "(several devices)"]


def test_a_rewritten_cell_keeps_the_roles_that_did_not_change() -> None:
    # Only the changed roles are set (a tick rewrites hundreds of "last seen" texts); a bar is
    # drawn as the background, over the tint, and the tint comes back when the bar goes.
    from algodesk.ui.widgets.item_table import ItemTable, cell, progress_brush

    model = ItemTable(["a"])
    tint, icon = status_style.tint(Level.WARNING), status_style.icon(Level.WARNING)
    model.append_rows([(object(), [cell("one", icon=icon, background=tint)], "s")])
    index = model.index(0, 0)
    background = Qt.ItemDataRole.BackgroundRole

    model.update_rows([(0, [cell("two", icon=icon, background=tint)], "s")])
    assert index.data() == "two"
    assert index.data(Qt.ItemDataRole.DecorationRole) is not None
    assert index.data(background) == tint

    model.update_rows([(0, [cell("two", icon=icon, background=tint, progress=0.5)], "s")])
    assert index.data(PROGRESS_ROLE) == 0.5
    assert index.data(background) == progress_brush(50, 100)

    other = status_style.tint(Level.ERROR)
    model.update_rows([(0, [cell("two", background=other, progress=0.5)], "s")])
    assert index.data(background) == progress_brush(50, 100)  # the bar stays on top
    assert index.data(Qt.ItemDataRole.DecorationRole) is None  # the icon went

    model.update_rows([(0, [cell("two", background=other)], "s")])
    assert index.data(PROGRESS_ROLE) is None
    assert index.data(background) == other


def test_device_rows_wait_while_the_live_page_is_hidden_and_catch_up(qtbot) -> None:
    bridge = EventBridge()
    feed = LiveFeed(bridge, Tracker(), interval_ms=1_000_000)
    feed.show_pages(live=False, transfers=True, log=False)
    script = EventScript().boot("10.0.0.2", "0022EE000001")
    bridge.post(script.events[0])
    qtbot.waitUntil(lambda: feed.events_seen == 1)
    feed.refresh()
    feed.finish()
    assert feed.devices.rowCount() == 1  # rows still come: row numbers stay right
    first = feed.devices.index(0, Column.FILES).data()
    for event in script.events[1:]:
        bridge.post(event)
    qtbot.waitUntil(lambda: feed.events_seen == len(script.events))
    feed.refresh()
    feed.finish()
    assert feed.devices.index(0, Column.FILES).data() == first  # cells wait...
    assert feed.transfers.rowCount() == len(feed.tracker.devices["0022EE000001"].timeline)
    feed.show_pages(live=True, transfers=False, log=False)
    feed.finish()
    served = feed.tracker.devices["0022EE000001"].files_served
    assert served > 0 and feed.devices.index(0, Column.FILES).data() == str(served)  # ...then
    feed.stop()


def test_transfer_filter_drops_a_row_whose_outcome_leaves_it_and_shows_all_again() -> None:
    script = EventScript().served("10.0.0.2", "algop8186.conf", finish=False)
    running = len(script.events)
    (started,) = [e for e in script.events if isinstance(e, TransferStarted)]
    script.events.append(  # the transfer EventScript started ends
        TransferFailed(transfer_id=1, client=started.client, served=started.served, reason="gone")
    )
    tracker = Tracker()
    tracker.apply_all(script.events[:running])
    model = TransferTableModel(limit=100)
    model.apply_changes(tracker.take_changes())
    proxy = TransferFilter()
    proxy.setSourceModel(model)
    proxy.set_outcomes("In progress")
    assert proxy.rowCount() == 1
    tracker.apply_all(script.events[running:])
    model.apply_changes(tracker.take_changes())
    assert proxy.rowCount() == 0  # rewritten rows are filtered again while a filter is on
    proxy.set_outcomes("Problems")
    assert proxy.rowCount() == 1
    proxy.set_text("nothing like it")
    assert proxy.rowCount() == 0
    proxy.set_text(" ")
    proxy.set_outcomes("All")
    assert proxy.rowCount() == 1 and proxy.filterRegularExpression().pattern() == ""


def test_changed_rows_close_together_go_out_in_one_signal() -> None:
    from algodesk.ui.widgets.dirty import contiguous_ranges
    from algodesk.ui.widgets.item_table import JOIN_GAP, ItemTable, cell

    assert contiguous_ranges([5, 1, 2, 2, 9], gap=0) == [(1, 2), (5, 5), (9, 9)]
    assert contiguous_ranges([5, 1, 2, 9], gap=3) == [(1, 9)]
    model = ItemTable(["a"])
    rows = JOIN_GAP * 4
    model.append_rows([(object(), [cell(str(n))], "") for n in range(rows)])
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, _roles: changed.append((top.row(), bottom.row())))
    far = rows - 1
    model.update_rows([(n, [cell("new")], "") for n in (0, 3, JOIN_GAP, far)])
    assert changed == [(0, JOIN_GAP), (far, far)]
    assert [model.index(n, 0).data() for n in (0, 1, far)] == ["new", "1", "new"]
