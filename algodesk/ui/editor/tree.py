"""A two-level item model: groups at the top, keys below (natural order), minimal row updates.

Row identity: a key's index carries its group's stable id (groups come and go as keys are added
and removed; an id never changes), so persistent indexes and the view's expansion state survive
edits, and an edit of one key costs one row insert or removal rather than a model reset.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex

Index = QModelIndex | QPersistentModelIndex

GROUP_ORDER = ("prov", "sip", "audio", "net")
"""Groups shown first, in this order (the provisioning keys matter most here); then A-Z."""
_ROOT = 0
_DIGITS = re.compile(r"(\d+)")


def natural_key(key: str) -> tuple[tuple[str | int, ...], str]:
    """Sort key putting ``sip.u2`` before ``sip.u10`` (numbers compared as numbers)."""
    parts = _DIGITS.split(key)  # text at even places, digits at odd ones: like compares like
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), key


def group_rank(group: str) -> tuple[int, str]:
    """Sort key of a group: :data:`GROUP_ORDER` first, then alphabetical."""
    return (GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER), group)


class GroupedKeys(QAbstractItemModel):
    """The row structure; subclasses say which group a key is in and what a cell shows."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._groups: list[str] = []
        self._keys: dict[str, list[str]] = {}
        self._group_ids: dict[str, int] = {}
        self._id_groups: dict[int, str] = {}
        self._shown: set[str] = set()

    def group_of(self, key: str) -> str:
        """The group ``key`` is shown under (the part before the first dot)."""
        return key.partition(".")[0]

    def _grouped(self, keys: Iterable[str]) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for key in keys:
            grouped.setdefault(self.group_of(key), []).append(key)
        return {group: sorted(members, key=natural_key) for group, members in grouped.items()}

    def reset_keys(self, keys: Iterable[str]) -> None:
        """Show ``keys`` (a model reset: for a new document)."""
        self.beginResetModel()
        grouped = self._grouped(keys)
        self._groups = sorted(grouped, key=group_rank)
        self._keys = {group: grouped[group] for group in self._groups}
        self._shown = {key for members in self._keys.values() for key in members}
        for group in self._groups:
            self._group_id(group)
        self.endResetModel()

    def sync_keys(self, keys: Iterable[str]) -> None:
        """Show ``keys``: remove the rows of keys (and groups) that went, insert those that came.

        Only the difference is touched: an edit of one value moves no row at all.
        """
        wanted = set(keys)
        gone, came = self._shown - wanted, wanted - self._shown
        for key in sorted(gone, key=natural_key, reverse=True):
            self._remove(key)
        for key in sorted(came, key=natural_key):
            self._insert(key)

    def _remove(self, key: str) -> None:
        group = self.group_of(key)
        members = self._keys[group]
        row = members.index(key)
        self.beginRemoveRows(self._group_index(group), row, row)
        del members[row]
        self._shown.discard(key)
        self.endRemoveRows()
        if not members:
            row = self._groups.index(group)
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._groups[row]
            del self._keys[group]
            self.endRemoveRows()

    def _insert(self, key: str) -> None:
        group = self.group_of(key)
        if group not in self._keys:
            row = bisect.bisect([group_rank(g) for g in self._groups], group_rank(group))
            self._group_id(group)
            self.beginInsertRows(QModelIndex(), row, row)
            self._groups.insert(row, group)
            self._keys[group] = []
            self.endInsertRows()
        members = self._keys[group]
        row = bisect.bisect_left(members, natural_key(key), key=natural_key)
        self.beginInsertRows(self._group_index(group), row, row)
        members.insert(row, key)
        self._shown.add(key)
        self.endInsertRows()

    # --- addressing ------------------------------------------------------------------------------
    def _group_id(self, group: str) -> int:
        found = self._group_ids.get(group)
        if found is None:
            found = self._group_ids[group] = len(self._group_ids) + 1
            self._id_groups[found] = group
        return found

    def _group_index(self, group: str) -> QModelIndex:
        return self.createIndex(self._groups.index(group), 0, _ROOT)

    def key_index(self, key: str, column: int = 0) -> QModelIndex:
        """The index of ``key``'s row (invalid when it is not shown)."""
        group = self.group_of(key)
        members = self._keys.get(group, [])
        row = bisect.bisect_left(members, natural_key(key), key=natural_key)
        if row >= len(members) or members[row] != key:
            return QModelIndex()
        return self.createIndex(row, column, self._group_ids[group])

    def key_at(self, index: Index) -> str | None:
        """The key of a key row (None for a group row or an invalid index)."""
        if not index.isValid() or index.internalId() == _ROOT:
            return None
        group = self._id_groups.get(index.internalId())
        members = self._keys.get(group, []) if group is not None else []
        return members[index.row()] if 0 <= index.row() < len(members) else None

    def group_at(self, index: Index) -> str | None:
        """The group of a group row (None for a key row or an invalid index)."""
        if index.isValid() and index.internalId() == _ROOT and 0 <= index.row() < len(self._groups):
            return self._groups[index.row()]
        return None

    def group_size(self, group: str) -> int:
        """How many keys ``group`` shows."""
        return len(self._keys.get(group, ()))

    def groups(self) -> list[str]:
        """The groups, in row order."""
        return list(self._groups)

    def shown_keys(self) -> list[str]:
        """Every key shown, in row order."""
        return [key for group in self._groups for key in self._keys[group]]

    # --- QAbstractItemModel ----------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        """The index of ``(row, column)`` under ``parent``."""
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _ROOT)
        group = self.group_at(parent)
        if group is None:
            return QModelIndex()
        return self.createIndex(row, column, self._group_ids[group])

    def parent(self, index: Index | None = None) -> Any:
        """A key's group row; nothing above a group (without an index: the QObject parent)."""
        if index is None:
            return super().parent()
        if not index.isValid() or index.internalId() == _ROOT:
            return QModelIndex()
        group = self._id_groups.get(index.internalId())
        if group is None or group not in self._keys:
            return QModelIndex()
        return self._group_index(group)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """Groups at the top, keys below a group (first column only), nothing below a key."""
        if not parent.isValid():
            return len(self._groups)
        if parent.column() != 0:
            return 0
        group = self.group_at(parent)
        return len(self._keys[group]) if group is not None else 0
