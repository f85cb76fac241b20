"""A proxy model base whose subclasses change their row filter the way the running Qt wants."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QSortFilterProxyModel


class RowFilter(QSortFilterProxyModel):
    """Wrap every filter change in :meth:`changing_filter`."""

    @contextmanager
    def changing_filter(self) -> Iterator[None]:
        """Re-filter rows after the body changes the criteria."""
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+: invalidateRowsFilter is deprecated
            self.beginFilterChange()
            yield
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            yield
            self.invalidateRowsFilter()
