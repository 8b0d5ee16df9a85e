"""
The values we send: JSON coercion, size limits, timestamps and event ids.

Every function here is pure and sits on the path of every call, so the common case
(a dict of str keys holding str, int, float, bool, None and more such dicts and
lists) is walked once, checked, and returned as the same object, without a copy.

How values are coerced
----------------------

``coerce`` turns a value into JSON that Customer.io accepts, or rejects it at the
call, before anything is queued:

================================  ===================================================
Python value                      sent as
================================  ===================================================
``str``                           itself; a lone surrogate is rejected (not UTF-8)
``int``, ``bool``, ``None``       itself; ints outside the 64-bit range rejected
``float``                         itself; NaN and infinities are rejected
``dict``, other ``Mapping``       object; keys must be ``str``, values are coerced
``list``, ``tuple``               array, items coerced
``set``, ``frozenset``            array, items coerced, then sorted if they can be
                                  compared, else in the set's iteration order
``datetime``, aware               int unix seconds, converted through UTC
``datetime``, naive               int unix seconds, the time taken as UTC
``date``                          int unix seconds of its midnight, UTC
``Decimal``                       int if integral, else float; NaN and infinities
                                  are rejected
``UUID``                          str, the canonical hyphenated form
``Enum`` (``IntEnum``...)         its ``.value``, coerced
attrs instance                    object of its fields (``attrs.asdict``, not
                                  recursing), coerced
dataclass instance                object of its fields, coerced
subclass of str, int, float       the plain builtin value
``bytes``, ``bytearray``,         rejected: bytes are not JSON; decode or base64
``memoryview``                    them first
anything else                     rejected, naming the type
================================  ===================================================

Datetimes lose their fraction of a second (rounded down). Containers may nest
``MAX_DEPTH`` (200) levels deep, the outermost counting as one; a deeper one is
rejected, which also stops a structure that contains itself.

Where an error points
---------------------

Errors carry the path of the bad value in ``.argument``, starting from the
argument's name: a key that is a Python identifier is written ``.key``, any other
key as ``["key"]`` (quoted like a JSON string), a position in a list, tuple or set
as ``[3]`` (for a set, its position in iteration order), and a field of an attrs
or dataclass instance as ``.field``. So ``data.items[3].price`` or
``data["unit price"]``. A bad key (not a str, or with a lone surrogate) is reported
at the dict that holds it. Messages name the path, the type and the reason, never
the value, which may be personal data.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from math import isfinite
from typing import Any, TypeAlias
from uuid import UUID

import attrs

from ._errors import InvalidArgumentError, InvalidTypeError, PayloadTooLargeError

# Customer.io's documented size limits (Track API reference, "Rate Limits" and the
# v2 /entity and /batch descriptions). Sizes are in UTF-8 bytes.
MAX_ID_BYTES = 150
MAX_ATTRIBUTE_NAME_BYTES = 150
MAX_ATTRIBUTE_VALUE_BYTES = 1000
MAX_ATTRIBUTES = 300
MAX_EVENT_NAME_BYTES = 100
MAX_V1_EVENT_DATA_BYTES = 100_000
# "32 KB" per v2 item; read as KiB, as Segment-style clients do.
# TODO: unconfirmed; if Customer.io means 32,000, items between the two come back
# as 207 rejections (handed to on_failure, never lost), not refused at the call.
MAX_ITEM_BYTES = 32_768

# Ours, not Customer.io's: deeper nesting is a bug or a cycle, never an event.
# Below orjson's own limit (254 containers), so that encode_native() and the full
# check refuse the same values.
MAX_DEPTH = 200
# Timestamps further ahead than this are refused as mistakes; read at each call.
MAX_FUTURE_YEARS = 10

JSONValue: TypeAlias = (
    dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None
)

# 10**11 seconds is the year 5138, while 10**11 milliseconds is already 1973, so
# anything above it is a timestamp in milliseconds.
_MILLISECONDS_THRESHOLD = 10**11
_SECONDS_PER_YEAR = 31_557_600  # 365.25 days

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_EPOCH_ORDINAL = _NAIVE_EPOCH.toordinal()
_SECOND = timedelta(seconds=1)

_NOT_FINITE = "is not a finite number; NaN and infinities are not JSON"
# JSON readers (Customer.io's among them) hold integers in 64 bits; a larger one
# would be cut or rounded on the way, so it is refused rather than sent wrong.
_INT_LOW = -(2**63)
_INT_HIGH = 2**64
_INT_RANGE = "is an integer outside the 64-bit range; send it as a string"
_SURROGATE = "contains a lone surrogate, which is not valid UTF-8"
_TOO_DEEP = f"is nested more than {MAX_DEPTH} levels deep (does it contain itself?)"


# -- Encoding -----------------------------------------------------------------------

# Identical output to json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
# allow_nan=False) for every value without cycles. The circular-reference check is
# off because coerce() already rejects cycles; skipping it saves about a fifth.
_JSON_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
)


def _stdlib_dumps(obj: object) -> bytes:
    """
    Encode with the standard library.
    """
    return _JSON_ENCODER.encode(obj).encode("utf-8")


# orjson writes floats below 1e-4 differently from the standard library (0.000015
# for 1.5e-05, 1e-7 for 1e-07); every other float and value comes out byte for byte
# the same. Output that may hold such a float is encoded again by the standard
# library. Strings that merely look alike cost a slower encode, never other bytes.
_SMALL_FLOAT = re.compile(rb"0\.0000|\de-")


def _orjson_dumps(obj: object) -> bytes:
    """
    Encode with orjson, falling back to the standard library where they differ.
    """
    try:
        out: bytes = _orjson.dumps(obj)
    except TypeError:
        # Ints beyond 64 bits; json writes them, orjson refuses.
        return _stdlib_dumps(obj)
    # Plain substring tests are memchr-fast; the regex runs only when one hits.
    if (b"e-" in out or b"0.0000" in out) and _SMALL_FLOAT.search(out):
        return _stdlib_dumps(obj)

    # orjson's result keeps a buffer of about 4 KB whatever its length; copy it to
    # a right-sized object, since it may wait in the queue for a while.
    return bytes(memoryview(out))


_orjson: Any
try:
    _orjson = importlib.import_module("orjson")
except ImportError:  # pragma: no cover - depends on the optional extra
    _orjson = None
    _dumps: Callable[[object], bytes] = _stdlib_dumps
else:
    _dumps = _orjson_dumps
    # Types the coercion table changes (datetimes, dataclasses, subclasses of
    # builtins) must reach the full check, not orjson's own conversion.
    _NATIVE_OPTIONS = (
        _orjson.OPT_PASSTHROUGH_DATETIME
        | _orjson.OPT_PASSTHROUGH_DATACLASS
        | _orjson.OPT_PASSTHROUGH_SUBCLASS
    )


def encode_native(obj: object) -> bytes | None:
    """
    Encode ``obj`` at once if it needs no coercion and no check can refuse it.

    The fast path of the hot call: with orjson installed, a value built only of
    str-keyed dicts, lists, tuples, str, int, float, bool, None, UUID and Enum
    encodes to exactly the bytes ``encode(coerce(obj))`` would give. Anything
    else, anything orjson refuses (surrogates, non-str keys, big ints, deep
    nesting) and any ``null`` in the output (orjson writes NaN and infinities as
    null, so a null must be looked at) returns ``None``: run the full check.

    Returns:
        The encoded bytes, or ``None`` when the caller must coerce and encode.
    """
    if _orjson is None:
        return None
    try:
        out: bytes = _orjson.dumps(obj, option=_NATIVE_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None
    if b"null" in out or b"e-" in out or b"0.0000" in out:
        return None

    return bytes(memoryview(out))


def encode(obj: object) -> bytes:
    """
    Encode a coerced value as compact, strict JSON in UTF-8.

    Args:
        obj: A value returned by ``coerce``, or one built only of dict, list, str,
            int, float, bool and None, without NaN, infinities, lone surrogates or
            cycles.

    Returns:
        The same bytes as ``json.dumps(obj, ensure_ascii=False, separators=(",",
        ":"), allow_nan=False).encode("utf-8")``.

    Raises:
        ValueError: ``obj`` holds NaN or an infinity.
        TypeError: ``obj`` holds a type JSON does not have.
        UnicodeEncodeError: ``obj`` holds a string with a lone surrogate.
    """
    return _dumps(obj)


# -- Coercion -----------------------------------------------------------------------


def coerce(value: object, path: str) -> JSONValue:
    """
    Turn a value into one ``encode`` accepts, following the coercion table.

    Args:
        value: Any value a user may pass as data or an attribute.
        path: Where the value came from, such as ``"data"``; error paths start here.

    Returns:
        The coerced value: ``value`` itself when nothing had to change, otherwise a
        new container that shares the unchanged parts.

    Raises:
        cio_async.InvalidArgumentError: A number is NaN or infinite, a string has a
            lone surrogate, or containers nest too deep.
        cio_async.InvalidTypeError: A value or a dict key has a type that cannot be
            sent as JSON.
    """
    try:
        result: JSONValue = _coerce_value(value, 0)
    except _Rejection as rejection:
        error = rejection.error(path)
        raise error from None

    return result


class _Rejection(Exception):
    """
    A bad value found inside a structure; each level adds its path on the way out.
    """

    def __init__(
        self,
        kind: type[InvalidArgumentError | InvalidTypeError],
        reason: str,
        segment: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.segments = [] if segment is None else [segment]

    def error(self, root: str) -> InvalidArgumentError | InvalidTypeError:
        """
        Build the public error for a structure whose path is ``root``.
        """
        path = root + "".join(reversed(self.segments))
        return self.kind(path, self.reason)


def _coerce_mapping(mapping: Mapping[Any, Any], path: str) -> dict[str, Any]:
    """
    Coerce a mapping into a dict of str keys, translating errors for ``path``.
    """
    try:
        if type(mapping) is dict:
            result: dict[str, Any] = _walk_dict(mapping, 0)
        else:
            result = _build_dict(mapping.items(), 0)
    except _Rejection as rejection:
        error = rejection.error(path)
        raise error from None

    return result


# The walkers take and return Any: they check types by hand, one `type(x) is`
# test at a time, which is faster than the narrowing mypy would need.


def _coerce_value(value: Any, depth: int) -> Any:
    """
    Coerce one value that sits inside ``depth`` containers.
    """
    kind = type(value)
    if kind is str:
        if value.isascii() or _is_utf8(value):
            return value
        raise _Rejection(InvalidArgumentError, _SURROGATE)
    if kind is bool or value is None:
        return value
    if kind is int:
        if _INT_LOW <= value < _INT_HIGH:
            return value
        raise _Rejection(InvalidArgumentError, _INT_RANGE)
    if kind is float:
        if isfinite(value):
            return value
        raise _Rejection(InvalidArgumentError, _NOT_FINITE)
    if kind is dict:
        return _walk_dict(value, depth)
    if kind is list:
        return _walk_list(value, depth)

    return _coerce_other(value, depth)


def _walk_dict(mapping: dict[Any, Any], depth: int) -> Any:
    """
    Check a dict, returning it as is unless some key or value has to change.
    """
    if depth >= MAX_DEPTH:
        raise _Rejection(InvalidArgumentError, _TOO_DEEP)
    depth += 1

    # Scalars are checked inline and containers walked directly: a function call
    # per value would cost more than the check itself.
    for key, item in mapping.items():
        if type(key) is not str or not (key.isascii() or _is_utf8(key)):
            return _copy_dict(mapping, depth, key, item, coerced=False)

        kind = type(item)
        if kind is str:
            if item.isascii() or _is_utf8(item):
                continue
            raise _Rejection(InvalidArgumentError, _SURROGATE, _key_segment(key))
        if kind is bool or item is None:
            continue
        if kind is int:
            if _INT_LOW <= item < _INT_HIGH:
                continue
            raise _Rejection(InvalidArgumentError, _INT_RANGE, _key_segment(key))
        if kind is float:
            if isfinite(item):
                continue
            raise _Rejection(InvalidArgumentError, _NOT_FINITE, _key_segment(key))

        try:
            if kind is dict:
                coerced = _walk_dict(item, depth)
            elif kind is list:
                coerced = _walk_list(item, depth)
            else:
                coerced = _coerce_other(item, depth)
        except _Rejection as rejection:
            rejection.segments.append(_key_segment(key))
            raise
        if coerced is not item:
            return _copy_dict(mapping, depth, key, coerced, coerced=True)

    return mapping


def _copy_dict(
    mapping: dict[Any, Any], depth: int, stop: Any, value: Any, *, coerced: bool
) -> Any:
    """
    Copy a dict whose entries before key ``stop`` were checked and need no change.

    ``value`` is the entry's value for ``stop``: already coerced, or still to be.
    """
    result: dict[str, Any] = {}
    entries = iter(mapping.items())
    for key, item in entries:
        if key is stop:
            break
        result[key] = item

    if coerced:
        result[stop] = value
    else:
        _put_entry(result, stop, value, depth)
    for key, item in entries:
        _put_entry(result, key, item, depth)

    return result


def _build_dict(entries: Iterable[tuple[Any, Any]], depth: int) -> Any:
    """
    Build a new dict from the coerced entries of a mapping.
    """
    if depth >= MAX_DEPTH:
        raise _Rejection(InvalidArgumentError, _TOO_DEEP)
    depth += 1

    result: dict[str, Any] = {}
    for key, item in entries:
        _put_entry(result, key, item, depth)

    return result


def _put_entry(result: dict[str, Any], key: Any, item: Any, depth: int) -> None:
    """
    Coerce one entry into ``result``; a bad key is reported at the dict itself.
    """
    if not isinstance(key, str):
        reason = f"has a key of type {_type_name(key)}; keys must be str"
        raise _Rejection(InvalidTypeError, reason)
    if not (key.isascii() or _is_utf8(key)):
        raise _Rejection(InvalidArgumentError, f"has a key that {_SURROGATE}")
    if type(key) is not str:
        key = str.__str__(key)

    try:
        result[key] = _coerce_value(item, depth)
    except _Rejection as rejection:
        rejection.segments.append(_key_segment(key))
        raise


def _walk_list(items: list[Any], depth: int) -> Any:
    """
    Check a list, returning it as is unless some item has to change.
    """
    if depth >= MAX_DEPTH:
        raise _Rejection(InvalidArgumentError, _TOO_DEEP)
    depth += 1

    for index, item in enumerate(items):
        kind = type(item)
        if kind is str:
            if item.isascii() or _is_utf8(item):
                continue
            raise _Rejection(InvalidArgumentError, _SURROGATE, f"[{index}]")
        if kind is bool or item is None:
            continue
        if kind is int:
            if _INT_LOW <= item < _INT_HIGH:
                continue
            raise _Rejection(InvalidArgumentError, _INT_RANGE, f"[{index}]")
        if kind is float:
            if isfinite(item):
                continue
            raise _Rejection(InvalidArgumentError, _NOT_FINITE, f"[{index}]")

        try:
            if kind is dict:
                coerced = _walk_dict(item, depth)
            elif kind is list:
                coerced = _walk_list(item, depth)
            else:
                coerced = _coerce_other(item, depth)
        except _Rejection as rejection:
            rejection.segments.append(f"[{index}]")
            raise
        if coerced is not item:
            result = items[:index]
            result.append(coerced)
            return _append_items(result, items[index + 1 :], index + 1, depth)

    return items


def _build_list(items: Iterable[Any], depth: int) -> list[Any]:
    """
    Build a new list from coerced items.
    """
    if depth >= MAX_DEPTH:
        raise _Rejection(InvalidArgumentError, _TOO_DEEP)

    return _append_items([], items, 0, depth + 1)


def _append_items(
    result: list[Any], items: Iterable[Any], first: int, depth: int
) -> list[Any]:
    """
    Append coerced items to ``result``, numbering them from ``first`` for errors.
    """
    for index, item in enumerate(items, first):
        try:
            result.append(_coerce_value(item, depth))
        except _Rejection as rejection:
            rejection.segments.append(f"[{index}]")
            raise

    return result


def _coerce_other(value: Any, depth: int) -> Any:
    """
    Coerce anything that is not a plain str, int, float, bool, None, dict or list.
    """
    # Enum comes first: IntEnum and StrEnum members are also int and str.
    if isinstance(value, Enum):
        return _coerce_value(value.value, depth)
    if isinstance(value, datetime):
        return _datetime_seconds(value)
    if isinstance(value, date):
        return _date_seconds(value)
    if isinstance(value, (tuple, list)):
        return _build_list(value, depth)
    if isinstance(value, (set, frozenset)):
        return _sorted_if_possible(_build_list(value, depth))
    if isinstance(value, Mapping):
        return _build_dict(value.items(), depth)
    if isinstance(value, Decimal):
        return _decimal_number(value)
    if isinstance(value, UUID):
        return str(value)

    # Subclasses of the builtins become the builtin with the same value, which is
    # what json would write for them anyway.
    if isinstance(value, str):
        if value.isascii() or _is_utf8(value):
            return str.__str__(value)
        raise _Rejection(InvalidArgumentError, _SURROGATE)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        if isfinite(value):
            return float.__float__(value)
        raise _Rejection(InvalidArgumentError, _NOT_FINITE)

    if isinstance(value, (bytes, bytearray, memoryview)):
        reason = "bytes are not JSON; decode or base64 them"
        raise _Rejection(InvalidTypeError, reason)
    if attrs.has(type(value)):
        return _build_dict(attrs.asdict(value, recurse=False).items(), depth)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        entries = [(field.name, getattr(value, field.name)) for field in fields]
        return _build_dict(entries, depth)

    reason = f"values of type {_type_name(value)} cannot be sent as JSON"
    raise _Rejection(InvalidTypeError, reason)


def _sorted_if_possible(items: list[Any]) -> list[Any]:
    """
    Sort a set's coerced items so its JSON is the same each time, when they compare.
    """
    try:
        return sorted(items)
    except TypeError:
        # Mixed types (str and int, dicts...) have no order: keep iteration order.
        return items


def _decimal_number(value: Decimal) -> int | float:
    """
    Turn a finite Decimal into an int when it is integral, else into a float.
    """
    if not value.is_finite():
        raise _Rejection(InvalidArgumentError, _NOT_FINITE)
    if value == value.to_integral_value():
        whole = int(value)
        if _INT_LOW <= whole < _INT_HIGH:
            return whole
        raise _Rejection(InvalidArgumentError, _INT_RANGE)

    number = float(value)
    if isfinite(number):
        return number
    raise _Rejection(InvalidArgumentError, "is too large for a float")


def _is_utf8(text: str) -> bool:
    """
    Tell whether a string can be encoded as UTF-8 (has no lone surrogate).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False

    return True


