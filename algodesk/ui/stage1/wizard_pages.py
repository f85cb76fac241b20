"""The pages of the two-stage wizard: products, the stage-2 server, extras, and the preview.

Each page only gathers what the user typed; :class:`~algodesk.ui.stage1.wizard_dialog.StageOneWizard`
turns it into a :class:`~algodesk.core.profile.BenchProfile` (the core checks every field) and
shows the core's answer on the page that holds the mistake.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QTime, Slot
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from algodesk.core import names
from algodesk.core.profile import DEFAULT_METHOD, METHODS, BenchProfile
from algodesk.services.credentials import PasswordPlace, PasswordState

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CHECKSYNC_CHOICES = (
    ("", "Leave as the device has it"),
    ("always-reboot", "Always reboot (always-reboot)"),
    ("conditional-reboot", "Reboot only when something changed (conditional-reboot)"),
)
_TIME_FORMAT = "HH:mm"  # what the time fields show
_SYNC_TIME_FORMAT = "HH:mm:ss"  # what the device takes (guide §2); older profiles hold HH:mm
_SCHEDULE_KEYS = ("prov.sync.frequency", "prov.sync.time", "prov.sync.endtime", "prov.sync.wdays")


def error_label(parent: QWidget) -> QLabel:
    """A red, wrapping label for what is wrong on a page."""
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setStyleSheet("color: #c62828;")
    return label


class ProductsPage(QWizardPage):
    """The profile's name and the products whose generic file the bench serves."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Name and products")
        self.setSubTitle(
            "Stage 1 serves each chosen product its generic file (algop<product>.conf), "
            "pointing the device at its permanent server."
        )
        self.name = QLineEdit("bench", self)
        self.any_product = QCheckBox("Any product (a file for every product ID)", self)
        self.any_product.toggled.connect(self._on_any_product_toggled)
        self.products = QListWidget(self)
        for product, description in names.PRODUCTS.items():
            item = QListWidgetItem(f"{product} — {description}", self.products)
            item.setData(Qt.ItemDataRole.UserRole, product)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
        self.other = QLineEdit(self)
        self.other.setPlaceholderText("other product IDs, comma-separated (e.g. 8199)")
        self.problem = error_label(self)
        form = QFormLayout(self)
        form.addRow("Profile name", self.name)
        form.addRow("", self.any_product)
        form.addRow("Products", self.products)
        form.addRow("Other IDs", self.other)
        form.addRow(self.problem)

    def chosen(self) -> tuple[str, ...]:
        """Checked products, then the other IDs typed."""
        checked = [
            str(self.products.item(row).data(Qt.ItemDataRole.UserRole))
            for row in range(self.products.count())
            if self.products.item(row).checkState() == Qt.CheckState.Checked
        ]
        typed = [p.strip() for p in self.other.text().split(",") if p.strip()]
        return tuple(dict.fromkeys([*checked, *typed]))

    def choose(self, products: tuple[str, ...], any_product: bool) -> None:
        """Check ``products`` (IDs not in the list go to "other IDs")."""
        self.any_product.setChecked(any_product)
        listed = set()
        for row in range(self.products.count()):
            item = self.products.item(row)
            product = str(item.data(Qt.ItemDataRole.UserRole))
            listed.add(product)
            checked = product in products
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.other.setText(", ".join(p for p in products if p not in listed))

    @Slot(bool)
    def _on_any_product_toggled(self, any_product: bool) -> None:
        self.products.setEnabled(not any_product)
        self.other.setEnabled(not any_product)


