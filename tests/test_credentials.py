"""Profile passwords: keyring when there is one, memory (reported once) when not, never a file."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import KeyringLocked

from algodesk.services.credentials import SERVICE, CredentialStore, Storage, keyring_user
from tests.memory_keyring import MemoryKeyring

SECRET = "S3cr3t-Credential-Canary"


class LockedKeyring(MemoryKeyring):
    """A backend that is present but refuses every operation (a locked wallet)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("locked")


def test_keyring_round_trip() -> None:
    backend = MemoryKeyring()
    store = CredentialStore(backend)
    assert store.get_password("bench") is None
    assert store.set_password("bench", SECRET) is Storage.KEYRING
    assert backend.entries == {(SERVICE, keyring_user("bench")): SECRET}
    assert CredentialStore(backend).get_password("bench") == SECRET
    store.delete_password("bench")
    assert backend.entries == {}
    store.delete_password("bench")  # absent: no error
    assert store.persistent
    assert store.unavailable_reason is None


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring(), LockedKeyring()])
def test_no_usable_keyring_keeps_memory_and_reports_once(backend: KeyringBackend) -> None:
    reports: list[str] = []
    store = CredentialStore(backend, on_unavailable=reports.append)
    assert store.set_password("bench", SECRET) is Storage.MEMORY
    assert store.get_password("bench") == SECRET
    assert store.set_password("other", "x") is Storage.MEMORY
    store.get_password("missing")
    store.delete_password("other")
    assert store.get_password("other") is None
    assert len(reports) == 1
    assert "memory" in reports[0]
    assert SECRET not in reports[0]
    assert not store.persistent
    assert store.unavailable_reason is not None
    # Memory is per store (per process): a new store knows nothing.
    assert CredentialStore(backend, on_unavailable=reports.append).get_password("bench") is None


def test_report_goes_to_the_log_without_a_callback(caplog: pytest.LogCaptureFixture) -> None:
    store = CredentialStore(fail.Keyring())
    with caplog.at_level("DEBUG"):
        store.set_password("bench", SECRET)
        store.set_password("bench", SECRET)
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert SECRET not in caplog.text


def test_failing_backend_error_text_is_not_repeated(caplog: pytest.LogCaptureFixture) -> None:
    class Echoing(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise RuntimeError(f"cannot store {password}")

    reports: list[str] = []
    CredentialStore(Echoing(), on_unavailable=reports.append).set_password("b", SECRET)
    assert reports and SECRET not in reports[0]


def test_memory_fallback_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGODESK_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    store = CredentialStore(fail.Keyring(), on_unavailable=lambda _m: None)
    store.set_password("bench", SECRET)
    assert list(tmp_path.rglob("*")) == []
    assert store.get_password("bench") == SECRET


def test_repr_holds_no_secret() -> None:
    store = CredentialStore(fail.Keyring(), on_unavailable=lambda _m: None)
    store.set_password("bench", SECRET)
    assert SECRET not in repr(store)
    assert "bench" not in repr(store)


def test_default_backend_is_keyrings_own() -> None:
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        CredentialStore().set_password("bench", SECRET)
    finally:
        keyring.set_keyring(previous)
    assert backend.entries[(SERVICE, keyring_user("bench"))] == SECRET
