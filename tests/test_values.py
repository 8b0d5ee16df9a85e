"""
Tests for cio_async._values: coercion, encoding, timestamps, ULIDs and limits.
"""

from __future__ import annotations

import calendar
import dataclasses
import enum
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cio_async import _ulid, _values
from cio_async._errors import (
    InvalidArgumentError,
    InvalidTypeError,
    PayloadTooLargeError,
)
from cio_async._ulid import new_ulid
from cio_async._values import (
    MAX_ATTRIBUTE_NAME_BYTES,
    MAX_ATTRIBUTE_VALUE_BYTES,
    MAX_ATTRIBUTES,
    MAX_DEPTH,
    MAX_EVENT_NAME_BYTES,
    MAX_ID_BYTES,
    check_attributes,
    check_data,
    check_identifier,
    check_name,
    coerce,
    encode,
    to_unix_seconds,
)

# Looks like a credential or personal data: it must never reach a message.
SECRET = "sk_live_7Hq2SECRETvalue9Zx"
NEW_YORK = ZoneInfo("America/New_York")
NOW = 1_710_072_000  # 2024-03-10 12:00 UTC
ULID_PATTERN = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

TRACK_DATA: dict[str, Any] = {
    "order_id": "A-1001",
    "total": 42.5,
    "currency": "EUR",
    "items": [
        {"sku": "X1", "qty": 2, "price": 9.99},
        {"sku": "Y2", "qty": 1, "price": 23.52},
    ],
    "coupon": None,
    "shipping": {"method": "express", "country": "DE"},
}


class Color(enum.Enum):
    RED = "red"
    PAIR = (1, 2)
    NOT_A_NUMBER = float("nan")


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mood(str, enum.Enum):
    HAPPY = "happy"
    BROKEN = "bro\ud800ken"


@attrs.define
class AttrsBox:
    label: object
    content: object


@dataclasses.dataclass
class DataBox:
    label: object
    content: object


class Opaque:
    def __repr__(self) -> str:
        return SECRET


class Label(str):
    pass


class Count(int):
    pass


class Ratio(float):
    pass


def strict_loads(encoded: bytes) -> Any:
    """
    Parse JSON, refusing the non-standard NaN and Infinity constants.
    """

    def refuse(name: str) -> Any:
        raise AssertionError(f"non-strict JSON constant {name}")

    return json.loads(encoded, parse_constant=refuse)


