"""The profile store: one JSON file per profile, atomic writes, no password."""

from __future__ import annotations

from pathlib import Path

import pytest

from algodesk.core.profile import BenchProfile, ProfileError
from algodesk.services import profiles
from algodesk.services.profiles import ProfileNotFoundError, ProfileStore


def make(name: str = "bench", **changes: object) -> BenchProfile:
    settings: dict[str, object] = {"name": name, "host": "prov.example.com", "products": ("8186",)}
    settings.update(changes)
    return BenchProfile(**settings)  # type: ignore[arg-type]


def test_save_load_list_delete(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles")
    assert store.names() == []
    path = store.save(make("beta", has_password=True))
    store.save(make("Alpha"))
    assert path == tmp_path / "profiles" / "beta.json"
    assert store.names() == ["Alpha", "beta"]
    assert store.load("beta") == make("beta", has_password=True)
    assert store.exists("Alpha")
    assert store.delete("Alpha") is True
    assert store.delete("Alpha") is False
    assert store.names() == ["beta"]
    assert [p.name for p in (tmp_path / "profiles").iterdir()] == ["beta.json"]


def test_replace_and_no_replace(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    store.save(make(user="one"))
    store.save(make(user="two"))
    assert store.load("bench").user == "two"
    with pytest.raises(ProfileError, match="exists"):
        store.save(make(user="three"), replace=False)
    assert store.load("bench").user == "two"


def test_names_differing_only_in_case_refused(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    store.save(make("Bench"))
    with pytest.raises(ProfileError, match="case"):
        store.save(make("bench"))


def test_missing_and_broken_files(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path)
    with pytest.raises(ProfileNotFoundError):
        store.load("nothing")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ProfileError, match=r"broken\.json"):
        store.load("broken")
    (tmp_path / "renamed.json").write_text(make("other").to_json())
    with pytest.raises(ProfileError, match="holds profile 'other'"):
        store.load("renamed")
    with pytest.raises(ProfileError, match="profile name"):
        store.load("../escape")


def test_default_folder_follows_algodesk_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALGODESK_HOME", str(tmp_path))
    assert profiles.default_folder() == tmp_path / "config" / "profiles"
    assert ProfileStore().folder == tmp_path / "config" / "profiles"
