"""The shared list-backed table model: Qt's model tester, bounds and resets."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from algodesk.ui.widgets.list_table_model import Index, ListTableModel


class Pairs(ListTableModel[tuple[str, int]]):
    headers = ("Name", "Count")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.item_at(index)
        if row is None or role != Qt.ItemDataRole.DisplayRole:
            return None
        return str(row[index.column()])


def test_rows_headers_and_bounds(qtmodeltester) -> None:
    model = Pairs(rows=[("a", 1), ("b", 2)])
    qtmodeltester.check(model)
    assert (model.rowCount(), model.columnCount()) == (2, 2)
    assert model.rowCount(model.index(0, 0)) == 0  # flat: nothing under an item
    assert model.headerData(1, Qt.Orientation.Horizontal) == "Count"
    assert model.headerData(2, Qt.Orientation.Horizontal) is None
    assert model.headerData(0, Qt.Orientation.Vertical) is None
    assert model.data(model.index(1, 1)) == "2"
    assert model.item(1) == ("b", 2)
    assert model.item(2) is None and model.item(-1) is None
    assert model.item_at(QModelIndex()) is None


def test_replace_rows_is_one_reset(qtbot, qtmodeltester) -> None:
    model = Pairs(rows=[("a", 1)])
    with qtbot.waitSignal(model.modelReset):
        model._replace_rows(iter([("x", 9), ("y", 8), ("z", 7)]))
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    assert model.data(model.index(2, 0)) == "z"
