"""Editors that fit a parameter's type: choice lists, a dB spin box, checked text, hidden secrets.

Text editors check the value as it is typed (the catalog's rule, shown in the editor's colour
and tooltip); the model refuses a value that does not fit when the edit is committed.
"""

from __future__ import annotations

import re

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from algodesk.core.catalog import ParamInfo, ParamType
from algodesk.ui.editor.model import Column, ParameterModel

Index = QModelIndex | QPersistentModelIndex

LEVEL_RANGE = (-90.0, 30.0)
"""Levels the dB editor offers (gains and volumes of Algo devices sit well inside)."""
_DB_LEVEL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?dB")
_BOOL_CHOICES = (("1", "1 — on"), ("0", "0 — off"))
_INVALID_STYLE = "background: #ffebee;"


class LevelEditor(QDoubleSpinBox):
    """A level in dB, written as devices write it: ``-18dB``, ``0dB``, ``-1.5dB``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(*LEVEL_RANGE)
        self.setDecimals(1)
        self.setSingleStep(1.0)
        self.setSuffix("dB")

    def textFromValue(self, value: float) -> str:
        """``-18`` rather than ``-18.0``."""
        return f"{value:g}"

    def level(self) -> str:
        """The value as a config value (``-18dB``)."""
        return f"{self.value():g}dB"

    def set_level(self, text: str) -> None:
        """Show ``-18dB``."""
        self.setValue(float(text.removesuffix("dB")))


class ValueDelegate(QStyledItemDelegate):
    """Creates the editor for a value cell from what the catalog knows of its key."""

    def __init__(self, model: ParameterModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model

    def _key(self, index: Index) -> str | None:
        proxy = index.model()
        source = proxy.mapToSource(index) if isinstance(proxy, QSortFilterProxyModel) else index
        return self._model.key_at(source)

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        """A combo box for bools and choices, a dB spin box for levels, else checked text."""
        key = self._key(index)
        if key is None or index.column() != Column.VALUE:
            return super().createEditor(parent, option, index)
        info = self._model.info(key)
        value = self._model.value(key) or ""
        kind = info.type if info is not None else None
        if kind is ParamType.BOOL:
            return _combo(parent, _BOOL_CHOICES)
        if kind is ParamType.ENUM and info is not None:
            return _combo(parent, _choices(info))
        if kind is ParamType.LEVEL and _DB_LEVEL.fullmatch(value):
            return LevelEditor(parent)
        return self._line_edit(parent, key, kind)

    def _line_edit(self, parent: QWidget, key: str, kind: ParamType | None) -> QLineEdit:
        editor = QLineEdit(parent)
        editor.setObjectName("value-editor")
        if self._model.shows_secret(key) and not self._model.reveal:
            editor.setEchoMode(QLineEdit.EchoMode.Password)
        if kind is ParamType.INTEGER:
            editor.setValidator(
                QRegularExpressionValidator(QRegularExpression(r"-?[0-9]*"), editor)
            )
        catalog = self._model.catalog

        def check(text: str) -> None:
            problem = catalog.validate(key, text)
            editor.setStyleSheet(_INVALID_STYLE if problem else "")
            editor.setToolTip(problem or "")

        editor.textChanged.connect(check)
        return editor

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        """Show the current value in the editor."""
        key = self._key(index)
        value = (self._model.value(key) or "") if key is not None else ""
        if isinstance(editor, QComboBox):
            found = editor.findData(value)
            if found < 0:
                # A value that fits none of the choices stays visible (and selectable: a no-op).
                editor.insertItem(0, f"{value} (does not fit)", value)
                found = 0
            editor.setCurrentIndex(found)
        elif isinstance(editor, LevelEditor):
            editor.set_level(value)
        elif isinstance(editor, QLineEdit):
            editor.setText(value)
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        """Hand the edited value to the model (which checks it and may refuse it)."""
        if isinstance(editor, QComboBox):
            model.setData(index, str(editor.currentData()), Qt.ItemDataRole.EditRole)
        elif isinstance(editor, LevelEditor):
            model.setData(index, editor.level(), Qt.ItemDataRole.EditRole)
        elif isinstance(editor, QLineEdit):
            model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)


def _choices(info: ParamInfo) -> list[tuple[str, str]]:
    choices = [(choice, choice) for choice in info.choices]
    if "" in info.observed and "" not in info.choices:
        choices.insert(0, ("", "(empty)"))
    return choices


def _combo(
    parent: QWidget, choices: list[tuple[str, str]] | tuple[tuple[str, str], ...]
) -> QComboBox:
    combo = QComboBox(parent)
    for value, label in choices:
        combo.addItem(label, value)
    return combo
