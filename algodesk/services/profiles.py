"""The profile store: one JSON file per bench profile in a folder, written atomically.

Profile files never hold the password (see :mod:`algodesk.services.credentials`).
"""

from __future__ import annotations

from pathlib import Path

from algodesk.core.fileio import atomic_write
from algodesk.core.profile import BenchProfile, ProfileError, check_name
from algodesk.services import paths

SUFFIX = ".json"


class ProfileNotFoundError(ProfileError):
    """No profile of that name."""


def default_folder() -> Path:
    """``profiles/`` in algodesk's config folder."""
    return paths.resolve().config_dir / "profiles"


class ProfileStore:
    """Load, save, list and delete profiles in ``folder`` (created on first save)."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder if folder is not None else default_folder()

    def __repr__(self) -> str:
        return f"ProfileStore({str(self.folder)!r})"

    def path_for(self, name: str) -> Path:
        """The file of profile ``name``."""
        return self.folder / f"{check_name(name)}{SUFFIX}"

    def names(self) -> list[str]:
        """Names of the stored profiles, sorted case-insensitively."""
        if not self.folder.is_dir():
            return []
        found = [
            path.name[: -len(SUFFIX)]
            for path in self.folder.iterdir()
            if path.name.endswith(SUFFIX) and not path.name.startswith(".") and path.is_file()
        ]
        return sorted(found, key=lambda name: (name.casefold(), name))

    def exists(self, name: str) -> bool:
        """Whether profile ``name`` is stored."""
        return self.path_for(name).is_file()

    def load(self, name: str) -> BenchProfile:
        """Read profile ``name``; ProfileNotFoundError or ProfileError when it cannot be used."""
        path = self.path_for(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ProfileNotFoundError(f"no profile named {name!r}") from None
        except OSError as error:
            raise ProfileError(f"{path}: cannot read ({error.strerror})") from None
        try:
            profile = BenchProfile.from_json(data)
        except ProfileError as error:
            raise ProfileError(f"{path}: {error}") from None
        if profile.name != name:
            raise ProfileError(f"{path}: holds profile {profile.name!r}, not {name!r}")
        return profile

    def save(self, profile: BenchProfile, *, replace: bool = True) -> Path:
        """Write ``profile`` atomically; with ``replace`` False an existing one is an error.

        A name that differs from a stored one only in letter case is refused: on Windows and
        macOS both would be the same file.
        """
        path = self.path_for(profile.name)
        for other in self.names():
            if other != profile.name and other.casefold() == profile.name.casefold():
                raise ProfileError(f"profile {other!r} exists; names must differ in more than case")
        if not replace and path.exists():
            raise ProfileError(f"profile {profile.name!r} exists")
        self.folder.mkdir(parents=True, exist_ok=True)
        return atomic_write(path, profile.to_json().encode("utf-8"))

    def delete(self, name: str) -> bool:
        """Remove profile ``name``; returns whether it existed."""
        try:
            self.path_for(name).unlink()
        except FileNotFoundError:
            return False
        return True
