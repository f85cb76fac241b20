"""The Algo web devices zeroconf has seen, for the companions panel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt

from algodesk.services.discovery import FoundService
from algodesk.ui.widgets.list_table_model import Index, ListTableModel

HEADERS = ("Name", "Address", "Model")


class DiscoveredModel(ListTableModel[FoundService]):
    """One row per announced Algo web service; replaced whole when the list changes."""

    headers = HEADERS

    def device(self, row: int) -> FoundService | None:
        """The device in ``row``."""
        return self.item(row)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Name, ``address:port`` and the model once probed."""
        device = self.item_at(index)
        if device is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return (device.label, device.where, device.model or "not probed")[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{device.name}\n{device.host}"
        return None

    def set_devices(self, devices: Sequence[FoundService]) -> None:
        """Show ``devices`` (nothing happens when they are the ones shown)."""
        if list(devices) != self._rows:
            self._replace_rows(devices)
