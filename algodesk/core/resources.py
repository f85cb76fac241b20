"""Data files shipped with algodesk: ``resources/`` in a checkout, ``algodesk/_resources`` in a
wheel or a bundle."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]
SEARCH_PATH = (_PACKAGE / "_resources", _PACKAGE.parent / "resources")


def resource_path(name: str) -> Path | None:
    """The first shipped file called ``name``, or None."""
    for folder in SEARCH_PATH:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None
