""" "Save as provisioning file": the name a device asks for, the file and its md5, in a folder.

Generic for a product (``algop<P>.conf``), device-specific for a MAC in any spelling
(``algom<MAC>.conf``), or incremental (``-i``: only the parameters changed since the file was
opened). Both files are written atomically; the dialog shows the names and the md5 it wrote.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from algodesk.core import md5, names
from algodesk.core.checks import Severity, check_document
from algodesk.core.config import ConfigDocument, incremental
from algodesk.core.fileio import atomic_write
from algodesk.core.stage1 import with_md5


class ExportError(ValueError):
    """The file cannot be written as asked (the message says why)."""


@dataclass(frozen=True, slots=True)
class Written:
    """A provisioning file written with its md5 file."""

    path: Path
    md5_path: Path
    digest: str


@dataclass(frozen=True, slots=True)
class Target:
    """What to write: for a product or a MAC, whole or incremental."""

    product: str = ""
    mac: str = ""
    incremental: bool = False

    def name(self) -> str:
        """The file name a device requests (``MacError`` for a MAC that is not one)."""
        if self.mac:
            return names.device_name(self.mac, incremental=self.incremental)
        if names.classify(names.generic_name(self.product)).kind is not names.FileKind.GENERIC:
            raise ExportError(f"not a product ID: {self.product!r} (4 digits, e.g. 8188)")
        return names.generic_name(self.product, incremental=self.incremental)


def provisioning_content(
    target: Target, edited: ConfigDocument, opened: ConfigDocument
) -> tuple[bytes, tuple[str, ...]]:
    """The bytes to write and the removals an incremental file cannot carry."""
    if not target.incremental:
        return edited.to_bytes(), ()
    delta = incremental(opened, edited)
    if not delta.document.lines:
        raise ExportError(
            "nothing changed since the file was opened: an incremental file would be empty"
        )
    return delta.document.to_bytes(), delta.unexpressed_removals


def write_provisioning_file(
    folder: Path, name: str, content: bytes, *, md5sum_style: bool = False
) -> Written:
    """Write ``name`` and its md5 file into ``folder`` (each atomically)."""
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder")
    files = with_md5(name, content, md5sum_style)
    for file_name, data in files.items():
        atomic_write(folder / file_name, data)
    md5_file = md5.md5_name(name)
    return Written(folder / name, folder / md5_file, md5.md5_hex(content))


class ProvisioningDialog(QDialog):
    """Choose the kind of file and the folder; writes both files and shows what it wrote.

    Args:
        edited: the document as edited now.
        opened: the document as it was opened (the base of an incremental file).
        folder: the folder offered first (the bench folder).
    """

    def __init__(
        self,
        edited: ConfigDocument,
        opened: ConfigDocument,
        folder: Path,
        parent: QWidget | None = None,
        *,
        product: str = "",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save as provisioning file")
        self.remember_product: Callable[[str], None] = lambda _product: None
        self.resize(640, 420)
        self._edited, self._opened = edited, opened
        self.written: Written | None = None
        self.confirm_overwrite: Callable[[Path], bool] = self._ask_overwrite

        self.for_product = QRadioButton("Generic, for every device of a product", self)
        self.for_mac = QRadioButton("Device-specific, for one MAC address", self)
        self.for_product.setChecked(True)
        self.product = QComboBox(self)
        self.product.setEditable(True)
        for known, description in names.PRODUCTS.items():
            self.product.addItem(f"{known} — {description}", known)
        if product:
            found = self.product.findData(product)
            if found >= 0:
                self.product.setCurrentIndex(found)
            else:
                self.product.setEditText(product)
        self.mac = QLineEdit(self)
        self.mac.setPlaceholderText("00:22:EE:01:02:03 (any spelling)")
        self.incremental = QCheckBox(
            "Incremental: only the parameters changed since the file was opened (-i)", self
        )
        self.md5sum = QCheckBox("md5 file in md5sum format (hash  name)", self)
        self.folder = QLineEdit(str(folder), self)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._on_browse_clicked)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.preview = QLabel(self)
        self.preview.setWordWrap(True)
        self.outcome = QLabel(self)
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        form = QFormLayout()
        form.addRow(self.for_product, self.product)
        form.addRow(self.for_mac, self.mac)
        form.addRow("", self.incremental)
        form.addRow("Folder", folder_row)
        form.addRow("", self.md5sum)
        self.buttons = QDialogButtonBox(self)
        self.save_button = self.buttons.addButton("Save", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.save_button.clicked.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.preview)
        layout.addWidget(self.outcome, 1)
        layout.addWidget(self.buttons)

        for signal in (self.for_product.toggled, self.incremental.toggled):
            signal.connect(self._on_form_changed)
        self.product.currentTextChanged.connect(self._on_form_changed)
        self.mac.textChanged.connect(self._on_form_changed)
        self.mac.textEdited.connect(self._on_mac_edited)
        self.folder.textChanged.connect(self._on_form_changed)
        self._on_form_changed()

    def target(self) -> Target:
        """What the form asks for."""
        if self.for_mac.isChecked():
            return Target(mac=self.mac.text().strip(), incremental=self.incremental.isChecked())
        return Target(product=self._product(), incremental=self.incremental.isChecked())

    def _product(self) -> str:
        index = self.product.currentIndex()
        text = self.product.currentText().strip()
        if index >= 0 and text == self.product.itemText(index):
            return str(self.product.itemData(index))
        return text.split(" ", 1)[0]

    @Slot()
    def _on_mac_edited(self) -> None:
        self.for_mac.setChecked(True)

    @Slot()
    def _on_form_changed(self) -> None:
        try:
            name = self.target().name()
        except (ValueError, ExportError) as error:  # MacError is a ValueError
            self.preview.setText(f"<span style='color:#c62828'>{html.escape(str(error))}</span>")
            self.save_button.setEnabled(False)
            return
        self.save_button.setEnabled(True)
        self.preview.setText(
            f"Writes <b>{name}</b> and <b>{md5.md5_name(name)}</b> into "
            f"{html.escape(self.folder.text())}"
        )

    @Slot()
    def _on_browse_clicked(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Provisioning folder", self.folder.text())
        if chosen:
            self.folder.setText(chosen)

    def _ask_overwrite(self, path: Path) -> bool:
        answer = QMessageBox.question(self, "Replace file?", f"{path.name} exists. Replace it?")
        return answer == QMessageBox.StandardButton.Yes

    @Slot()
    def save(self) -> Written | None:
        """Write the file and its md5; show their names and the md5 (or why not)."""
        try:
            target = self.target()
            name = target.name()
            content, lost = provisioning_content(target, self._edited, self._opened)
            folder = Path(self.folder.text().strip())
            if (folder / name).exists() and not self.confirm_overwrite(folder / name):
                return None
            written = write_provisioning_file(
                folder, name, content, md5sum_style=self.md5sum.isChecked()
            )
        except (ValueError, OSError) as error:  # ExportError and MacError are ValueErrors
            self.outcome.setText(
                f"<span style='color:#c62828'>Not saved: {html.escape(str(error))}</span>"
            )
            return None
        self.written = written
        if target.product:
            self.remember_product(target.product)
        self.outcome.setText(self._report(written, lost, content))
        return written

    def _report(self, written: Written, lost: tuple[str, ...], content: bytes) -> str:
        lines = [
            f"Wrote <b>{html.escape(written.path.name)}</b> and "
            f"<b>{html.escape(written.md5_path.name)}</b> in {html.escape(str(written.path.parent))}",
            f"md5 <code>{written.digest}</code>",
        ]
        if lost:
            lines.append(
                "An incremental file cannot remove parameters; these stay on the device: "
                + html.escape(", ".join(lost))
            )
        findings = check_document(written.path.name, ConfigDocument.from_bytes(content))
        for finding in findings:
            if finding.severity is not Severity.INFO:
                lines.append(f"{finding.severity}: {html.escape(finding.message)}")
        return "<br/>".join(lines)
