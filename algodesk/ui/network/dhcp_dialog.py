"""The bench DHCP settings dialog: pool, lease, router and DNS, options 66/160/150, reservations."""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from algodesk.core.names import MacError, format_mac, normalize_mac
from algodesk.services.dhcp import DhcpSettingsError
from algodesk.services.dhcp.settings import shadowed_options
from algodesk.services.settings import Settings
from algodesk.ui.network.dhcp_config import check_no_password, default_pool_start, dhcp_settings
from algodesk.ui.widgets.list_table_model import Index, ListTableModel

RESERVATION_HEADERS = ("MAC", "IP address")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


class ReservationsModel(ListTableModel[list[str]]):
    """Static leases, MAC -> IP, edited in place; a cell only takes a well-formed value."""

    headers = RESERVATION_HEADERS

    def __init__(self, lines: list[str], parent: QObject | None = None) -> None:
        """Show ``MAC=IP`` lines (as saved in the settings)."""
        super().__init__(parent, (list(line.partition("=")[::2]) for line in lines))

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Every cell is editable."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return super().flags(index) | Qt.ItemFlag.ItemIsEditable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The MAC or address; a hint in an empty cell's tooltip."""
        row = self.item_at(index)
        if row is None:
            return None
        value = row[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return value
        if role == Qt.ItemDataRole.ToolTipRole and not value:
            return "00:22:EE:01:02:03" if index.column() == 0 else "an address on the bench subnet"
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """Take a MAC (any spelling, shown with colons) or an IPv4 address; refuse the rest."""
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        raw = str(value).strip()
        try:
            if index.column() == 0:
                cleaned = format_mac(normalize_mac(raw))
            else:
                cleaned = str(ipaddress.IPv4Address(raw))
        except (MacError, ValueError):
            return False
        self._rows[index.row()][index.column()] = cleaned
        self.dataChanged.emit(index, index)
        return True

    def add_row(self) -> int:
        """Append an empty reservation; returns its row."""
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(["", ""])
        self.endInsertRows()
        return row

    def remove_row(self, row: int) -> None:
        """Remove the reservation in ``row``."""
        if 0 <= row < len(self._rows):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()

    def lines(self) -> list[str]:
        """``MAC=IP`` for every row (empty rows skipped); DhcpSettingsError for a half row."""
        lines = []
        for number, (mac, ip) in enumerate(self._rows, start=1):
            if mac and ip:
                lines.append(f"{mac}={ip}")
            elif mac or ip:
                raise DhcpSettingsError(f"reservation {number} needs both a MAC and an address")
        return lines


class DhcpDialog(QDialog):
    """Edits the DHCP choices of ``settings``; OK only when the server would accept them."""

    def __init__(self, settings: Settings, server_address: str, parent: QWidget | None = None):
        """Edit ``settings`` for the bench at ``server_address`` ('' when none is chosen yet)."""
        super().__init__(parent)
        self.setWindowTitle("Bench DHCP")
        self.settings = settings
        self.server_address = server_address
        bench = server_address or "the bench address"

        self.pool_start = QLineEdit(settings.dhcp_pool_start, self)
        self.pool_size = QSpinBox(self)
        self.pool_size.setRange(1, 4094)
        self.pool_size.setValue(settings.dhcp_pool_size)
        self.subnet_mask = QLineEdit(settings.dhcp_subnet_mask, self)
        self.lease = QSpinBox(self)
        self.lease.setRange(1, 65535)
        self.lease.setSuffix(" min")
        self.lease.setValue(settings.dhcp_lease_minutes)
        self.router = QLineEdit(settings.dhcp_router, self)
        self.router.setPlaceholderText("none")
        self.dns = QLineEdit(", ".join(settings.dhcp_dns), self)
        self.dns.setPlaceholderText("none (comma-separated addresses)")
        self.option66 = QCheckBox("Option 66", self)
        self.option66.setChecked(settings.dhcp_option66)
        self.option66_value = QLineEdit(settings.dhcp_option66_value, self)
        self.option66_value.setPlaceholderText(f"{bench} (or a URL: tftp://host/path)")
        self.option160 = QCheckBox("Option 160", self)
        self.option160.setChecked(settings.dhcp_option160)
        self.option160_value = QLineEdit(settings.dhcp_option160_value, self)
        self.option160_value.setPlaceholderText(f"{bench} (or a URL)")
        self.option150 = QCheckBox("Option 150", self)
        self.option150.setChecked(settings.dhcp_option150)
        self.option150_value = QLineEdit(", ".join(settings.dhcp_option150_addresses), self)
        self.option150_value.setPlaceholderText(f"{bench} (comma-separated addresses)")
        self.algo_only = QCheckBox("Answer Algo devices only (MACs 00:22:EE:…)", self)
        self.algo_only.setChecked(settings.dhcp_algo_only)
        for box, field in (
            (self.option66, self.option66_value),
            (self.option160, self.option160_value),
            (self.option150, self.option150_value),
        ):
            field.setEnabled(box.isChecked())
            box.toggled.connect(field.setEnabled)
        self.options_note = QLabel(self)
        self.options_note.setWordWrap(True)
        self.options_note.setStyleSheet("color: #e65100")
        for box in (self.option66, self.option160, self.option150):
            box.toggled.connect(self._update_options_note)
        self._update_options_note()
        self.pool_size.valueChanged.connect(self._update_pool_hint)
        self.subnet_mask.textChanged.connect(self._update_pool_hint)
        self._update_pool_hint()

        form = QFormLayout()
        form.addRow("Pool start", self.pool_start)
        form.addRow("Pool size", self.pool_size)
        form.addRow("Subnet mask", self.subnet_mask)
        form.addRow("Lease time", self.lease)
        form.addRow("Router", self.router)
        form.addRow("DNS servers", self.dns)
        form.addRow(self.option66, self.option66_value)
        form.addRow(self.option160, self.option160_value)
        form.addRow(self.option150, self.option150_value)
        form.addRow("", self.options_note)
        form.addRow("", self.algo_only)

        self.reservations = ReservationsModel(list(settings.dhcp_reservations), self)
        self.reservation_table = QTableView(self)
        self.reservation_table.setModel(self.reservations)
        self.reservation_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.reservation_table.verticalHeader().setVisible(False)
        self.reservation_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch
        )
        add = QPushButton("Add reservation", self)
        add.clicked.connect(self._add_reservation)
        remove = QPushButton("Remove", self)
        remove.clicked.connect(self._remove_reservation)
        buttons_row = QHBoxLayout()
        buttons_row.addWidget(add)
        buttons_row.addWidget(remove)
        buttons_row.addStretch(1)

        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828")
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Static reservations (always the same address for a MAC):", self))
        layout.addWidget(self.reservation_table, 1)
        layout.addLayout(buttons_row)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(560, 620)

    def _update_pool_hint(self) -> None:
        hint = "on the bench subnet"
        if self.server_address:
            with contextlib.suppress(DhcpSettingsError):  # a half-typed mask: keep the hint
                hint = default_pool_start(
                    self.server_address, self.subnet_mask.text().strip(), self.pool_size.value()
                )
        self.pool_start.setPlaceholderText(f"automatic: {hint}")

    def _add_reservation(self) -> None:
        row = self.reservations.add_row()
        self.reservation_table.edit(self.reservations.index(row, 0))

    def _remove_reservation(self) -> None:
        for index in self.reservation_table.selectionModel().selectedRows():
            self.reservations.remove_row(index.row())

    def chosen(self) -> Settings:
        """A copy of the settings with the dialog's choices (DhcpSettingsError when malformed)."""
        return replace(
            self.settings,
            dhcp_pool_start=self.pool_start.text().strip(),
            dhcp_pool_size=self.pool_size.value(),
            dhcp_subnet_mask=self.subnet_mask.text().strip(),
            dhcp_lease_minutes=self.lease.value(),
            dhcp_router=self.router.text().strip(),
            dhcp_dns=_split(self.dns.text()),
            dhcp_option66=self.option66.isChecked(),
            dhcp_option66_value=self.option66_value.text().strip(),
            dhcp_option160=self.option160.isChecked(),
            dhcp_option160_value=self.option160_value.text().strip(),
            dhcp_option150=self.option150.isChecked(),
            dhcp_option150_addresses=_split(self.option150_value.text()),
            dhcp_reservations=self.reservations.lines(),
            dhcp_algo_only=self.algo_only.isChecked(),
        )

    def check(self) -> str:
        """What is wrong with the choices ('' when the server would take them)."""
        try:
            chosen = self.chosen()
            check_no_password(chosen)
            if self.server_address:
                dhcp_settings(chosen, self.server_address)
        except DhcpSettingsError as error:
            return str(error)
        return ""

    @Slot()
    def _update_options_note(self) -> None:
        warning = shadowed_options(
            self.option66.isChecked(), self.option160.isChecked(), self.option150.isChecked()
        )
        self.options_note.setText(warning[:1].upper() + warning[1:])
        self.options_note.setVisible(bool(warning))

    def accept(self) -> None:
        """Keep the choices in the settings object, or say what is wrong and stay open."""
        problem = self.check()
        if problem:
            self.error.setText(problem)
            self.error.show()
            return
        chosen = self.chosen()
        for name in Settings.__dataclass_fields__:
            if name.startswith("dhcp_"):
                setattr(self.settings, name, getattr(chosen, name))
        super().accept()
