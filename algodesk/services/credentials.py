"""Profile passwords in the system keyring (service ``algodesk``), never in a file.

With no usable keyring backend (keyring's ``fail`` or ``null`` backend, or a backend that raises),
the store says so once and keeps passwords in memory until the process ends. There is no
plain-text fallback, by design.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import StrEnum

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import PasswordDeleteError

SERVICE = "algodesk"

log = logging.getLogger(__name__)


class Storage(StrEnum):
    """Where a password ended up."""

    KEYRING = "keyring"
    MEMORY = "memory"


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
