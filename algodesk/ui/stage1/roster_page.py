"""The Stage 1 page: pick a bench profile, import a roster, serve their files from memory.

Serving hands the profile's stage-1 files (and one ``algom<MAC>.conf`` per roster row) to the
server control, which keeps them in the engine's memory across restarts; the roster's devices are
given to the tracker as expected, so the Live page lists who has not shown up yet. Files reach a
disk only through "Export files…", after a warning (they hold the password in clear).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from algodesk.core.fileio import atomic_write
from algodesk.core.names import FileKind, classify
from algodesk.core.profile import BenchProfile, ProfileError
from algodesk.core.roster import Roster, parse_roster
from algodesk.core.tracker import Tracker
from algodesk.services.bench_files import BenchFiles, bench_files
from algodesk.services.credentials import CredentialStore, Storage
from algodesk.services.profiles import ProfileStore
from algodesk.ui.server_control import ServerControl
from algodesk.ui.stage1.preflight_dialog import PreflightDialog, open_preflight
from algodesk.ui.stage1.roster_model import Column, RosterModel
from algodesk.ui.stage1.wizard_dialog import StageOneWizard
from algodesk.ui.widgets.table_view import table
from algodesk.ui.widgets.text import count

_ERROR, _OK, _WARN = "#c62828", "#2e7d32", "#e65100"
EXPORT_WARNING = (
    "These files hold the stage-2 server's password in clear (and any secret of the roster). "
    "Anyone who can read the folder can read it. Write them anyway?"
)


class BenchPage(QWidget):
    """Profiles, the roster and the files served from memory."""

    def __init__(
        self,
        profiles: ProfileStore,
        credentials: CredentialStore,
        control: ServerControl,
        tracker: Tracker,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.profiles, self.credentials = profiles, credentials
        self.control, self.tracker = control, tracker
        self.roster: Roster | None = None
        self.served: BenchFiles | None = None
        self.wizard: StageOneWizard | None = None
        self._keyring_said = False
        self._roster_name = ""
        self._serving_profile = ""
        self.choose_roster_file: Callable[[], Path | None] = self._choose_roster_file
        self.choose_export_folder: Callable[[], Path | None] = self._choose_export_folder
        self.confirm_export: Callable[[], bool] = self._confirm_export

        self.profile_box = QComboBox(self)
        self.profile_box.currentIndexChanged.connect(self._on_profile_box_changed)
        self.new_button = QPushButton("New profile…", self)
        self.new_button.clicked.connect(self.new_profile)
        self.edit_button = QPushButton("Edit…", self)
        self.edit_button.clicked.connect(self.edit_profile)
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.clicked.connect(self.delete_profile)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.profile_box, 1)
        for button in (self.new_button, self.edit_button, self.delete_button):
            row.addWidget(button)
        profile_group = QGroupBox("Bench profile (two-stage provisioning)", self)
        profile_layout = QVBoxLayout(profile_group)
        profile_layout.addLayout(row)
        profile_layout.addWidget(self.summary)

        self.import_button = QPushButton("Import roster CSV…", self)
        self.import_button.clicked.connect(self.import_dialog)
        self.clear_button = QPushButton("No roster", self)
        self.clear_button.clicked.connect(self.clear_roster)
        self.roster_label = QLabel(self)
        self.roster_label.setWordWrap(True)
        self.roster_model = RosterModel(self)
        self.roster_view = table(self)
        self.roster_view.setModel(self.roster_model)
        header = self.roster_view.horizontalHeader()
        for column in (Column.LINE, Column.MAC, Column.PRODUCT, Column.FILE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(Column.PARAMETERS, 300)
        self.roster_view.setWordWrap(True)
        self.roster_view.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        roster_row = QHBoxLayout()
        roster_row.addWidget(self.roster_label, 1)
        roster_row.addWidget(self.import_button)
        roster_row.addWidget(self.clear_button)
        roster_group = QGroupBox("Roster: one algom<MAC>.conf per device", self)
        roster_layout = QVBoxLayout(roster_group)
        roster_layout.addLayout(roster_row)
        roster_layout.addWidget(self.roster_view, 1)

        self.serve_button = QPushButton("Serve from memory", self)
        self.serve_button.setToolTip("The server answers these files from memory (never on disk)")
        self.serve_button.clicked.connect(self.serve)
        self.stop_button = QPushButton("Stop serving these files", self)
        self.stop_button.clicked.connect(self.stop_serving_files)
        self.export_button = QPushButton("Export files…", self)
        self.export_button.setToolTip("Write the files to a folder (they hold the password)")
        self.export_button.clicked.connect(self.export_dialog)
        self.check_button = QPushButton("Check stage 2…", self)
        self.check_button.setToolTip(
            "Boot each device against the permanent server as it will after stage 1"
        )
        self.check_button.clicked.connect(self.check_stage2)
        self.preflight: PreflightDialog | None = None
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.notice = QLabel(self)
        self.notice.setWordWrap(True)
        serve_row = QHBoxLayout()
        serve_row.addWidget(self.serve_button)
        serve_row.addWidget(self.stop_button)
        serve_row.addWidget(self.export_button)
        serve_row.addWidget(self.check_button)
        serve_row.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(profile_group)
        layout.addWidget(roster_group, 1)
        layout.addLayout(serve_row)
        layout.addWidget(self.status)
        layout.addWidget(self.notice)
        control.started.connect(self._on_control_changed)
        control.stopped.connect(self._on_control_changed)
        self.reload_profiles()
        self._show_roster()
        self._show_serving()

    # --- profiles --------------------------------------------------------------------------------
    def reload_profiles(self, select: str | None = None) -> None:
        """List the stored profiles again (selecting ``select`` or keeping the current one)."""
        keep = select or self.profile_box.currentText()
        self.profile_box.blockSignals(True)
        self.profile_box.clear()
        self.profile_box.addItems(self.profiles.names())
        found = self.profile_box.findText(keep) if keep else -1
        self.profile_box.setCurrentIndex(max(found, 0) if self.profile_box.count() else -1)
        self.profile_box.blockSignals(False)
        self._on_profile_box_changed()

    def showEvent(self, event: QShowEvent) -> None:
        """List the profiles again: ``algodesk profile`` may have changed them meanwhile."""
        self.reload_profiles()
        super().showEvent(event)

    def current_profile(self) -> BenchProfile | None:
        """The selected profile (None when there is none or it cannot be read)."""
        name = self.profile_box.currentText()
        if not name:
            return None
        try:
            return self.profiles.load(name)
        except ProfileError as error:
            self._say(self.summary, _ERROR, str(error))
            return None

    @Slot()
    def new_profile(self) -> StageOneWizard:
        """Open the wizard for a new profile (non-modal)."""
        return self._open_wizard(None)

    @Slot()
    def edit_profile(self) -> StageOneWizard | None:
        """Open the wizard on the selected profile."""
        profile = self.current_profile()
        return self._open_wizard(profile) if profile is not None else None

    def _open_wizard(self, profile: BenchProfile | None) -> StageOneWizard:
        self.wizard = StageOneWizard(self.profiles, self.credentials, profile, self)
        self.wizard.accepted.connect(self._on_wizard_accepted)
        self.wizard.show()
        return self.wizard

    @Slot()
    def delete_profile(self) -> None:
        """Delete the selected profile and its stored password."""
        name = self.profile_box.currentText()
        if name:
            self.profiles.delete(name)
            self.credentials.delete_password(name)
            self.reload_profiles()

    @Slot()
    def _on_wizard_accepted(self) -> None:
        wizard = self.wizard
        if wizard is None or wizard.saved is None:
            return
        self.reload_profiles(select=wizard.saved.name)
        if wizard.password_storage is Storage.MEMORY and not self._keyring_said:
            self._keyring_said = True
            reason = self.credentials.unavailable_reason or "no keyring"
            self._say(
                self.notice,
                _WARN,
                f"The password is kept in memory only ({reason}): after algodesk closes, "
                "edit the profile and type it again.",
            )

    @Slot()
    def _on_profile_box_changed(self) -> None:
        profile = self.current_profile()
        buttons = (self.edit_button, self.delete_button, self.serve_button, self.export_button)
        for button in (*buttons, self.check_button):
            button.setEnabled(profile is not None)
        if profile is None:
            if not self.profile_box.count():
                self.summary.setText("No profile yet: <b>New profile…</b> opens the wizard.")
            return
        products = "any product" if profile.any_product else ", ".join(profile.products)
        state = self.credentials.state(profile, command_line=False)
        secret = html.escape(f"password {state.text}")
        if not state.usable:
            secret = f"<span style='color:{_WARN}'>{secret}: {html.escape(state.advice)}</span>"
        base = (
            f"; base {Path(profile.base_file).name}"
            if profile.base_file
            else "; minimal stage-1 config"
        )
        self.summary.setText(
            f"{html.escape(products)} → <b>{html.escape(profile.server_url)}</b> "
            f"({secret}{html.escape(base)})"
        )

    # --- roster ----------------------------------------------------------------------------------
    def load_roster(self, path: Path) -> Roster | None:
        """Read and check the roster at ``path`` and show it."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            self._say(self.roster_label, _ERROR, f"{path.name}: cannot read the roster ({error})")
            return None
        self.roster = parse_roster(text)
        self._roster_name = path.name
        self._show_roster()
        self._follow_roster()
        return self.roster

    @Slot()
    def import_dialog(self) -> Roster | None:
        """Ask for a roster CSV and load it."""
        chosen = self.choose_roster_file()
        return self.load_roster(chosen) if chosen else None

    @Slot()
    def clear_roster(self) -> None:
        """Serve without a roster (from the next "Serve")."""
        self.roster = None
        self._show_roster()
        self._follow_roster()

    def _follow_roster(self) -> None:
        """While serving, the served set follows the roster (one click less to forget)."""
        if self.served is None:
            return
        if self.profile_box.currentText() == self._serving_profile:
            self.serve()
            return
        self.status.setText(
            self.status.text()
            + f"<br/><span style='color:{_WARN}'>Still serving the files of profile "
            f"<b>{html.escape(self._serving_profile)}</b> and the previous roster: click "
            "<b>Serve from memory</b> to serve this profile with the new roster.</span>"
        )

    def _show_roster(self) -> None:
        self.roster_model.set_roster(self.roster)
        self.clear_button.setEnabled(self.roster is not None)
        roster = self.roster
        if roster is None:
            self.roster_label.setText("No roster: every device gets the generic stage-1 file.")
            return
        skipped = len({i.line for i in roster.errors})
        colour = _ERROR if roster.errors else _OK
        self._say(
            self.roster_label,
            colour,
            f"{self._roster_name}: {count(len(roster.rows), 'device')}"
            + (f", {count(skipped, 'line')} skipped (see Check)" if skipped else ""),
        )

    # --- serving ---------------------------------------------------------------------------------
    def _password(self) -> tuple[BenchProfile, str] | None:
        profile = self.current_profile()
        if profile is None:
            self._say(self.status, _ERROR, "Choose or create a profile first.")
            return None
        password = self.credentials.get_password(profile.name) if profile.has_password else ""
        if password is None:
            # Where it is and what to do, as the profile's summary says it (not a guess).
            state = self.credentials.state(profile, command_line=False)
            self._say(
                self.status,
                _ERROR,
                f"No password for {profile.name} ({state.text}). {state.advice}.",
            )
            return None
        return profile, password

    @Slot()
    def check_stage2(self) -> PreflightDialog | None:
        """Check the permanent server for the roster's devices and the profile's products."""
        found = self._password()
        if found is None:
            return None
        opened = open_preflight(self, *found, self.roster)
        if isinstance(opened, str):
            self._say(self.status, _ERROR, opened)
            return None
        self.preflight = opened
        return opened

    def _files(self) -> BenchFiles | None:
        found = self._password()
        if found is None:
            return None
        profile, password = found
        try:
            return bench_files(profile, password, self.roster)
        except ValueError as error:  # a base file that cannot be read, a password that cannot be
            self._say(self.status, _ERROR, str(error))
            return None

    @Slot()
    def serve(self) -> bool:
        """Serve the profile's (and roster's) files from memory; expect the roster's devices."""
        files = self._files()
        if files is None:
            return False
        self.control.serve_virtual(files.files)
        rows = self.roster.rows if self.roster is not None else ()
        self.tracker.expect({row.mac: row.product for row in rows})
        self.served = files
        self._serving_profile = self.profile_box.currentText()
        self._show_serving()
        return True

    @Slot()
    def stop_serving_files(self) -> None:
        """Stop serving the files from memory; forget the expected devices."""
        self.control.serve_virtual({})
        self.tracker.expect({})
        self.served = None
        self._show_serving()

    @Slot()
    def _on_control_changed(self) -> None:
        self._show_serving()

    def _show_serving(self) -> None:
        self.stop_button.setEnabled(self.served is not None)
        served = self.served
        if served is None:
            self.status.setText("Nothing served from memory.")
            return
        kinds = [classify(name).kind for name in served.files]
        generic = sorted(n for n in served.files if classify(n).kind is FileKind.GENERIC)
        shown = ", ".join(generic[:3]) + (", …" if len(generic) > 3 else "")
        devices = kinds.count(FileKind.DEVICE)
        parts = [
            f"Serving {count(len(kinds), 'file')} from memory for profile "
            f"<b>{html.escape(self._serving_profile)}</b>: stage 1 as {html.escape(shown)}"
            + (f", {count(devices, 'device file')} from the roster" if devices else "")
            + ", each with its md5 files."
        ]
        if not self.control.running:
            parts.append("The server is stopped: they are served as soon as it starts.")
        root = self.control.root
        shadowed = sorted(n for n in served.files if root is not None and (root / n).is_file())
        if shadowed and root is not None:
            parts.append(
                f"<span style='color:{_WARN}'>{html.escape(', '.join(shadowed))} "
                f"{'is' if len(shadowed) == 1 else 'are'} also in {html.escape(str(root))}: "
                "devices get the copy served from memory, not the file on disk.</span>"
            )
        if self.roster is not None and self.roster.rows:
            parts.append(
                f"The Live page lists the roster's {count(len(self.roster.rows), 'device')} "
                "and marks each one as it shows up."
            )
        parts.extend(
            f"<span style='color:{_WARN}'>{html.escape(w)}</span>" for w in served.warnings
        )
        self.status.setText("<br/>".join(parts))

    # --- export ----------------------------------------------------------------------------------
    def export_files(self, folder: Path) -> list[Path]:
        """Write the files (stage 1, roster, md5s) into ``folder``; they hold the password."""
        files = self._files()
        if files is None:
            return []
        try:
            # Readable by the user alone: the configs hold the password and their md5 files
            # would verify guesses of it.
            written = [
                atomic_write(folder / name, data, secret=True) for name, data in files.files.items()
            ]
        except OSError as error:
            self._say(self.status, _WARN, f"Not exported: {error.filename}: {error.strerror}")
            return []
        self._say(
            self.status,
            _WARN,
            f"Wrote {count(len(written), 'file')} to {folder}. They hold the password in clear "
            "(mode 600: readable by you only): delete them when the bench is done.",
        )
        return written

    @Slot()
    def export_dialog(self) -> list[Path]:
        """Warn, ask for a folder, then export."""
        if not self.confirm_export():
            return []
        folder = self.choose_export_folder()
        return self.export_files(folder) if folder else []

    def _confirm_export(self) -> bool:
        answer = QMessageBox.warning(
            self,
            "Export files holding a password",
            EXPORT_WARNING,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _choose_export_folder(self) -> Path | None:
        chosen = QFileDialog.getExistingDirectory(self, "Export stage-1 files to")
        return Path(chosen) if chosen else None

    def _choose_roster_file(self) -> Path | None:
        chosen, _ = QFileDialog.getOpenFileName(
            self, "Roster", "", "CSV files (*.csv *.txt);;All files (*)"
        )
        return Path(chosen) if chosen else None

    @staticmethod
    def _say(label: QLabel, colour: str, message: str) -> None:
        label.setText(f"<span style='color:{colour}'>{html.escape(message)}</span>")
