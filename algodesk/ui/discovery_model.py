"""The Algo web devices zeroconf has seen, for the companions panel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from algodesk.services.discovery import FoundService

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Name", "Address", "Model")


class DiscoveredModel(QAbstractTableModel):
    """One row per announced Algo web service; replaced whole when the list changes."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._devices: list[FoundService] = []

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

    def device(self, row: int) -> FoundService | None:
        """The device in ``row``."""
        return self._devices[row] if 0 <= row < len(self._devices) else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Name, ``address:port`` and the model once probed."""
        device = self.device(index.row()) if index.isValid() else None
        if device is None or not 0 <= index.column() < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return (device.label, device.where, device.model or "not probed")[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{device.name}\n{device.host}"
        return None

    def set_devices(self, devices: Sequence[FoundService]) -> None:
        """Show ``devices`` (nothing happens when they are the ones shown)."""
        if list(devices) == self._devices:
            return
        self.beginResetModel()
        self._devices = list(devices)
        self.endResetModel()
