"""The Live page: devices on the bench, and the selected device's timeline.

It shows the live bench, or an earlier run from the history replayed through a fresh tracker.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from algodesk.core.device import Stage
from algodesk.core.events import Event
from algodesk.core.tracker import TrackedDevice, replay
from algodesk.ui.live.device_details import DeviceDetails
from algodesk.ui.live.device_model import Column, DeviceTableModel
from algodesk.ui.live.feed import LiveFeed
from algodesk.ui.live.syslog_page import DeviceSyslogView
from algodesk.ui.live.timeline_model import TimelineModel
from algodesk.ui.serve_toolbar import DRY_RUN_PORT
from algodesk.ui.widgets import text
from algodesk.ui.widgets.item_table import BarWidth
from algodesk.ui.widgets.md5_button import WriteMd5Button, md5_targets
from algodesk.ui.widgets.table_view import table

_LONGEST_STATUS = "md5 missing: algom0022EE010203-i.conf ignored"
_DRY_RUN_LINK = "algodesk:dry-run"

RunLoader = Callable[[int], Sequence[Event]]
"""Reads a stored run's events by run id."""


class LivePage(QWidget):
    """Device table on top, the selected device's details and timeline below; until the first
    device shows up, what to do next."""

    dry_run_requested = Signal()
    """The empty page's dry-run link was clicked."""

    def __init__(self, feed: LiveFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._feed = feed
        self._loader: RunLoader | None = None
        self._run_devices: DeviceTableModel | None = None
        self._run_timeline = TimelineModel(self)

        self.runs = QComboBox(self)
        self.runs.addItem("Live bench", None)
        self.runs.setToolTip("Show the live bench or an earlier run from the history")
        self.runs.currentIndexChanged.connect(self._on_runs_current_index_changed)
        self.export_button = QPushButton("Export devices…", self)
        header = QHBoxLayout()
        header.addWidget(QLabel("Showing:", self))
        header.addWidget(self.runs, 1)
        header.addWidget(self.export_button)

        self.devices = table(self)
        self.devices.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self._bars = BarWidth(self.devices, Column.PROGRESS)
        font = self.devices.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.devices.setFont(font)
        # check-sync takes many devices at once; details and timeline follow the first
        self.devices.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.details = DeviceDetails(self)
        self.timeline = table(self)
        self.timeline.setModel(feed.timeline)
        self.device_syslog = DeviceSyslogView(self)
        self.lower_tabs = QTabWidget(self)
        self.lower_tabs.addTab(self.timeline, "Requests")
        self.lower_tabs.addTab(self.device_syslog, "Syslog")

        lower = QWidget(self)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.details)
        # The diagnosis's fix, done here: "Write algop8186.md5" in the served folder.
        self.md5_button = WriteMd5Button(self)
        lower_layout.addWidget(self.md5_button, 0, Qt.AlignmentFlag.AlignLeft)
        lower_layout.addWidget(self.lower_tabs, 1)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.devices)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        self.empty = QLabel(self)
        self.empty.setObjectName("live-empty")
        self.empty.setWordWrap(True)
        self.empty.setTextFormat(Qt.TextFormat.RichText)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setMargin(24)
        self.empty.linkActivated.connect(self._on_empty_link_activated)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.splitter)
        self._serving: tuple[str, str, int] | None = None
        self._folder = ""

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)
        self._show_models(feed.devices, feed.timeline)
        feed.refreshed.connect(self._on_feed_refreshed)
        self.set_server_state("", None)

    # --- empty state -----------------------------------------------------------------------------
    def set_server_state(self, folder: str, serving: tuple[str, int] | None) -> None:
        """What the empty page says: the folder, and where it is served (None: stopped)."""
        self._folder = folder
        self._serving = (folder, *serving) if serving is not None else None
        self._show_empty_state()

    def _show_empty_state(self) -> None:
        empty = self.showing_live and self._feed.devices.rowCount() == 0
        self.stack.setCurrentWidget(self.empty if empty else self.splitter)
        if not empty:
            return
        folder = html.escape(self._folder or "the provisioning folder")
        if self._serving is None:
            now = (
                f"<p>The server is stopped. <b>Start serving</b> (F5) to serve <b>{folder}</b>.</p>"
            )
        else:
            _folder, address, port = self._serving
            where = html.escape(text.listening_on(address))
            now = f"<p>Serving <b>{folder}</b> on {where}, port {port}.</p>"
        self.empty.setText(
            "<h2>No device yet</h2>"
            + now
            + "<p>Power on a device on the bench network: it asks DHCP for an address and a "
            "TFTP server, then asks for <code>algom&lt;MAC&gt;.conf</code>, "
            "<code>algop&lt;product&gt;.conf</code> and their md5 files, and fetches the "
            "firmware a config names. Each device shows here as it asks, with what it got and "
            "why it stopped.</p>"
            f"<p>No device at hand? <a href='{_DRY_RUN_LINK}'>Serve on port {DRY_RUN_PORT} for "
            "a dry run</a> and point a TFTP client or "
            f"<code>algodesk simulate --server ADDRESS:{DRY_RUN_PORT}</code> at it, or use "
            "<b>Simulate a device…</b> on the Folder page.</p>"
        )

    @Slot(str)
    def _on_empty_link_activated(self, link: str) -> None:
        if link == _DRY_RUN_LINK:
            self.dry_run_requested.emit()

    # --- history ---------------------------------------------------------------------------------
    def set_history(self, loader: RunLoader, runs: Sequence[tuple[int, str]]) -> None:
        """Offer earlier runs (``(run_id, label)``, newest first) read through ``loader``."""
        self._loader = loader
        current = self.runs.currentData()
        self.runs.blockSignals(True)
        while self.runs.count() > 1:
            self.runs.removeItem(1)
        for run_id, label in runs:
            self.runs.addItem(label, run_id)
        found = self.runs.findData(current) if current is not None else 0
        self.runs.setCurrentIndex(max(found, 0))
        self.runs.blockSignals(False)

    def show_run(self, run_id: int | None) -> None:
        """Show the live bench (None) or the stored run ``run_id``."""
        index = self.runs.findData(run_id) if run_id is not None else 0
        if index >= 0:
            self.runs.setCurrentIndex(index)

    @Slot(int)
    def _on_runs_current_index_changed(self, index: int) -> None:
        run_id = self.runs.itemData(index)
        if run_id is None or self._loader is None:
            self._run_devices = None
            self._show_models(self._feed.devices, self._feed.timeline)
            self._show_empty_state()
            return
        tracker = replay(self._loader(run_id))
        model = DeviceTableModel(self)
        model.apply(tracker.take_changes())
        self._run_devices = model
        self._show_models(model, self._run_timeline)
        self._show_empty_state()

    @property
    def showing_live(self) -> bool:
        """Whether the page shows the live bench (not a stored run)."""
        return self._run_devices is None

    # --- views -----------------------------------------------------------------------------------
    def _show_models(self, devices: DeviceTableModel, timeline: TimelineModel) -> None:
        old = self.devices.selectionModel()
        if old is not None:
            old.selectionChanged.disconnect(self._on_devices_selection_changed)
        self.devices.setModel(devices)
        self._bars.follow(devices)
        self.timeline.setModel(timeline)
        self.devices.selectionModel().selectionChanged.connect(self._on_devices_selection_changed)
        # fixed widths: sizing columns to their contents would measure every row on each update
        header = self.devices.horizontalHeader()
        metrics = self.devices.fontMetrics()
        samples = {
            Column.MAC: "00:22:EE:00:00:00 ",
            Column.PRODUCT: "Product ",
            Column.IP: "255.255.255.255 ",
            # the longest stage a device can be in ("left for stage-2 server" was cut)
            Column.STAGE: max((stage.value for stage in Stage), key=metrics.horizontalAdvance),
            Column.PROGRESS: "algo-8196-5.4f.sfw 100%",
            Column.FILES: "Files ",
            Column.LAST_SEEN: "59 min ago ",
        }
        for column, sample in samples.items():
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 12)
        # The status is what a technician reads from across the room: show it right after the
        # MAC, so a narrow window never scrolls it out of sight.
        # Wide enough for the longest headline with its file name ("md5 wrong: algop8301.conf
        # ignored" was cut to "md5 wrong: algop8301.co…"); anything longer loses its middle.
        header.resizeSection(Column.STATUS, metrics.horizontalAdvance(_LONGEST_STATUS) + 40)
        header.moveSection(header.visualIndex(Column.STATUS), 1)
        self.timeline.horizontalHeader().resizeSection(1, 210)
        self.timeline.horizontalHeader().resizeSection(5, 235)
        for section in (0, 3, 4, 7):  # time, source, size, duration
            self.timeline.horizontalHeader().resizeSection(section, 75)
        self._show_device(None)

    def device_model(self) -> DeviceTableModel:
        """The device model on show (live, or a stored run's)."""
        return self._run_devices or self._feed.devices

    def shown_devices(self) -> list[TrackedDevice]:
        """The devices on show, in row order (what an export writes)."""
        return self.device_model().devices()

    def selected_device(self) -> TrackedDevice | None:
        """The device whose timeline is shown."""
        rows = self.devices.selectionModel().selectedRows()
        return self.device_model().device(rows[0].row()) if rows else None

    def selected_devices(self) -> list[TrackedDevice]:
        """Every selected device, in row order."""
        model = self.device_model()
        rows = sorted(index.row() for index in self.devices.selectionModel().selectedRows())
        return [device for row in rows if (device := model.device(row)) is not None]

    def select_row(self, row: int) -> None:
        """Select the device in ``row``."""
        self.devices.selectRow(row)

    @Slot(QItemSelection, QItemSelection)
    def _on_devices_selection_changed(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self._show_device(self.selected_device())

    def _show_device(self, device: TrackedDevice | None) -> None:
        timeline = self.timeline.model()
        if isinstance(timeline, TimelineModel):
            timeline.show_device(device)
        self.details.show_device(device)
        self._offer_md5(device)
        self.device_syslog.show_device(device)

    def _offer_md5(self, device: TrackedDevice | None) -> None:
        folder = Path(self._folder) if self._folder and self.showing_live else None
        self.md5_button.offer(folder, md5_targets(device.diagnoses) if device else [])

    @Slot()
    def _on_feed_refreshed(self) -> None:
        self._show_empty_state()
        if self.showing_live:
            self.details.show_device(self.selected_device())
            self._offer_md5(self.selected_device())
            self.device_syslog.refresh()
