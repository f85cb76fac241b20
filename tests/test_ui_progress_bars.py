"""Progress bars in table cells: drawn by Qt from a brush, as wide as their column, wherever the
column sits (the bar in the Transfers page's fifth column once showed full at 21 %)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableView

from algodesk.ui.widgets.item_table import BarWidth, ItemTable, Values, cell
from algodesk.ui.widgets.table_view import table

BAR = "#64b5f6"


def _shown(qtbot, cells: list[Values], widths: list[int]) -> tuple[QTableView, ItemTable]:
    """A one-row table on screen whose last column holds the bar, with these column widths."""
    view = table(None)
    qtbot.addWidget(view)
    model = ItemTable([f"C{i}" for i in range(len(cells))])
    model.append_rows([(object(), cells, "")])
    view.setModel(model)
    BarWidth(view, len(cells) - 1).follow(model)
    for column, width in enumerate(widths):
        view.setColumnWidth(column, width)
    view.resize(sum(widths) + 60, 200)
    view.show()
    qtbot.waitExposed(view)
    return view, model


def _row_colours(view: QTableView, model: ItemTable, column: int) -> list[str]:
    """The painted colours across the cell, left to right, above its text."""
    image = view.viewport().grab().toImage()
    rect = view.visualRect(model.index(0, column))
    return [QColor(image.pixel(x, rect.top() + 2)).name() for x in range(rect.left(), rect.right())]


def _bar_end(view: QTableView, model: ItemTable, column: int) -> float:
    """Where the bar ends, as a fraction of the cell's width."""
    colours = _row_colours(view, model, column)
    return next((x for x, colour in enumerate(colours) if colour != BAR), len(colours)) / len(
        colours
    )


@pytest.mark.parametrize("width", [160, 400])
def test_a_bar_ends_at_its_fraction_in_any_column(qtbot, width: int) -> None:
    cells = [cell("x")] * 4 + [cell("", progress=0.21)]
    view, model = _shown(qtbot, cells, [120, 120, 120, 120, width])
    assert _bar_end(view, model, 4) == pytest.approx(0.21, abs=0.03)


def test_a_bar_follows_updates_and_resizes(qtbot) -> None:
    view, model = _shown(qtbot, [cell("a"), cell("", progress=0.5)], [200, 300])
    assert _bar_end(view, model, 1) == pytest.approx(0.5, abs=0.03)
    model.update_rows([(0, [cell("a"), cell("", progress=0.8)], "")])
    view.setColumnWidth(1, 200)
    qtbot.wait(10)
    assert _bar_end(view, model, 1) == pytest.approx(0.8, abs=0.03)


def test_a_finished_bar_is_full_and_solid(qtbot) -> None:
    view, model = _shown(qtbot, [cell("a"), cell("", progress=1.0)], [200, 300])
    assert set(_row_colours(view, model, 1)) == {BAR}  # no fade towards the right edge
