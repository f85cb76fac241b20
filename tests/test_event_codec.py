"""Event <-> JSON round trips: every event type, exact types restored, bad input refused."""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from dataclasses import fields
from enum import Enum
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from algodesk.core import events
from algodesk.core.event_codec import (
    EVENT_TYPES,
    EventDecodeError,
    _decode_general,
    _fast_decoder,
    event_from_dict,
    event_from_json,
    event_to_json,
)
from algodesk.core.events import (
    Event,
    LeaseGranted,
    RefusalReason,
    RequestRefused,
    ServiceNotice,
    Source,
    TransferStarted,
)
from algodesk.core.masking import MASK, mask_fields

ALL_TYPES = [
    obj
    for obj in vars(events).values()
    if isinstance(obj, type) and issubclass(obj, Event) and obj is not Event
]

# lone surrogates included: file names decoded with surrogateescape carry them
_texts = st.text(st.characters(exclude_categories=()), max_size=40)
_finite = st.floats(allow_nan=False, allow_infinity=False)


def _strategy(hint: Any) -> st.SearchStrategy[Any]:
    """Values for a field hint, written independently of the codec's own hint walk."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType:
        (inner,) = [a for a in args if a is not type(None)]
        return st.none() | _strategy(inner)
    if origin is tuple and args[-1] is Ellipsis:
        return st.lists(_strategy(args[0]), max_size=4).map(tuple)
    if origin is tuple:
        return st.tuples(*(_strategy(a) for a in args))
    if origin is Mapping:
        return st.dictionaries(_texts, _texts, max_size=4).map(types.MappingProxyType)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(list(hint))
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: _texts,
        int: st.integers(min_value=-(2**63), max_value=2**63 - 1),
        float: _finite,
        bool: st.booleans(),
    }
    return simple[hint]


def _events_of(cls: type[Event]) -> st.SearchStrategy[Event]:
    hints = typing.get_type_hints(cls)
    return st.builds(cls, **{f.name: _strategy(hints[f.name]) for f in fields(cls)})


any_event = st.one_of([_events_of(cls) for cls in ALL_TYPES])


def test_every_event_type_has_a_kind_the_codec_knows() -> None:
    assert len(ALL_TYPES) >= 12
    for cls in ALL_TYPES:
        kinds = [kind for kind, known in EVENT_TYPES.items() if known is cls]
        assert kinds, f"{cls.__name__} cannot be decoded"


@given(any_event)
def test_round_trip_is_exact(event: Event) -> None:
    # Exact for every event that holds no secret; one that does is masked (the test below).
    assume(mask_fields(event.to_dict()) == event.to_dict())
    text = event_to_json(event)
    assert text.isascii() and "\n" not in text
    back = event_from_json(text)
    assert back == event
    assert type(back) is type(event)
    for f in fields(event):
        mine, theirs = getattr(event, f.name), getattr(back, f.name)
        assert type(theirs) is type(mine), f.name
        if isinstance(mine, tuple):
            assert [type(v) for v in theirs] == [type(v) for v in mine]
    # the bytes are stable: encoding the decoded event gives the same line
    assert event_to_json(back) == text


def test_a_secret_is_masked_on_the_way_out_and_the_rest_round_trips() -> None:
    """Hypothesis once drew a TFTP option named PASSWORD: the line must not carry its value."""
    event = events.RequestReceived(
        time=1.0,
        client=("127.0.0.1", 1069),
        filename="algop8186.conf",
        operation="read",
        options=types.MappingProxyType({"PASSWORD": "hunter2", "blksize": "1428"}),
    )
    text = event_to_json(event)
    assert "hunter2" not in text
    back = event_from_json(text)
    assert isinstance(back, events.RequestReceived)
    assert dict(back.options) == {"PASSWORD": MASK, "blksize": "1428"}
    assert back.filename == event.filename and back.client == event.client


@given(any_event)
def test_json_is_the_to_dict_form(event: Event) -> None:
    assume(mask_fields(event.to_dict()) == event.to_dict())  # a secret is masked (see above)
    assert json.loads(event_to_json(event)) == event.to_dict()
    assert event_from_dict(event.to_dict()) == event


def test_restores_enums_addresses_and_mappings() -> None:
    line = (
        '{"event":"transfer-started","time":12.5,"transfer_id":3,"client":["::1",50123],'
        '"requested":"ALGOP8186.conf","served":"algop8186.conf","source":"auto-md5","size":10,'
        '"options":{"blksize":"1468"},"case_fallback":true,"md5":"ab"}'
    )
    event = event_from_json(line)
    assert isinstance(event, TransferStarted)
    assert event.client == ("::1", 50123) and isinstance(event.client, tuple)
    assert event.source is Source.AUTO_MD5
    assert isinstance(event.options, types.MappingProxyType)
    assert dict(event.options) == {"blksize": "1468"}
    with pytest.raises(TypeError):
        event.options["x"] = "y"  # type: ignore[index]


def test_optional_address_and_defaults() -> None:
    notice = event_from_json(
        '{"event":"notice","service":"tftp","level":"warning","code":"c","message":"m","time":1}'
    )
    assert isinstance(notice, ServiceNotice)
    assert notice.client is None
    assert notice.time == 1.0 and isinstance(notice.time, float)
    lease = event_from_dict(
        {
            "event": "lease",
            "mac": "0022EE010203",
            "ip": "10.0.0.9",
            "lease_seconds": 60,
            "time": 2.0,
        }
    )
    assert isinstance(lease, LeaseGranted) and dict(lease.options) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"event": "teleported"}', "unknown event kind"),
        ('{"time": 1}', "unknown event kind"),
        ('{"event":"refused","time":1,"client":["a",1],"filename":"f"}', "missing field"),
        ('{"event":"refused","time":1,"client":["a",1],"filename":"f","reason":"bored"}', "reason"),
        ('{"event":"refused","time":1,"client":["a"],"filename":"f","reason":"access"}', "client"),
        (
            '{"event":"refused","time":1,"client":["a",true],"filename":"f","reason":"access"}',
            "client",
        ),
        (
            '{"event":"refused","time":"1","client":["a",1],"filename":"f","reason":"access"}',
            "time",
        ),
        (
            '{"event":"refused","time":1,"client":["a",1],"filename":"f","reason":"access","x":1}',
            "unknown fields",
        ),
        (
            '{"event":"request","time":1,"client":["a",1],"filename":"f","options":{"a":1}}',
            "options",
        ),
    ],
)
def test_refuses_bad_input(text: str, message: str) -> None:
    with pytest.raises(EventDecodeError, match=message):
        event_from_json(text)


@given(any_event)
def test_the_fast_path_decodes_as_the_general_one(event: Event) -> None:
    # History decodes through the fast path (written out per class); the general one holds the
    # rules. They agree on everything a writer produces, older field orders included.
    data = json.loads(json.dumps(event.to_dict()))
    general = _decode_general(type(event), event.kind, data)
    assert _fast_decoder(type(event))(data) == general == event
    reordered = dict(reversed(list(data.items())))
    assert _fast_decoder(type(event))(reordered) == general


@pytest.mark.parametrize(
    "text",
    [
        '{"event":"refused","time":1,"client":["a",1],"filename":"f","reason":"bored"}',
        '{"event":"refused","time":1,"client":["a",true],"filename":"f","reason":"access"}',
        '{"event":"refused","time":"1","client":["a",1],"filename":"f","reason":"access"}',
        '{"event":"refused","time":true,"client":["a",1],"filename":"f","reason":"access"}',
        '{"event":"transfer-finished","time":1,"transfer_id":1,"client":["a",1],"served":"f",'
        '"bytes_sent":1,"duration":1,"retransmissions":false}',
        '{"event":"request","time":1,"client":["a",1],"filename":"f","operation":"read",'
        '"options":{"a":1}}',
    ],
)
def test_the_fast_path_leaves_wrong_shapes_to_the_general_one(text: str) -> None:
    data = json.loads(text)
    assert _fast_decoder(EVENT_TYPES[data["event"]])(data) is None
    with pytest.raises(EventDecodeError):
        event_from_dict(data)


def test_refused_reason_values_round_trip() -> None:
    for reason in RefusalReason:
        event = RequestRefused(time=0.0, client=("127.0.0.1", 69), filename="x", reason=reason)
        assert event_from_json(event_to_json(event)) == event
