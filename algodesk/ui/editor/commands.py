"""Undo commands for the parameter editor.

One command holds the document's lines before and after an edit. Snapshots rather than inverse
operations: removing a key drops every line that held it (duplicates, the missing final newline
carried over to the line before), and only a snapshot gives those exact bytes back on undo. A
device backup is a few hundred short lines, so a snapshot costs little.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from PySide6.QtGui import QUndoCommand

from algodesk.core.config import Line


class Restorable(Protocol):
    """What the command edits: a model that can be given a document's lines."""

    def restore(self, lines: tuple[Line, ...], focus: str = "") -> None:
        """Make the document hold ``lines``; ``focus`` is the key the edit was about."""
        ...


def copy_lines(lines: Iterable[Line]) -> list[Line]:
    """Independent copies (a document edits its lines in place)."""
    return [Line(line.text, line.eol, line.kind, line.key, line.value) for line in lines]


class DocumentEdit(QUndoCommand):
    """One edit of the document: redo gives it the lines after, undo the lines before.

    ``key`` is the parameter the edit is about (the page shows it after undo and redo).
    """

    def __init__(
        self,
        target: Restorable,
        title: str,
        before: Iterable[Line],
        after: Iterable[Line],
        key: str,
    ) -> None:
        super().__init__(title)
        self._target = target
        self._before = tuple(copy_lines(before))
        self._after = tuple(copy_lines(after))
        self.key = key

    def redo(self) -> None:
        """Apply the edit."""
        self._target.restore(self._after, self.key)

    def undo(self) -> None:
        """Take the edit back."""
        self._target.restore(self._before, self.key)
