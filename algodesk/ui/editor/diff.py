"""Side-by-side comparison of two config documents, parameter by parameter.

The classification is the core's (:func:`algodesk.core.config.diff`); this module lays it out:
one row per key, the left and right values, coloured by what happened. Secrets stay masked
unless the user reveals them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from algodesk.core.catalog import is_secret, mask
from algodesk.core.config import ConfigDocument, diff
from algodesk.ui.widgets.list_table_model import Index, ListTableModel
from algodesk.ui.widgets.table_view import table
from algodesk.ui.widgets.text import count


class Change(StrEnum):
    """What happened to a key from the left document to the right one."""

    SAME = "same"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


_TINTS = {
    Change.CHANGED: QColor("#fff8e1"),
    Change.ADDED: QColor("#e8f5e9"),
    Change.REMOVED: QColor("#ffebee"),
}


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One key: its value on each side (None where absent) and what changed."""

    key: str
    left: str | None
    right: str | None
    change: Change


def diff_rows(left: ConfigDocument, right: ConfigDocument) -> list[DiffRow]:
    """Every key of either document, sorted, with both values."""
    delta = diff(left, right)
    before, after = left.as_dict(), right.as_dict()
    kinds = {key: Change.ADDED for key, _ in delta.added}
    kinds.update({key: Change.REMOVED for key, _ in delta.removed})
    kinds.update({change.key: Change.CHANGED for change in delta.changed})
    return [
        DiffRow(key, before.get(key), after.get(key), kinds.get(key, Change.SAME))
        for key in sorted(before.keys() | after.keys())
    ]


class DiffModel(ListTableModel[DiffRow]):
    """Key | left value | right value, one row per key (only differences unless asked)."""

    def __init__(self, left_title: str, right_title: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.headers = ("Parameter", left_title, right_title, "Change")
        self._all: list[DiffRow] = []
        self.show_same = False
        self.reveal = False

    def set_documents(self, left: ConfigDocument, right: ConfigDocument) -> None:
        """Compare ``left`` with ``right``."""
        self.beginResetModel()
        self._all = diff_rows(left, right)
        self._select()
        self.endResetModel()

    def set_show_same(self, show: bool) -> None:
        """Also list keys with the same value on both sides."""
        self.beginResetModel()
        self.show_same = show
        self._select()
        self.endResetModel()

    def set_reveal(self, reveal: bool) -> None:
        """Show secret values in clear."""
        self.reveal = reveal
        if self._rows:
            self.dataChanged.emit(self.index(0, 1), self.index(len(self._rows) - 1, 2))

    def _select(self) -> None:
        self._rows = [r for r in self._all if self.show_same or r.change is not Change.SAME]

    def counts(self) -> dict[Change, int]:
        """How many keys fall in each kind of change."""
        found = dict.fromkeys(Change, 0)
        for row in self._all:
            found[row.change] += 1
        return found

    def row(self, number: int) -> DiffRow | None:
        """The row shown at ``number``."""
        return self.item(number)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Values (masked secrets), and a tint per kind of change."""
        row = self.item_at(index)
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            column = index.column()
            if column == 0:
                return row.key
            if column == 3:
                return str(row.change)
            value = row.left if column == 1 else row.right
            if value is None:
                return "—"
            return mask(value) if is_secret(row.key) and not self.reveal else value
        if role == Qt.ItemDataRole.BackgroundRole:
            return _TINTS.get(row.change)
        return None


class DiffDialog(QDialog):
    """The comparison of two documents, with a summary and toggles."""

    def __init__(
        self,
        left_title: str,
        left: ConfigDocument,
        right_title: str,
        right: ConfigDocument,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Compare {left_title} with {right_title}")
        self.resize(960, 600)
        self.model = DiffModel(left_title, right_title, self)
        self.model.set_documents(left, right)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.show_same = QCheckBox("Show unchanged parameters too", self)
        self.show_same.toggled.connect(self._on_show_same_toggled)
        self.reveal = QCheckBox("Show secrets", self)
        self.reveal.toggled.connect(self.model.set_reveal)
        self.view = table(self)
        self.view.setModel(self.model)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(1, 300)
        header.resizeSection(2, 300)
        toggles = QHBoxLayout()
        toggles.addWidget(self.show_same)
        toggles.addWidget(self.reveal)
        toggles.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(toggles)
        layout.addWidget(self.view, 1)
        layout.addWidget(buttons)
        self._summarise()

    def _summarise(self) -> None:
        found = self.model.counts()
        if not (found[Change.CHANGED] or found[Change.ADDED] or found[Change.REMOVED]):
            self.summary.setText("<b>No differences</b>: every parameter has the same value.")
            return
        self.summary.setText(
            f"<b>{count(found[Change.CHANGED], 'parameter')} changed</b>, "
            f"{found[Change.ADDED]} added (only on the right), "
            f"{found[Change.REMOVED]} removed (only on the left), {found[Change.SAME]} the same."
        )

    @Slot(bool)
    def _on_show_same_toggled(self, show: bool) -> None:
        self.model.set_show_same(show)
