"""The address picker: all interfaces, each interface's IPv4 (up/down), and loopback."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

from algodesk.services.interfaces import Interface

ALL_ADDRESSES = "0.0.0.0"
_ALL_LABEL = "All interfaces (0.0.0.0)"


class InterfacePicker(QComboBox):
    """Items carry ``(interface name, IPv4)``; interfaces without IPv4 are listed but disabled."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumContentsLength(28)
        self.setToolTip("The network interface and address the server listens on")
        self.set_interfaces([])

    def set_interfaces(self, interfaces: Sequence[Interface]) -> None:
        """List ``interfaces``, keeping the current choice when it is still there."""
        name, address = self.current_choice()
        self.blockSignals(True)
        self.clear()
        self.addItem(_ALL_LABEL, ("", ALL_ADDRESSES))
        ordered = sorted(interfaces, key=lambda i: (i.loopback, i.name))
        for interface in ordered:
            self.addItem(interface.label, (interface.name, interface.ipv4))
            if not interface.ipv4:
                item = self.model()
                if isinstance(item, QStandardItemModel):
                    row = item.item(self.count() - 1)
                    if row is not None:
                        row.setEnabled(False)
        self.blockSignals(False)
        self.choose(name, address)

    def choose(self, name: str, address: str) -> None:
        """Select the item for ``address`` (preferring ``name``'s); all interfaces otherwise."""
        best = 0
        for index in range(self.count()):
            item_name, item_address = self.itemData(index)
            if item_address == address and item_address:
                best = index
                if item_name == name:
                    break
        self.setCurrentIndex(best)

    def current_choice(self) -> tuple[str, str]:
        """``(interface name, address)`` chosen; ``("", "0.0.0.0")`` for all interfaces."""
        data = self.currentData()
        return tuple(data) if data else ("", ALL_ADDRESSES)

    def current_address(self) -> str:
        """The address to bind."""
        return self.current_choice()[1]