def stdlib_json(value: object) -> bytes:
    """
    Encode the way the module promises to, with the standard library directly.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


# -- The documented coercion, written again independently ---------------------------


class Rejected(Exception):
    """
    The rejection the documented rules predict: its error type and path.
    """

    def __init__(
        self, kind: type[InvalidArgumentError | InvalidTypeError], path: str
    ) -> None:
        super().__init__(kind.__name__, path)
        self.kind = kind
        self.path = path


def has_surrogate(text: str) -> bool:
    """
    Tell whether a string holds a code point in the surrogate range.
    """
    return any(0xD800 <= ord(char) <= 0xDFFF for char in text)


def key_step(key: str) -> str:
    """
    Write a key as the docstring says: .name for identifiers, else ["quoted"].
    """
    return (
        f".{key}" if key.isidentifier() else f"[{json.dumps(key, ensure_ascii=False)}]"
    )


def documented(value: Any, path: str) -> Any:
    """
    Coerce a value by the module docstring's table, or raise Rejected.
    """
    if isinstance(value, enum.Enum):
        return documented(value.value, path)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if has_surrogate(value):
            raise Rejected(InvalidArgumentError, path)
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**64:
            raise Rejected(InvalidArgumentError, path)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Rejected(InvalidArgumentError, path)
        return value
    if isinstance(value, datetime):
        return calendar.timegm(value.utctimetuple())
    if isinstance(value, date):
        return calendar.timegm(value.timetuple())
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise Rejected(InvalidArgumentError, path)
        exact = Fraction(value)
        if exact.denominator == 1:
            return documented(int(exact), path)
        if not math.isfinite(float(exact)):
            raise Rejected(InvalidArgumentError, path)
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise Rejected(InvalidTypeError, path)
    if isinstance(value, (list, tuple)):
        return [documented(item, f"{path}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [documented(item, f"{path}[{i}]") for i, item in enumerate(value)]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, Mapping):
        return documented_mapping(value, path)
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return documented_mapping(
            {f.name: getattr(value, f.name) for f in fields}, path
        )
    if dataclasses.is_dataclass(value):
        fields = dataclasses.fields(value)
        return documented_mapping(
            {f.name: getattr(value, f.name) for f in fields}, path
        )
    raise Rejected(InvalidTypeError, path)


def documented_mapping(mapping: Mapping[Any, Any], path: str) -> dict[str, Any]:
    """
    Coerce a mapping by the table: str keys only, values coerced in order.
    """
    result = {}
    for key, item in mapping.items():
        if not isinstance(key, str):
            raise Rejected(InvalidTypeError, path)
        if has_surrogate(key):
            raise Rejected(InvalidArgumentError, path)
        name = key.value if isinstance(key, enum.Enum) else key
        result[name] = documented(item, path + key_step(name))
    return result


def predict(value: Any, path: str) -> Any:
    """
    The documented JSON for a value, or the Rejected it predicts.
    """
    try:
        return documented(value, path)
    except Rejected as rejected:
        return rejected


STEP = re.compile(r'\.(?P<name>\w+)|\[(?P<index>\d+)\]|\[(?P<key>"(?:[^"\\]|\\.)*")\]')


def navigate(root: Any, path: str, argument: str) -> Any:
    """
    Follow an error path from the argument to the value it names.
    """
    assert path.startswith(argument)
    rest = path[len(argument) :]
    value = root
    while rest:
        while isinstance(value, enum.Enum):
            value = value.value
        step = STEP.match(rest)
        assert step is not None, f"cannot read path step {rest!r}"
        rest = rest[step.end() :]
        if step["index"] is not None:
            value = list(value)[int(step["index"])]
            continue
        name = step["name"] if step["name"] is not None else json.loads(step["key"])
        value = value[name] if isinstance(value, Mapping) else getattr(value, name)
    while isinstance(value, enum.Enum):
        value = value.value
    return value


def is_bad_here(value: object, kind: type[Exception]) -> bool:
    """
    Tell whether a value is itself the reason for an error of the given type.
    """
    if attrs.has(type(value)) or dataclasses.is_dataclass(value):
        return False
    if isinstance(value, Mapping):
        keys = list(value)
        if kind is InvalidTypeError:
            return any(not isinstance(key, str) for key in keys)
        return any(isinstance(key, str) and has_surrogate(key) for key in keys)
    if kind is InvalidArgumentError:
        if isinstance(value, str):
            return has_surrogate(value)
        if isinstance(value, float):
            return not math.isfinite(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return not -(2**63) <= value < 2**64
        if isinstance(value, Decimal):
            return not value.is_finite() or not -(2**63) <= value < 2**64
        return False
    supported = (str, int, float, list, tuple, set, frozenset, date, Decimal, uuid.UUID)
    return value is not None and not isinstance(value, supported)


# -- Strategies ---------------------------------------------------------------------

any_char = st.characters() | st.characters(categories=["Cs"])
texts = st.text(any_char, max_size=6)
names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)
keys = names | texts
zones = st.timezones() | st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)),
)
# Years 2-9998: the test's own conversion (utctimetuple) overflows at the very ends.
datetimes = st.datetimes(
    min_value=datetime(2, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.one_of(st.none(), zones),
)
decimals = st.decimals(allow_nan=True, allow_infinity=True)
opaque_values = st.sampled_from(
    [object(), 1j, len, range(3), timedelta(1), Opaque(), Color]
) | st.builds(Opaque)
byte_values = st.binary(max_size=4).flatmap(
    lambda raw: st.sampled_from([raw, bytearray(raw), memoryview(raw)])
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    texts,
    datetimes,
    st.dates(),
    decimals,
    st.uuids(),
    st.sampled_from([*Color, *Level, *Mood]),
)
# Set members must hash: no signaling-NaN Decimals, no mutable containers.
hashable_scalars = st.one_of(
    scalars.filter(lambda v: not (isinstance(v, Decimal) and v.is_snan())),
    st.binary(max_size=3),
    opaque_values,
)
hashables = st.recursive(
    hashable_scalars,
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=6,
)
odd_keys = st.one_of(
    st.integers(),
    st.none(),
    st.booleans(),
    st.binary(max_size=2),
    st.sampled_from([*Level, *Mood]),
)


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """
    Every container the table names, holding values from ``children``.
    """
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.sets(hashables, max_size=4),
        st.frozensets(hashables, max_size=3),
        st.dictionaries(keys, children, max_size=4),
        st.dictionaries(keys | odd_keys, children, max_size=3),
        st.dictionaries(keys, children, max_size=3).map(MappingProxyType),
        st.builds(AttrsBox, children, children),
        st.builds(DataBox, children, children),
    )


anything = st.recursive(
    scalars | byte_values | opaque_values, containers, max_leaves=16
)

# Integers JSON readers hold: 64 bits, signed or not.
ints64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)

good_scalars = st.one_of(
    st.none(),
    st.booleans(),
    ints64,
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    datetimes,
    st.dates(),
    st.decimals(
        allow_nan=False, allow_infinity=False, min_value=-(10**18), max_value=10**18
    ),
    st.uuids(),
    st.sampled_from([Color.RED, Color.PAIR, *Level, Mood.HAPPY]),
)
good_values = st.recursive(
    good_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.sets(ints64 | st.text(max_size=3), max_size=4),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
        st.builds(AttrsBox, children, children),
        st.builds(DataBox, children, children),
    ),
    max_leaves=16,
)
plain_json = st.recursive(
    st.none()
    | st.booleans()
    | ints64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class TestCoerce:
    @PROPERTY
    @given(anything)
    def test_any_value_is_strict_json_or_rejected_at_its_path(self, value: Any) -> None:
        """Each value becomes the documented JSON or is refused at the bad field."""
        predicted = predict(value, "data")
        if isinstance(predicted, Rejected):
            with pytest.raises(predicted.kind) as caught:
                coerce(value, "data")

            assert type(caught.value) is predicted.kind
            assert caught.value.argument == predicted.path
            target = navigate(value, caught.value.argument, "data")
            assert is_bad_here(target, predicted.kind)
            return

        encoded = encode(coerce(value, "data"))

        assert strict_loads(encoded) == predicted
        assert encoded == stdlib_json(predicted)

    @PROPERTY
    @given(anything)
    def test_the_fast_path_agrees_with_the_full_check(self, value: Any) -> None:
        """encode_native gives the full check's bytes, or defers; it never accepts
        what the full check refuses."""
        item = {"type": "person", "attributes": {"data": value}}
        fast = _values.encode_native(item)
        if fast is None:
            return

        assert fast == encode(coerce(item, "item"))

    @PROPERTY
    @given(good_values)
    def test_supported_values_always_encode_as_documented(self, value: Any) -> None:
        """Values built only of the table's accepted types encode as documented."""
        encoded = encode(coerce(value, "data"))

        assert encoded == stdlib_json(documented(value, "data"))

    @PROPERTY
    @given(plain_json)
    def test_plain_json_comes_back_as_the_same_object(self, value: Any) -> None:
        """A value that needs no change is returned itself, not a copy."""
        assert coerce(value, "data") is value

    @settings(PROPERTY, max_examples=100)
    @given(st.dictionaries(st.text(max_size=6), good_values, max_size=5))
    def test_coercion_never_mutates_its_input(self, value: dict[str, Any]) -> None:
        """Coercing leaves the caller's structure exactly as it was."""
        before = repr(value)

        coerce(value, "data")

        assert repr(value) == before

    def test_typical_event_data_is_returned_unchanged(self) -> None:
        """Event data of plain JSON types is walked and returned as the same object."""
        assert coerce(TRACK_DATA, "data") is TRACK_DATA

    def test_aware_datetime_is_converted_through_utc(self) -> None:
        """An aware datetime becomes the unix seconds of the same instant."""
        moment = datetime(2024, 3, 10, 12, tzinfo=NEW_YORK)

        assert coerce(moment, "data") == 1_710_086_400

    def test_naive_datetime_is_taken_as_utc(self) -> None:
        """A naive datetime is read as UTC wall time."""
        assert coerce(datetime(2024, 3, 10, 12), "data") == 1_710_072_000

    def test_fractions_of_a_second_are_rounded_down(self) -> None:
        """Microseconds are dropped toward the past, also before 1970."""
        after = datetime(2024, 3, 10, 12, 0, 0, 999_999)
        before = datetime(1969, 12, 31, 23, 59, 59, 500_000)

        assert coerce([after, before], "data") == [1_710_072_000, -1]

    def test_date_is_its_midnight_utc(self) -> None:
        """A date becomes the unix seconds of its midnight in UTC."""
        assert coerce(date(2024, 3, 10), "data") == 1_710_028_800

    def test_decimals_become_int_or_float(self) -> None:
        """An integral Decimal becomes an int and any other a float."""
        values = [Decimal("42"), Decimal("4.20E+1"), Decimal("-0"), Decimal("9.99")]

        result = coerce(values, "data")

        assert result == [42, 42, 0, 9.99]
        assert [type(v) for v in result] == [int, int, int, float]

    def test_uuid_becomes_its_canonical_string(self) -> None:
        """A UUID becomes its hyphenated lowercase string."""
        value = uuid.UUID("12345678-1234-5678-1234-567812345678")

        assert coerce(value, "data") == "12345678-1234-5678-1234-567812345678"

    def test_enums_become_their_coerced_values(self) -> None:
        """Enum members, IntEnum and str mixins included, become their values."""
        result = coerce([Color.RED, Color.PAIR, Level.HIGH, Mood.HAPPY], "data")

        assert result == ["red", [1, 2], 2, "happy"]
        assert [type(v) for v in result] == [str, list, int, str]

    def test_tuples_become_lists(self) -> None:
        """A tuple becomes a list with its items coerced."""
        assert coerce((1, (2, Decimal("3"))), "data") == [1, [2, 3]]

    def test_sets_are_sorted(self) -> None:
        """A set of comparable items becomes a sorted list, the same on every run."""
        value = {"pear", "apple", "fig"}

        assert coerce(value, "data") == ["apple", "fig", "pear"]
        assert coerce(frozenset({3, 1, 2.5}), "data") == [1, 2.5, 3]

    def test_unsortable_sets_keep_iteration_order(self) -> None:
        """A set whose items cannot be compared keeps its iteration order."""
        value = {1, "one", (2, "two")}

        assert coerce(value, "data") == [documented(item, "") for item in value]

    def test_attrs_instances_become_dicts_of_fields(self) -> None:
        """An attrs instance becomes a dict of its fields, each coerced."""
        value = AttrsBox(label="box", content=date(1970, 1, 2))

        assert coerce(value, "data") == {"label": "box", "content": 86_400}

    def test_dataclass_instances_become_dicts_of_fields(self) -> None:
        """A dataclass instance becomes a dict of its fields, each coerced."""
        value = DataBox(label="box", content=(1, 2))

        assert coerce(value, "data") == {"label": "box", "content": [1, 2]}

    def test_other_mappings_become_dicts(self) -> None:
        """A read-only mapping becomes a plain dict."""
        result = coerce(MappingProxyType({"a": 1}), "data")

        assert result == {"a": 1}
        assert type(result) is dict

    def test_builtin_subclasses_become_the_builtin(self) -> None:
        """Subclasses of str, int and float become plain values, as json writes them."""
        result = coerce([Label("x"), Count(3), Ratio(0.5)], "data")

        assert result == ["x", 3, 0.5]
        assert [type(v) for v in result] == [str, int, float]

    def test_str_enum_keys_become_plain_strings(self) -> None:
        """A str-mixin Enum key becomes its plain string value."""
        result = coerce({Mood.HAPPY: 1}, "data")

        assert result == {"happy": 1}
        assert [type(k) for k in result] == [str]

    def test_a_changed_dict_shares_its_unchanged_parts(self) -> None:
        """Only the path down to a changed value is copied; the rest is shared."""
        value = {
            "before": {"x": [1, 2]},
            "when": datetime(2024, 3, 10, 12),
            "after": {"y": "z"},
        }

        result = coerce(value, "data")

        assert result == {
            "before": {"x": [1, 2]},
            "when": 1_710_072_000,
            "after": {"y": "z"},
        }
        assert result is not value
        assert result["before"] is value["before"]
        assert result["after"] is value["after"]
        assert list(result) == ["before", "when", "after"]

    def test_a_changed_list_keeps_its_order(self) -> None:
        """A list with one changed item is copied in order, sharing the others."""
        inner = {"k": "v"}
        value = [inner, "a", Decimal("1.5"), inner, 7]

        result = coerce(value, "data")

        assert result == [{"k": "v"}, "a", 1.5, {"k": "v"}, 7]
        assert result[0] is inner
        assert result[3] is inner

    def test_nesting_up_to_the_limit_is_accepted(self) -> None:
        """Containers nested exactly MAX_DEPTH deep are accepted."""
        value: Any = "leaf"
        for _ in range(MAX_DEPTH):
            value = [value]

        assert coerce(value, "data") is value

    def test_mixed_nesting_up_to_the_limit_is_accepted(self) -> None:
        """The limit counts every kind of container, tuples and objects included."""
        value: Any = "leaf"
        for level in range(MAX_DEPTH):
            value = (value,) if level % 2 else DataBox(label=level, content=value)

        result = coerce(value, "data")

        assert isinstance(result, list)


