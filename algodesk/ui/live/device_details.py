"""The panel under the device table: who the device is and what is wrong, with the fix."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from algodesk.core.names import PRODUCTS
from algodesk.core.tracker import TrackedDevice
from algodesk.ui.widgets import status_style, text


class DeviceDetails(QLabel):
    """Rich text: identity, status, and every diagnosis with what to do."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setMargin(6)
        self.show_device(None)

    def show_device(self, device: TrackedDevice | None) -> None:
        """Describe ``device`` (or invite the user to pick one)."""
        if device is None:
            self.setText("<i>Select a device to see every request it made.</i>")
            return
        level, status = device.status
        name = text.mac(device.mac) if device.mac else "MAC not known yet"
        model = PRODUCTS.get(device.product, "")
        product = f"{device.product} {model}".strip() or "product not known yet"
        parts = [
            f"<b style='font-size:large'>{html.escape(name)}</b> &nbsp; "
            f"{html.escape(product)} &nbsp; {html.escape(device.ip)} &nbsp; "
            f"boots seen: {device.boots}",
            f"<span style='color:{status_style.COLOURS[level]}; font-weight:bold'>"
            f"{html.escape(status)}</span>",
        ]
        for finding in device.diagnoses:
            colour = status_style.COLOURS[finding.level]
            fix = f"<br/>&nbsp;&nbsp;→ {html.escape(finding.fix)}" if finding.fix else ""
            parts.append(f"<span style='color:{colour}'>● {html.escape(finding.text)}</span>{fix}")
        self.setText("<br/>".join(parts))
