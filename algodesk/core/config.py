"""Lossless config documents: parse, edit one line at a time, serialise byte for byte.

A config file is a list of lines; each line keeps its raw bytes (including its line ending) until
it is edited. Text is decoded as UTF-8 with ``surrogateescape`` so undecodable bytes survive a
round trip. Only column-0 ``#`` starts a comment (domain.md §5); a ``#`` after a value is part of it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from algodesk.core.readfile import NotReadable, Stamp, read_regular

ENCODING = "utf-8"
ERRORS = "surrogateescape"

_PARAM = re.compile(
    r"^([ \t]*)([A-Za-z0-9_][A-Za-z0-9_.\-\[\]]*)([ \t]*=)([ \t]*)(.*?)([ \t]*)$", re.S
)
_VALID_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-\[\]]*$")
_SORTED_TOLERANCE = 0.02


class ConfigError(ValueError):
    """The input is not a config file, or an edit is not possible."""


class LineKind(Enum):
    """What a line of a config file is."""

    PARAM = "param"
    COMMENT = "comment"
    BLANK = "blank"
    OTHER = "other"


ParseMemo = dict[str, tuple[LineKind, str, str]]
"""Line text -> (kind, key, value): see :meth:`ConfigDocument.from_text`."""


@dataclass(slots=True)
class Line:
    """One physical line: its text without the ending, the ending itself, and what it holds."""

    text: str
    eol: str
    kind: LineKind
    key: str = ""
    value: str = ""

    @classmethod
    def parse(cls, text: str, eol: str) -> Line:
        """Classify ``text`` (a line without its ending)."""
        return _parse_line(text, eol)

    def with_value(self, value: str) -> Line:
        """This parameter line with ``value`` in place of its value, spacing kept."""
        # The value's span is found again here rather than stored at parse time: parsing is hot
        # (a folder check reads thousands of lines), editing is rare.
        match = _PARAM.match(self.text)
        start, end = (match.start(5), match.end(5)) if match else (0, 0)
        prefix = self.text[:start]
        suffix = self.text[end:]
        if value and not prefix.endswith((" ", "\t")):
            prefix += " "
        if value and suffix.strip() == "":
            suffix = ""
        return Line.parse(prefix + value + suffix, self.eol)

    def to_text(self) -> str:
        """The line exactly as it will be written."""
        return self.text + self.eol


@dataclass(frozen=True, slots=True)
class Change:
    """A key whose value differs between two documents."""

    key: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Diff:
    """Parameter-level difference between two documents (last value of each key wins)."""

    added: tuple[tuple[str, str], ...] = ()
    removed: tuple[tuple[str, str], ...] = ()
    changed: tuple[Change, ...] = ()

    @property
    def empty(self) -> bool:
        """No parameter differs."""
        return not (self.added or self.removed or self.changed)


@dataclass(slots=True)
class ConfigDocument:
    """An ordered, lossless config document."""

    lines: list[Line] = field(default_factory=list)

    # --- reading and writing -------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, data: bytes, memo: ParseMemo | None = None) -> ConfigDocument:
        """Parse raw bytes; never fails (use :func:`load` to reject non-config input).

        ``memo``: see :meth:`from_text`.
        """
        return cls.from_text(data.decode(ENCODING, ERRORS), memo)

    @classmethod
    def from_text(cls, text: str, memo: ParseMemo | None = None) -> ConfigDocument:
        """Parse text (as decoded by :data:`ENCODING` with :data:`ERRORS`).

        ``memo``, a dict shared by the parses of many similar files (a folder of device configs
        made from one template), classifies each distinct line once; it grows by one entry per
        distinct line. The result is the same with or without it.
        """
        if "\r" in text:
            pairs = list(_split_lines(text))
        else:
            # LF-only text (every device backup) splits in C, much faster than _split_lines.
            bodies = text.split("\n")
            last = bodies.pop()
            if memo is None:
                lines = [_parse_line(body, "\n") for body in bodies]
                if last:
                    lines.append(_parse_line(last, ""))
                return cls(lines)
            pairs = [(body, "\n") for body in bodies]
            if last:
                pairs.append((last, ""))
        if memo is None:
            return cls([_parse_line(body, eol) for body, eol in pairs])
        get = memo.get
        return cls(
            [
                Line(body, eol, *known)
                if (known := get(body)) is not None
                else _remember(body, eol, memo)
                for body, eol in pairs
            ]
        )

    def to_bytes(self) -> bytes:
        """Serialise; an unedited document gives back its input exactly."""
        return self.to_text().encode(ENCODING, ERRORS)

    def to_text(self) -> str:
        """Serialise to text."""
        return "".join([line.text + line.eol for line in self.lines])

    def copy(self) -> ConfigDocument:
        """An independent copy."""
        return ConfigDocument([Line.parse(line.text, line.eol) for line in self.lines])

    # --- queries --------------------------------------------------------------------------------
    def params(self) -> Iterator[Line]:
        """Parameter lines in file order (duplicates included)."""
        return (line for line in self.lines if line.kind is LineKind.PARAM)

    def keys(self) -> list[str]:
        """Distinct keys in order of first appearance."""
        return list(dict.fromkeys(line.key for line in self.params()))

    def as_dict(self) -> dict[str, str]:
        """Key to value; for a duplicated key the last value wins (as a device reads it)."""
        return {line.key: line.value for line in self.params()}

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of ``key`` (the last one if duplicated), or ``default``."""
        found = self._indexes(key)
        return self.lines[found[-1]].value if found else default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self._indexes(key))

    def line_number(self, key: str) -> int | None:
        """1-based line number of the effective (last) occurrence of ``key``."""
        found = self._indexes(key)
        return found[-1] + 1 if found else None

    def duplicates(self) -> dict[str, list[int]]:
        """Keys that appear more than once, with their 1-based line numbers."""
        seen: dict[str, list[int]] = {}
        for number, line in enumerate(self.lines, start=1):
            if line.kind is LineKind.PARAM:
                seen.setdefault(line.key, []).append(number)
        return {key: numbers for key, numbers in seen.items() if len(numbers) > 1}

    def line_ending(self) -> str:
        """The dominant line ending (LF when the file has none)."""
        counts: dict[str, int] = {}
        for line in self.lines:
            if line.eol:
                counts[line.eol] = counts.get(line.eol, 0) + 1
        return max(counts, key=lambda eol: counts[eol]) if counts else "\n"

    def is_sorted(self) -> bool:
        """Whether keys are (nearly) in byte order, as device backups are."""
        keys = [line.key.encode(ENCODING, ERRORS) for line in self.params()]
        if len(keys) < 2:
            return True
        inversions = sum(1 for a, b in itertools.pairwise(keys) if a > b)
        return inversions <= int(len(keys) * _SORTED_TOLERANCE)

    # --- edits ----------------------------------------------------------------------------------
    def set(self, key: str, value: str) -> int:
        """Set ``key`` to ``value``, adding it if absent; returns the 0-based line index touched."""
        _check_key(key)
        _check_value(value)
        found = self._indexes(key)
        if found:
            index = found[-1]
            self.lines[index] = self.lines[index].with_value(value)
            return index
        return self._add(key, value)

    def remove(self, key: str) -> int:
        """Remove every line of ``key``; returns how many lines went."""
        found = set(self._indexes(key))
        if not found:
            return 0
        if self.lines and (len(self.lines) - 1) in found and not self.lines[-1].eol:
            # The last line had no ending: keep the file that way.
            survivors = [i for i in range(len(self.lines)) if i not in found]
            if survivors:
                self.lines[survivors[-1]].eol = ""
        self.lines = [line for i, line in enumerate(self.lines) if i not in found]
        return len(found)

    def _add(self, key: str, value: str) -> int:
        eol = self.line_ending()
        new = Line.parse(f"{key} = {value}" if value else f"{key} = ", eol)
        index = self._sorted_position(key) if self.is_sorted() else None
        if index is None:
            if self.lines and not self.lines[-1].eol:
                self.lines[-1].eol = eol
                new.eol = ""
            self.lines.append(new)
            return len(self.lines) - 1
        self.lines.insert(index, new)
        return index

    def _sorted_position(self, key: str) -> int | None:
        encoded = key.encode(ENCODING, ERRORS)
        last_param: int | None = None
        for index, line in enumerate(self.lines):
            if line.kind is not LineKind.PARAM:
                continue
            if line.key.encode(ENCODING, ERRORS) > encoded:
                return index
            last_param = index
        if last_param is None or last_param == len(self.lines) - 1:
            return None
        return last_param + 1

    def _indexes(self, key: str) -> list[int]:
        return [
            i
            for i, line in enumerate(self.lines)
            if line.kind is LineKind.PARAM and line.key == key
        ]


_KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-[]"
_NOT_FIRST_KEY_CHARS = ".-[]"


def _parse_line(
    text: str, eol: str, _line: type[Line] = Line, _param: LineKind = LineKind.PARAM
) -> Line:
    """Classify one line exactly as :data:`_PARAM` would, without the regex (parsing is hot).

    A key holds no ``=``, so the first ``=`` ends it; the value is what follows, stripped of
    spaces and tabs. The defaults bind hot names locally.
    """
    head, sep, tail = text.partition("=")
    if sep:
        key = head.strip(" \t")
        # Stripping every allowed character leaves nothing only when all characters are allowed.
        if key and not key.strip(_KEY_CHARS) and key[0] not in _NOT_FIRST_KEY_CHARS:
            return _line(text, eol, _param, key, tail.strip(" \t"))
    if text.startswith("#"):
        return _line(text, eol, LineKind.COMMENT)
    if not text.strip():
        return _line(text, eol, LineKind.BLANK)
    return _line(text, eol, LineKind.OTHER)


def _remember(text: str, eol: str, memo: ParseMemo) -> Line:
    line = _parse_line(text, eol)
    memo[text] = (line.kind, line.key, line.value)
    return line


def _split_lines(text: str) -> Iterator[tuple[str, str]]:
    """Split into (body, ending) pairs; endings are CRLF, LF or a lone CR."""
    start = 0
    length = len(text)
    while start < length:
        lf = text.find("\n", start)
        cr = text.find("\r", start)
        if lf == -1 and cr == -1:
            yield text[start:], ""
            return
        if cr != -1 and (lf == -1 or cr < lf):
            if cr + 1 < length and text[cr + 1] == "\n":
                yield text[start:cr], "\r\n"
                start = cr + 2
            else:
                yield text[start:cr], "\r"
                start = cr + 1
        else:
            yield text[start:lf], "\n"
            start = lf + 1


