"""The toolbar: start/stop, provisioning folder, interface and address, port."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMenu,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

from algodesk.services.interfaces import Interface
from algodesk.ui.widgets.interface_picker import InterfacePicker

DRY_RUN_PORT = 6969


class ServeToolbar(QToolBar):
    """Controls for the bench server; the window reacts to its signals."""

    start_requested = Signal()
    stop_requested = Signal()
    folder_chosen = Signal(str)
    interfaces_refresh_requested = Signal()

    def __init__(self, default_folder: Path, parent: QWidget | None = None) -> None:
        super().__init__("Bench server", parent)
        self.setObjectName("serve-toolbar")
        self._default_folder = default_folder
        self.start_action = QAction("▶  Start serving", self)
        self.start_action.setShortcut(QKeySequence("F5"))
        self.start_action.setToolTip("Start the TFTP server (F5)")
        self.start_action.triggered.connect(self.start_requested)
        self.stop_action = QAction("■  Stop", self)
        self.stop_action.setShortcut(QKeySequence("Shift+F5"))
        self.stop_action.setToolTip("Stop the TFTP server (Shift+F5)")
        self.stop_action.triggered.connect(self.stop_requested)
        self.addAction(self.start_action)
        self.addAction(self.stop_action)
        self.addSeparator()

        self.folder_menu = QMenu(self)
        self.folder_button = QToolButton(self)
        self.folder_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.folder_button.setMenu(self.folder_menu)
        self.folder_button.setToolTip("The provisioning folder the server serves")
        self.addWidget(QLabel(" Folder ", self))
        self.addWidget(self.folder_button)
        self.addSeparator()

        self.interfaces = InterfacePicker(self)
        self.refresh_action = QAction("⟳", self)
        self.refresh_action.setToolTip("Look for network interfaces again")
        self.refresh_action.triggered.connect(self.interfaces_refresh_requested)
        self.addWidget(QLabel(" Listen on ", self))
        self.addWidget(self.interfaces)
        self.addAction(self.refresh_action)
        self.port = QSpinBox(self)
        self.port.setRange(0, 65535)
        self.port.setToolTip("UDP port; devices always ask port 69 (0: any free port, for tests)")
        self.addWidget(QLabel(" Port ", self))
        self.addWidget(self.port)
        self._free_port_shown = 0
        self.set_folder(default_folder, [])
        self.set_serving(False)

    def set_folder(self, folder: Path, recent: Sequence[str]) -> None:
        """Show ``folder`` and the recent folders menu."""
        self.folder = folder
        self.folder_button.setText(f"{folder.name or folder}  ▾")
        self.folder_button.setToolTip(str(folder))
        self.folder_menu.clear()
        for path in recent:
            action = self.folder_menu.addAction(path)
            action.triggered.connect(partial(self._choose, path))
        if recent:
            self.folder_menu.addSeparator()
        choose = self.folder_menu.addAction("Choose folder…")
        choose.triggered.connect(self.choose_folder)
        default = self.folder_menu.addAction("The default bench folder")
        default.triggered.connect(partial(self._choose, str(self._default_folder)))

    def _choose(self, folder: str, _checked: bool = False) -> None:
        self.folder_chosen.emit(folder)  # a slot returns None: PySide mis-counts a bool result

    @Slot()
    def choose_folder(self) -> None:
        """Ask for a folder (a dialog) and emit :attr:`folder_chosen`."""
        chosen = QFileDialog.getExistingDirectory(self, "Provisioning folder", str(self.folder))
        if chosen:
            self.folder_chosen.emit(chosen)

    def set_interfaces(self, interfaces: Sequence[Interface]) -> None:
        """List the network interfaces."""
        self.interfaces.set_interfaces(interfaces)

    def show_bound_port(self, port: int) -> None:
        """Show the port the server bound: with "any free port" (0), the one it got.

        The run keeps that port (a restart binds it again, so clients pointed at it keep
        working); :meth:`port_choice` still says "any free port" for the next start of the app.
        """
        if self.port.value() == 0:
            self._free_port_shown = port
            self.port.setValue(port)

    def port_choice(self) -> int:
        """The port the user chose: 0 for "any free port" while its bound port is on show."""
        value = self.port.value()
        return 0 if value and value == self._free_port_shown else value

    def set_serving(self, serving: bool) -> None:
        """Enable what makes sense while serving (or not)."""
        self.start_action.setEnabled(not serving)
        self.stop_action.setEnabled(serving)
        for widget in (self.interfaces, self.port):
            widget.setEnabled(not serving)
        self.refresh_action.setEnabled(not serving)