class TestRejections:
    @pytest.mark.parametrize(
        ("value", "path"),
        [
            ({"items": [1, {"price": float("nan")}]}, "data.items[1].price"),
            ({"total": float("inf")}, "data.total"),
            ([0.0, -math.inf], "data[1]"),
            ({"total": Decimal("NaN")}, "data.total"),
            ({"total": Decimal("-Infinity")}, "data.total"),
            ({"total": Decimal("sNaN")}, "data.total"),
            ({"color": Color.NOT_A_NUMBER}, "data.color"),
        ],
    )
    def test_nan_and_infinities_are_refused(self, value: object, path: str) -> None:
        """NaN and infinities, float or Decimal, are refused at their path."""
        with pytest.raises(InvalidArgumentError) as caught:
            coerce(value, "data")

        assert caught.value.argument == path
        assert "finite" in caught.value.reason

    @pytest.mark.parametrize("raw", [b"abc", bytearray(b"abc"), memoryview(b"abc")])
    def test_bytes_are_refused_with_advice(self, raw: object) -> None:
        """Bytes of any kind are refused with advice to decode or base64 them."""
        with pytest.raises(InvalidTypeError) as caught:
            coerce({"blob": raw}, "data")

        assert caught.value.argument == "data.blob"
        assert caught.value.reason == "bytes are not JSON; decode or base64 them"

    @pytest.mark.parametrize(
        "value", ["\ud800", "ok\udfffok", "é\udc80", Mood.BROKEN, Label("\ud800")]
    )
    def test_lone_surrogates_are_refused(self, value: object) -> None:
        """A string with a lone surrogate, which UTF-8 cannot carry, is refused."""
        with pytest.raises(InvalidArgumentError) as caught:
            coerce({"name": [value]}, "data")

        assert caught.value.argument == "data.name[0]"
        assert "surrogate" in caught.value.reason

    def test_keys_with_lone_surrogates_are_refused_at_their_dict(self) -> None:
        """A key with a lone surrogate is reported at the dict that holds it."""
        with pytest.raises(InvalidArgumentError) as caught:
            coerce({"outer": {"fine": 1, "bad\ud800": 2}}, "data")

        assert caught.value.argument == "data.outer"
        assert "surrogate" in caught.value.reason

    @pytest.mark.parametrize("key", [1, None, True, (1, 2), 1.5, Level.LOW, b"k"])
    def test_non_string_keys_are_refused_at_their_dict(self, key: object) -> None:
        """A key that is not a str is refused, naming its type, at its dict."""
        with pytest.raises(InvalidTypeError) as caught:
            coerce({"ok": 1, "inner": {"fine": 1, key: 2}}, "data")

        assert caught.value.argument == "data.inner"
        assert type(key).__name__ in caught.value.reason

    @pytest.mark.parametrize(
        ("value", "type_name"),
        [
            (object(), "object"),
            (1j, "complex"),
            (len, "builtin_function_or_method"),
            (lambda: None, "function"),
            (range(3), "range"),
            (timedelta(seconds=1), "datetime.timedelta"),
            (Opaque(), f"{__name__}.Opaque"),
            (AttrsBox, "type"),
            (DataBox, "type"),
        ],
    )
    def test_other_types_are_refused_by_name(
        self, value: object, type_name: str
    ) -> None:
        """Any other type is refused with its name in the message."""
        with pytest.raises(InvalidTypeError) as caught:
            coerce({"x": value}, "data")

        assert caught.value.argument == "data.x"
        assert type_name in caught.value.reason

    def test_nesting_past_the_limit_is_refused_at_the_too_deep_container(self) -> None:
        """The container one level past MAX_DEPTH is refused, at its own path."""
        value: Any = []
        for _ in range(MAX_DEPTH):
            value = [value]

        with pytest.raises(InvalidArgumentError) as caught:
            coerce(value, "data")

        assert caught.value.argument == "data" + "[0]" * MAX_DEPTH
        assert "deep" in caught.value.reason

    def test_a_dict_containing_itself_is_refused_without_recursing_forever(
        self,
    ) -> None:
        """A cycle through a dict stops at the depth limit with a clear error."""
        value: dict[str, Any] = {}
        value["self"] = value

        with pytest.raises(InvalidArgumentError) as caught:
            coerce(value, "data")

        assert caught.value.argument == "data" + ".self" * MAX_DEPTH

    def test_a_list_cycle_inside_a_changed_dict_is_refused(self) -> None:
        """A cycle behind a value that forces a copy is still stopped."""
        loop: list[Any] = [datetime(2024, 1, 1)]
        loop.append(loop)

        with pytest.raises(InvalidArgumentError):
            coerce({"when": date(2024, 1, 1), "loop": loop}, "data")

    @pytest.mark.parametrize(
        ("key", "step"),
        [
            ("price", ".price"),
            ("unit price", '["unit price"]'),
            ("3d", '["3d"]'),
            ("a.b", '["a.b"]'),
            ('say "hi"', '["say \\"hi\\""]'),
            ("", '[""]'),
            ("prénom", ".prénom"),
        ],
    )
    def test_paths_write_keys_as_documented(self, key: str, step: str) -> None:
        """Identifier keys are written .key, any other key as a quoted ["key"]."""
        with pytest.raises(InvalidTypeError) as caught:
            coerce({key: object()}, "data")

        assert caught.value.argument == "data" + step

    def test_paths_go_through_objects_sets_and_enums(self) -> None:
        """Fields of attrs and dataclass instances and set positions appear in paths."""
        value = AttrsBox(label=Color.PAIR, content=[DataBox(label="x", content={b"k"})])

        with pytest.raises(InvalidTypeError) as caught:
            coerce(value, "data")

        assert caught.value.argument == "data.content[0].content[0]"

    @pytest.mark.parametrize(
        "value",
        [
            {"k": SECRET + "\ud800"},
            {"k": SECRET.encode()},
            {"k": Opaque()},
            {"k": {SECRET.encode(): 1}},
            {"k": Decimal("NaN")},
        ],
    )
    def test_messages_never_contain_values(self, value: object) -> None:
        """An error names the path, type and reason but never the value itself."""
        with pytest.raises((InvalidArgumentError, InvalidTypeError)) as caught:
            coerce(value, "data")

        assert SECRET not in str(caught.value)

    def test_the_error_chain_is_clean(self) -> None:
        """Errors are raised without the internal exception as their context."""
        with pytest.raises(InvalidTypeError) as caught:
            coerce({"deep": {"er": [object()]}}, "data")

        assert caught.value.__cause__ is None
        assert caught.value.__suppress_context__


