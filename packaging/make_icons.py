"""Render resources/algodesk.svg into the icon files the bundles need (packaging/icons/).

``uv run python packaging/make_icons.py`` writes PNGs of every size, ``algodesk.ico`` (Windows)
and ``algodesk.icns`` (macOS). Qt renders the SVG (QtSvg ships with PySide6-Essentials); the
.ico and .icns containers are written here: both are a directory of PNG images, so no image
library is needed.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SVG = REPO / "resources" / "algodesk.svg"
ICONS = REPO / "packaging" / "icons"

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, with their pixel size (the @2x types are Retina).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic13", 256),
    (b"ic08", 256),
    (b"ic14", 512),
    (b"ic09", 512),
    (b"ic10", 1024),
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk; ValueError if ``png`` is not a PNG."""
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def ico_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """A Windows .ico holding one PNG per size (Vista and later read PNG entries)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, images = [], []
    for size in sizes:
        if not 1 <= size <= 256:
            raise ValueError(f"an .ico image is 1..256 pixels, not {size}")
        data = pngs[size]
        # a width or height of 256 is written as 0: the field is one byte
        entries.append(
            struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset)
        )
        images.append(data)
        offset += len(data)
    return header + b"".join(entries) + b"".join(images)


def icns_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """A macOS .icns with a PNG element for every type whose size is in ``pngs``."""
    elements = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
        for kind, size in ICNS_TYPES
        if size in pngs
    )
    return b"icns" + struct.pack(">I", 8 + len(elements)) + elements


def render_pngs(svg: Path, sizes: tuple[int, ...]) -> dict[int, bytes]:
    """``svg`` rendered at each size (square, transparent background) as PNG bytes."""
    # Imported here: the container writers above need no Qt, and the tests use them alone.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not an SVG Qt can render")
    pngs = {}
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        buffer.close()
        pngs[size] = bytes(data.data())
    return pngs


def generate(svg: Path = SVG, out: Path = ICONS) -> list[Path]:
    """Write every icon file into ``out``; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    pngs = render_pngs(svg, PNG_SIZES)
    written = []
    for size, data in pngs.items():
        written.append(_write(out / f"algodesk-{size}.png", data))
    written.append(_write(out / "algodesk.ico", ico_bytes({s: pngs[s] for s in ICO_SIZES})))
    written.append(_write(out / "algodesk.icns", icns_bytes(pngs)))
    return written


def _write(path: Path, data: bytes) -> Path:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return path


def main() -> int:
    """Regenerate packaging/icons/ from resources/algodesk.svg."""
    for path in generate():
        print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
