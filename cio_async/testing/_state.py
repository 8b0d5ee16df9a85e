"""
What the fake Customer.io knows: people, objects, events, and v2 item checks.

Nothing here does I/O. The server in ``_fake.py`` parses requests and calls the
:class:`Workspace` methods; tests read the resulting :class:`FakePerson` and
:class:`FakeObject` records.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = [
    "ITEM_LIMIT_BYTES",
    "Counts",
    "FakeDeliveryEvent",
    "FakeEvent",
    "FakeObject",
    "FakePerson",
    "ItemError",
    "Workspace",
    "check_identity",
    "check_item",
    "split_batch",
]

#: Largest v2 item, measured as its raw slice of the request body.
ITEM_LIMIT_BYTES = 32_768

PERSON_ID_TYPES = ("id", "email", "phone", "cio_id")
MERGE_ID_TYPES = ("id", "email", "cio_id")
EVENT_ACTIONS = frozenset({"event", "page", "screen"})
PERSON_ACTIONS = frozenset(
    {
        "identify",
        "delete",
        "event",
        "screen",
        "page",
        "add_relationships",
        "delete_relationships",
        "add_device",
        "delete_device",
        "merge",
        "suppress",
        "unsuppress",
    }
)
OBJECT_ACTIONS = frozenset(
    {
        "identify",
        "identify_anonymous",
        "delete",
        "add_relationships",
        "delete_relationships",
    }
)
DELIVERY_METRICS = frozenset({"opened", "converted", "delivered"})

ObjectKey = tuple[str, str]


@attrs.define
class FakeEvent:
    """
    One stored event, page view or screen view.
    """

    name: str
    id: str | None
    timestamp: int
    data: dict[str, Any]
    type: str = "event"
    #: The ``cio_id`` of the person it belongs to; None for anonymous events.
    person_cio_id: str | None = None
    anonymous_id: str | None = None


@attrs.define(eq=False)
class FakePerson:
    """
    One person as the fake Customer.io holds them.

    ``identifiers`` holds the ``id``, ``email``, ``phone`` and ``cio_id`` that are
    known. ``devices`` maps a device token to ``{"platform", "last_used",
    "attributes"}``. ``relationships`` holds ``(object_type_id, object_id)``
    pairs. A deleted or merged-away person keeps its last state for inspection.
    """

    identifiers: dict[str, str]
    attributes: dict[str, Any] = attrs.Factory(dict)
    events: list[FakeEvent] = attrs.Factory(list)
    devices: dict[str, dict[str, Any]] = attrs.Factory(dict)
    suppressed: bool = False
    deleted: bool = False
    relationships: set[ObjectKey] = attrs.Factory(set)
    relationship_attributes: dict[ObjectKey, dict[str, Any]] = attrs.Factory(dict)
    segments: set[int] = attrs.Factory(set)
    #: The ``cio_id`` of the person this one was merged into, if any.
    merged_into: str | None = None
    last_update: int | None = attrs.field(default=None, repr=False)

    @property
    def cio_id(self) -> str:
        """
        The identifier the fake generated for this person.
        """
        return self.identifiers["cio_id"]

    @property
    def id(self) -> str | None:
        """
        The person's ``id`` identifier, if known.
        """
        return self.identifiers.get("id")

    @property
    def email(self) -> str | None:
        """
        The person's ``email`` identifier, if known.
        """
        return self.identifiers.get("email")


@attrs.define(eq=False)
class FakeObject:
    """
    One custom object; ``relationships`` holds the ``cio_id`` of related people.
    """

    object_type_id: str
    object_id: str
    cio_object_id: str
    attributes: dict[str, Any] = attrs.Factory(dict)
    relationships: set[str] = attrs.Factory(set)
    anonymous_relationships: set[str] = attrs.Factory(set)
    deleted: bool = False


@attrs.define
class FakeDeliveryEvent:
    """
    A delivery metric: a v2 delivery item, a v1 metric or a v1 push event.
    """

    delivery_id: str
    metric: str
    timestamp: int
    attributes: dict[str, Any]
    #: "batch" (v2), "metrics" (/api/v1/metrics) or "push" (/api/v1/push/events).
    source: str


@attrs.define
class Counts:
    """
    Running totals, cleared by ``FakeCustomerIO.reset()``.

    ``items_accepted`` counts every item applied to the state, including
    duplicate events that dedupe then ignored, and items whose answer never
    reached the client (``StoreThenReset``). Unique items are therefore
    ``items_accepted - duplicate_events``. ``batches`` counts applied
    ``/api/v2/batch`` bodies and ``requests`` every request received.
    """

    items_accepted: int = 0
    items_rejected: int = 0
    duplicate_events: int = 0
    batches: int = 0
    requests: int = 0


@attrs.frozen
class ItemError:
    """
    Why one v2 item was refused, in the shape of the API's error objects.
    """

    reason: str
    field: str
    message: str

    def as_json(self, batch_index: int | None = None) -> dict[str, object]:
        """
        Render the error as the API does, with ``batch_index`` for batch items.
        """
        rendered: dict[str, object] = {
            "reason": self.reason,
            "field": self.field,
            "message": self.message,
        }
        if batch_index is not None:
            rendered = {"batch_index": batch_index, **rendered}

        return rendered


# raw_decode() decodes one JSON value at an index and says where it ends.
_DECODE = json.JSONDecoder().raw_decode
_BLANK = " \t\n\r"


def _skip_blank(text: str, index: int) -> int:
    while index < len(text) and text[index] in _BLANK:
        index += 1

    return index


def _split_array(
    text: str, index: int, ascii_only: bool
) -> tuple[list[Any], list[int], int]:
    # ``index`` is at "[". Each item is decoded on its own so that its raw
    # length is known without re-serialising it.
    items: list[Any] = []
    sizes: list[int] = []
    index = _skip_blank(text, index + 1)
    if text[index] == "]":
        return items, sizes, index + 1

    while True:
        value, end = _DECODE(text, index)
        items.append(value)
        sizes.append(end - index if ascii_only else len(text[index:end].encode()))
        index = end if text[end] not in _BLANK else _skip_blank(text, end)
        if text[index] == "]":
            return items, sizes, index + 1
        if text[index] != ",":
            message = "expected ',' or ']'"
            raise ValueError(message)
        index += 1
        if text[index] in _BLANK:
            index = _skip_blank(text, index)


def split_batch(body: bytes) -> tuple[list[Any], list[int]] | None:
    """
    Decode a v2 batch body into its items and each item's raw size in bytes.

    The size is that of the item's own slice of the body, as sent, so an item
    over 32 KB is found without re-serialising every item.

    Returns:
        The items and their sizes, or None if the body is not a JSON object
        whose ``batch`` is a list.
    """
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return None
    ascii_only = len(text) == len(body)
    batch: tuple[list[Any], list[int]] | None = None

    try:
        index = _skip_blank(text, 0)
        if text[index] != "{":
            return None
        index = _skip_blank(text, index + 1)
        closed = text[index] == "}"
        if closed:
            index = _skip_blank(text, index + 1)
        while not closed:
            key, index = _DECODE(text, index)
            index = _skip_blank(text, index)
            if not isinstance(key, str) or text[index] != ":":
                return None
            index = _skip_blank(text, index + 1)
            if key == "batch" and text[index] == "[":
                items, sizes, index = _split_array(text, index, ascii_only)
                batch = (items, sizes)
            else:
                _value, index = _DECODE(text, index)
                if key == "batch":
                    batch = None
            index = _skip_blank(text, index)
            closed = text[index] == "}"
            if not closed and text[index] != ",":
                return None
            index = _skip_blank(text, index + 1)
    except (ValueError, IndexError, RecursionError):
        return None

    return batch if index >= len(text) else None


# --- v2 item validation ---------------------------------------------------------


def _missing(field: str) -> ItemError:
    return ItemError("required", field, f"{field} is required")


def _invalid(field: str, why: str) -> ItemError:
    return ItemError("invalid", field, f"{field} {why}")


def _check_str(item: Mapping[str, Any], key: str, field: str) -> ItemError | None:
    if key not in item:
        return _missing(field)
    value = item[key]
    if not isinstance(value, str) or not value:
        return _invalid(field, "must be a non-empty string")

    return None


def _check_optional(
    item: Mapping[str, Any], key: str, kind: type, field: str
) -> ItemError | None:
    value = item.get(key)
    if value is None:
        return None
    # bool is an int subclass, but true is not a timestamp.
    if isinstance(value, bool) or not isinstance(value, kind):
        return _invalid(field, f"must be of type {kind.__name__}")

    return None


def check_identity(
    value: object, allowed: tuple[str, ...], field: str
) -> ItemError | None:
    """
    Check that ``value`` is an object with exactly one allowed, non-empty key.
    """
    if value is None:
        return _missing(field)
    if not isinstance(value, dict):
        return _invalid(field, "must be an object")
    if len(value) != 1 or next(iter(value)) not in allowed:
        return _invalid(field, f"must hold exactly one of {', '.join(allowed)}")

    return _check_str(value, next(iter(value)), f"{field}.{next(iter(value))}")


def _check_object_ids(value: object, field: str) -> ItemError | None:
    if value is None:
        return _missing(field)
    if not isinstance(value, dict):
        return _invalid(field, "must be an object")
    if value.keys() == {"cio_object_id"}:
        return _check_str(value, "cio_object_id", f"{field}.cio_object_id")
    if value.keys() != {"object_type_id", "object_id"}:
        return _invalid(field, "must be {object_type_id, object_id} or {cio_object_id}")

    return _check_str(value, "object_type_id", f"{field}.object_type_id") or _check_str(
        value, "object_id", f"{field}.object_id"
    )


def _check_relationships(
    item: Mapping[str, Any],
    check: Callable[[object, str], ItemError | None],
    *,
    required: bool,
) -> ItemError | None:
    relationships = item.get("cio_relationships")
    if relationships is None:
        return _missing("cio_relationships") if required else None
    if not isinstance(relationships, list) or (required and not relationships):
        return _invalid("cio_relationships", "must be a non-empty list")

    for index, entry in enumerate(relationships):
        field = f"cio_relationships[{index}]"
        if not isinstance(entry, dict):
            return _invalid(field, "must be an object")
        error = check(entry.get("identifiers"), f"{field}.identifiers")
        if error is None:
            error = _check_optional(
                entry,
                "relationship_attributes",
                dict,
                f"{field}.relationship_attributes",
            )
        if error is not None:
            return error

    return None


def _person_ids(value: object, field: str) -> ItemError | None:
    return check_identity(value, PERSON_ID_TYPES, field)


def _anonymous_ids(value: object, field: str) -> ItemError | None:
    return check_identity(value, ("anonymous_id",), field)


def _check_person(item: Mapping[str, Any], action: str) -> ItemError | None:
    if action == "merge":
        return check_identity(item.get("primary"), MERGE_ID_TYPES, "primary") or (
            check_identity(item.get("secondary"), MERGE_ID_TYPES, "secondary")
        )

    error = _person_ids(item.get("identifiers"), "identifiers")
    if error is not None:
        return error

    if action in EVENT_ACTIONS:
        return (
            _check_str(item, "name", "name")
            or _check_optional(item, "id", str, "id")
            or _check_optional(item, "timestamp", int, "timestamp")
            or _check_optional(item, "attributes", dict, "attributes")
        )
    if action == "identify":
        return (
            _check_optional(item, "attributes", dict, "attributes")
            or _check_optional(item, "timestamp", int, "timestamp")
            or _check_relationships(item, _check_object_ids, required=False)
        )
    if action in ("add_device", "delete_device"):
        device = item.get("device")
        if not isinstance(device, dict):
            return (
                _missing("device")
                if device is None
                else _invalid("device", "must be an object")
            )
        return (
            _check_str(device, "token", "device.token")
            or _check_optional(device, "platform", str, "device.platform")
            or _check_optional(device, "last_used", int, "device.last_used")
            or _check_optional(device, "attributes", dict, "device.attributes")
        )
    if action in ("add_relationships", "delete_relationships"):
        return _check_relationships(item, _check_object_ids, required=True)

    return None


def _check_object(item: Mapping[str, Any], action: str) -> ItemError | None:
    error = _check_object_ids(item.get("identifiers"), "identifiers")
    if error is not None:
        return error

    if action == "identify":
        return _check_optional(item, "attributes", dict, "attributes") or (
            _check_relationships(item, _person_ids, required=False)
        )
    if action == "identify_anonymous":
        return _check_optional(item, "attributes", dict, "attributes") or (
            _check_relationships(item, _anonymous_ids, required=False)
        )
    if action in ("add_relationships", "delete_relationships"):
        return _check_relationships(item, _person_ids, required=True)

    return None


def _check_delivery(item: Mapping[str, Any]) -> ItemError | None:
    error = check_identity(item.get("identifiers"), ("id",), "identifiers")
    if error is not None:
        return error

    name = item.get("name")
    if name is None:
        return _missing("name")
    if not isinstance(name, str) or name not in DELIVERY_METRICS:
        return _invalid("name", f"must be one of {', '.join(sorted(DELIVERY_METRICS))}")

    attributes = item.get("attributes")
    if not isinstance(attributes, dict):
        return _missing("attributes.device_token")

    return _check_str(attributes, "device_token", "attributes.device_token") or (
        _check_optional(item, "timestamp", int, "timestamp")
    )


def check_item(item: object, *, size: int | None = None) -> ItemError | None:
    """
    Validate one v2 item against the Track API's documented shapes.

    Args:
        item: The decoded JSON item.
        size: The item's raw size in bytes, checked against the 32 KB limit;
            None skips that check.

    Returns:
        None if the item is valid, else the first problem found.
    """
    if not isinstance(item, dict):
        return _invalid("item", "must be an object")
    if size is not None and size > ITEM_LIMIT_BYTES:
        return ItemError(
            "too_large", "item", f"an item may be at most {ITEM_LIMIT_BYTES} bytes"
        )

    kind = item.get("type")
    action = item.get("action")
    if kind is None:
        return _missing("type")
    if action is None:
        return _missing("action")

    if kind == "person":
        allowed: frozenset[str] = PERSON_ACTIONS
    elif kind == "object":
        allowed = OBJECT_ACTIONS
    elif kind == "delivery":
        allowed = frozenset({"event"})
    else:
        return _invalid("type", "must be person, object or delivery")
    if not isinstance(action, str) or action not in allowed:
        return _invalid("action", f"is not an action of type {kind}")

    if kind == "person":
        return _check_person(item, action)
    if kind == "object":
        return _check_object(item, action)

    return _check_delivery(item)


# --- state ----------------------------------------------------------------------


def _index_key(id_type: str, value: str) -> str:
    # Customer.io matches emails case-insensitively.
    return value.lower() if id_type == "email" else value


class Workspace:
    """
    The state of one fake workspace, changed only through these methods.

    Writes that address an unknown person by ``id``, ``email`` or ``phone``
    create them (identify, events, devices, relationships, suppress); removals
    on an unknown person do nothing; a person addressed by an unknown ``cio_id``
    is never created, as Customer.io drops such requests. Identifiers are added
    freely but changed only when the person is addressed by ``cio_id``, and an
    identifier that another live person holds is never taken: such attributes
    are left out of the update. Suppression is recorded but does not stop data
    from being stored.

    Args:
        clock: Source of "now" in unix seconds, for events without a timestamp.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.clear()

    def clear(self) -> None:
        """
        Forget every person, object, event and count.
        """
        self.counts = Counts()
        self.people: list[FakePerson] = []
        self.objects: dict[ObjectKey, FakeObject] = {}
        self.events: list[FakeEvent] = []
        self.anonymous_events: list[FakeEvent] = []
        self.deliveries: list[FakeDeliveryEvent] = []
        self._index: dict[str, dict[str, FakePerson]] = {t: {} for t in PERSON_ID_TYPES}
        self._objects_by_cio: dict[str, FakeObject] = {}
        self._device_owner: dict[str, FakePerson] = {}
        self._event_ids: set[str] = set()
        self._serial = 0

    # People lookup and creation.

    def find(self, id_type: str, value: str) -> FakePerson | None:
        """
        Return the live person holding this identifier, or None.
        """
        return self._index[id_type].get(_index_key(id_type, value))

    def lookup(self, id_type: str, value: str) -> FakePerson | None:
        """
        Return the live person with this identifier, else the latest deleted one.
        """
        person = self.find(id_type, value)
        if person is not None:
            return person

        key = _index_key(id_type, value)
        for candidate in reversed(self.people):
            known = candidate.identifiers.get(id_type)
            if known is not None and _index_key(id_type, known) == key:
                return candidate

        return None

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _address(self, id_type: str, value: str, *, create: bool) -> FakePerson | None:
        person = self.find(id_type, value)
        if person is not None or not create or id_type == "cio_id":
            return person

        cio_id = f"{0xA0000000 + self._next_serial():x}"
        person = FakePerson(identifiers={id_type: value, "cio_id": cio_id})
        if id_type in ("email", "phone"):
            person.attributes[id_type] = value
        self.people.append(person)
        self._index[id_type][_index_key(id_type, value)] = person
        self._index["cio_id"][cio_id] = person

        return person

    def _adopt_identifiers(
        self, person: FakePerson, attributes: dict[str, Any], addressed_by: str
    ) -> None:
        # Pops the identifier attributes that may not be applied, so the stored
        # attributes and identifiers never disagree.
        for id_type in ("id", "email", "phone"):
            value = attributes.get(id_type)
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                attributes.pop(id_type)
                continue

            current = person.identifiers.get(id_type)
            key = _index_key(id_type, value)
            if current is not None and _index_key(id_type, current) == key:
                continue
            holder = self._index[id_type].get(key)
            may_change = current is None or addressed_by == "cio_id"
            if (holder is not None and holder is not person) or not may_change:
                attributes.pop(id_type)
                continue

            if current is not None:
                self._index[id_type].pop(_index_key(id_type, current), None)
            person.identifiers[id_type] = value
            self._index[id_type][key] = person

    def _forget(self, person: FakePerson) -> None:
        for id_type, value in person.identifiers.items():
            index = self._index[id_type]
            key = _index_key(id_type, value)
            if index.get(key) is person:
                del index[key]
        for token in person.devices:
            if self._device_owner.get(token) is person:
                del self._device_owner[token]

    # Person operations, shared by v1 and v2.

    def identify(
        self,
        id_type: str,
        value: str,
        attributes: Mapping[str, Any],
        *,
        timestamp: int | None = None,
        relationships: list[Any] | None = None,
    ) -> None:
        """
        Create or update a person's attributes.

        ``_update: true`` never creates; ``_timestamp`` (or ``timestamp``) older
        than the newest applied one leaves the attributes as they are, which is
        how Customer.io orders rapid updates. A v1 ``cio_relationships``
        attribute (``{action, relationships}``) is applied, not stored.
        """
        changes = dict(attributes)
        update_only = changes.pop("_update", False) is True
        stamp = changes.pop("_timestamp", None)
        if not isinstance(stamp, int) or isinstance(stamp, bool):
            stamp = timestamp
        legacy = changes.pop("cio_relationships", None)

        person = self._address(id_type, value, create=not update_only)
        if person is None:
            return

        if stamp is not None:
            if person.last_update is not None and stamp < person.last_update:
                return
            person.last_update = stamp
        self._adopt_identifiers(person, changes, id_type)
        person.attributes.update(changes)

        if relationships:
            self._relate_person(person, relationships, add=True)
        if isinstance(legacy, dict) and isinstance(legacy.get("relationships"), list):
            adding = legacy.get("action", "add_relationships") != "delete_relationships"
            self._relate_person(person, legacy["relationships"], add=adding)

    def delete(self, id_type: str, value: str) -> None:
        """
        Mark a person deleted; later writes with the same id create a new person.
        """
        person = self.find(id_type, value)
        if person is None:
            return

        self._forget(person)
        person.deleted = True
        for key in person.relationships:
            related = self.objects.get(key)
            if related is not None:
                related.relationships.discard(person.cio_id)

    def track(
        self,
        id_type: str,
        value: str,
        *,
        name: str,
        event_id: str | None = None,
        timestamp: int | None = None,
        data: Mapping[str, Any] | None = None,
        kind: str = "event",
    ) -> None:
        """
        Store an event for a person unless its ``id`` was already seen.
        """
        if event_id is not None and event_id in self._event_ids:
            self.counts.duplicate_events += 1
            return

        person = self._address(id_type, value, create=True)
        if person is None:
            return

        if event_id is not None:
            self._event_ids.add(event_id)
        event = FakeEvent(
            name=name,
            id=event_id,
            timestamp=int(self._clock()) if timestamp is None else timestamp,
            data=dict(data or {}),
            type=kind,
            person_cio_id=person.cio_id,
        )
        person.events.append(event)
        self.events.append(event)

    def track_anonymous(
        self,
        *,
        name: str,
        anonymous_id: str | None,
        event_id: str | None = None,
        timestamp: int | None = None,
        data: Mapping[str, Any] | None = None,
        kind: str = "event",
    ) -> None:
        """
        Store an anonymous event unless its ``id`` was already seen.
        """
        if event_id is not None:
            if event_id in self._event_ids:
                self.counts.duplicate_events += 1
                return
            self._event_ids.add(event_id)

        self.anonymous_events.append(
            FakeEvent(
                name=name,
                id=event_id,
                timestamp=int(self._clock()) if timestamp is None else timestamp,
                data=dict(data or {}),
                type=kind,
                anonymous_id=anonymous_id,
            )
        )

    def add_device(
        self,
        id_type: str,
        value: str,
        *,
        token: str,
        platform: str | None = None,
        last_used: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """
        Register a device token, moving it from any person who held it before.
        """
        person = self._address(id_type, value, create=True)
        if person is None:
            return

        previous = self._device_owner.get(token)
        if previous is not None and previous is not person:
            previous.devices.pop(token, None)
        device = person.devices.setdefault(
            token, {"platform": None, "last_used": None, "attributes": {}}
        )
        if platform is not None:
            device["platform"] = platform
        if last_used is not None:
            device["last_used"] = last_used
        device["attributes"].update(attributes or {})
        self._device_owner[token] = person

    def delete_device(self, id_type: str, value: str, token: str) -> None:
        """
        Remove a device token from a person.
        """
        person = self.find(id_type, value)
        if person is None or person.devices.pop(token, None) is None:
            return

        if self._device_owner.get(token) is person:
            del self._device_owner[token]

    def set_suppressed(self, id_type: str, value: str, *, suppressed: bool) -> None:
        """
        Suppress (creating the person if needed) or unsuppress a person.
        """
        person = self._address(id_type, value, create=suppressed)
        if person is not None:
            person.suppressed = suppressed

    def merge(self, primary: tuple[str, str], secondary: tuple[str, str]) -> None:
        """
        Fold the secondary person into the primary; a no-op unless both exist.

        The primary's attributes and identifiers win; the secondary's events,
        devices, relationships and segments move over, and the secondary is
        marked deleted with ``merged_into`` set.
        """
        keep = self.find(*primary)
        gone = self.find(*secondary)
        if keep is None or gone is None or keep is gone:
            return

        self._forget(gone)
        gone.deleted = True
        gone.merged_into = keep.cio_id

        for id_type, value in gone.identifiers.items():
            if id_type not in keep.identifiers:
                keep.identifiers[id_type] = value
                self._index[id_type][_index_key(id_type, value)] = keep
        for name, attribute in gone.attributes.items():
            keep.attributes.setdefault(name, attribute)
        for event in gone.events:
            event.person_cio_id = keep.cio_id
        keep.events.extend(gone.events)
        gone.events = []
        for token, device in gone.devices.items():
            keep.devices.setdefault(token, device)
            self._device_owner[token] = keep
        for key in gone.relationships:
            related = self.objects.get(key)
            if related is not None:
                related.relationships.discard(gone.cio_id)
                related.relationships.add(keep.cio_id)
        keep.relationships |= gone.relationships
        for pair, extra in gone.relationship_attributes.items():
            keep.relationship_attributes.setdefault(pair, extra)
        keep.segments |= gone.segments

    def change_segment(
        self, segment_id: int, id_type: str, ids: list[str], *, add: bool
    ) -> None:
        """
        Add known people to a manual segment or remove them; unknown ids are skipped.
        """
        for value in ids:
            person = self.find(id_type, value)
            if person is None:
                continue
            if add:
                person.segments.add(segment_id)
            else:
                person.segments.discard(segment_id)

    def record_delivery(
        self,
        *,
        delivery_id: str,
        metric: str,
        timestamp: int | None,
        attributes: Mapping[str, Any],
        source: str,
    ) -> None:
        """
        Store a delivery metric.
        """
        self.deliveries.append(
            FakeDeliveryEvent(
                delivery_id=delivery_id,
                metric=metric,
                timestamp=int(self._clock()) if timestamp is None else timestamp,
                attributes=dict(attributes),
                source=source,
            )
        )

    # Objects and relationships.

    def _object(
        self, identifiers: Mapping[str, str], *, create: bool
    ) -> FakeObject | None:
        cio_object_id = identifiers.get("cio_object_id")
        if cio_object_id is not None:
            found = self._objects_by_cio.get(cio_object_id)
            return None if found is None or found.deleted else found

        key = (identifiers["object_type_id"], identifiers["object_id"])
        found = self.objects.get(key)
        if found is not None and not found.deleted:
            return found
        if not create:
            return None

        created = FakeObject(
            object_type_id=key[0],
            object_id=key[1],
            cio_object_id=f"{0xB0000000 + self._next_serial():x}",
        )
        self.objects[key] = created
        self._objects_by_cio[created.cio_object_id] = created

        return created

    def _link(
        self,
        person: FakePerson,
        related: FakeObject,
        attributes: Mapping[str, Any] | None,
        *,
        add: bool,
    ) -> None:
        key = (related.object_type_id, related.object_id)
        if add:
            person.relationships.add(key)
            related.relationships.add(person.cio_id)
            if attributes:
                person.relationship_attributes.setdefault(key, {}).update(attributes)
        else:
            person.relationships.discard(key)
            person.relationship_attributes.pop(key, None)
            related.relationships.discard(person.cio_id)

    def _relate_person(
        self, person: FakePerson, entries: list[Any], *, add: bool
    ) -> None:
        for entry in entries:
            identifiers = entry.get("identifiers") if isinstance(entry, dict) else None
            if not isinstance(identifiers, dict) or _check_object_ids(identifiers, ""):
                continue
            related = self._object(identifiers, create=add)
            if related is not None:
                self._link(
                    person, related, entry.get("relationship_attributes"), add=add
                )

    def _relate_object(
        self, related: FakeObject, entries: list[Any], *, add: bool
    ) -> None:
        for entry in entries:
            identifiers = entry["identifiers"]
            if "anonymous_id" in identifiers:
                related.anonymous_relationships.add(identifiers["anonymous_id"])
                continue
            id_type, value = next(iter(identifiers.items()))
            person = self._address(id_type, value, create=add)
            if person is not None:
                self._link(
                    person, related, entry.get("relationship_attributes"), add=add
                )

    def _apply_object(self, item: Mapping[str, Any], action: str) -> None:
        identifiers = item["identifiers"]
        if action == "delete":
            related = self._object(identifiers, create=False)
            if related is None:
                return
            related.deleted = True
            pair = (related.object_type_id, related.object_id)
            for cio_id in related.relationships:
                person = self._index["cio_id"].get(cio_id)
                if person is not None:
                    person.relationships.discard(pair)
                    person.relationship_attributes.pop(pair, None)
            related.relationships.clear()
            return

        writes = action != "delete_relationships"
        related = self._object(identifiers, create=writes)
        if related is None:
            return
        if action in ("identify", "identify_anonymous"):
            related.attributes.update(item.get("attributes") or {})
        self._relate_object(related, item.get("cio_relationships") or [], add=writes)

    # v2 items.

    def apply_item(self, item: Mapping[str, Any]) -> None:
        """
        Apply one v2 item that :func:`check_item` accepted.
        """
        kind = item["type"]
        action = item["action"]
        if kind == "object":
            self._apply_object(item, action)
            return
        if kind == "delivery":
            self.record_delivery(
                delivery_id=item["identifiers"]["id"],
                metric=item["name"],
                timestamp=item.get("timestamp"),
                attributes=item["attributes"],
                source="batch",
            )
            return
        if action == "merge":
            self.merge(
                next(iter(item["primary"].items())),
                next(iter(item["secondary"].items())),
            )
            return

        id_type, value = next(iter(item["identifiers"].items()))
        if action in EVENT_ACTIONS:
            self.track(
                id_type,
                value,
                name=item["name"],
                event_id=item.get("id"),
                timestamp=item.get("timestamp"),
                data=item.get("attributes"),
                kind=action,
            )
        elif action == "identify":
            self.identify(
                id_type,
                value,
                item.get("attributes") or {},
                timestamp=item.get("timestamp"),
                relationships=item.get("cio_relationships"),
            )
        elif action == "delete":
            self.delete(id_type, value)
        elif action == "add_device":
            device = item["device"]
            self.add_device(
                id_type,
                value,
                token=device["token"],
                platform=device.get("platform"),
                last_used=device.get("last_used"),
                attributes=device.get("attributes"),
            )
        elif action == "delete_device":
            self.delete_device(id_type, value, item["device"]["token"])
        elif action in ("suppress", "unsuppress"):
            self.set_suppressed(id_type, value, suppressed=action == "suppress")
        else:
            person = self._address(id_type, value, create=action == "add_relationships")
            if person is not None:
                self._relate_person(
                    person, item["cio_relationships"], add=action == "add_relationships"
                )