class ServerPage(QWizardPage):
    """Where devices go after stage 1: server, method, paths, user, password, certificate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Stage-2 server")
        self.setSubTitle(
            "The permanent server holding the real per-device files. A URL's scheme sets the "
            "method; the password goes to the system keyring, never to a file."
        )
        self.server = QLineEdit(self)
        self.server.setPlaceholderText("prov.example.com, 10.0.0.5:8443 or https://host/algo")
        self.server.textEdited.connect(self._on_server_text_edited)
        self.method = QComboBox(self)
        for method in METHODS:
            self.method.addItem(method.upper(), method)
        self.method.setCurrentIndex(self.method.findData(DEFAULT_METHOD))
        self.cfgpath = QLineEdit(self)
        self.cfgpath.setPlaceholderText("config path, e.g. algo/config (or in the URL)")
        self.same_fwpath = QCheckBox("Firmware and data files in the config path", self)
        self.same_fwpath.setChecked(True)
        self.fwpath = QLineEdit(self)
        self.fwpath.setPlaceholderText("firmware path, e.g. algo/firmware")
        self.fwpath.setEnabled(False)
        self.same_fwpath.toggled.connect(self._on_same_fwpath_toggled)
        self.user = QLineEdit(self)
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.validate_cert = QCheckBox("Devices validate the server's certificate (HTTPS)", self)
        self.ca_file = QLineEdit(self)
        self.ca_file.setPlaceholderText(
            "optional: PEM file of the CA that signs it (Check stage 2 trusts it, as devices will)"
        )
        self.problem = error_label(self)
        form = QFormLayout(self)
        form.addRow("Server", self.server)
        form.addRow("Method", self.method)
        form.addRow("Config path", self.cfgpath)
        form.addRow("", self.same_fwpath)
        form.addRow("Firmware path", self.fwpath)
        form.addRow("User", self.user)
        form.addRow("Password", self.password)
        form.addRow("", self.validate_cert)
        form.addRow("CA certificate", self.ca_file)
        form.addRow(self.problem)
        self.method.currentIndexChanged.connect(self._on_method_current_index_changed)
        self._on_method_current_index_changed()

    def method_value(self) -> str:
        """The chosen method (``https``…)."""
        return str(self.method.currentData())

    def fill(self, profile: BenchProfile, password: PasswordState | None = None) -> None:
        """Show ``profile``'s server settings (the password stays where it is: ``password``)."""
        self.server.setText(profile.host)
        self.method.setCurrentIndex(self.method.findData(profile.method))
        self.cfgpath.setText(profile.cfgpath)
        self.same_fwpath.setChecked(profile.fwpath is None)
        self.fwpath.setText(profile.fwpath or "")
        self.user.setText(profile.user)
        self.validate_cert.setChecked(profile.validate_cert)
        self.ca_file.setText(profile.ca_file)
        if password is not None and password.place in (
            PasswordPlace.KEYRING,
            PasswordPlace.MEMORY,
        ):
            self.password.setPlaceholderText(f"{password.text}: leave empty to keep it")
        elif password is not None and password.place is PasswordPlace.MISSING:
            self.password.setPlaceholderText(f"{password.text}: type it")

    @Slot(str)
    def _on_server_text_edited(self, text: str) -> None:
        scheme, sep, _rest = text.strip().partition("://")
        found = self.method.findData(scheme.lower()) if sep else -1
        if found >= 0:
            self.method.setCurrentIndex(found)

    @Slot(bool)
    def _on_same_fwpath_toggled(self, same: bool) -> None:
        self.fwpath.setEnabled(not same)

    @Slot()
    def _on_method_current_index_changed(self) -> None:
        # a certificate (and the CA that signs it) only means something over HTTPS
        https = self.method_value() == "https"
        self.validate_cert.setEnabled(https)
        self.ca_file.setEnabled(https)


