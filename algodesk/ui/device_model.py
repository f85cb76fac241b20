"""The Live page's device table: a thin model over the tracker's devices."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from algodesk.core.diagnosis import Level
from algodesk.core.tracker import Changes, TrackedDevice
from algodesk.ui import status_style, text
from algodesk.ui.dirty import contiguous_ranges
from algodesk.ui.progress_delegate import PROGRESS_ROLE

Index = QModelIndex | QPersistentModelIndex


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


_STATUS_ROLES: dict[int, Callable[[Level], object]] = {
    Qt.ItemDataRole.DecorationRole.value: status_style.icon,
    Qt.ItemDataRole.ForegroundRole.value: status_style.colour,
    Qt.ItemDataRole.BackgroundRole.value: status_style.tint,
}
HEADERS = ("MAC", "Product", "IP", "Stage", "Current file", "Files", "Last seen", "Status")


class DeviceTableModel(QAbstractTableModel):
    """One row per device, in order of first appearance; updated in batches by :meth:`apply`."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._devices: list[TrackedDevice] = []
        self._rows: dict[int, int] = {}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of devices (0 under any item: the model is flat)."""
        return 0 if parent.isValid() else len(self._devices)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of columns."""
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(HEADERS)
        ):
            return HEADERS[section]
        return None

    def device(self, row: int) -> TrackedDevice | None:
        """The device shown in ``row``."""
        return self._devices[row] if 0 <= row < len(self._devices) else None

    def devices(self) -> list[TrackedDevice]:
        """Every device shown, in row order."""
        return list(self._devices)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell contents, colours, icons, tooltips and the progress fraction."""
        device = self.device(index.row()) if index.isValid() else None
        if device is None:
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(device, column)
        if column is Column.STATUS and role in _STATUS_ROLES:
            return _STATUS_ROLES[role](device.status[0])
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(f"{d.text} {d.fix}".strip() for d in device.diagnoses) or None
        if role == PROGRESS_ROLE and column is Column.PROGRESS:
            return device.current.fraction if device.current is not None else None
        return None

    @staticmethod
    def _display(device: TrackedDevice, column: Column) -> str:
        if column is Column.MAC:
            return text.mac(device.mac) if device.mac else "(unknown)"
        if column is Column.PRODUCT:
            return device.product
        if column is Column.IP:
            return device.ip
        if column is Column.STAGE:
            return device.stage.value if device.stage is not None else "address only"
        if column is Column.PROGRESS:
            current = device.current
            return current.requested if current is not None else ""
        if column is Column.FILES:
            return str(device.files_served)
        if column is Column.LAST_SEEN:
            return text.ago(device.last_seen, time.time())
        return device.status[1]

    def apply(self, changes: Changes) -> None:
        """Show what changed: rows removed, appended, and one dataChanged per dirty range."""
        for device in changes.removed_devices:
            row = self._rows.get(id(device))
            if row is None:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._devices[row]
            self._reindex()
            self.endRemoveRows()
        fresh = [d for d in changes.new_devices if id(d) not in self._rows]
        fresh = [d for d in fresh if d not in changes.removed_devices]
        if fresh:
            first = len(self._devices)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            self._devices.extend(fresh)
            self._reindex()
            self.endInsertRows()
        rows = (row for d in changes.updated_devices if (row := self._rows.get(id(d))) is not None)
        for first, last in contiguous_ranges(rows):
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(HEADERS) - 1))

    def refresh_times(self) -> None:
        """Repaint the "last seen" column (its text depends on the clock)."""
        if self._devices:
            top = self.index(0, Column.LAST_SEEN)
            self.dataChanged.emit(top, self.index(len(self._devices) - 1, Column.LAST_SEEN))

    def _reindex(self) -> None:
        self._rows = {id(d): row for row, d in enumerate(self._devices)}
