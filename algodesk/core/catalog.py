"""The parameter catalog: what each known key is, which values fit it, and which keys are secret.

The data is ``catalog.tsv``, built by ``packaging/build_catalog.py`` from the keys seen in public
templates and domain.md §6. It sits in ``resources/`` at the root of a source checkout; the wheel
force-includes that folder as ``algodesk/_resources/``.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from algodesk.core import resources

CATALOG_FILE = "catalog.tsv"
MASK = "********"

# Wheel first: an installed package must not pick up a stray checkout's copy.

_COLUMNS = ("key", "group", "type", "choices", "observed", "description")
_SEPARATOR = "|"
_EMPTY = "''"

# domain.md §6 names these; SNMP keys and *pwd / *password spellings are secrets by any reading.
_SECRET_KEYS = frozenset({"prov.auth.pwd", "admin.pwd", "api.admin.pwd", "net.srv.snmp.community"})
_SECRET_LAST_PARTS = frozenset(
    {"pwd", "pass", "password", "passwd", "passphrase", "secret", "authkey", "privkey", "community"}
)
# Suffixes of a last part ("authpwd"); a bare "pass" suffix would also catch "bypass".
_SECRET_SUFFIXES = ("pwd", "password", "passwd")

# Keys whose allowed values the guide does not publish: an unknown value is a note, not invalid
# (domain.md §2: the setting that picks the DHCP option).
_NOTE_ONLY_KEYS = frozenset({"prov.server.method"})
_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
_WEEKDAY_ITEMS = frozenset("1234567")
_INTEGER = re.compile(r"-?[0-9]+")
_LEVEL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?dB|[0-9]+")
_BOOL_VALUES = frozenset({"0", "1"})
_FITTING_LIMIT = 100_000
_SIMILAR_CUTOFF = 0.75  # difflib ratio; the folder check asks for closer ones (checks/keys.py)
_SIMILAR_LIMIT = 4096  # keys whose look-alikes are remembered (a folder repeats its typos)


class CatalogError(ValueError):
    """The catalog file is missing or malformed."""


class ParamType(StrEnum):
    """The kind of value a parameter takes."""

    BOOL = "bool"
    INTEGER = "integer"
    ENUM = "enum"
    LEVEL = "level"
    LIST = "list"
    TEXT = "text"
    FILE = "file"
    SECRET = "secret"


# Types whose empty value means "not set" rather than a broken value.
_EMPTY_OK = frozenset({ParamType.TEXT, ParamType.SECRET, ParamType.LIST, ParamType.FILE})


@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One parameter: its key, group (prefix before the first dot), type and what is known."""

    key: str
    group: str
    type: ParamType
    description: str = ""
    choices: tuple[str, ...] = ()
    observed: tuple[str, ...] = ()

    def check(self, value: str) -> str | None:
        """Why ``value`` does not fit this parameter, or None when it does."""
        rule = _FORM_RULES.get(self.key)
        if rule is not None:
            return rule(value)
        kind = self.type
        if kind is ParamType.TEXT or kind is ParamType.SECRET:
            return None
        if not value and (kind in _EMPTY_OK or "" in self.observed):
            return None
        if kind is ParamType.BOOL:
            return None if value in _BOOL_VALUES else f"must be 0 or 1, not {value!r}"
        if kind is ParamType.INTEGER:
            return None if _INTEGER.fullmatch(value) else f"must be a whole number, not {value!r}"
        if kind is ParamType.ENUM:
            if value in self.choices:
                return None
            return f"must be one of {', '.join(self.choices)}, not {value!r}"
        if kind is ParamType.LEVEL:
            if _LEVEL.fullmatch(value):
                return None
            return f"must be a level such as -18dB or 0dB, not {value!r}"
        if kind is ParamType.FILE:
            if "/" in value or "\\" in value:
                return f"must be a bare file name, not a path ({value!r})"
            return None
        return self._check_list(value)

    def _check_list(self, value: str) -> str | None:
        items = value.split(",")
        if items[-1] == "":  # the trailing comma devices write
            items.pop()
        numeric = all(item.isdigit() for seen in self.observed for item in seen.split(",") if item)
        if numeric and not all(item.isascii() and item.isdigit() for item in items):
            return f"must be numbers separated by commas (such as 1,2,3,), not {value!r}"
        return None


