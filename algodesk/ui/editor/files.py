"""The editor's file chores: the recent files menu and the questions it asks (open, save, discard)."""

from __future__ import annotations

from enum import StrEnum
from functools import partial
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

RECENT_KEY = "editor/recent_files"
RECENT_LIMIT = 10
PRODUCT_KEY = "editor/last_product"
CONFIG_FILTER = "Config files (*.conf *.cfg *.txt);;All files (*)"


class Unsaved(StrEnum):
    """What to do with unsaved changes."""

    SAVE = "save"
    DISCARD = "discard"
    CANCEL = "cancel"


class RecentFiles(QObject):
    """Recently opened or saved files (newest first) in an INI file, and a menu of them."""

    chosen = Signal(str)
    """A recent file was picked from the menu."""

    def __init__(self, state_file: Path, parent: QWidget) -> None:
        super().__init__(parent)
        self._state = QSettings(str(state_file), QSettings.Format.IniFormat, self)
        self.menu = QMenu(parent)
        self._fill()

    def files(self) -> list[str]:
        """The recent files, newest first."""
        value = self._state.value(RECENT_KEY, [])
        # An INI file gives a one-item list back as a plain string.
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [str(item) for item in items if item]

    def remember(self, path: Path) -> None:
        """Put ``path`` first."""
        text = str(path)
        recent = [text, *(p for p in self.files() if p != text)][:RECENT_LIMIT]
        self._state.setValue(RECENT_KEY, recent)
        self._state.sync()
        self._fill()

    def last_product(self) -> str:
        """The product last chosen for "Save as provisioning file" ("" when none yet)."""
        return str(self._state.value(PRODUCT_KEY, "") or "")

    def remember_product(self, product: str) -> None:
        """Offer ``product`` first next time a file names none."""
        self._state.setValue(PRODUCT_KEY, product)
        self._state.sync()

    def _fill(self) -> None:
        self.menu.clear()
        files = self.files()
        for text in files:
            action = self.menu.addAction(text)
            action.triggered.connect(partial(self._pick, text))
        self.menu.setEnabled(bool(files))

    def _pick(self, text: str, _checked: bool = False) -> None:
        self.chosen.emit(text)  # a slot returns None: PySide mis-counts a bool result


def choose_open_file(parent: QWidget, start: Path) -> Path | None:
    """Ask for a config file to open."""
    chosen, _ = QFileDialog.getOpenFileName(parent, "Open a config file", str(start), CONFIG_FILTER)
    return Path(chosen) if chosen else None


def choose_save_file(parent: QWidget, start: Path) -> Path | None:
    """Ask where to save a config file."""
    chosen, _ = QFileDialog.getSaveFileName(parent, "Save config file", str(start), CONFIG_FILTER)
    return Path(chosen) if chosen else None


def ask_unsaved(parent: QWidget, name: str) -> Unsaved:
    """Save, discard or keep editing?"""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(
        parent,
        "Unsaved changes",
        f"{name} has changes that are not saved. Save them?",
        buttons.Save | buttons.Discard | buttons.Cancel,
        buttons.Save,
    )
    return {buttons.Save: Unsaved.SAVE, buttons.Discard: Unsaved.DISCARD}.get(
        answer, Unsaved.CANCEL
    )
