"""Lossless config documents: round trips, one-line edits, diff and incremental."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SAMPLES
from hypothesis import given, settings
from hypothesis import strategies as st

from algodesk.core import config
from algodesk.core.config import ConfigDocument, ConfigError, LineKind


def changed_lines(before: bytes, after: bytes) -> list[tuple[bytes, bytes]]:
    """Pairs of differing lines (the files must have the same number of lines)."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_every_sample_round_trips_byte_identical(sample: Path) -> None:
    data = sample.read_bytes()
    assert ConfigDocument.from_bytes(data).to_bytes() == data


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_set_on_a_sample_changes_exactly_one_line(sample: Path) -> None:
    data = sample.read_bytes()
    doc = ConfigDocument.from_bytes(data)
    doc.set("prov.use", "0" if doc.get("prov.use") != "0" else "1")
    diff = changed_lines(data, doc.to_bytes())
    assert len(diff) == 1
    assert diff[0][1].startswith(b"prov.use = ")


def test_samples_parse_into_parameters_comments_and_values() -> None:
    doc = ConfigDocument.from_bytes(
        (SAMPLES[0].parent / "fpbx-8301-2026__algom_mac_.conf").read_bytes()
    )
    kinds = {line.kind for line in doc.lines}
    assert LineKind.PARAM in kinds and LineKind.COMMENT in kinds
    assert doc.get("sip.interop.checksync") == "conditional-reboot"
    assert doc.get("admin.lang") == "en"


def test_hash_after_value_is_part_of_the_value() -> None:
    doc = ConfigDocument.from_bytes(b"sip.u1.dname = Lobby #2\n# comment = not a param\n")
    assert doc.get("sip.u1.dname") == "Lobby #2"
    assert doc.lines[1].kind is LineKind.COMMENT
    assert "comment" not in doc


def test_empty_values_in_both_spellings() -> None:
    doc = ConfigDocument.from_bytes(b"a = \nb =\nc=\n")
    assert doc.as_dict() == {"a": "", "b": "", "c": ""}


def test_set_keeps_spacing_and_line_ending() -> None:
    doc = ConfigDocument.from_bytes(b"a  =   1\r\nb =\r\nc = 3")
    doc.set("a", "2")
    doc.set("b", "x")
    doc.set("c", "")
    assert doc.to_bytes() == b"a  =   2\r\nb = x\r\nc = "


def test_new_key_goes_to_its_sorted_place_in_a_sorted_file() -> None:
    doc = ConfigDocument.from_bytes(b"a.x = 1\nc.x = 3\nd.x = 4\n")
    doc.set("b.x", "2")
    assert doc.to_bytes() == b"a.x = 1\nb.x = 2\nc.x = 3\nd.x = 4\n"


def test_new_key_goes_at_the_end_of_an_unsorted_file_without_final_newline() -> None:
    doc = ConfigDocument.from_bytes(b"z = 1\na = 2\nm = 3")
    doc.set("b", "9")
    assert doc.to_bytes() == b"z = 1\na = 2\nm = 3\nb = 9"


def test_new_key_uses_the_dominant_line_ending() -> None:
    doc = ConfigDocument.from_bytes(b"z = 1\r\na = 2\r\n")
    doc.set("q", "1")
    assert doc.to_bytes() == b"z = 1\r\na = 2\r\nq = 1\r\n"


def test_remove_touches_only_that_line_and_keeps_no_final_newline() -> None:
    doc = ConfigDocument.from_bytes(b"a = 1\nb = 2\nc = 3")
    assert doc.remove("c") == 1
    assert doc.to_bytes() == b"a = 1\nb = 2"
    assert doc.remove("nope") == 0


def test_duplicates_are_reported_and_the_last_value_wins() -> None:
    doc = ConfigDocument.from_bytes(b"a = 1\nb = 2\na = 3\n")
    assert doc.duplicates() == {"a": [1, 3]}
    assert doc.get("a") == "3"
    doc.set("a", "4")
    assert doc.to_bytes() == b"a = 1\nb = 2\na = 4\n"