class Catalog:
    """Known parameters by key."""

    def __init__(self, params: Iterable[ParamInfo]) -> None:
        self._params = {info.key: info for info in sorted(params, key=lambda p: p.key)}
        # Only typed keys need a check: text always fits, and a secret is never checked (its
        # value would end up in the message).
        self._typed = {
            key: info
            for key, info in self._params.items()
            if (info.type not in (ParamType.TEXT, ParamType.SECRET) or key in _FORM_RULES)
            and not is_secret(key)
            and key not in _NOTE_ONLY_KEYS
        }
        self._key_set = frozenset(self._params)
        self._by_group: dict[str, list[str]] = {}
        for key, info in self._params.items():
            self._by_group.setdefault(info.group, []).append(key)
        self._similar: dict[tuple[str, int, float], list[str]] = {}
        # (key, value) pairs known to fit: a folder of a thousand devices repeats the same few
        # values, so each is checked once. Never secrets (not typed), bounded in size.
        self._fitting: set[tuple[str, str]] = set()
        self._haystacks = {
            key: f"{key} {info.description}".lower() for key, info in self._params.items()
        }

    @classmethod
    def load(cls, path: Path | str | None = None) -> Catalog:
        """The catalog in ``path``; without one, the bundled catalog (read once, then cached)."""
        if path is None:
            return _bundled()
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise CatalogError(f"{path}: cannot read the catalog ({error.strerror})") from None
        return cls.from_tsv(text)

    @classmethod
    def from_tsv(cls, text: str) -> Catalog:
        """Parse the catalog's TSV form (see :meth:`to_tsv`)."""
        params = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != len(_COLUMNS):
                raise CatalogError(f"catalog line {number}: expected {len(_COLUMNS)} columns")
            key, group, kind, choices, observed, description = fields
            try:
                param_type = ParamType(kind)
            except ValueError:
                raise CatalogError(f"catalog line {number}: unknown type {kind!r}") from None
            params.append(
                ParamInfo(key, group, param_type, description, _split(choices), _split(observed))
            )
        return cls(params)

    def to_tsv(self, header: str = "") -> str:
        """The TSV form: ``#`` comment lines, then one parameter per line, columns tab-separated.

        ``choices`` and ``observed`` are ``|``-separated; ``''`` stands for the empty value.
        """
        out = [f"# {line}".rstrip() for line in header.splitlines()]
        out.append("# " + "\t".join(_COLUMNS))
        for info in self._params.values():
            values = info.choices + info.observed
            if any(_SEPARATOR in value or value == _EMPTY for value in values):
                raise CatalogError(f"{info.key}: a value holds {_SEPARATOR!r} or is {_EMPTY!r}")
            fields = (
                info.key,
                info.group,
                str(info.type),
                _join(info.choices),
                _join(info.observed),
                info.description,
            )
            if any("\t" in f or "\n" in f for f in fields):
                raise CatalogError(f"{info.key}: a field holds a tab or a line break")
            out.append("\t".join(fields))
        return "\n".join(out) + "\n"

    def get(self, key: str) -> ParamInfo | None:
        """What is known about ``key``, or None for a key not in the catalog."""
        return self._params.get(key)

    def key_set(self) -> frozenset[str]:
        """Every key, as a set."""
        return self._key_set

    def keys(self) -> list[str]:
        """Every key, sorted."""
        return list(self._params)

    def groups(self) -> list[str]:
        """Every group (``prov``, ``sip``, ...), sorted."""
        return sorted({info.group for info in self._params.values()})

    def search(self, text: str) -> list[ParamInfo]:
        """Parameters whose key or description holds every word of ``text`` (any case).

        An exact key comes first, then keys starting with the first word, then keys holding
        every word, then matches in the description only.
        """
        words = text.lower().split()
        if not words:
            return []
        exact = text.strip().lower()
        ranked = []
        for key, haystack in self._haystacks.items():
            if not all(word in haystack for word in words):
                continue
            lowered = key.lower()
            if lowered == exact:
                rank = 0
            elif lowered.startswith(words[0]):
                rank = 1
            elif all(word in lowered for word in words):
                rank = 2
            else:
                rank = 3
            ranked.append((rank, key))
        return [self._params[key] for _, key in sorted(ranked)]

    def validate(self, key: str, value: str) -> str | None:
        """Why ``value`` does not fit ``key``, or None (always None for text, secrets, unknowns)."""
        info = self._typed.get(key)
        return None if info is None else info.check(value)

    def similar(self, key: str, limit: int = 3, cutoff: float = _SIMILAR_CUTOFF) -> list[str]:
        """Known keys spelt like ``key`` (any case), closest first: the "did you mean" list.

        A typo rarely hits the group (``prov.``, ``sip.``): the keys of ``key``'s group are the
        candidates when it has any, else every key. Remembered per key, since a folder check asks
        for the same misspelt key in every device file.
        """
        lowered = key.lower()
        memo = (lowered, limit, cutoff)
        found = self._similar.get(memo)
        if found is None:
            group = lowered.partition(".")[0]
            candidates = self._by_group.get(group) or self._params
            found = difflib.get_close_matches(lowered, candidates, n=limit, cutoff=cutoff)
            if len(self._similar) < _SIMILAR_LIMIT:
                self._similar[memo] = found
        return list(found)

    def problems(self, values: Mapping[str, str]) -> dict[str, str]:
        """Key -> why its value does not fit, for each pair of ``values`` that does not fit."""
        typed, fitting = self._typed, self._fitting
        found = {}
        for key in values.keys() & typed.keys():
            value = values[key]
            if (key, value) in fitting:
                continue
            if problem := typed[key].check(value):
                found[key] = problem
            elif len(fitting) < _FITTING_LIMIT:
                fitting.add((key, value))
        return found

    def __contains__(self, key: object) -> bool:
        return key in self._params

    def __iter__(self) -> Iterator[ParamInfo]:
        return iter(self._params.values())

    def __len__(self) -> int:
        return len(self._params)


