"""PySide6 adapters over core and services."""
