"""
NDJSON lines of ``cio-async send``, each turned into one call of the client.

A line is a JSON object whose ``action`` names the call; :data:`FORMATS` lists
the fields of each, and is what ``cio-async send --help`` prints. A field that
is not in an action's list makes the line bad, so that a misspelt field is not
dropped in silence. Dead-letter records (``{"item": ...}`` or
``{"request": ...}``) are replayed unchanged. Built on the public API only.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from cio_async import (
    AsyncCustomerIO,
    InvalidArgumentError,
    InvalidTypeError,
    ObjectRef,
    Person,
    Relationship,
)

__all__ = ["EXAMPLES", "FORMATS", "send_line"]

_Line = Mapping[str, Any]
_Handler = Callable[[AsyncCustomerIO, _Line], Awaitable[None]]

#: Each action, its fields (PERSON is one of id, email, phone or cio_id;
#: optional fields in brackets) and the client method it calls; ``--help``
#: prints this table.
FORMATS: tuple[tuple[str, str, str], ...] = (
    ("identify", "PERSON [attributes] [update_only] [timestamp]", "identify"),
    ("event", "PERSON name [data] [event_id] [timestamp]", "track"),
    ("page", "PERSON url [data] [event_id] [timestamp]", "page"),
    ("screen", "PERSON name [data] [event_id] [timestamp]", "screen"),
    ("delete", "PERSON", "delete"),
    ("suppress", "PERSON", "suppress"),
    ("unsuppress", "PERSON", "unsuppress"),
    (
        "add_device",
        "PERSON token platform [last_used] [attributes]",
        "add_device",
    ),
    ("delete_device", "PERSON token", "delete_device"),
    ("merge", "primary:{PERSON} secondary:{PERSON}", "merge"),
    ("add_relationships", "PERSON objects:[OBJECT]", "add_relationships"),
    ("delete_relationships", "PERSON objects:[OBJECT]", "delete_relationships"),
    (
        "identify_object",
        "object_type_id object_id [attributes] [people:[PEOPLE]]",
        "identify_object",
    ),
    ("delete_object", "object_type_id object_id", "delete_object"),
    (
        "add_object_relationships",
        "object_type_id object_id people:[PEOPLE]",
        "add_object_relationships",
    ),
    (
        "delete_object_relationships",
        "object_type_id object_id people:[PEOPLE]",
        "delete_object_relationships",
    ),
    (
        "track_delivery",
        "delivery_id metric device_token [timestamp]",
        "track_delivery",
    ),
    (
        "anonymous_event",
        "[anonymous_id] name [data] [event_id] [timestamp]",
        "track_anonymous",
    ),
    ("add_to_segment", "segment_id ids:[id] [id_type]", "add_to_segment"),
    ("remove_from_segment", "segment_id ids:[id] [id_type]", "remove_from_segment"),
)

#: Whole lines, as ``--help`` shows them.
EXAMPLES: tuple[str, ...] = (
    '{"action": "identify", "id": "u1", "attributes": {"plan": "pro"}}',
    '{"action": "event", "email": "ada@example.com", "name": "order_completed",'
    ' "data": {"total": 42.5}, "timestamp": "2024-05-01T12:00:00Z"}',
    '{"action": "merge", "primary": {"id": "u1"}, "secondary": {"email": "a@x.io"}}',
    '{"action": "add_relationships", "id": "u1", "objects":'
    ' [{"object_type_id": "1", "object_id": "acme", "attributes": {"role": "admin"}}]}',
    '{"action": "identify_object", "object_type_id": "1", "object_id": "acme",'
    ' "people": ["u1", {"email": "a@x.io", "attributes": {"role": "owner"}}]}',
    '{"action": "add_to_segment", "segment_id": 7, "ids": ["u1", "u2"]}',
)

_PERSON_KEYS = ("id", "email", "phone", "cio_id")
_OBJECT_KEYS = ("object_type_id", "object_id", "attributes")
_PEOPLE_KEYS = (*_PERSON_KEYS, "attributes")


def _field_names(spec: str) -> tuple[str, ...]:
    """
    The top-level field names of one FORMATS entry, PERSON spelt out.
    """
    names: list[str] = []
    for token in spec.split():
        name = token.strip("[]").partition(":")[0]
        names.extend(_PERSON_KEYS if name == "PERSON" else (name,))

    return tuple(names)


# Read from FORMATS, so that --help and the check cannot disagree.
_FIELDS: dict[str, tuple[str, ...]] = {
    action: _field_names(spec) for action, spec, _ in FORMATS
}


async def send_line(cio: AsyncCustomerIO, raw: bytes | str) -> None:
    """
    Queue the operation one line describes.

    Raises:
        ValueError: The line is not JSON, not an object, names no known action,
            or has a field its action does not take (``json.JSONDecodeError``
            for the first).
        RecursionError: The JSON is nested too deeply to parse.
        KeyError: A required field is missing.
        cio_async.InvalidArgumentError: A field breaks one of the client's rules.
        cio_async.InvalidTypeError: A field has the wrong type.
    """
    record = json.loads(raw)
    if not isinstance(record, dict):
        message = "a line must be a JSON object"
        raise ValueError(message)
    if "item" in record or "request" in record:
        await cio.replay(record)
        return

    action = record.get("action")
    if action is None:
        message = "missing field 'action'; see 'cio-async send --help'"
        raise ValueError(message)
    if not isinstance(action, str) or action not in _HANDLERS:
        message = f"unknown action {action!r}; see 'cio-async send --help'"
        raise ValueError(message)
    fields = [key for key in record if key != "action"]
    _refuse_unknown(fields, _FIELDS[action], f"for {action}")

    await _HANDLERS[action](cio, record)


def _refuse_unknown(given: Iterable[str], known: Sequence[str], where: str) -> None:
    unknown = [key for key in given if key not in known]
    if not unknown:
        return

    noun = "field" if len(unknown) == 1 else "fields"
    names = ", ".join(repr(key) for key in unknown)
    message = f"unknown {noun} {names} {where}; expected one of {', '.join(known)}"
    raise ValueError(message)


def _flag(record: _Line, key: str) -> bool:
    value = record.get(key, False)
    if not isinstance(value, bool):
        message = f"must be true or false, not {_json_type(value)}"
        raise InvalidTypeError(key, message)

    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _person(record: _Line, argument: str = "person") -> str | Person:
    given = [key for key in _PERSON_KEYS if key in record]
    if len(given) != 1:
        message = "name the person with exactly one of id, email, phone or cio_id"
        raise InvalidArgumentError(argument, message)
    key = given[0]
    value = record[key]
    if key == "id":
        # Integer ids are common in exports; Customer.io stores them as text.
        person: str | Person = _text_id(value)
        return person

    return Person(**{key: value})


def _text_id(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _timestamp(record: _Line, key: str = "timestamp") -> Any:
    value = record.get(key)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            message = "must be unix seconds or ISO 8601 text"
            raise InvalidArgumentError(key, message) from None

    return value


def _objects(record: _Line) -> list[ObjectRef | Relationship]:
    entries = record["objects"]
    if not isinstance(entries, list):
        raise InvalidArgumentError("objects", "must be a list")
    result: list[ObjectRef | Relationship] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InvalidArgumentError(f"objects[{index}]", "must be an object")
        _refuse_unknown(entry, _OBJECT_KEYS, f"in objects[{index}]")
        ref = ObjectRef(entry["object_type_id"], entry["object_id"])
        attributes = entry.get("attributes")
        result.append(Relationship(ref, attributes) if attributes else ref)

    return result


def _object(record: _Line) -> ObjectRef:
    return ObjectRef(record["object_type_id"], record["object_id"])


def _people(record: _Line) -> list[str | Person | Relationship]:
    entries = record.get("people") or []
    if not isinstance(entries, list):
        raise InvalidArgumentError("people", "must be a list")
    result: list[str | Person | Relationship] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            result.append(entry)
            continue
        if not isinstance(entry, dict):
            message = "must be an id or an object naming a person"
            raise InvalidArgumentError(f"people[{index}]", message)
        _refuse_unknown(entry, _PEOPLE_KEYS, f"in people[{index}]")
        person = _person(entry, f"people[{index}]")
        attributes = entry.get("attributes")
        result.append(Relationship(person, attributes) if attributes else person)

    return result


async def _identify(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.identify(
        _person(line),
        line.get("attributes") or {},
        update_only=_flag(line, "update_only"),
        timestamp=_timestamp(line),
    )


async def _event(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.track(
        _person(line),
        line["name"],
        line.get("data"),
        id=line.get("event_id"),
        timestamp=_timestamp(line),
    )


async def _page(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.page(
        _person(line),
        line["url"],
        line.get("data"),
        id=line.get("event_id"),
        timestamp=_timestamp(line),
    )


async def _screen(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.screen(
        _person(line),
        line["name"],
        line.get("data"),
        id=line.get("event_id"),
        timestamp=_timestamp(line),
    )


async def _delete(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.delete(_person(line))


async def _suppress(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.suppress(_person(line))


async def _unsuppress(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.unsuppress(_person(line))


async def _add_device(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.add_device(
        _person(line),
        line["token"],
        line["platform"],
        last_used=_timestamp(line, "last_used"),
        attributes=line.get("attributes"),
    )


async def _delete_device(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.delete_device(_person(line), line["token"])


async def _merge(cio: AsyncCustomerIO, line: _Line) -> None:
    sides = []
    for side in ("primary", "secondary"):
        value = line[side]
        if not isinstance(value, dict):
            raise InvalidArgumentError(side, 'must be an object such as {"id": ...}')
        _refuse_unknown(value, _PERSON_KEYS, f"in {side}")
        sides.append(_person(value, side))

    await cio.merge(sides[0], sides[1])


async def _add_relationships(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.add_relationships(_person(line), _objects(line))


async def _delete_relationships(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.delete_relationships(_person(line), _objects(line))


async def _identify_object(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.identify_object(
        _object(line), line.get("attributes"), people=_people(line)
    )


async def _delete_object(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.delete_object(_object(line))


async def _add_object_relationships(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.add_object_relationships(_object(line), _people(line))


async def _delete_object_relationships(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.delete_object_relationships(_object(line), _people(line))


async def _track_delivery(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.track_delivery(
        line["delivery_id"],
        line["metric"],
        device_token=line["device_token"],
        timestamp=_timestamp(line),
    )


async def _anonymous_event(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.track_anonymous(
        line.get("anonymous_id"),
        line["name"],
        line.get("data"),
        id=line.get("event_id"),
        timestamp=_timestamp(line),
    )


def _ids(line: _Line) -> list[Any]:
    ids = line["ids"]
    if not isinstance(ids, list):
        raise InvalidArgumentError("ids", "must be a list")
    return [_text_id(value) for value in ids]


async def _add_to_segment(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.add_to_segment(
        line["segment_id"], _ids(line), id_type=line.get("id_type", "id")
    )


async def _remove_from_segment(cio: AsyncCustomerIO, line: _Line) -> None:
    await cio.remove_from_segment(
        line["segment_id"], _ids(line), id_type=line.get("id_type", "id")
    )


_HANDLERS: dict[str, _Handler] = {
    "identify": _identify,
    "event": _event,
    "page": _page,
    "screen": _screen,
    "delete": _delete,
    "suppress": _suppress,
    "unsuppress": _unsuppress,
    "add_device": _add_device,
    "delete_device": _delete_device,
    "merge": _merge,
    "add_relationships": _add_relationships,
    "delete_relationships": _delete_relationships,
    "identify_object": _identify_object,
    "delete_object": _delete_object,
    "add_object_relationships": _add_object_relationships,
    "delete_object_relationships": _delete_object_relationships,
    "track_delivery": _track_delivery,
    "anonymous_event": _anonymous_event,
    "add_to_segment": _add_to_segment,
    "remove_from_segment": _remove_from_segment,
}