def _check_key(key: str) -> None:
    if not _VALID_KEY.match(key):
        raise ConfigError(f"not a valid parameter name: {key!r}")


def _check_value(value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ConfigError("a value cannot span lines")


def looks_like_config(data: bytes) -> bool:
    """Whether ``data`` plausibly is a config file (text, with parameters, mostly parameters)."""
    if b"\x00" in data:
        return False
    doc = ConfigDocument.from_bytes(data)
    params = sum(1 for line in doc.lines if line.kind is LineKind.PARAM)
    other = sum(1 for line in doc.lines if line.kind is LineKind.OTHER)
    if not data.strip():
        return True
    return params > 0 and params >= other


def load(path: Path | str) -> ConfigDocument:
    """Read a config file, rejecting missing files and non-config content with :class:`ConfigError`."""
    return load_stamped(path)[0]


def load_stamped(path: Path | str) -> tuple[ConfigDocument, Stamp]:
    """:func:`load`, with the stamp of the version read (to tell later whether it changed).

    Only a regular file up to :data:`~algodesk.core.readfile.MAX_CONFIG_BYTES` is read.
    """
    path = Path(path)
    try:
        data, stamp = read_regular(path)
    except NotReadable as error:
        raise ConfigError(f"{path}: {error.strerror}") from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from None
    if not looks_like_config(data):
        raise ConfigError(f"{path}: not a config file (expected 'key = value' lines)")
    return ConfigDocument.from_bytes(data), stamp


def diff(old: ConfigDocument, new: ConfigDocument) -> Diff:
    """What changed from ``old`` to ``new``, in ``new``'s key order (removals in ``old``'s)."""
    before = old.as_dict()
    after = new.as_dict()
    added = tuple((k, v) for k, v in after.items() if k not in before)
    removed = tuple((k, v) for k, v in before.items() if k not in after)
    changed = tuple(
        Change(k, before[k], v) for k, v in after.items() if k in before and before[k] != v
    )
    return Diff(added, removed, changed)


@dataclass(frozen=True, slots=True)
class Incremental:
    """An incremental (``-i``) document and the removals it cannot express."""

    document: ConfigDocument
    unexpressed_removals: tuple[str, ...]


def incremental(base: ConfigDocument, edited: ConfigDocument) -> Incremental:
    """Only the added and changed keys of ``edited`` against ``base``, in ``edited``'s order.

    A removal cannot be expressed in an incremental file (omitted keys are left untouched on the
    device), so removed keys are reported instead.
    """
    delta = diff(base, edited)
    wanted = {key for key, _ in delta.added} | {change.key for change in delta.changed}
    eol = edited.line_ending()
    values = edited.as_dict()
    ordered = [key for key in edited.keys() if key in wanted]  # noqa: SIM118 (not a dict)
    lines = [Line.parse(f"{key} = {values[key]}", eol) for key in ordered]
    return Incremental(ConfigDocument(lines), tuple(key for key, _ in delta.removed))


def iter_assignments(pairs: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Parse ``KEY=VALUE`` words (as typed on a command line)."""
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"expected KEY=VALUE, got {pair!r}")
        _check_key(key)
        yield key, value.strip()