def test_invalid_bytes_survive_and_edits_elsewhere_keep_them() -> None:
    data = b"name = caf\xe9\nother = 1\n\xff\xfe junk\n"
    doc = ConfigDocument.from_bytes(data)
    assert doc.to_bytes() == data
    doc.set("other", "2")
    assert doc.to_bytes() == b"name = caf\xe9\nother = 2\n\xff\xfe junk\n"


def test_bad_keys_and_multiline_values_are_refused() -> None:
    doc = ConfigDocument()
    with pytest.raises(ConfigError):
        doc.set("bad key", "1")
    with pytest.raises(ConfigError):
        doc.set("a", "1\n2")


def test_diff_reports_added_removed_changed() -> None:
    old = ConfigDocument.from_bytes(b"a = 1\nb = 2\nc = 3\n")
    new = ConfigDocument.from_bytes(b"a = 1\nb = 5\nd = 4\n")
    delta = config.diff(old, new)
    assert delta.added == (("d", "4"),)
    assert delta.removed == (("c", "3"),)
    assert [(c.key, c.old, c.new) for c in delta.changed] == [("b", "2", "5")]
    assert config.diff(old, old.copy()).empty


def test_incremental_holds_only_added_and_changed_and_reports_removals() -> None:
    base = ConfigDocument.from_bytes(b"a = 1\nb = 2\nc = 3\n")
    edited = ConfigDocument.from_bytes(b"a = 1\nb = 5\nd = 4\n")
    result = config.incremental(base, edited)
    assert result.document.to_bytes() == b"b = 5\nd = 4\n"
    assert result.unexpressed_removals == ("c",)


def test_load_rejects_missing_binary_and_non_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "missing.conf")
    (tmp_path / "bin.conf").write_bytes(b"PK\x03\x04\x00\x00")
    with pytest.raises(ConfigError, match="not a config"):
        config.load(tmp_path / "bin.conf")
    (tmp_path / "prose.conf").write_text("hello there\nthis is prose\n")
    with pytest.raises(ConfigError, match="not a config"):
        config.load(tmp_path / "prose.conf")
    with pytest.raises(ConfigError, match="folder"):
        config.load(tmp_path)


# --- property tests ------------------------------------------------------------------------------

_keys = st.from_regex(r"[a-z][a-z0-9]{0,6}(\.[a-z0-9]{1,6}){0,3}", fullmatch=True)
_spaces = st.sampled_from(["", " ", "  ", "\t", " \t "])
_values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=20
)
_eols = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def _param_line(draw: st.DrawFn) -> str:
    return (
        draw(_spaces)
        + draw(_keys)
        + draw(_spaces)
        + "="
        + draw(_spaces)
        + draw(_values)
        + draw(_spaces)
    )


_line = st.one_of(
    _param_line(),
    st.builds(lambda v: "#" + v, _values),
    _spaces,
    _values,
)


@st.composite
def _config_bytes(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_line, _eols), max_size=25))
    text = "".join(body + eol for body, eol in lines)
    if lines and draw(st.booleans()):
        text = text.rstrip("\r\n")
    data = text.encode("utf-8")
    junk = draw(st.lists(st.binary(min_size=1, max_size=3), max_size=3))
    for chunk in junk:
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + bytes(b | 0x80 for b in chunk) + data[cut:]
    return data


@settings(max_examples=300, deadline=None)
@given(_config_bytes())
def test_any_file_round_trips(data: bytes) -> None:
    assert ConfigDocument.from_bytes(data).to_bytes() == data


@settings(max_examples=200, deadline=None)
@given(_config_bytes(), _values)
def test_set_existing_key_changes_only_its_line(data: bytes, value: str) -> None:
    doc = ConfigDocument.from_bytes(data)
    params = list(doc.params())
    if not params:
        return
    key = params[-1].key
    index = doc.set(key, value.strip())
    after = ConfigDocument.from_bytes(doc.to_bytes())
    assert after.get(key) == value.strip()
    before_lines = ConfigDocument.from_bytes(data).lines
    assert len(after.lines) == len(before_lines)
    for i, (old, new) in enumerate(zip(before_lines, after.lines, strict=True)):
        if i != index:
            assert old.to_text() == new.to_text()