def _sync_time(value: str) -> str | None:
    if not value or _TIME.fullmatch(value):
        return None
    return f"must be a time HH:mm:ss such as 02:30:00 (guide §2), not {value!r}"


def _weekdays(value: str) -> str | None:
    items = value.split(",")
    if items and items[-1] == "":  # the trailing comma devices write
        items.pop()
    if all(item.strip() in _WEEKDAY_ITEMS for item in items):
        if len({item.strip() for item in items}) == len(items):
            return None
        return f"names a weekday twice ({value!r})"
    return f"must be weekdays 1-7 separated by commas, such as 1,2,3,4,5, (not {value!r})"


# Values whose form is known: the sync times' (guide §2: HH:mm:ss) and the weekday list's (seen
# in backups). The frequency has none: the guide offers "daily" or chosen weekdays but publishes
# no value for the latter (domain.md: an open point accepts every variant).
_FORM_RULES: dict[str, Callable[[str], str | None]] = {
    "prov.sync.time": _sync_time,
    "prov.sync.endtime": _sync_time,
    "prov.sync.wdays": _weekdays,
}


def catalog_path() -> Path:
    """Where the bundled catalog is: the wheel's ``_resources`` or the checkout's ``resources``."""
    found = resources.resource_path(CATALOG_FILE)
    if found is not None:
        return found
    tried = ", ".join(str(folder) for folder in resources.SEARCH_PATH)
    raise CatalogError(f"{CATALOG_FILE} not found (looked in {tried})")


@functools.cache
def _bundled() -> Catalog:
    return Catalog.load(catalog_path())


def is_secret(key: str) -> bool:
    """Whether ``key`` holds a secret, for any key (in the catalog or not; domain.md §6)."""
    lowered = key.lower()
    if lowered in _SECRET_KEYS:
        return True
    # A numbered spelling ("sip.pwd2") is the same secret as the plain one.
    last = lowered.rpartition(".")[2].rstrip("0123456789")
    return last in _SECRET_LAST_PARTS or last.endswith(_SECRET_SUFFIXES)


def mask(value: str) -> str:
    """``value`` hidden: a fixed-width mask that gives away neither content nor length.

    An empty value stays empty, so "no password set" remains visible.
    """
    return MASK if value else ""


def validate(key: str, value: str) -> str | None:
    """Why ``value`` does not fit ``key`` per the bundled catalog, or None when it fits."""
    return Catalog.load().validate(key, value)


def _split(field: str) -> tuple[str, ...]:
    if not field:
        return ()
    return tuple("" if item == _EMPTY else item for item in field.split(_SEPARATOR))


def _join(values: tuple[str, ...]) -> str:
    return _SEPARATOR.join(_EMPTY if value == "" else value for value in values)
