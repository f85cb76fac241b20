"""The parameter editor's model: a config document as a tree of groups (``prov``, ``sip``, …).

The model adapts a lossless :class:`~algodesk.core.config.ConfigDocument`; every change goes
through the undo stack as a snapshot of the document's lines (see ``editor_commands``), so undo
gives back the exact bytes. Values are checked by the catalog before they are taken; a value read
from the file that does not fit is shown, flagged, never changed behind the user's back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import IntEnum
from functools import cache
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPixmap, QUndoStack

from algodesk.core.catalog import Catalog, ParamInfo, ParamType, is_secret, mask
from algodesk.core.checks.document import flagged_keys
from algodesk.core.config import ConfigDocument, ConfigError, Line
from algodesk.core.diagnosis import Level
from algodesk.ui.editor.commands import DocumentEdit, copy_lines
from algodesk.ui.editor.tree import GroupedKeys
from algodesk.ui.widgets import status_style

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    """The editor's columns."""

    KEY = 0
    VALUE = 1
    TYPE = 2
    DESCRIPTION = 3


HEADERS = ("Parameter", "Value", "Type", "Description")
_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_EDIT = Qt.ItemDataRole.EditRole.value
_CHECK = Qt.ItemDataRole.CheckStateRole.value
_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
_BACKGROUND = Qt.ItemDataRole.BackgroundRole.value
_DECORATION = Qt.ItemDataRole.DecorationRole.value
_FONT = Qt.ItemDataRole.FontRole.value


@cache
def _blank_icon() -> QIcon:
    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    return QIcon(pixmap)


