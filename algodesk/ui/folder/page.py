"""The Folder page: the provisioning folder's files, their md5 state and the core's findings."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import (
    QFileSystemWatcher,
    QModelIndex,
    QPoint,
    Qt,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from algodesk.core.checks import BenchChecker
from algodesk.core.md5 import md5_name
from algodesk.core.wording import count
from algodesk.ui.folder.model import (
    Finding,
    FolderChecker,
    FolderModel,
    FolderRow,
    finding_level,
    finding_text,
    scan,
    worst_first,
)
from algodesk.ui.folder.simulate_dialog import SimulateDialog
from algodesk.ui.widgets import status_style
from algodesk.ui.widgets.md5_button import WriteMd5Button, md5_targets, write_md5
from algodesk.ui.widgets.table_view import table

_DETAILS_LINES = 7
_SETTLE_MS = 400  # a copy of many files fires many changes: check once they stop
_NO_SELECTION = "Select a file to see all its findings and what to do."
_SHADOWED = "devices get the stage-1 copy served from memory instead"


class FolderPage(QWidget):
    """Files of the folder, re-checked whenever the folder changes."""

    checked = Signal(int, int)
    """``(errors, warnings)`` found by the last check."""

    def __init__(
        self,
        checker: FolderChecker,
        *,
        auto_md5: bool = True,
        verdict: str = "as this bench serves it",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._checker = checker
        # Which of the two verdicts the checker gives (core.checks.CheckContext.label).
        self.verdict = verdict
        self.auto_md5 = auto_md5
        self.folder: Path | None = None
        self.model = FolderModel(self)
        self.path = QLabel(self)
        # A deep folder's path or a summary naming many files must not widen the window past
        # the screen (every page of the tab widget is as wide as the widest): the path gives
        # way (its tooltip holds it whole), the summary wraps.
        self.path.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.open_button = QPushButton("Open in file manager", self)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.check_button = QPushButton("Check again", self)
        self.check_button.clicked.connect(self.refresh)
        self.simulate_button = QPushButton("Simulate a device…", self)
        self.simulate_button.clicked.connect(self.open_simulator)
        # What the fixes say, done here: "Write algop8186.md5" (and on the file's menu).
        self.md5_button = WriteMd5Button(self)
        self.md5_button.written.connect(self._on_md5_written)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.md5_button)
        row.addWidget(self.open_button)
        row.addWidget(self.check_button)
        row.addWidget(self.simulate_button)

        self.table = table(self)
        self.table.setModel(self.model)
        # One line per file: a long finding would make rows 20 lines tall at 1366x768; the
        # tooltip and the details pane below hold the whole text.
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((230, 190, 70, 170)):
            header.resizeSection(column, width)
        header.setStretchLastSection(True)
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setText(_NO_SELECTION)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_changed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_table_context_menu)
        self.memory_files: frozenset[str] = frozenset()

        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._on_watcher_directory_changed)
        self._watcher.fileChanged.connect(self._on_watcher_directory_changed)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(_SETTLE_MS)
        self._settle.timeout.connect(self.refresh)

        self.details_area = QScrollArea(self)
        self.details_area.setWidget(self.details)
        self.details_area.setWidgetResizable(True)
        self.details_area.setFrameShape(QFrame.Shape.NoFrame)
        # The table's size hint is tall, so stretch factors alone left the pane two lines at
        # 1366x768: room for a file's name, md5 state and a few wrapped findings.
        self.details_area.setMinimumHeight(self.fontMetrics().lineSpacing() * _DETAILS_LINES)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details_area)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)
        self.dialog: SimulateDialog | None = None

    def set_memory_files(self, names: Iterable[str]) -> None:
        """The files served from memory (Stage 1): a file of the same name here is not what
        devices get, and the page says so."""
        memory = frozenset(names)
        if memory != self.memory_files:
            self.memory_files = memory
            self.refresh()

    def set_folder(self, folder: Path) -> None:
        """Show and watch ``folder``."""
        watched = self._watcher.directories() + self._watcher.files()
        if watched:
            self._watcher.removePaths(watched)
        self.folder = folder
        self.path.setText(f"<b>{html.escape(str(folder))}</b>")
        self.path.setToolTip(str(folder))
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
            findings = list(self._check(folder)) if folder.is_dir() else []
        except (OSError, ValueError) as error:  # the checker's FolderError is a ValueError
            findings, problem = [], str(error)
        rows = scan(folder, findings, auto_md5=self.auto_md5)
        shadowed = [row for row in rows if row.name in self.memory_files]
        for shadowed_row in shadowed:
            shadowed_row.what = f"{shadowed_row.what}; {_SHADOWED}"
        self.model.load(rows)
        self._show_details(None)
        errors = sum(1 for f in findings if str(f.severity.value) == "error")
        warnings = sum(1 for f in findings if str(f.severity.value) == "warning")
        files = count(sum(1 for r in rows if r.size is not None), "file")
        if not folder.is_dir():
            summary = "This folder does not exist."
        elif problem:
            summary = f"The folder could not be checked: {problem}"
        elif not findings:
            summary = f"{files}, no problems found."
        else:
            notes = len(findings) - errors - warnings
            summary = (
                f"{files}: {count(errors, 'error')}, {count(warnings, 'warning')}, "
                f"{count(notes, 'note')}."
            )
        if shadowed:
            names = ", ".join(r.name for r in shadowed)
            summary += (
                f" {names} {'is' if len(shadowed) == 1 else 'are'} also served from memory "
                "(Stage 1 page): devices get that copy, not the file here."
            )
        self.summary.setText(f"{summary} Judged {self.verdict}.")
        self.checked.emit(errors, warnings)

    def _check(self, folder: Path) -> Sequence[Finding]:
        # The bench's in-memory files count as it serves them; a checker for a folder on its
        # own (or a test's) takes the folder alone.
        if self.memory_files and isinstance(self._checker, BenchChecker):
            return self._checker(folder, from_memory=self.memory_files)
        return self._checker(folder)

    @Slot(QModelIndex, QModelIndex)
    def _on_table_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_details(self.model.item_at(current) if current.isValid() else None)

    def _show_details(self, row: FolderRow | None) -> None:
        """The selected file in full: what it is, its md5 state and every finding with its fix."""
        self.md5_button.offer(self.folder, md5_targets(row.findings) if row else [])
        if row is None:
            self.details.setText(_NO_SELECTION)
            return
        lines = [f"<b>{html.escape(row.name)}</b>: {html.escape(row.what)}"]
        if row.md5_state:
            lines.append(f"md5: {html.escape(row.md5_state)}")
        for finding in worst_first(row):
            colour = status_style.COLOURS[finding_level(finding)]
            lines.append(
                f"<span style='color:{colour}'>{html.escape(finding_text(finding))}</span>"
            )
        if not row.findings:
            lines.append("No findings.")
        self.details.setText("<br/>".join(lines))

    def md5_actions(self, row: FolderRow) -> list[str]:
        """The md5 files the row's findings say to write (its context menu's actions)."""
        return md5_targets(row.findings)

    @Slot(QPoint)
    def _on_table_context_menu(self, position: QPoint) -> None:
        row = self.model.item_at(self.table.indexAt(position))
        folder = self.folder
        if row is None or folder is None or not (targets := self.md5_actions(row)):
            return
        menu = QMenu(self)
        for target in targets:
            action = menu.addAction(f"Write {md5_name(target)}")
            action.triggered.connect(
                lambda _checked=False, name=target: self._on_md5_written(write_md5(folder, name))
            )
        menu.exec(self.table.viewport().mapToGlobal(position))

    @Slot(str)
    def _on_md5_written(self, said: str) -> None:
        self.refresh()
        self.summary.setText(f"{said} {self.summary.text()}")

    @Slot()
    def open_simulator(self) -> SimulateDialog | None:
        """Open the simulate dialog for this folder (non-modal)."""
        if self.folder is None:
            return None
        self.dialog = SimulateDialog(self.folder, self, auto_md5=self.auto_md5)
        self.dialog.show()
        return self.dialog

    @Slot(str)
    def _on_watcher_directory_changed(self, _path: str) -> None:
        self._settle.start()

    @Slot()
    def _on_open_clicked(self) -> None:
        if self.folder is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))
