"""The editor's add row: a parameter name completed from the catalog, its value, Add and Remove."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, Signal, Slot
from PySide6.QtWidgets import QCompleter, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from algodesk.ui.editor.model import ParameterModel


class AddParameterBar(QWidget):
    """Adds ``key = value`` to the model (one undo step) or says why not."""

    added = Signal(str)
    """A parameter was added (its key)."""
    refused = Signal(str, str)
    """``(key, why)``: the parameter was not added."""
    remove_requested = Signal()
    """The user asked to remove the selected parameters."""

    def __init__(self, model: ParameterModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self.key = QLineEdit(self)
        self.key.setPlaceholderText("Add a parameter: start typing its name or a word")
        completer = QCompleter(QStringListModel(model.catalog.keys(), self), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setMaxVisibleItems(12)
        self.key.setCompleter(completer)
        self.key.textChanged.connect(self._on_key_text_changed)
        self.value = QLineEdit(self)
        self.value.setPlaceholderText("value")
        self.value.returnPressed.connect(self.add)
        self.add_button = QPushButton("Add", self)
        self.add_button.clicked.connect(self.add)
        self.remove_button = QPushButton("Remove selected", self)
        self.remove_button.setEnabled(False)
        self.remove_button.clicked.connect(self.remove_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.key, 2)
        layout.addWidget(QLabel("=", self))
        layout.addWidget(self.value, 2)
        layout.addWidget(self.add_button)
        layout.addWidget(self.remove_button)

    @Slot()
    def add(self) -> bool:
        """Add the typed parameter; False (and :attr:`refused`) when it cannot be added."""
        key, value = self.key.text().strip(), self.value.text().strip()
        if not key:
            self.refused.emit("", "type the name of the parameter to add")
            return False
        problem = self._model.add_parameter(key, value)
        if problem:
            self.refused.emit(key, problem)
            return False
        self.key.clear()
        self.value.clear()
        self.added.emit(key)
        return True

    @Slot(str)
    def _on_key_text_changed(self, key: str) -> None:
        info = self._model.info(key.strip())
        if info is None:
            self.value.setPlaceholderText("value")
            self.value.setToolTip("")
            return
        choices = f": {' | '.join(info.choices)}" if info.choices else ""
        self.value.setPlaceholderText(f"{info.type}{choices}")
        self.value.setToolTip(info.description)