class ExtrasPage(QWizardPage):
    """Optional settings for every device, and the base: a minimal file or a device backup."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Extras and base")
        self.setSubTitle("Everything here is optional; a minimal stage-1 file is the default.")
        self.firmware = QLineEdit(self)
        self.firmware.setPlaceholderText("e.g. 5.4f: devices fetch algo-<product>-5.4f.sfw")
        self.checksync = QComboBox(self)
        for value, label in CHECKSYNC_CHOICES:
            self.checksync.addItem(label, value)
        self.schedule = QCheckBox("Re-provision on a schedule", self)
        self.frequency = QComboBox(self)
        self.frequency.setEditable(True)
        self.frequency.addItem("daily")
        self.start = _time_edit(self, QTime(2, 0))
        self.end = _time_edit(self, QTime(4, 0))
        self.weekdays = [QCheckBox(day, self) for day in WEEKDAYS]
        days = QHBoxLayout()
        for box in self.weekdays:
            box.setChecked(True)
            days.addWidget(box)
        self.schedule_widgets: list[QWidget] = [
            self.frequency,
            self.start,
            self.end,
            *self.weekdays,
        ]
        self.schedule.toggled.connect(self._on_schedule_toggled)
        self._on_schedule_toggled(False)
        self.syslog = QLineEdit(self)
        self.syslog.setPlaceholderText("syslog server (log.server), e.g. 10.0.0.9")
        self.other = QPlainTextEdit(self)
        self.other.setPlaceholderText("more parameters, one 'key = value' per line")
        self.other.setFixedHeight(70)
        self.minimal = QRadioButton("Minimal: only the provisioning keys (recommended)", self)
        self.minimal.setChecked(True)
        self.from_backup = QRadioButton("Start from a device backup:", self)
        self.base_file = QLineEdit(self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._on_browse_clicked)
        base_row = QHBoxLayout()
        base_row.addWidget(self.from_backup)
        base_row.addWidget(self.base_file, 1)
        base_row.addWidget(browse)
        self.problem = error_label(self)
        form = QFormLayout()
        form.addRow("Firmware to enforce", self.firmware)
        form.addRow("Check-sync", self.checksync)
        form.addRow("", self.schedule)
        form.addRow("Frequency", self.frequency)
        times = QHBoxLayout()
        times.addWidget(self.start)
        times.addWidget(QLabel("to (random time in between)", self))
        times.addWidget(self.end)
        times.addStretch(1)
        form.addRow("Window", times)
        form.addRow("Weekdays", days)
        form.addRow("Syslog server", self.syslog)
        form.addRow("Other", self.other)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("<b>Base</b>", self))
        layout.addWidget(self.minimal)
        layout.addLayout(base_row)
        layout.addWidget(self.problem)

    def extras(self) -> list[tuple[str, str]]:
        """``(key, value)`` pairs from the form, in form order; ValueError for a bad line."""
        pairs: list[tuple[str, str]] = []
        if self.firmware.text().strip():
            pairs.append(("prov.version.firmware", self.firmware.text().strip()))
        if self.checksync.currentData():
            pairs.append(("sip.interop.checksync", str(self.checksync.currentData())))
        if self.schedule.isChecked():
            days = "".join(f"{n}," for n, box in enumerate(self.weekdays, 1) if box.isChecked())
            values = (
                self.frequency.currentText().strip(),
                self.start.time().toString(_SYNC_TIME_FORMAT),
                self.end.time().toString(_SYNC_TIME_FORMAT),
                days,
            )
            pairs.extend(zip(_SCHEDULE_KEYS, values, strict=True))
        if self.syslog.text().strip():
            pairs.append(("log.server", self.syslog.text().strip()))
        for number, line in enumerate(self.other.toPlainText().splitlines(), start=1):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"'Other', line {number}: expected 'key = value'")
            pairs.append((key.strip(), value.strip()))
        return pairs

    def base(self) -> str:
        """The backup to start from ('' for a minimal file)."""
        return self.base_file.text().strip() if self.from_backup.isChecked() else ""

    def fill(self, profile: BenchProfile) -> None:
        """Show ``profile``'s extras and base."""
        extras = dict(profile.extras)
        self.firmware.setText(extras.pop("prov.version.firmware", ""))
        self.checksync.setCurrentIndex(
            max(0, self.checksync.findData(extras.pop("sip.interop.checksync", "")))
        )
        if all(key in extras for key in _SCHEDULE_KEYS):
            self.schedule.setChecked(True)
            self.frequency.setEditText(extras.pop("prov.sync.frequency"))
            self.start.setTime(_sync_time(extras.pop("prov.sync.time")))
            self.end.setTime(_sync_time(extras.pop("prov.sync.endtime")))
            days = extras.pop("prov.sync.wdays").split(",")
            for number, box in enumerate(self.weekdays, 1):
                box.setChecked(str(number) in days)
        self.syslog.setText(extras.pop("log.server", ""))
        self.other.setPlainText("".join(f"{k} = {v}\n" for k, v in extras.items()))
        self.from_backup.setChecked(bool(profile.base_file))
        self.base_file.setText(profile.base_file)

    @Slot(bool)
    def _on_schedule_toggled(self, on: bool) -> None:
        for widget in self.schedule_widgets:
            widget.setEnabled(on)

    @Slot()
    def _on_browse_clicked(self) -> None:
        start = str(Path(self.base_file.text()).parent) if self.base_file.text() else ""
        chosen, _ = QFileDialog.getOpenFileName(self, "Device backup", start)
        if chosen:
            self.base_file.setText(chosen)
            self.from_backup.setChecked(True)


class PreviewPage(QWizardPage):
    """The stage-1 file as devices will get it (password masked) and the checks run on it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Preview and save")
        self.setSubTitle(
            "Saved as a bench profile: the settings in a file, the password in the keyring. "
            "Serving puts the files in the server's memory, never on disk."
        )
        self.files = QLabel(self)
        self.files.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.checks = QLabel(self)
        self.checks.setWordWrap(True)
        self.checks.setTextFormat(Qt.TextFormat.RichText)
        self.problem = error_label(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.files)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.checks)
        layout.addWidget(self.problem)

    def show_checks(self, name: str, lines: list[tuple[str, str]]) -> None:
        """``(level, message)`` lines about the file ``name`` (or a word that all is well)."""
        colours = {"error": "#c62828", "warning": "#e65100"}
        title = f"<b>Checks on {html.escape(name)}</b> (judged as a stage-1 file)"
        if not lines:
            self.checks.setText(f"{title}: <span style='color:#2e7d32'>nothing wrong.</span>")
            return
        self.checks.setText(
            f"{title}<br/>"
            + "<br/>".join(
                f"<span style='color:{colours.get(level, '#546e7a')}'>{html.escape(level)}: "
                f"{html.escape(message)}</span>"
                for level, message in lines
            )
        )


def _sync_time(text: str) -> QTime:
    time = QTime.fromString(text, _SYNC_TIME_FORMAT)
    return time if time.isValid() else QTime.fromString(text, _TIME_FORMAT)


def _time_edit(parent: QWidget, time: QTime) -> QTimeEdit:
    edit = QTimeEdit(time, parent)
    edit.setDisplayFormat(_TIME_FORMAT)
    return edit
