""" "Simulate a device…": the simulator's trace for a MAC and product against this folder."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from algodesk.core import names
from algodesk.core.device import PROTOCOLS
from algodesk.core.diagnosis import Level
from algodesk.core.simulator import bench_fetcher, simulate
from algodesk.core.trace import DeviceState, SimulationResult
from algodesk.ui.live.trace_model import TraceModel
from algodesk.ui.widgets import status_style
from algodesk.ui.widgets.table_view import table

MAX_BOOTS = 10


def folder_product(folder: Path) -> str:
    """The product the folder's files are for (its first generic config names one), or ""."""
    try:
        found = sorted(
            product
            for entry in folder.iterdir()
            if (product := names.product_in_name(entry.name))
            and names.classify(entry.name).kind is names.FileKind.GENERIC
        )
    except OSError:
        return ""
    return found[0] if found else ""


class SimulateDialog(QDialog):
    """Plays one virtual device against the folder and shows every step."""

    def __init__(
        self, folder: Path, parent: QWidget | None = None, *, auto_md5: bool = True
    ) -> None:
        super().__init__(parent)
        self.folder = folder
        self.auto_md5 = auto_md5
        self.simulation: SimulationResult | None = None
        # The bench context, as the Folder page and the live view judge it (auto md5 as set).
        self.setWindowTitle(
            f"Simulate a device against {folder.name or folder} (as this bench serves it)"
        )
        self.resize(900, 600)
        self.mac = QLineEdit("00:22:EE:00:00:01", self)
        self.product = QComboBox(self)
        self.product.setEditable(True)
        for product, description in names.PRODUCTS.items():
            self.product.addItem(f"{product} — {description}", product)
        named = folder_product(folder)
        if named:
            self.product.setCurrentIndex(self.product.findData(named))
        self.firmware = QLineEdit(self)
        self.firmware.setPlaceholderText("installed firmware version, e.g. 5.3.1")
        self.protocol = QComboBox(self)
        self.protocol.addItems(list(PROTOCOLS))
        self.partial = QCheckBox("Partial provisioning on (device asks -i files)", self)
        self.run_button = QPushButton("Run", self)
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        form = QFormLayout()
        form.addRow("MAC", self.mac)
        form.addRow("Product", self.product)
        form.addRow("Firmware", self.firmware)
        form.addRow("Protocol", self.protocol)
        form.addRow("", self.partial)

        self.outcome = QLabel(self)
        self.outcome.setWordWrap(True)
        self.trace = TraceModel(self)
        self.view = table(self)
        self.view.setModel(self.trace)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(1, 150)
        header.resizeSection(2, 90)
        header.resizeSection(3, 230)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.addButton(self.run_button, QDialogButtonBox.ButtonRole.ActionRole)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.outcome)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)

    def _product(self) -> str:
        index = self.product.currentIndex()
        chosen = self.product.currentText().strip()
        if index >= 0 and chosen == self.product.itemText(index):
            return str(self.product.itemData(index))
        return chosen.split(" ", 1)[0]

    @Slot()
    def run(self) -> None:
        """Simulate the device described by the form and show its trace."""
        try:
            state = DeviceState(
                mac=self.mac.text(),
                product=self._product(),
                firmware=self.firmware.text().strip(),
                partial=self.partial.isChecked(),
                protocol=self.protocol.currentText(),
            )
        except ValueError as error:
            self._say(Level.ERROR, str(error))
            self.trace.set_steps(())
            return
        fetch = bench_fetcher(self.folder, auto_md5=self.auto_md5)
        self.simulation = simulate(state, fetch, max_boots=MAX_BOOTS)
        self.trace.set_steps(self.simulation.steps)
        outcome = self.simulation.outcome
        if self.simulation.steady:
            self._say(Level.OK, outcome[:1].upper() + outcome[1:])
        else:
            self._say(Level.ERROR, f"Never steady: {self.simulation.diagnosis or outcome}")

    def _say(self, level: Level, message: str) -> None:
        self.outcome.setText(
            f"<b style='font-size:large; color:{status_style.COLOURS[level]}'>"
            f"{html.escape(message)}</b>"
        )
