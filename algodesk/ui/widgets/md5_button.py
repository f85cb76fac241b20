"""The "Write X.md5" action: what a finding's or a diagnosis's fix says, done in one click.

Checks and diagnoses name the file an md5 is for (``md5_for``); this button writes the md5 the
way ``algodesk md5 FILE`` does (the bare hash, guide §5.5), inside the folder it is given.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QPushButton, QWidget

from algodesk.core import md5


def md5_targets(items: Iterable[object]) -> list[str]:
    """The distinct ``md5_for`` of findings or diagnoses, in order."""
    found = [str(getattr(item, "md5_for", "")) for item in items]
    return list(dict.fromkeys(name for name in found if name))


def write_md5(folder: Path, relative: str) -> str:
    """Write the md5 of ``folder/relative``; the words that say what happened."""
    try:
        written = md5.write_md5_in(folder, relative)
    except (OSError, ValueError) as error:
        return f"Could not write {md5.md5_name(relative)}: {error}"
    return f"Wrote {written.name}."


class WriteMd5Button(QPushButton):
    """Hidden until there is an md5 to write; once clicked it says what happened (``written``
    carries it too) for as long as the same file is offered."""

    written = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder: Path | None = None
        self.target = ""
        self._said = ""
        self.clicked.connect(self._on_clicked)
        self.offer(None, [])

    def offer(self, folder: Path | None, targets: list[str]) -> None:
        """Offer to write the md5 of ``targets[0]`` in ``folder`` (hide when there is none)."""
        target = targets[0] if targets and folder is not None else ""
        if (folder, target) != (self.folder, self.target):
            self.folder, self.target, self._said = folder, target, ""
        offered = f"Write {md5.md5_name(target)}" if target else ""
        self.setText(self._said or offered)
        self.setVisible(bool(target))

    @Slot()
    def _on_clicked(self) -> None:
        if self.folder is not None and self.target:
            self._said = write_md5(self.folder, self.target)
            self.setText(self._said)
            self.written.emit(self._said)
