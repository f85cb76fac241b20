"""Puts the config editor and the Stage 1 page (profiles, wizard, roster) into the main window.

Two pages after the window's own, the actions app.py places in its menu table, and a guard
that asks about the editor's unsaved changes before the window closes.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction, QKeySequence

from algodesk.core.catalog import Catalog
from algodesk.services.credentials import CredentialStore
from algodesk.services.profiles import ProfileStore
from algodesk.ui.editor.page import EditorPage
from algodesk.ui.main_window import MainWindow
from algodesk.ui.stage1.roster_page import BenchPage

EDITOR_STATE = "editor.ini"
"""The editor's recent files, in the config folder (an INI file, like the window's state)."""


@dataclass(slots=True)
class ProvisioningPages:
    """The pages added to the window (tests and screenshots reach them here)."""

    editor: EditorPage
    bench: BenchPage
    guard: CloseGuard
    open_config: QAction
    new_profile: QAction
    show_editor: QAction
    show_bench: QAction


class CloseGuard(QObject):
    """Keeps the window open when the editor's unsaved changes should not be lost."""

    def __init__(self, window: MainWindow, editor: EditorPage) -> None:
        super().__init__(window)
        self._editor = editor
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Ask before a close goes through (save, discard, or stay)."""
        if event.type() == QEvent.Type.Close and not self._editor.confirm_discard():
            event.ignore()
            return True
        return False


def install(
    window: MainWindow, profiles: ProfileStore, credentials: CredentialStore
) -> ProvisioningPages:
    """Add the Editor and Stage 1 pages and the close guard to ``window``; make their actions."""
    paths = window.services.paths
    editor = EditorPage(
        Catalog.load(), paths.config_dir / EDITOR_STATE, lambda: window.folder, window
    )
    bench = BenchPage(profiles, credentials, window.control, window.feed.tracker, window)
    window.pages.addTab(editor, "Editor")
    window.pages.addTab(bench, "Stage 1")
    open_config = QAction("Open &config file…", window)
    open_config.setShortcut(QKeySequence("Ctrl+Shift+O"))
    open_config.triggered.connect(lambda: _open_config(window, editor))
    new_profile = QAction("New two-stage &profile…", window)
    new_profile.triggered.connect(lambda: _new_profile(window, bench))
    show_editor = QAction("&Editor", window)
    show_editor.triggered.connect(lambda: window.pages.setCurrentWidget(editor))
    show_bench = QAction("S&tage 1", window)
    show_bench.triggered.connect(lambda: window.pages.setCurrentWidget(bench))
    return ProvisioningPages(
        editor, bench, CloseGuard(window, editor), open_config, new_profile, show_editor, show_bench
    )


def _open_config(window: MainWindow, editor: EditorPage) -> None:
    window.pages.setCurrentWidget(editor)
    editor.open_dialog()


def _new_profile(window: MainWindow, bench: BenchPage) -> None:
    window.pages.setCurrentWidget(bench)
    bench.new_profile()