class TestEncode:
    def test_output_is_compact_utf8(self) -> None:
        """The JSON has no spaces and keeps non-ASCII text as raw UTF-8."""
        assert (
            encode({"a": [1, "zoë"], "b": None}) == '{"a":[1,"zoë"],"b":null}'.encode()
        )

    def test_typical_event_data_matches_the_standard_library(self) -> None:
        """The typical event encodes exactly as json.dumps with our options."""
        assert encode(TRACK_DATA) == stdlib_json(TRACK_DATA)

    @PROPERTY
    @given(plain_json)
    def test_plain_values_match_the_standard_library(self, value: Any) -> None:
        """Any plain JSON value encodes exactly as json.dumps with our options."""
        assert encode(value) == stdlib_json(value)

    def test_nan_is_never_written(self) -> None:
        """NaN is refused by coerce, and the stdlib encoder refuses it as well."""
        with pytest.raises(InvalidArgumentError):
            coerce([float("nan")], "data")
        with pytest.raises(ValueError, match="not JSON compliant"):
            _values._stdlib_dumps([float("nan")])


class TestTimestamps:
    def test_new_york_noon_on_the_dst_switch_day(self) -> None:
        """Noon in New York on 2024-03-10 (already EDT, UTC-4) is 16:00 UTC."""
        moment = datetime(2024, 3, 10, 12, tzinfo=NEW_YORK)

        assert to_unix_seconds(moment, "timestamp", now=NOW) == 1_710_086_400

    def test_naive_noon_is_taken_as_utc(self) -> None:
        """A naive 2024-03-10 12:00 is read as UTC."""
        moment = datetime(2024, 3, 10, 12)

        assert to_unix_seconds(moment, "timestamp", now=NOW) == 1_710_072_000

    def test_utc_noon(self) -> None:
        """12:00 UTC on 2024-03-10 is 1710072000."""
        moment = datetime(2024, 3, 10, 12, tzinfo=timezone.utc)

        assert to_unix_seconds(moment, "timestamp", now=NOW) == 1_710_072_000

    def test_ambiguous_times_follow_fold(self) -> None:
        """The repeated hour at the end of DST resolves by fold, an hour apart."""
        first = datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK)
        second = first.replace(fold=1)

        assert to_unix_seconds(first, "t", now=NOW) == 1_730_611_800
        assert to_unix_seconds(second, "t", now=NOW) == 1_730_615_400

    def test_fixed_offsets_are_converted_not_replaced(self) -> None:
        """An aware time at UTC+2 is converted, not relabelled as UTC."""
        moment = datetime(2024, 3, 10, 14, tzinfo=timezone(timedelta(hours=2)))

        assert to_unix_seconds(moment, "t", now=NOW) == 1_710_072_000

    def test_date_is_its_midnight_utc(self) -> None:
        """A date means its midnight in UTC."""
        assert to_unix_seconds(date(2024, 3, 10), "t", now=NOW) == 1_710_028_800

    def test_ints_pass_through(self) -> None:
        """An int of unix seconds is returned as is, IntEnum included."""
        assert to_unix_seconds(1_710_072_000, "t", now=NOW) == 1_710_072_000
        assert to_unix_seconds(Level.HIGH, "t", now=NOW) == 2

    def test_zero_is_accepted_and_negative_refused(self) -> None:
        """The epoch itself passes; anything before it is refused."""
        assert to_unix_seconds(0, "t", now=NOW) == 0
        with pytest.raises(InvalidArgumentError, match="before 1970") as caught:
            to_unix_seconds(-1, "t", now=NOW)
        assert caught.value.argument == "t"
        with pytest.raises(InvalidArgumentError, match="before 1970"):
            to_unix_seconds(datetime(1969, 12, 31, 23, 59, 59), "t", now=NOW)

    def test_milliseconds_are_refused_with_advice(self) -> None:
        """An int above 10**11 looks like milliseconds and is refused as such."""
        far_future = float(10**12)

        assert to_unix_seconds(10**11, "t", now=far_future) == 10**11
        with pytest.raises(InvalidArgumentError) as caught:
            to_unix_seconds(10**11 + 1, "timestamp", now=far_future)
        assert caught.value.argument == "timestamp"
        assert caught.value.reason == "looks like milliseconds; pass seconds"

    def test_more_than_ten_years_ahead_is_refused(self) -> None:
        """Exactly the limit ahead passes; one second more is refused."""
        limit = NOW + 10 * 31_557_600

        assert to_unix_seconds(limit, "t", now=NOW) == limit
        with pytest.raises(InvalidArgumentError, match="10 years in the future"):
            to_unix_seconds(limit + 1, "t", now=NOW)
        with pytest.raises(InvalidArgumentError, match="future"):
            to_unix_seconds(datetime(2040, 1, 1), "t", now=NOW)

    def test_the_future_limit_is_configurable(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """MAX_FUTURE_YEARS is read at each call."""
        monkeypatch.setattr(_values, "MAX_FUTURE_YEARS", 1)

        with pytest.raises(InvalidArgumentError, match="1 years"):
            to_unix_seconds(NOW + 2 * 31_557_600, "t", now=NOW)

    def test_now_defaults_to_the_clock(self) -> None:
        """Without now, the current time bounds the future."""
        assert to_unix_seconds(int(time.time()) + 3600, "t") > 0
        with pytest.raises(InvalidArgumentError, match="future"):
            to_unix_seconds(int(time.time()) + 11 * 31_557_600, "t")

    @pytest.mark.parametrize(
        ("value", "ending"),
        [
            (True, "not bool"),
            (1.5, "not float; use int() for whole seconds"),
            (1_710_072_000.0, "not float; use int() for whole seconds"),
            ("1710072000", "not str"),
        ],
    )
    def test_other_types_are_refused(self, value: Any, ending: str) -> None:
        """Bools, floats (integral or not) and strings are refused by type."""
        with pytest.raises(InvalidTypeError) as caught:
            to_unix_seconds(value, "timestamp", now=NOW)

        assert caught.value.argument == "timestamp"
        assert caught.value.reason.endswith(ending)

    def test_messages_never_contain_the_value(self) -> None:
        """Refused timestamps are described, never quoted."""
        for value in (1_710_072_000_123, -864_007, 99_999_999_99):
            with pytest.raises(InvalidArgumentError) as caught:
                to_unix_seconds(value, "timestamp", now=NOW)
            assert str(value) not in str(caught.value)


# Makes an id (filling the random buffer), forks, and prints the parent's and the
# child's next ids.
FORK_SCRIPT = """
import os
from cio_async._ulid import new_ulid

new_ulid()
reader, writer = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(writer, new_ulid().encode())
    os._exit(0)
os.close(writer)
parent = new_ulid()
child = os.read(reader, 26).decode()
os.waitpid(pid, 0)
print(parent, child)
"""


def decode_time(ulid: str) -> int:
    """
    Read the millisecond time from a ULID's first ten symbols.
    """
    ms = 0
    for symbol in ulid[:10]:
        ms = ms * 32 + CROCKFORD.index(symbol)
    return ms


class TestUlid:
    def test_format_is_26_crockford_symbols(self) -> None:
        """An id is 26 Crockford base32 symbols whose first fits 48 bits of time."""
        assert ULID_PATTERN.fullmatch(new_ulid())

    def test_time_part_is_the_current_millisecond(self) -> None:
        """The first ten symbols hold the unix time in milliseconds."""
        before = time.time_ns() // 1_000_000
        ulid = new_ulid()
        after = time.time_ns() // 1_000_000

        assert before <= decode_time(ulid) <= after

    def test_many_ids_are_unique_and_sorted(self) -> None:
        """100,000 ids in a row are all different and already in sorted order."""
        ulids = [new_ulid() for _ in range(100_000)]

        assert len(set(ulids)) == len(ulids)
        assert ulids == sorted(ulids)
        assert all(ULID_PATTERN.fullmatch(ulid) for ulid in ulids[::997])

    def test_random_part_spreads_over_all_symbols(self) -> None:
        """The random part of fresh ids uses every symbol of the alphabet."""
        source = _ulid._UlidSource()
        symbols: set[str] = set()
        for _ in range(200):
            source._ms = -1  # force a fresh draw instead of an increment
            symbols.update(source.new()[10:])

        assert symbols == set(CROCKFORD)

    def test_order_holds_when_the_clock_steps_back(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An id made after the clock stepped back still sorts after the last one."""
        clock = iter([2_000_000_000_000_000_000, 1_000_000_000_000_000_000])
        monkeypatch.setattr(time, "time_ns", lambda: next(clock))
        source = _ulid._UlidSource()

        first, second = source.new(), source.new()

        assert first < second
        assert decode_time(second) == decode_time(first)

    def test_overflow_within_a_millisecond_borrows_the_next(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """If the random part cannot count up, the id moves to the next millisecond."""
        monkeypatch.setattr(time, "time_ns", lambda: 1_710_072_000_000_000_000)
        source = _ulid._UlidSource()
        first = source.new()
        source._random = "Z" * 16

        second = source.new()

        assert second > first
        assert decode_time(second) == decode_time(first) + 1

    @pytest.mark.parametrize(
        ("before", "after"),
        [
            ("0000", "0001"),
            ("000Z", "0010"),
            ("0ZZZ", "1000"),
            ("9ZZZ", "A000"),
            ("ZZZZ", None),
        ],
    )
    def test_increment_carries(self, before: str, after: str | None) -> None:
        """Counting up carries through Z and reports overflow as None."""
        assert _ulid._increment(before) == after

    def test_ids_from_threads_are_unique(self) -> None:
        """Ids made on several threads at once never repeat."""
        results: list[list[str]] = [[] for _ in range(4)]

        def make(out: list[str]) -> None:
            out.extend(new_ulid() for _ in range(10_000))

        threads = [threading.Thread(target=make, args=(out,)) for out in results]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        ulids = [ulid for out in results for ulid in out]

        assert len(set(ulids)) == 40_000

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_a_forked_child_does_not_repeat_its_parent(self) -> None:
        """After fork, the child draws its own random bits instead of the parent's."""
        # A fresh interpreter forks with one thread, so no fork warning can fire.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        completed = subprocess.run(
            [sys.executable, "-c", FORK_SCRIPT],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=True,
        )
        parent, child = completed.stdout.split()

        assert ULID_PATTERN.fullmatch(child)
        assert child[10:] != parent[10:]


class TestLimits:
    @pytest.mark.parametrize(
        ("fits", "over"),
        [
            ("a" * 150, "a" * 151),
            ("é" * 75, "é" * 75 + "a"),
            ("€" * 50, "€" * 50 + "a"),
            ("😀" * 37 + "ab", "😀" * 37 + "abc"),
        ],
    )
    def test_identifier_byte_limit(self, fits: str, over: str) -> None:
        """An identifier of exactly 150 UTF-8 bytes passes and 151 is refused."""
        assert check_identifier(fits, "person") == fits
        with pytest.raises(PayloadTooLargeError) as caught:
            check_identifier(over, "person")

        assert caught.value.argument == "person"
        assert (caught.value.size, caught.value.limit) == (151, MAX_ID_BYTES)

    @pytest.mark.parametrize("value", [" user", "user ", "\tuser", "user\n", "\u00a0u"])
    def test_identifier_whitespace_at_the_ends_is_refused(self, value: str) -> None:
        """Leading or trailing whitespace is refused, not silently stripped."""
        with pytest.raises(InvalidArgumentError, match="whitespace") as caught:
            check_identifier(value, "person")

        assert caught.value.argument == "person"

    def test_identifier_inner_whitespace_is_fine(self) -> None:
        """Whitespace inside an identifier is left alone."""
        assert check_identifier("Ada Lovelace", "person") == "Ada Lovelace"

    @pytest.mark.parametrize(
        ("value", "error"),
        [
            ("", InvalidArgumentError),
            ("ab\ud800", InvalidArgumentError),
            (42, InvalidTypeError),
            (None, InvalidTypeError),
            (b"user", InvalidTypeError),
        ],
    )
    def test_identifier_must_be_a_non_empty_utf8_str(
        self, value: object, error: type[Exception]
    ) -> None:
        """Empty strings, lone surrogates and non-strings are refused."""
        with pytest.raises(error):
            check_identifier(value, "person")

    def test_identifier_subclass_becomes_a_plain_str(self) -> None:
        """A str subclass comes back as a plain str."""
        assert type(check_identifier(Label("user"), "person")) is str

    @pytest.mark.parametrize(
        ("fits", "over"),
        [("e" * 100, "e" * 101), ("ß" * 50, "ß" * 50 + "!"), ("  spaced  ", None)],
    )
    def test_name_byte_limit(self, fits: str, over: str | None) -> None:
        """A name of exactly the limit passes and one byte more is refused."""
        assert check_name(fits, "name", MAX_EVENT_NAME_BYTES) == fits
        if over is None:
            return
        with pytest.raises(PayloadTooLargeError) as caught:
            check_name(over, "name", MAX_EVENT_NAME_BYTES)

        assert caught.value.argument == "name"
        assert caught.value.size == 101

    @pytest.mark.parametrize(
        ("value", "error"), [("", InvalidArgumentError), (1, InvalidTypeError)]
    )
    def test_name_must_be_a_non_empty_str(
        self, value: object, error: type[Exception]
    ) -> None:
        """Empty and non-string names are refused."""
        with pytest.raises(error):
            check_name(value, "name", MAX_EVENT_NAME_BYTES)

    def test_attribute_count_limit(self) -> None:
        """300 attributes pass and 301 are refused."""
        fits = {f"a{i}": i for i in range(MAX_ATTRIBUTES)}
        over = {**fits, "one_more": 1}

        assert check_attributes(fits, "attributes") is fits
        with pytest.raises(PayloadTooLargeError) as caught:
            check_attributes(over, "attributes")
        assert caught.value.argument == "attributes"
        assert (caught.value.size, caught.value.limit) == (301, 300)

    @pytest.mark.parametrize(
        ("fits", "over"),
        [
            ("n" * 150, "n" * 151),
            ("ü" * 75, "ü" * 75 + "n"),
            ("日" * 50, "日" * 49 + "nnnn"),
        ],
    )
    def test_attribute_name_byte_limit(self, fits: str, over: str) -> None:
        """An attribute name of 150 UTF-8 bytes passes and 151 is refused."""
        assert check_attributes({fits: 1}, "attributes") == {fits: 1}
        with pytest.raises(PayloadTooLargeError) as caught:
            check_attributes({"ok": 1, over: 1}, "attributes")

        assert caught.value.argument == f"attributes.{over}"
        assert (caught.value.size, caught.value.limit) == (
            151,
            MAX_ATTRIBUTE_NAME_BYTES,
        )

    @pytest.mark.parametrize(
        ("fits", "over"),
        [
            ("v" * 1000, "v" * 1001),
            ("€" * 333 + "v", "€" * 333 + "vv"),
            ("😀" * 250, "😀" * 250 + "v"),
            (["v" * 996], ["v" * 997]),
            ({"k": "v" * 992}, {"k": "v" * 993}),
        ],
    )
    def test_attribute_value_byte_limit(self, fits: object, over: object) -> None:
        """A value of 1000 bytes (str as UTF-8, others as JSON) passes; 1001 fails."""
        assert check_attributes({"notes": fits}, "attributes") == {"notes": fits}
        with pytest.raises(PayloadTooLargeError) as caught:
            check_attributes({"notes": over}, "attributes")

        assert caught.value.argument == "attributes.notes"
        assert (caught.value.size, caught.value.limit) == (
            1001,
            MAX_ATTRIBUTE_VALUE_BYTES,
        )

    @pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**400])
    def test_integers_beyond_64_bits_are_refused(self, number: int) -> None:
        """An int JSON readers would cut or round is refused at its path."""
        assert check_attributes({"n": 2**64 - 1, "m": -(2**63)}, "a") is not None
        with pytest.raises(InvalidArgumentError) as caught:
            check_attributes({"notes": [number]}, "attributes")

        assert caught.value.argument == "attributes.notes[0]"
        assert "64-bit" in str(caught.value)

    def test_attributes_are_coerced(self) -> None:
        """Attribute values go through the coercion table."""
        result = check_attributes(
            {"created_at": datetime(2024, 3, 10, 12)}, "attributes"
        )

        assert result == {"created_at": 1_710_072_000}

    def test_coerced_attributes_are_measured_after_coercion(self) -> None:
        """A tuple is measured by the JSON of the list it becomes."""
        with pytest.raises(PayloadTooLargeError):
            check_attributes({"tags": ("v" * 997,)}, "attributes")

    def test_unchanged_attributes_are_returned_as_is(self) -> None:
        """Attributes needing no change come back as the same dict."""
        value = {"email": "ada@example.com", "plan": "pro", "seats": 3}

        assert check_attributes(value, "attributes") is value

    def test_attributes_must_be_a_mapping(self) -> None:
        """A non-mapping is refused by type; other mappings become dicts."""
        with pytest.raises(InvalidTypeError, match="mapping"):
            check_attributes([("a", 1)], "attributes")
        assert check_attributes(MappingProxyType({"a": 1}), "attributes") == {"a": 1}

    def test_attribute_errors_name_the_attribute(self) -> None:
        """A bad attribute value is reported at its own path."""
        with pytest.raises(InvalidArgumentError) as caught:
            check_attributes({"score": float("nan")}, "attributes")

        assert caught.value.argument == "attributes.score"

    def test_data_none_is_a_fresh_empty_dict(self) -> None:
        """No data becomes a new empty dict each time."""
        first = check_data(None, "data")

        assert first == {}
        assert check_data(None, "data") is not first

    def test_data_is_coerced_and_returned_as_is_when_unchanged(self) -> None:
        """Event data that needs no change comes back as the same dict."""
        assert check_data(TRACK_DATA, "data") is TRACK_DATA
        assert check_data({"on": date(1970, 1, 2)}, "data") == {"on": 86_400}

    def test_data_must_be_a_mapping(self) -> None:
        """Data that is not a mapping is refused by type."""
        with pytest.raises(InvalidTypeError, match="list") as caught:
            check_data([1, 2], "data")

        assert caught.value.argument == "data"

    def test_data_errors_carry_the_path(self) -> None:
        """A bad value deep in data is reported at its path."""
        with pytest.raises(InvalidTypeError) as caught:
            check_data({"items": [{"sku": "X1"}, {"sku": b"Y2"}]}, "data")

        assert caught.value.argument == "data.items[1].sku"

    @pytest.mark.parametrize(
        "call",
        [
            lambda: check_identifier(SECRET * 10, "person"),
            lambda: check_identifier(f" {SECRET}", "person"),
            lambda: check_identifier(SECRET + "\ud800", "person"),
            lambda: check_name(SECRET * 10, "name", MAX_EVENT_NAME_BYTES),
            lambda: check_attributes({"notes": SECRET * 100}, "attributes"),
            lambda: check_attributes({"notes": [SECRET] * 100}, "attributes"),
            lambda: check_data({"k": [SECRET.encode()]}, "data"),
        ],
    )
    def test_messages_never_contain_values(self, call: Any) -> None:
        """Limit errors give sizes and reasons, never the refused value."""
        with pytest.raises((InvalidArgumentError, InvalidTypeError)) as caught:
            call()

        assert SECRET not in str(caught.value)
