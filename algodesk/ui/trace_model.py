"""The simulate dialog's table: what a simulated device fetched and decided, boot by boot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from algodesk.core.diagnosis import Level
from algodesk.core.trace import StepKind, TraceStep
from algodesk.ui import status_style, text

Index = QModelIndex | QPersistentModelIndex
HEADERS = ("Boot", "Stage", "Step", "File", "Result")
_LEVELS = {
    StepKind.DECISION: Level.INFO,
    StepKind.REBOOT: Level.WORKING,
    StepKind.DONE: Level.OK,
    StepKind.DIAGNOSIS: Level.ERROR,
}


def _result(step: TraceStep) -> str:
    if step.kind is StepKind.RESPONSE:
        if step.found is None:
            return step.message
        if not step.found:
            return "not found"
        md5 = f", md5 {step.md5}" if step.md5 else ""
        return f"{text.size(step.size)}{md5}"
    return step.message


class TraceModel(QAbstractTableModel):
    """One row per response, decision, reboot and outcome (requests show with their response)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._steps: list[TraceStep] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of steps shown (0 under any item: the model is flat)."""
        return 0 if parent.isValid() else len(self._steps)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Number of columns."""
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """Column titles."""
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(HEADERS)
        ):
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text; outcome rows carry a colour and an icon."""
        if not index.isValid() or not 0 <= index.row() < len(self._steps):
            return None
        step, column = self._steps[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (str(step.boot), step.stage.value, step.kind.value, step.file, _result(step))[
                column
            ]
        level = _LEVELS.get(step.kind)
        if step.kind is StepKind.RESPONSE and step.found is False:
            level = Level.WARNING
        if level is not None and column == 4:
            if role == Qt.ItemDataRole.ForegroundRole:
                return status_style.colour(level)
            if role == Qt.ItemDataRole.DecorationRole:
                return status_style.icon(level)
        return None

    def set_steps(self, steps: Sequence[TraceStep]) -> None:
        """Show ``steps`` (requests are folded into their responses)."""
        self.beginResetModel()
        self._steps = [s for s in steps if s.kind is not StepKind.REQUEST]
        self.endResetModel()
