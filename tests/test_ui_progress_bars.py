"""Progress bars in table cells: drawn by Qt from a brush, as wide as their column, wherever the
column sits (the bar in the Transfers page's fifth column once showed full at 21 %)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableView

from algodesk.ui.item_table import BarWidth, ItemTable, cell
from algodesk.ui.table_view import table

BAR = "#64b5f6"


def _bar_end(view: QTableView, model: ItemTable, row: int, column: int) -> float:
    """Where the bar ends, as a fraction of the cell's width, read off the painted view."""
    image = view.viewport().grab().toImage()
    rect = view.visualRect(model.index(row, column))
    y = rect.top() + 2  # above the text
    for x in range(rect.left(), rect.right() + 1):
        if QColor(image.pixel(x, y)).name() != BAR:
            return (x - rect.left()) / rect.width()
    return 1.0


@pytest.mark.parametrize("width", [160, 400])
def test_a_bar_ends_at_its_fraction_in_any_column(qtbot, width: int) -> None:
    view = table(None)
    qtbot.addWidget(view)
    model = ItemTable(["Started", "Client", "Device", "File", "Progress"])
    model.append_rows([(object(), [cell("x")] * 4 + [cell("", progress=0.21)], "")])
    view.setModel(model)
    for column in range(4):
        view.setColumnWidth(column, 120)
    bars = BarWidth(view, 4)
    bars.follow(model)
    view.setColumnWidth(4, width)
    view.resize(480 + width + 60, 200)
    view.show()
    qtbot.waitExposed(view)
    assert _bar_end(view, model, 0, 4) == pytest.approx(0.21, abs=0.03)


def test_a_bar_follows_updates_and_resizes(qtbot) -> None:
    view = table(None)
    qtbot.addWidget(view)
    model = ItemTable(["File", "Progress"])
    model.append_rows([(object(), [cell("a"), cell("", progress=0.5)], "")])
    view.setModel(model)
    view.setColumnWidth(0, 200)
    BarWidth(view, 1).follow(model)
    view.setColumnWidth(1, 300)
    view.resize(600, 200)
    view.show()
    qtbot.waitExposed(view)
    assert _bar_end(view, model, 0, 1) == pytest.approx(0.5, abs=0.03)
    model.update_rows([(0, [cell("a"), cell("", progress=0.8)], "")])
    view.setColumnWidth(1, 200)
    qtbot.wait(10)
    assert _bar_end(view, model, 0, 1) == pytest.approx(0.8, abs=0.03)


def test_a_finished_bar_is_full_and_solid(qtbot) -> None:
    view = table(None)
    qtbot.addWidget(view)
    model = ItemTable(["File", "Progress"])
    model.append_rows([(object(), [cell("a"), cell("", progress=1.0)], "")])
    view.setModel(model)
    view.setColumnWidth(0, 200)
    BarWidth(view, 1).follow(model)
    view.setColumnWidth(1, 300)
    view.resize(600, 200)
    view.show()
    qtbot.waitExposed(view)
    image = view.viewport().grab().toImage()
    rect = view.visualRect(model.index(0, 1))
    colours = {
        QColor(image.pixel(x, rect.top() + 2)).name() for x in range(rect.left(), rect.right())
    }
    assert colours == {BAR}  # no fade towards the right edge