def _key_segment(key: str) -> str:
    """
    Write a dict key as a step of an error path.
    """
    if key.isidentifier():
        return f".{key}"

    return f"[{json.dumps(key, ensure_ascii=False)}]"


def _type_name(value: object) -> str:
    """
    Name a value's type for a message, with its module unless it is a builtin.
    """
    kind = type(value)
    if kind.__module__ == "builtins":
        return kind.__qualname__

    return f"{kind.__module__}.{kind.__qualname__}"


# -- Timestamps ---------------------------------------------------------------------


def _datetime_seconds(moment: datetime) -> int:
    """
    Convert a datetime to whole unix seconds, rounding down; naive means UTC.
    """
    # Subtracting an aware epoch converts through the offset, DST included. A
    # tzinfo that returns no offset makes the datetime naive, as Python defines it.
    if moment.utcoffset() is None:
        return (moment - _NAIVE_EPOCH) // _SECOND

    return (moment - _EPOCH) // _SECOND


def _date_seconds(day: date) -> int:
    """
    Convert a date to the unix seconds of its midnight, UTC.
    """
    return (day.toordinal() - _EPOCH_ORDINAL) * 86_400


def to_unix_seconds(
    value: datetime | date | int, argument: str, *, now: float | None = None
) -> int:
    """
    Turn a timestamp argument into whole unix seconds, refusing likely mistakes.

    A naive datetime is taken as UTC; an aware one is converted through UTC. A date
    means its midnight, UTC. Floats are refused, integral or not: the argument is
    typed ``int``, and a float is often milliseconds or ``time.time()`` by mistake.

    Args:
        value: A datetime, a date, or an int of unix seconds.
        argument: The argument's name, for errors.
        now: The current unix time, for the "too far ahead" check; defaults to
            ``time.time()``.

    Returns:
        Unix seconds, from 0 to ``MAX_FUTURE_YEARS`` years after ``now``.

    Raises:
        cio_async.InvalidTypeError: ``value`` is not a datetime, date or int (bool
            and float are refused).
        cio_async.InvalidArgumentError: ``value`` is negative, looks like
            milliseconds, or is more than ``MAX_FUTURE_YEARS`` years ahead.
    """
    if isinstance(value, datetime):
        seconds = _datetime_seconds(value)
    elif isinstance(value, date):
        seconds = _date_seconds(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = int(value)
        if seconds > _MILLISECONDS_THRESHOLD:
            raise InvalidArgumentError(
                argument, "looks like milliseconds; pass seconds"
            )
    else:
        reason = (
            "must be a datetime, a date or an int of unix seconds, "
            f"not {_type_name(value)}"
        )
        if isinstance(value, float):
            reason += "; use int() for whole seconds"
        raise InvalidTypeError(argument, reason)

    if seconds < 0:
        raise InvalidArgumentError(argument, "is before 1970 (negative unix time)")
    current = time.time() if now is None else now
    if seconds > current + MAX_FUTURE_YEARS * _SECONDS_PER_YEAR:
        reason = f"is more than {MAX_FUTURE_YEARS} years in the future"
        raise InvalidArgumentError(argument, reason)

    return seconds


# -- Limits -------------------------------------------------------------------------

# A str of at most this many characters cannot pass the byte limit (4 bytes a
# character at most), so only longer ones are encoded to be measured.
_SAFE_NAME_CHARS = MAX_ATTRIBUTE_NAME_BYTES // 4
_SAFE_VALUE_CHARS = MAX_ATTRIBUTE_VALUE_BYTES // 4
# An int this short has at most 904 digits, far under the value limit.
_SAFE_INT_BITS = 3000


def check_identifier(value: object, argument: str) -> str:
    """
    Check a person or object identifier, such as an id or an email.

    Args:
        value: The identifier.
        argument: The argument's name, for errors.

    Returns:
        The identifier, as a plain str.

    Raises:
        cio_async.InvalidTypeError: ``value`` is not a str.
        cio_async.InvalidArgumentError: ``value`` is empty, has leading or trailing
            whitespace, or has a lone surrogate.
        cio_async.PayloadTooLargeError: ``value`` is over ``MAX_ID_BYTES``.
    """
    text = _checked_text(value, argument, MAX_ID_BYTES)
    if text.strip() != text:
        reason = "has leading or trailing whitespace; strip it first"
        raise InvalidArgumentError(argument, reason)

    return text


def check_name(value: object, argument: str, limit: int) -> str:
    """
    Check a name, such as an event's, against a byte limit.

    Args:
        value: The name.
        argument: The argument's name, for errors.
        limit: The most UTF-8 bytes allowed, such as ``MAX_EVENT_NAME_BYTES``.

    Returns:
        The name, as a plain str.

    Raises:
        cio_async.InvalidTypeError: ``value`` is not a str.
        cio_async.InvalidArgumentError: ``value`` is empty or has a lone surrogate.
        cio_async.PayloadTooLargeError: ``value`` is over ``limit`` bytes.
    """
    return _checked_text(value, argument, limit)


def _checked_text(value: object, argument: str, limit: int) -> str:
    """
    Check that a value is a non-empty str of at most ``limit`` UTF-8 bytes.
    """
    if type(value) is not str:
        if not isinstance(value, str):
            raise InvalidTypeError(argument, f"must be a str, not {_type_name(value)}")
        value = str.__str__(value)
    if not value:
        raise InvalidArgumentError(argument, "must not be empty")

    size = len(value) if value.isascii() else _utf8_size(value, argument)
    if size > limit:
        reason = f"is {size} bytes; the limit is {limit}"
        raise PayloadTooLargeError(argument, reason, size=size, limit=limit)

    return value


def _utf8_size(text: str, argument: str) -> int:
    """
    Measure a string in UTF-8 bytes, refusing lone surrogates.
    """
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        error = InvalidArgumentError(argument, _SURROGATE)
    raise error


def check_attributes(attributes: object, argument: str) -> dict[str, JSONValue]:
    """
    Check and coerce the attributes of a person or an object.

    A string value is measured in UTF-8 bytes, any other value by its JSON.

    Args:
        attributes: A mapping of attribute names to values.
        argument: The argument's name, for errors.

    Returns:
        The coerced attributes: the same dict if nothing had to change.

    Raises:
        cio_async.InvalidTypeError: ``attributes`` is not a mapping, or holds a
            key or value of a type that cannot be sent.
        cio_async.InvalidArgumentError: A value cannot be coerced.
        cio_async.PayloadTooLargeError: Over ``MAX_ATTRIBUTES`` attributes, a name
            over ``MAX_ATTRIBUTE_NAME_BYTES``, or a value over
            ``MAX_ATTRIBUTE_VALUE_BYTES``.
    """
    if type(attributes) is not dict and not isinstance(attributes, Mapping):
        reason = f"must be a mapping of names to values, not {_type_name(attributes)}"
        raise InvalidTypeError(argument, reason)
    count = len(attributes)
    if count > MAX_ATTRIBUTES:
        reason = f"has {count} attributes; the limit is {MAX_ATTRIBUTES}"
        raise PayloadTooLargeError(argument, reason, size=count, limit=MAX_ATTRIBUTES)

    checked = _coerce_mapping(attributes, argument)
    for name, value in checked.items():
        if len(name) > _SAFE_NAME_CHARS:
            size = len(name.encode("utf-8"))
            _check_attribute_size(
                argument, name, "name", size, MAX_ATTRIBUTE_NAME_BYTES
            )
        kind = type(value)
        if kind is str:
            if len(value) > _SAFE_VALUE_CHARS:
                size = len(value.encode("utf-8"))
                _check_attribute_size(
                    argument, name, "value", size, MAX_ATTRIBUTE_VALUE_BYTES
                )
        elif (
            kind is dict
            or kind is list
            or (kind is int and value.bit_length() > _SAFE_INT_BITS)
        ):
            size = len(encode(value))
            _check_attribute_size(
                argument, name, "value", size, MAX_ATTRIBUTE_VALUE_BYTES
            )

    return checked


def _check_attribute_size(
    argument: str, name: str, what: str, size: int, limit: int
) -> None:
    """
    Refuse an attribute's name or value that is over its byte limit.
    """
    if size > limit:
        path = f"{argument}{_key_segment(name)}"
        reason = f"attribute {what} is {size} bytes; the limit is {limit}"
        raise PayloadTooLargeError(path, reason, size=size, limit=limit)


def check_data(data: object, argument: str) -> dict[str, JSONValue]:
    """
    Check and coerce an event's data.

    Args:
        data: A mapping, or None for no data.
        argument: The argument's name, for errors.

    Returns:
        The coerced data: the same dict if nothing had to change, a new empty dict
        for None.

    Raises:
        cio_async.InvalidTypeError: ``data`` is not a mapping, or holds a key or
            value of a type that cannot be sent.
        cio_async.InvalidArgumentError: A value cannot be coerced.
    """
    if data is None:
        return {}
    if type(data) is not dict and not isinstance(data, Mapping):
        reason = f"must be a mapping or None, not {_type_name(data)}"
        raise InvalidTypeError(argument, reason)

    return _coerce_mapping(data, argument)
