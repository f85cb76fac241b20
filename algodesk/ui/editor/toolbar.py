"""The editor's toolbar: open (with the recent files), save, export, compare, undo and redo."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QMenu, QToolBar, QToolButton, QWidget


def connect(action: QAction, slot: Callable[[], object]) -> None:
    """Run ``slot`` when ``action`` triggers, dropping its result.

    PySide mis-counts a slot's bool result, so slots that return one are wrapped.
    """

    def run(_checked: bool = False) -> None:
        slot()

    action.triggered.connect(run)


class EditorToolbar(QToolBar):
    """The actions; the page connects them (and owns their shortcuts' context)."""

    def __init__(self, undo_stack: QUndoStack, recent: QMenu, parent: QWidget) -> None:
        super().__init__(parent)
        self.open_action = QAction("Open…", self)
        self.open_action.setToolTip("Open a config backup or provisioning file (or drop one here)")
        open_button = QToolButton(self)
        open_button.setDefaultAction(self.open_action)
        open_button.setMenu(recent)
        open_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.addWidget(open_button)
        self.save_action = self.addAction("Save")
        self.save_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Save))
        self.save_as_action = self.addAction("Save as…")
        self.export_action = self.addAction("Save as provisioning file…")
        self.export_action.setToolTip("Write it under the name a device asks for, with its md5")
        compare = QMenu(self)
        self.compare_disk_action = compare.addAction("With the file on disk")
        self.compare_opened_action = compare.addAction("With the file as opened")
        self.compare_file_action = compare.addAction("With another file…")
        compare_button = QToolButton(self)
        compare_button.setText("Compare")
        compare_button.setMenu(compare)
        compare_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.addWidget(compare_button)
        self.addSeparator()
        self.undo_action = undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)
