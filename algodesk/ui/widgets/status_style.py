"""Colours and icons for a diagnosis level: readable from across the room.

Each is made once per level: models compare cells by identity before they rewrite them.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from algodesk.core.diagnosis import Level

COLOURS: dict[Level, str] = {
    Level.OK: "#2e7d32",
    Level.WORKING: "#1565c0",
    Level.INFO: "#546e7a",
    Level.WARNING: "#e65100",
    Level.ERROR: "#c62828",
}
TINTS: dict[Level, str] = {
    Level.OK: "#e8f5e9",
    Level.WORKING: "#e3f2fd",
    Level.INFO: "#eceff1",
    Level.WARNING: "#fff3e0",
    Level.ERROR: "#ffebee",
}
_GLYPHS: dict[Level, str] = {
    Level.OK: "✓",
    Level.WORKING: "↻",
    Level.INFO: "i",
    Level.WARNING: "!",
    Level.ERROR: "✕",
}


@cache
def colour(level: Level) -> QColor:
    """The strong colour of ``level`` (text, icon)."""
    return QColor(COLOURS[level])


@cache
def tint(level: Level) -> QColor:
    """A light background for ``level``."""
    return QColor(TINTS[level])


@cache
def icon(level: Level, size: int = 32) -> QIcon:
    """A filled circle in the level's colour with a glyph (✓ ↻ i ! ✕)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour(level))
    painter.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.62))
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, _GLYPHS[level])
    painter.end()
    return QIcon(pixmap)