class ParameterModel(GroupedKeys):
    """Groups at the top level, one row per distinct key of the document below."""

    edit_refused = Signal(str, str)
    """``(key, why)``: a value was not taken (it does not fit the parameter)."""
    document_changed = Signal()
    """The document's content changed (edit, undo, redo, load)."""
    key_touched = Signal(str)
    """An edit, its undo or its redo was about this key (the page shows it)."""

    def __init__(self, catalog: Catalog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.undo_stack = QUndoStack(self)
        self.document = ConfigDocument()
        self.reveal = False
        self._values: dict[str, str] = {}
        self._duplicates: dict[str, list[int]] = {}
        self._problems: dict[str, str] = {}
        self._checked: dict[str, str] = {}
        self.file_name = "config.conf"
        """The name the checks judge the document by (the opened file's name)."""

    # --- loading and state -----------------------------------------------------------------------
    def load(self, document: ConfigDocument) -> None:
        """Show ``document`` (edits change it in place); clears the undo history."""
        self.document = document
        self._refresh_facts()
        self.reset_keys(self._values)
        self.undo_stack.clear()
        self.document_changed.emit()

    def set_reveal(self, reveal: bool) -> None:
        """Show secret values in clear (True) or masked."""
        if reveal == self.reveal:
            return
        self.reveal = reveal
        for group in self.groups():
            parent = self._group_index(group)
            rows = self.group_size(group)
            if rows:
                self.dataChanged.emit(
                    self.index(0, Column.VALUE, parent), self.index(rows - 1, Column.VALUE, parent)
                )

    def value(self, key: str) -> str | None:
        """The effective value of ``key`` (None when absent)."""
        return self._values.get(key)

    def problem(self, key: str) -> str | None:
        """Why ``key``'s value does not fit, or None."""
        return self._problems.get(key)

    def problems(self) -> dict[str, str]:
        """Key -> why its value does not fit, for every such key."""
        return dict(self._problems)

    def flagged(self, key: str) -> bool:
        """Whether ``key`` needs a look: its value does not fit, it is written twice, or the
        checks (``algodesk check``, the Folder page) flag it."""
        return key in self._problems or key in self._duplicates or key in self._checked

    def flagged_keys(self) -> list[str]:
        """Every key that needs a look."""
        return sorted(self._problems.keys() | self._duplicates.keys() | self._checked.keys())

    def duplicates(self) -> dict[str, list[int]]:
        """Keys written more than once, with their line numbers."""
        return dict(self._duplicates)

    def info(self, key: str) -> ParamInfo | None:
        """What the catalog knows of ``key``."""
        return self.catalog.get(key)

    def shows_secret(self, key: str) -> bool:
        """Whether ``key`` holds a secret (masked unless revealed)."""
        info = self.catalog.get(key)
        return is_secret(key) or (info is not None and info.type is ParamType.SECRET)

    # --- edits (each one an undoable command) ----------------------------------------------------
    def set_value(self, key: str, value: str) -> bool:
        """Set ``key`` to ``value`` after the catalog's check; False (and :attr:`edit_refused`)
        when the value does not fit."""
        if self._values.get(key) == value:
            return True
        why = self._refusal(key, value)
        if why:
            self.edit_refused.emit(key, why)
            return False
        return self._edit(f"Set {key}", key, lambda doc: doc.set(key, value))

    def add_parameter(self, key: str, value: str) -> str | None:
        """Add ``key = value``; returns why it was not added (None when it was)."""
        key = key.strip()
        if key in self._values:
            return f"{key} is already in the file: edit its value instead"
        why = self._refusal(key, value)
        if why:
            return why
        try:
            self._edit(f"Add {key}", key, lambda doc: doc.set(key, value))
        except ConfigError as error:
            return str(error)
        return None

    def remove_parameters(self, keys: Sequence[str]) -> bool:
        """Remove every line of each of ``keys``; one undo step."""
        present = [key for key in keys if key in self._values]
        if not present:
            return False
        title = f"Remove {present[0]}" if len(present) == 1 else f"Remove {len(present)} parameters"

        def remove(doc: ConfigDocument) -> None:
            for key in present:
                doc.remove(key)

        return self._edit(title, present[0], remove)

    def _refusal(self, key: str, value: str) -> str | None:
        if "\n" in value or "\r" in value:
            return "a value cannot span lines"
        return self.catalog.validate(key, value)

    def _edit(self, title: str, key: str, change: Callable[[ConfigDocument], object]) -> bool:
        work = ConfigDocument(copy_lines(self.document.lines))
        change(work)  # may raise ConfigError before anything is pushed
        self.undo_stack.push(DocumentEdit(self, title, self.document.lines, work.lines, key))
        return True

    def restore(self, lines: Sequence[Line], focus: str = "") -> None:
        """Make the document hold ``lines`` (copies), updating rows in place (undo/redo use it).

        ``focus``: the key the edit was about, announced by :attr:`key_touched`.
        """
        old_values, old_problems = self._values, self._problems
        old_duplicates, old_checked = self._duplicates, self._checked
        self.document.lines = copy_lines(lines)
        self._refresh_facts()
        self.sync_keys(self._values)
        for key in self._values:
            if (
                old_values.get(key) != self._values[key]
                or old_problems.get(key) != self._problems.get(key)
                or old_duplicates.get(key) != self._duplicates.get(key)
                or old_checked.get(key) != self._checked.get(key)
            ):
                row = self.key_index(key)
                self.dataChanged.emit(row, row.siblingAtColumn(len(HEADERS) - 1))
        self.document_changed.emit()
        if focus:
            self.key_touched.emit(focus)

    def group_of(self, key: str) -> str:
        """The catalog's group of ``key``, else the part before the first dot."""
        info = self.catalog.get(key)
        return info.group if info is not None else super().group_of(key)

    def _refresh_facts(self) -> None:
        self._values = self.document.as_dict()
        self._duplicates = self.document.duplicates()
        self._problems = self.catalog.problems(self._values)
        self._checked = flagged_keys(self.file_name, self.document)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of columns."""
        return len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if orientation is Qt.Orientation.Horizontal and role == _DISPLAY:
            return HEADERS[section] if 0 <= section < len(HEADERS) else None
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        """Values are editable; bool values also have a check box."""
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        key = self.key_at(index)
        if key is not None and index.column() == Column.VALUE:
            flags |= Qt.ItemFlag.ItemIsEditable
            if self._is_bool(key):
                flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text, check state, tooltips and the colours of flagged values."""
        if not index.isValid():
            return None
        key = self.key_at(index)
        if key is None:
            return self._group_data(index, role)
        column = index.column()
        if role == _DISPLAY:
            return self._display(key, column)
        if role == _EDIT and column == Column.VALUE:
            return self._values[key]
        if role == _CHECK and column == Column.VALUE and self._is_bool(key):
            checked = self._values[key] == "1"
            return Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        if role == _TOOLTIP:
            return self._tooltip(key)
        flagged = self.flagged(key)
        if role == _DECORATION and column == Column.KEY:
            # every key gets an icon's width, so flagged keys line up with the rest
            return status_style.icon(Level.WARNING) if flagged else _blank_icon()
        if role == _BACKGROUND and column == Column.VALUE and flagged:
            return status_style.tint(Level.WARNING)
        if role == _FOREGROUND and column == Column.DESCRIPTION:
            return QColor("#546e7a")
        return None

    def _group_data(self, index: Index, role: int) -> Any:
        group = self.group_at(index)
        if group is None or index.column() != Column.KEY:
            return None
        if role == _DISPLAY:
            return f"{group}  ({self.group_size(group)})"
        if role == _FONT:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def _display(self, key: str, column: int) -> str:
        if column == Column.KEY:
            return key
        info = self.catalog.get(key)
        if column == Column.VALUE:
            value = self._values[key]
            return mask(value) if self.shows_secret(key) and not self.reveal else value
        if column == Column.TYPE:
            if info is None:
                return "secret" if self.shows_secret(key) else "—"
            return str(info.type)
        if info is None:
            return "(not in the catalog)"
        return info.description

    def _tooltip(self, key: str) -> str | None:
        parts = []
        if key in self._problems:
            parts.append(f"Does not fit: {self._problems[key]}")
        if key in self._duplicates:
            lines = ", ".join(str(n) for n in self._duplicates[key])
            parts.append(f"Written on lines {lines}: the device uses the last one")
        elif key in self._checked and key not in self._problems:
            parts.append(f"Check: {self._checked[key]}")
        info = self.catalog.get(key)
        if info is not None and info.choices:
            parts.append(f"Choices: {', '.join(info.choices)}")
        if info is not None and info.description:
            parts.append(info.description)
        return "\n".join(parts) or None

    def _is_bool(self, key: str) -> bool:
        info = self.catalog.get(key)
        return info is not None and info.type is ParamType.BOOL

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """Take an edited value (through the undo stack) once the catalog accepts it."""
        key = self.key_at(index)
        if key is None or index.column() != Column.VALUE:
            return False
        if role == _CHECK:
            checked = Qt.CheckState(value) == Qt.CheckState.Checked
            return self.set_value(key, "1" if checked else "0")
        if role == _EDIT:
            return self.set_value(key, str(value))
        return False
