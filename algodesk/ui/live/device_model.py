"""The Live page's device table: one row per tracked device, refreshed in batches."""

from __future__ import annotations

import time
from collections.abc import Iterable
from enum import IntEnum

from PySide6.QtCore import QObject

from algodesk.core.tracker import Changes, TrackedDevice
from algodesk.ui.widgets import status_style, text
from algodesk.ui.widgets.dirty import contiguous_ranges
from algodesk.ui.widgets.item_table import ItemTable, Values, cell


class Column(IntEnum):
    """The device table's columns."""

    MAC = 0
    PRODUCT = 1
    IP = 2
    STAGE = 3
    PROGRESS = 4
    FILES = 5
    LAST_SEEN = 6
    STATUS = 7


HEADERS = ("MAC", "Product", "IP", "Stage", "Current file", "Files", "Last seen", "Status")


def device_cells(device: TrackedDevice, now: float) -> list[Values]:
    """The cells of a device's row."""
    level, status = device.status
    tooltip = "\n".join(f"{d.text} {d.fix}".strip() for d in device.diagnoses) or None
    current = device.current
    fraction = current.fraction if current is not None else None
    progress = ""
    if current is not None:
        progress = current.requested + (f"  {fraction:.0%}" if fraction is not None else "")
    return [
        cell(_mac(device), tooltip=tooltip),
        cell(device.product),
        cell(device.ip),
        cell(_stage(device)),
        cell(progress, progress=fraction),
        cell(str(device.files_served)),
        cell(text.ago(device.last_seen, now) if device.seen else "never"),
        cell(
            status,
            icon=status_style.icon(level),
            foreground=status_style.colour(level),
            background=status_style.tint(level),
            tooltip=tooltip,
        ),
    ]


SEVERAL_DEVICES = "(several devices)"
"""Who asked, for requests from an address several devices share (not attributed to one)."""


def _mac(device: TrackedDevice) -> str:
    if device.mac:
        return text.mac(device.mac)
    return SEVERAL_DEVICES if device.pooled else "(unknown)"


def _stage(device: TrackedDevice) -> str:
    if device.pooled:
        return "not attributed"
    if device.stage is not None:
        return device.stage.value
    return "address only" if device.seen else "expected (roster)"


def _search(device: TrackedDevice) -> str:
    return f"{text.mac(device.mac)} {device.ip} {device.product}".lower()


class DeviceTableModel(ItemTable):
    """Devices in order of first appearance; :meth:`apply` brings the rows up to date."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(HEADERS, parent)
        self._rows: dict[int, int] = {}

    def device(self, row: int) -> TrackedDevice | None:
        """The device shown in ``row``."""
        shown: TrackedDevice | None = self.object_at(row)
        return shown

    def devices(self) -> list[TrackedDevice]:
        """Every device shown, in row order."""
        return self.objects()

    def apply(self, changes: Changes, *, update: bool = True) -> None:
        """Remove merged-away rows, append new devices, and (``update``) rewrite changed cells."""
        now = time.time()
        gone = (self._rows.get(id(d)) for d in changes.removed_devices)
        # bottom up, a contiguous run in one call: a bench day forgets devices by the hundred
        for first, last in reversed(contiguous_ranges(row for row in gone if row is not None)):
            self.remove_rows(first, last - first + 1)
        if changes.removed_devices:
            self._reindex()
        fresh = [
            d
            for d in changes.new_devices
            if id(d) not in self._rows and d not in changes.removed_devices
        ]
        if fresh:
            self.append_rows([(d, device_cells(d, now), _search(d)) for d in fresh])
            self._reindex()
        if update:
            self.update_devices(changes.updated_devices)

    def update_devices(self, devices: Iterable[TrackedDevice]) -> None:
        """Rewrite the changed cells of ``devices``' rows (the "last seen" text too)."""
        now = time.time()
        self.update_rows(
            (row, device_cells(device, now), _search(device))
            for device in devices
            if (row := self._rows.get(id(device))) is not None
        )

    def _reindex(self) -> None:
        self._rows = {id(d): row for row, d in enumerate(self.objects())}
