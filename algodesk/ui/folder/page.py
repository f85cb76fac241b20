"""The Folder page: the provisioning folder's files, their md5 state and the core's findings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from algodesk.ui.folder.model import FolderChecker, FolderModel, scan
from algodesk.ui.folder.simulate_dialog import SimulateDialog
from algodesk.ui.widgets.table_view import table

_SETTLE_MS = 400  # a copy of many files fires many changes: check once they stop


class FolderPage(QWidget):
    """Files of the folder, re-checked whenever the folder changes."""

    checked = Signal(int, int)
    """``(errors, warnings)`` found by the last check."""

    def __init__(
        self, checker: FolderChecker, *, auto_md5: bool = True, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._checker = checker
        self.auto_md5 = auto_md5
        self.folder: Path | None = None
        self.model = FolderModel(self)
        self.path = QLabel(self)
        self.summary = QLabel(self)
        self.open_button = QPushButton("Open in file manager", self)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.check_button = QPushButton("Check again", self)
        self.check_button.clicked.connect(self.refresh)
        self.simulate_button = QPushButton("Simulate a device…", self)
        self.simulate_button.clicked.connect(self.open_simulator)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.open_button)
        row.addWidget(self.check_button)
        row.addWidget(self.simulate_button)

        self.table = table(self)
        self.table.setModel(self.model)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((250, 200, 80, 190)):
            header.resizeSection(column, width)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._on_watcher_directory_changed)
        self._watcher.fileChanged.connect(self._on_watcher_directory_changed)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(_SETTLE_MS)
        self._settle.timeout.connect(self.refresh)

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.dialog: SimulateDialog | None = None

    def set_folder(self, folder: Path) -> None:
        """Show and watch ``folder``."""
        watched = self._watcher.directories() + self._watcher.files()
        if watched:
            self._watcher.removePaths(watched)
        self.folder = folder
        self.path.setText(f"<b>{folder}</b>")
        if folder.is_dir():
            self._watcher.addPath(str(folder))
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Check the folder again."""
        folder = self.folder
        if folder is None:
            return
        problem = ""
        try:
            findings = list(self._checker(folder)) if folder.is_dir() else []
        except (OSError, ValueError) as error:  # the checker's FolderError is a ValueError
            findings, problem = [], str(error)
        rows = scan(folder, findings, auto_md5=self.auto_md5)
        self.model.load(rows)
        errors = sum(1 for f in findings if str(f.severity.value) == "error")
        warnings = sum(1 for f in findings if str(f.severity.value) == "warning")
        files = sum(1 for r in rows if r.size is not None)
        if not folder.is_dir():
            self.summary.setText("This folder does not exist.")
        elif problem:
            self.summary.setText(f"The folder could not be checked: {problem}")
        elif not findings:
            self.summary.setText(f"{files} files, no problems found.")
        else:
            self.summary.setText(
                f"{files} files: {errors} errors, {warnings} warnings, "
                f"{len(findings) - errors - warnings} notes."
            )
        self.checked.emit(errors, warnings)

    @Slot()
    def open_simulator(self) -> SimulateDialog | None:
        """Open the simulate dialog for this folder (non-modal)."""
        if self.folder is None:
            return None
        self.dialog = SimulateDialog(self.folder, self)
        self.dialog.show()
        return self.dialog

    @Slot(str)
    def _on_watcher_directory_changed(self, _path: str) -> None:
        self._settle.start()

    @Slot()
    def _on_open_clicked(self) -> None:
        if self.folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))
