"""A banner over the pages for engine errors: what happened, how to fix it, and one-click fixes."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from algodesk.core.diagnosis import Level
from algodesk.ui.widgets import status_style

Action = tuple[str, Callable[[], None]]


class Banner(QFrame):
    """Hidden until :meth:`show_problem`; the user or an action dismisses it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.icon = QLabel(self)
        self.title = QLabel(self)
        self.title.setWordWrap(True)
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._buttons = QHBoxLayout()
        self._buttons.addStretch(1)
        self.dismiss = QPushButton("Dismiss", self)
        self.dismiss.clicked.connect(self.clear)
        self._action_buttons: list[QPushButton] = []
        self.level = Level.ERROR

        text = QVBoxLayout()
        text.addWidget(self.title)
        text.addWidget(self.details)
        text.addLayout(self._buttons)
        layout = QHBoxLayout(self)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(text, 1)
        self.hide()

    def show_problem(
        self,
        title: str,
        message: str,
        remedies: Sequence[str] = (),
        actions: Sequence[Action] = (),
        level: Level = Level.ERROR,
    ) -> None:
        """Show a problem, its remedies (as a list), and buttons that fix it."""
        self.level = level
        self.setStyleSheet(
            f"#banner {{ background: {status_style.TINTS[level]}; "
            f"border: 2px solid {status_style.COLOURS[level]}; border-radius: 4px; }}"
        )
        self.icon.setPixmap(status_style.icon(level).pixmap(40, 40))
        self.title.setText(
            f"<b style='font-size:large; color:{status_style.COLOURS[level]}'>"
            f"{html.escape(title)}</b>"
        )
        items = "".join(f"<li>{html.escape(r)}</li>" for r in remedies)
        fixes = f"<p>To fix it:</p><ul style='margin:0'>{items}</ul>" if remedies else ""
        self.details.setText(f"{html.escape(message)}{fixes}")
        for button in self._action_buttons:
            self._buttons.removeWidget(button)
            button.deleteLater()
        self._action_buttons = []
        self._buttons.removeWidget(self.dismiss)
        for label, callback in actions:
            button = QPushButton(label, self)
            button.clicked.connect(callback)
            self._buttons.addWidget(button)
            self._action_buttons.append(button)
        self._buttons.addWidget(self.dismiss)
        self.show()

    def action_labels(self) -> list[str]:
        """The labels of the fix buttons on show."""
        return [b.text() for b in self._action_buttons]

    def trigger(self, label: str) -> None:
        """Press the fix button labelled ``label``."""
        for button in self._action_buttons:
            if button.text() == label:
                button.click()
                return
        raise KeyError(label)

    def clear(self) -> None:
        """Hide the banner."""
        self.hide()
