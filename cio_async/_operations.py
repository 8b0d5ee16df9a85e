"""
Operations as data: each call becomes one :class:`Operation`, encoded once.

An operation is either an item of a Track API v2 batch (``method`` is ``None``)
or a request of its own (Track v1, for what v2 cannot carry). Its bytes are made
at the call, checked against the limits there, and never re-encoded: a batch body
is the join of its items' bytes and a retry resends the same body.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

import attrs

from ._errors import InvalidArgumentError, InvalidTypeError, PayloadTooLargeError
from ._values import (
    MAX_ITEM_BYTES,
    MAX_V1_EVENT_DATA_BYTES,
    check_attributes,
    check_identifier,
    coerce,
    encode,
)

# The envelope around a v2 batch: b'{"batch":[' + items joined by b"," + b"]}".
BATCH_HEAD = b'{"batch":['
BATCH_TAIL = b"]}"
BATCH_OVERHEAD = len(BATCH_HEAD) + len(BATCH_TAIL)


class Operation:
    """
    One operation bound for Customer.io, as the exact bytes that will be sent.

    The failure handler receives these. ``action`` names what it does
    (``identify``, ``event``, ...); ``payload()`` decodes the bytes again.
    """

    __slots__ = ("_epoch", "_waiter", "action", "body", "method", "path", "person")

    def __init__(
        self,
        action: str,
        body: bytes,
        person: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.action = action
        self.body = body
        self.person = person
        self.method = method
        self.path = path
        self._epoch = 0
        self._waiter: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        # The payload may hold personal data: show only its shape.
        route = "batch" if self.method is None else f"{self.method} v1"
        return f"<Operation {self.action} {route} {len(self.body)} bytes>"

    @property
    def is_batch_item(self) -> bool:
        """
        Whether this travels inside a v2 batch (else it is a request of its own).
        """
        return self.method is None

    def payload(self) -> Any:
        """
        The JSON this operation sends, decoded.
        """
        return json.loads(self.body)

    def to_record(self) -> dict[str, Any]:
        """
        A JSON-able record that ``cio-async send`` can replay.
        """
        if self.method is None:
            return {"item": self.payload()}
        body = self.payload() if self.body else None
        return {"request": {"method": self.method, "path": self.path, "body": body}}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Operation:
        """
        Rebuild an operation from :meth:`to_record`'s output.

        Raises:
            cio_async.InvalidArgumentError: The record has neither shape.
        """
        if isinstance(record.get("item"), dict):
            item = coerce(record["item"], "item")
            assert isinstance(item, dict)
            return batch_item(str(item.get("action", "item")), item, None)

        request = record.get("request")
        if isinstance(request, dict) and isinstance(request.get("path"), str):
            path = request["path"]
            if not path.startswith("/api/v1/"):
                message = "only Track API v1 paths can be replayed"
                raise InvalidArgumentError("request.path", message)
            raw = request.get("body")
            body = b"" if raw is None else encode(coerce(raw, "request.body"))
            return cls(
                "request", body, method=str(request.get("method", "POST")), path=path
            )

        message = 'a record needs an "item" object or a "request" object'
        raise InvalidArgumentError("record", message)


class FailureReason(str, enum.Enum):
    """
    Why operations were handed to the failure handler.
    """

    #: The queue stayed full for ``enqueue_timeout``.
    QUEUE_FULL = "queue_full"
    #: Customer.io refused the item or the batch as invalid (207 or 400).
    REJECTED = "rejected"
    #: The credentials were refused (401 or 403).
    UNAUTHORIZED = "unauthorized"
    #: Too large for Customer.io even alone (413 on a single item).
    TOO_LARGE = "too_large"
    #: Another error status that retrying cannot fix (404, 422, ...).
    CLIENT_ERROR = "client_error"
    #: Retries ran out (attempts or deadline) on errors that could pass.
    RETRIES_EXHAUSTED = "retries_exhausted"
    #: ``aclose()`` reached its deadline before these were delivered.
    SHUTDOWN_TIMEOUT = "shutdown_timeout"
    #: The background task failed; see the ERROR log line.
    INTERNAL_ERROR = "internal_error"


@attrs.frozen
class DeliveryFailure:
    """
    Operations that will not be delivered, and why.

    Attributes:
        operations: The operations, as they were queued.
        reason: Why.
        status: The last HTTP status, if an answer came.
        message: The server's error text or our description; never payload data.
        attempts: Requests made for these operations.
    """

    operations: tuple[Operation, ...]
    reason: FailureReason
    status: int | None = None
    message: str | None = None
    attempts: int = 0


@attrs.frozen
class Person:
    """
    A person addressed by exactly one identifier.

    A plain string passed where a person is expected means ``Person(id=...)``.

    Raises:
        cio_async.InvalidArgumentError: Not exactly one identifier was given.
    """

    id: str | None = None
    email: str | None = None
    phone: str | None = None
    cio_id: str | None = None

    def __attrs_post_init__(self) -> None:
        given = [
            (k, v)
            for k, v in (
                ("id", self.id),
                ("email", self.email),
                ("phone", self.phone),
                ("cio_id", self.cio_id),
            )
            if v is not None
        ]
        if len(given) != 1:
            message = "give exactly one of id, email, phone, cio_id"
            raise InvalidArgumentError("Person", message)
        check_identifier(given[0][1], f"Person.{given[0][0]}")

    @property
    def identifiers(self) -> dict[str, str]:
        """
        The v2 ``identifiers`` object.
        """
        for key in ("id", "email", "phone", "cio_id"):
            value = getattr(self, key)
            if value is not None:
                return {key: value}
        raise AssertionError("unreachable: validated at construction")


PersonRef = str | Person


def person_identifiers(person: PersonRef, argument: str = "person") -> dict[str, str]:
    """
    The v2 ``identifiers`` for a person given as a string id or a :class:`Person`.
    """
    if type(person) is str:
        return {"id": check_identifier(person, argument)}
    if isinstance(person, Person):
        return person.identifiers

    message = f"must be a str id or a cio_async.Person, not {type(person).__name__}"
    raise InvalidArgumentError(argument, message)


def ordering_key(identifiers: dict[str, str]) -> str:
    """
    A key that is equal for operations addressed the same way.
    """
    ((kind, value),) = identifiers.items()
    return value if kind == "id" else f"{kind}:{value}"


def v1_person_path(identifiers: dict[str, str], argument: str = "person") -> str:
    """
    The ``/api/v1/customers/{identifier}`` path segment for a person.

    Raises:
        cio_async.InvalidArgumentError: A phone number, which v1 paths cannot
            address.
    """
    ((kind, value),) = identifiers.items()
    if kind == "phone":
        message = "a phone number cannot address a person on this v1 route"
        raise InvalidArgumentError(argument, message)

    raw = f"cio_{value}" if kind == "cio_id" else value
    # Every reserved character is escaped, "/" included, so an id is one
    # path segment exactly.
    return "/api/v1/customers/" + quote(raw, safe="")


def batch_item(action: str, item: dict[str, Any], person: str | None) -> Operation:
    """
    Encode a v2 batch item, refusing one over the per-item limit.

    Raises:
        cio_async.PayloadTooLargeError: The item is over 32 KB.
    """
    body = encode(item)
    if len(body) > MAX_ITEM_BYTES:
        raise _too_large("item", len(body), MAX_ITEM_BYTES)

    return Operation(action, body, person)


def large_event(identifiers: dict[str, str], item: dict[str, Any]) -> Operation:
    """
    Route an event too large for v2 through Track v1, which allows 100,000 bytes.

    Raises:
        cio_async.PayloadTooLargeError: Too large even for v1.
    """
    data = item.get("attributes", {})
    data_size = len(encode(data))
    if data_size > MAX_V1_EVENT_DATA_BYTES:
        raise _too_large("data", data_size, MAX_V1_EVENT_DATA_BYTES)

    path = v1_person_path(identifiers) + "/events"
    body: dict[str, Any] = {"name": item["name"], "data": data}
    for key in ("id", "timestamp"):
        if key in item:
            body[key] = item[key]
    if item.get("action", "event") != "event":
        body["type"] = item["action"]

    return Operation(
        str(item["action"]),
        encode(body),
        ordering_key(identifiers),
        method="POST",
        path=path,
    )


def _too_large(argument: str, size: int, limit: int) -> PayloadTooLargeError:
    message = f"encodes to {size:,} bytes; the limit is {limit:,}"
    return PayloadTooLargeError(argument, message, size=size, limit=limit)


@attrs.frozen
class ObjectRef:
    """
    A Customer.io object (a company, an account, a course...).

    Args:
        type_id: The object type's id as shown in Customer.io (``"1"``).
        id: The object's id within its type.
    """

    type_id: str = attrs.field(converter=str)
    id: str

    def __attrs_post_init__(self) -> None:
        check_identifier(self.type_id, "ObjectRef.type_id")
        check_identifier(self.id, "ObjectRef.id")

    @property
    def identifiers(self) -> dict[str, str]:
        return {"object_type_id": self.type_id, "object_id": self.id}


@attrs.frozen
class Relationship:
    """
    A relationship to an object or a person, with optional attributes of its own.

    Args:
        target: The :class:`ObjectRef` (from a person) or the person (from an
            object) at the other end.
        attributes: Attributes of the relationship itself.
    """

    target: ObjectRef | Person | str
    attributes: Mapping[str, Any] | None = None


def relationships(
    entries: Iterable[Relationship | ObjectRef | Person | str],
    argument: str,
    *,
    to_objects: bool,
) -> list[dict[str, Any]]:
    """
    The ``cio_relationships`` list, each entry checked.

    Raises:
        cio_async.InvalidArgumentError: An entry points at the wrong kind of
            thing, or the list is empty.
    """
    _refuse_lone_string(entries, argument)
    result: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        path = f"{argument}[{index}]"
        relation = entry if isinstance(entry, Relationship) else Relationship(entry)
        target = relation.target
        if to_objects:
            if not isinstance(target, ObjectRef):
                message = "must be a cio_async.ObjectRef or a Relationship to one"
                raise InvalidArgumentError(path, message)
            identifiers = target.identifiers
        else:
            if isinstance(target, ObjectRef):
                message = "must be a person (a str id or a cio_async.Person)"
                raise InvalidArgumentError(path, message)
            identifiers = person_identifiers(target, path)

        one: dict[str, Any] = {"identifiers": identifiers}
        if relation.attributes:
            one["relationship_attributes"] = check_attributes(
                relation.attributes, f"{path}.attributes"
            )
        result.append(one)

    if not result:
        raise InvalidArgumentError(argument, "must name at least one relationship")
    return result


def _refuse_lone_string(value: object, argument: str) -> None:
    """
    A str is iterable, so "u1" would otherwise quietly mean ["u", "1"].
    """
    if isinstance(value, (str, bytes, Person, ObjectRef, Relationship)):
        message = f"must be a list of them, not a single {type(value).__name__}"
        raise InvalidTypeError(argument, message)


def merge_identifiers(person: PersonRef, argument: str) -> dict[str, str]:
    """
    Identifiers for one side of a merge: id, email or cio_id (not phone).
    """
    identifiers = person_identifiers(person, argument)
    if "phone" in identifiers:
        message = "a merge addresses people by id, email or cio_id, not phone"
        raise InvalidArgumentError(argument, message)
    return identifiers


DELIVERY_METRICS = ("opened", "converted", "delivered")

#: Track v1 takes at most this many ids per manual-segment request.
SEGMENT_CHUNK = 1_000


def segment_operations(
    segment_id: int, people: Iterable[str], id_type: str, action: str
) -> list[Operation]:
    """
    Manual segment membership changes, split into requests of 1,000 ids.

    Raises:
        cio_async.InvalidArgumentError: A bad segment id, id type or id.
    """
    if (
        isinstance(segment_id, bool)
        or not isinstance(segment_id, int)
        or segment_id < 1
    ):
        raise InvalidArgumentError("segment_id", "must be a positive int")
    if id_type not in ("id", "email", "cio_id"):
        raise InvalidArgumentError("id_type", 'must be "id", "email" or "cio_id"')

    _refuse_lone_string(people, "people")
    ids = [check_identifier(p, f"people[{i}]") for i, p in enumerate(people)]
    if not ids:
        raise InvalidArgumentError("people", "must name at least one person")

    path = f"/api/v1/segments/{segment_id}/{action}?id_type={id_type}"
    return [
        Operation(
            action,
            encode({"ids": ids[i : i + SEGMENT_CHUNK]}),
            method="POST",
            path=path,
        )
        for i in range(0, len(ids), SEGMENT_CHUNK)
    ]
