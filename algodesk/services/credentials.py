"""Profile passwords in the system keyring (service ``algodesk``), never in a file.

With no usable keyring backend (keyring's ``fail`` or ``null`` backend, or a backend that raises),
the store says so once and keeps passwords in memory until the process ends. There is no
plain-text fallback, by design.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import PasswordDeleteError

from algodesk.core.profile import BenchProfile

SERVICE = "algodesk"

log = logging.getLogger(__name__)


class Storage(StrEnum):
    """Where a password ended up."""

    KEYRING = "keyring"
    MEMORY = "memory"


class PasswordPlace(StrEnum):
    """Where a profile's password is, as every place that shows a profile says it."""

    KEYRING = "keyring"
    MEMORY = "memory"
    MISSING = "missing"
    EMPTY = "empty"  # a user and no password: devices would log in with an empty one
    NONE = "none"  # neither user nor password: the server needs none


@dataclass(frozen=True, slots=True)
class PasswordState:
    """Where a profile's password is, in words, and what to do about it ("" when nothing)."""

    place: PasswordPlace
    text: str
    advice: str = ""

    @property
    def usable(self) -> bool:
        """Whether serving or exporting may go ahead without being told more."""
        return self.place in (PasswordPlace.KEYRING, PasswordPlace.MEMORY, PasswordPlace.NONE)


def keyring_user(profile: str) -> str:
    """The keyring user name under which ``profile``'s password is stored."""
    return f"profile:{profile}"


class CredentialStore:
    """Store, fetch and delete profile passwords; thread-safe.

    Args:
        backend: the keyring backend to use; None means keyring's configured default.
        on_unavailable: called once, with a message for people, when the keyring cannot be used
            (without it, the message goes to the log as a warning).
    """

    def __init__(
        self,
        backend: KeyringBackend | None = None,
        *,
        on_unavailable: Callable[[str], None] | None = None,
    ) -> None:
        self._backend = backend
        self._on_unavailable = on_unavailable
        self._memory: dict[str, str] = {}
        # Re-entrant: the on_unavailable callback may ask the store something.
        self._lock = threading.RLock()
        self._problem: str | None = None

    def __repr__(self) -> str:
        return f"<CredentialStore backend={self._backend_name()} in_memory={len(self._memory)}>"

    @property
    def unavailable_reason(self) -> str | None:
        """Why the keyring is not used (None while it works)."""
        with self._lock:
            self._resolve()
            return self._problem

    @property
    def persistent(self) -> bool:
        """Whether passwords outlive this process (the keyring works)."""
        return self.unavailable_reason is None

    def set_password(self, profile: str, password: str) -> Storage:
        """Store ``profile``'s password; returns where it went."""
        with self._lock:
            backend = self._resolve()
            if backend is not None:
                try:
                    backend.set_password(SERVICE, keyring_user(profile), password)
                except Exception as error:  # any backend failure means "no keyring"
                    self._unavailable(error)
                else:
                    self._memory.pop(profile, None)
                    return Storage.KEYRING
            self._memory[profile] = password
            return Storage.MEMORY

    def get_password(self, profile: str) -> str | None:
        """``profile``'s password, or None when none is stored."""
        with self._lock:
            if profile in self._memory:
                return self._memory[profile]
            backend = self._resolve()
            if backend is None:
                return None
            try:
                return backend.get_password(SERVICE, keyring_user(profile))
            except Exception as error:  # any backend failure means "no keyring"
                self._unavailable(error)
                return None

    def delete_password(self, profile: str) -> None:
        """Forget ``profile``'s password wherever it is (no error if there is none)."""
        with self._lock:
            self._memory.pop(profile, None)
            backend = self._resolve()
            if backend is None:
                return
            try:
                backend.delete_password(SERVICE, keyring_user(profile))
            except PasswordDeleteError:
                return
            except Exception as error:  # any backend failure means "no keyring"
                self._unavailable(error)

    def state(self, profile: BenchProfile, *, command_line: bool) -> PasswordState:
        """Where ``profile``'s password is and what to do, worded for the command line or the app.

        Asks the keyring whether it holds the password (the password itself goes nowhere).
        """
        name = profile.name
        if not profile.has_password:
            if not profile.user:
                return PasswordState(PasswordPlace.NONE, "none (no user set)")
            advice = (
                f"set one with `algodesk profile set-password {name}`, or give "
                "--allow-empty-password to serve, stage1 or preflight if the server takes none"
                if command_line
                else "Edit… the profile and type the password"
            )
            return PasswordState(
                PasswordPlace.EMPTY,
                f"empty: user {profile.user} has no password, devices would log in without one",
                advice,
            )
        with self._lock:
            if name in self._memory:
                return PasswordState(
                    PasswordPlace.MEMORY,
                    "in memory until algodesk closes (no keyring)",
                    "type it again after a restart, or install a keyring backend",
                )
            stored = self.get_password(name) is not None
            problem = self._problem
        if stored:
            return PasswordState(PasswordPlace.KEYRING, "in the keyring")
        if problem is not None:
            text = f"missing: this computer has no usable keyring ({problem})"
            advice = (
                "give --password-stdin to serve, stage1 or preflight, or install a keyring backend "
                "(Secret Service, KWallet)"
                if command_line
                else "Edit… the profile and type it (kept in memory until algodesk closes), "
                "or install a keyring backend"
            )
        else:
            text = "missing: not in the keyring"
            advice = (
                f"store it with `algodesk profile set-password {name}`, or give "
                "--password-stdin to serve, stage1 or preflight"
                if command_line
                else "Edit… the profile and type it again"
            )
        return PasswordState(PasswordPlace.MISSING, text, advice)

    def _resolve(self) -> KeyringBackend | None:
        """The backend to use, or None once it is known to be unusable (lock held)."""
        if self._problem is not None:
            return None
        if self._backend is None:
            self._backend = keyring.get_keyring()
        if isinstance(self._backend, fail.Keyring | null.Keyring):
            self._report(f"no keyring backend is available ({self._backend_name()})")
            return None
        return self._backend

    def _unavailable(self, error: Exception) -> None:
        # The error's type is enough to act on; its text is not shown in case a backend
        # echoes what it was given.
        self._report(f"the keyring ({self._backend_name()}) failed: {type(error).__name__}")

    def _report(self, problem: str) -> None:
        self._problem = problem
        message = (
            f"{problem}; passwords are kept in memory until algodesk exits and are never "
            "written to a file"
        )
        if self._on_unavailable is not None:
            self._on_unavailable(message)
        else:
            log.warning("%s", message)

    def _backend_name(self) -> str:
        if self._backend is None:
            return "default"
        return type(self._backend).__module__ + "." + type(self._backend).__name__
