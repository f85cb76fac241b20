"""The simulate dialog's table: what a simulated device fetched and decided, boot by boot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt

from algodesk.core.diagnosis import Level
from algodesk.core.trace import StepKind, TraceStep
from algodesk.ui.widgets import status_style, text
from algodesk.ui.widgets.list_table_model import Index, ListTableModel

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


class TraceModel(ListTableModel[TraceStep]):
    """One row per response, decision, reboot and outcome (requests show with their response)."""

    headers = HEADERS

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """Cell text; outcome rows carry a colour and an icon."""
        step = self.item_at(index)
        if step is None:
            return None
        column = index.column()
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
        self._replace_rows(s for s in steps if s.kind is not StepKind.REQUEST)
