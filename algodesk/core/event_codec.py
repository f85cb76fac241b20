"""Events to JSON and back, exactly: enums, addresses (tuples) and mappings are restored.

The JSON form is ``Event.to_dict()``: the kind name under ``"event"`` plus every field. Decoding
walks each field's type hint, so a new event type or field needs no change here as long as it
uses the same building blocks (str, int, float, bool, enums, tuples, string mappings, optionals).
"""

from __future__ import annotations

import json
import json.scanner
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from enum import Enum
from types import MappingProxyType
from typing import Any

# The kind table is the events module's own; reusing it keeps one source for the names.
from algodesk.core.events import _KIND_BY_TYPE, Event
from algodesk.core.masking import mask_fields


class EventDecodeError(ValueError):
    """The text or dict is not an event this version understands."""


_Convert = Callable[[Any], Any]


def _subclasses(cls: type[Event]) -> list[type[Event]]:
    found: list[type[Event]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def _event_types() -> Mapping[str, type[Event]]:
    # An event type missing from the kind table is named by its class, as Event.kind does.
    table = {sub.__name__: sub for sub in _subclasses(Event)}
    table.update({kind: cls for cls, kind in _KIND_BY_TYPE.items()})
    return MappingProxyType(table)


EVENT_TYPES: Mapping[str, type[Event]] = _event_types()
"""Every event class by its kind name (``"transfer-started"`` -> TransferStarted)."""


def event_to_json(event: Event) -> str:
    """One compact line of JSON; ASCII only, so odd file names survive any storage.

    Secrets in any text field are masked (a DHCP option, a syslog line or an error may hold one,
    domain.md §2): this line is what history stores.
    """
    return json.dumps(mask_fields(event.to_dict()), separators=(",", ":"))


def event_from_json(text: str | bytes) -> Event:
    """The event that ``event_to_json`` wrote.

    Raises:
        EventDecodeError: not JSON, an unknown kind, or fields of the wrong shape.
    """
    data = _compact_json(text) if type(text) is str else _NOT_COMPACT
    if data is _NOT_COMPACT:
        try:
            data = json.loads(text)
        except ValueError as error:
            raise EventDecodeError(f"not JSON: {error}") from None
    return event_from_dict(data)


_NOT_COMPACT = object()
_scan_json: Callable[[str, int], tuple[Any, int]] = json.scanner.make_scanner(
    json.JSONDecoder()  # type: ignore[arg-type]  # typeshed types the class, not its argument
)


def _compact_json(text: str) -> Any:
    """The value of a line as ``event_to_json`` writes it, read by the C scanner directly;
    ``_NOT_COMPACT`` for anything else (whitespace around it, not JSON), which ``json.loads``
    then reads or explains. Its wrappers cost two regular expressions and three calls per line:
    over a second of a bench day's export."""
    try:
        value, end = _scan_json(text, 0)
    except (StopIteration, ValueError):
        return _NOT_COMPACT
    return value if end == len(text) else _NOT_COMPACT


def event_from_dict(data: Any) -> Event:
    """The event described by a ``to_dict()`` mapping.

    Fields missing from ``data`` take their defaults (older writers); unknown fields are refused.

    Raises:
        EventDecodeError: an unknown kind, a missing required field, an unknown field or a value
            of the wrong shape.
    """
    if type(data) is not dict and not isinstance(data, Mapping):
        raise EventDecodeError(f"an event is a JSON object, not {type(data).__name__}")
    kind = data.get("event")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise EventDecodeError(f"unknown event kind {kind!r}")
    fast = _FAST.get(cls)
    if fast is None:
        fast = _FAST[cls] = _fast_decoder(cls)
    event = fast(data)
    return event if event is not None else _decode_general(cls, str(kind), data)


def _decode_general(cls: type[Event], kind: str, data: Mapping[str, Any]) -> Event:
    """Decode ``data`` field by field: defaults for missing fields, errors that say what is
    wrong (the fast path, ``_fast_decoder``, hands everything unusual here)."""
    converters, required, scalars = _shape(cls)
    values: dict[str, Any] = {}
    # One pass over what is there; a plain str/int/float field is checked inline (a history
    # export decodes ~850,000 events for a 100,000-boot day: a call per field costs seconds).
    for name, value in data.items():
        plain = scalars.get(name)
        if plain is not None and type(value) is plain:
            values[name] = value
            continue
        convert = converters.get(name)
        if convert is None:
            if name == "event":
                continue
            unknown = sorted(set(data) - set(converters) - {"event"})
            raise EventDecodeError(f"{kind}: unknown fields {unknown}")
        try:
            values[name] = convert(value)
        except (TypeError, ValueError) as error:
            raise EventDecodeError(f"{kind}.{name}: {error}") from None
    missing = required - values.keys()
    if missing:
        raise EventDecodeError(f"{kind}: missing field {sorted(missing)[0]!r}")
    return cls(**values)


_FAST: dict[type[Event], Callable[[Mapping[str, Any]], Event | None]] = {}


def _fast_decoder(cls: type[Event]) -> Callable[[Mapping[str, Any]], Event | None]:
    """A decoder for the common case, written out for ``cls``: every field present, each value
    of exactly its type. It returns None for anything else, and ``event_from_dict``'s general
    path then decodes it or says what is wrong.

    Generated once per class (as ``dataclasses`` writes ``__init__``): a history export
    decodes ~850,000 events, and the general path's lookups per field cost seconds there.
    """
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    env: dict[str, Any] = {"_cls": cls}
    lines = [
        "def decode(data):",
        f"    if len(data) != {len(names) + 1}:",
        "        return None",
        "    try:",
    ]
    lines += [f"        v{i} = data[{name!r}]" for i, name in enumerate(names)]
    lines += ["    except KeyError:", "        return None"]
    for i, name in enumerate(names):
        lines += [f"    {line}" for line in _fast_check(f"v{i}", hints[name], env, f"c{i}")]
    arguments = ", ".join(f"{name}=v{i}" for i, name in enumerate(names))
    lines.append(f"    return _cls({arguments})")
    namespace: dict[str, Any] = {}
    exec("\n".join(lines), env, namespace)  # our own text, built above from the field types
    decode: Callable[[Mapping[str, Any]], Event | None] = namespace["decode"]
    return decode


def _fast_check(var: str, hint: Any, env: dict[str, Any], helper: str) -> list[str]:
    """Lines that leave ``var`` decoded for ``hint`` or return None."""
    if hint is float:  # an int is a fine float (``1`` for ``1.0``); a bool is not
        return [
            f"if type({var}) is not float:",
            f"    if type({var}) is not int:",
            "        return None",
            f"    {var} = float({var})",
        ]
    if hint in (str, int, bool):
        return [f"if type({var}) is not {hint.__name__}:", "    return None"]
    if hint == tuple[str, int]:  # an address, as nearly every event has
        return [
            f"if (type({var}) is not list or len({var}) != 2 or type({var}[0]) is not str"
            f" or type({var}[1]) is not int):",
            "    return None",
            f"{var} = ({var}[0], {var}[1])",
        ]
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (types.UnionType, typing.Union) and len(args) == 2:
        inner = next(arg for arg in args if arg is not type(None))
        if inner in (str, int, bool) or inner == tuple[str, int]:
            checked = _fast_check(var, inner, env, helper)
            return [f"if {var} is not None:", *(f"    {line}" for line in checked)]
    env[helper] = _converter(hint)  # enums, mappings, tuples: the general converter
    return [
        "try:",
        f"    {var} = {helper}({var})",
        "except (TypeError, ValueError):",
        "    return None",
    ]


class _Shape(typing.NamedTuple):
    converters: dict[str, _Convert]
    required: frozenset[str]
    scalars: dict[str, type]
    """Fields of a plain ``str``, ``int`` or ``float`` type: the value's exact type passes."""


_SHAPES: dict[type[Event], _Shape] = {}


def _shape(cls: type[Event]) -> _Shape:
    """Each field's converter and which fields have no default (worked out once per class)."""
    shape = _SHAPES.get(cls)
    if shape is None:
        hints = typing.get_type_hints(cls)
        shape = _Shape(
            {f.name: _converter(hints[f.name]) for f in fields(cls)},
            frozenset(
                f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
            ),
            {f.name: hints[f.name] for f in fields(cls) if hints[f.name] in (str, int, float)},
        )
        _SHAPES[cls] = shape
    return shape


def _converter(hint: Any) -> _Convert:
    """A function that checks a decoded JSON value against ``hint`` and rebuilds it."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return _optional(hint, args)
    if origin is tuple:
        return _tuple(args)
    if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping):
        return _mapping(args)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint
    if hint in (str, int, float, bool):
        return _scalar(hint)
    raise TypeError(f"no JSON decoding for {hint!r}")


def _scalar(hint: type) -> _Convert:
    def convert(value: Any) -> Any:
        # bool is an int to Python but not to JSON; an int is a fine float (``1`` for ``1.0``).
        if hint is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if type(value) is not hint:
            raise TypeError(f"expected {hint.__name__}, got {type(value).__name__}")
        return value

    return convert


def _optional(hint: Any, args: tuple[Any, ...]) -> _Convert:
    others = [arg for arg in args if arg is not type(None)]
    if len(others) != 1 or len(args) != 2:
        raise TypeError(f"no JSON decoding for {hint!r}")
    inner = _converter(others[0])
    return lambda value: None if value is None else inner(value)


def _tuple(args: tuple[Any, ...]) -> _Convert:
    if len(args) == 2 and args[1] is Ellipsis:
        item = _converter(args[0])
        return lambda value: tuple(item(part) for part in _list(value))
    items = [_converter(arg) for arg in args]
    address = tuple(args) == (str, int)

    def convert(value: Any) -> tuple[Any, ...]:
        if (  # an address (host, port), as nearly every event has: checked inline
            address
            and type(value) is list
            and len(value) == 2
            and type(value[0]) is str
            and type(value[1]) is int
        ):
            return (value[0], value[1])
        parts = _list(value)
        if len(parts) != len(items):
            raise ValueError(f"expected {len(items)} items, got {len(parts)}")
        return tuple(item(part) for item, part in zip(items, parts, strict=True))

    return convert


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


_EMPTY: Mapping[Any, Any] = MappingProxyType({})


def _mapping(args: tuple[Any, ...]) -> _Convert:
    key, item = (_converter(arg) for arg in args)

    def convert(value: Any) -> Mapping[Any, Any]:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        if not value:
            return _EMPTY  # most requests carry no options: one shared, read-only, empty map
        return MappingProxyType({key(k): item(v) for k, v in value.items()})

    return convert
