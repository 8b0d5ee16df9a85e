"""
The App API side of the fake Customer.io: transactional sends, broadcast
triggers and customer lookups, behind Bearer keys.

Handlers are plain functions from a call to an :class:`Answer`, like the Track
routes in ``_fake.py``, which serves them on the same port under ``/v1/...``.
Lookups read the same :class:`Workspace` that Track requests write, so a test
can identify a person through the Track client and read them back here.

Switches a test may turn:

``wrong_region``
    Every App route answers 301 "wrong datacenter", whatever the key, as the
    App API does for an account that lives in the other region.
``enforce_rate_limits()``
    Answer 429 with ``Retry-After`` over the documented rates (100 sends a
    second, 10 other calls a second, one broadcast trigger per 10 s); off by
    default so that unrelated tests never meet it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs
from aiohttp import web

from ._faults import Answer
from ._state import PERSON_ID_TYPES, FakePerson, Workspace, check_identity

__all__ = [
    "SEND_KINDS",
    "AppCall",
    "FakeAppApi",
    "FakeBroadcastTrigger",
    "FakeSend",
]

#: The transactional endpoints, as in ``/v1/send/{kind}``.
SEND_KINDS = ("email", "push", "sms", "whatsapp", "inbox_message", "in_app")

#: Attachments' base64 text must total less than this ("total < 2 MB").
ATTACHMENTS_LIMIT_BYTES = 2_000_000
#: Broadcast limits: recipients per list and bytes of ``data``.
BROADCAST_RECIPIENTS_LIMIT = 10_000
BROADCAST_DATA_LIMIT_BYTES = 50_000

_TRANSACTIONAL_ID_TYPES = ("id", "email", "cio_id")
_AUDIENCES = ("ids", "emails", "recipients", "per_user_data", "data_file_url")
_TEXT_FIELDS = (
    "to",
    "from",
    "reply_to",
    "bcc",
    "subject",
    "preheader",
    "body",
    "body_plain",
    "body_amp",
    "language",
    "title",
    "message",
    "image_url",
    "link",
    "sound",
)
_FLAG_FIELDS = (
    "disable_message_retention",
    "send_to_unsubscribed",
    "queue_draft",
    "tracked",
    "fake_bcc",
    "disable_css_preprocessing",
)
_OBJECT_FIELDS = (
    "message_data",
    "custom_data",
    "custom_payload",
    "custom_device",
    "headers",
)
_WRONG_REGION = {"errors": [{"detail": "wrong datacenter", "status": "301"}]}


class AppCall(Protocol):
    """
    What an App API handler gets: the request and its body, read whole.
    """

    @property
    def request(self) -> web.Request: ...

    @property
    def body(self) -> bytes: ...

    def param(self, name: str) -> str: ...


AppHandler = Callable[[AppCall], Answer]


@attrs.frozen
class FakeSend:
    """
    One transactional message the fake accepted.

    Attributes:
        kind: The endpoint: ``email``, ``push``, ``sms``, ``whatsapp``,
            ``inbox_message`` or ``in_app``.
        body: The request body, decoded.
        delivery_id: The id the fake answered with.
        queued_at: The unix time it answered with.
    """

    kind: str
    body: Mapping[str, Any]
    delivery_id: str
    queued_at: int

    @property
    def identifiers(self) -> Mapping[str, str]:
        """
        The person the message was for, as sent.
        """
        identifiers: Mapping[str, str] = self.body["identifiers"]
        return identifiers


@attrs.frozen
class FakeBroadcastTrigger:
    """
    One broadcast trigger the fake accepted.
    """

    broadcast_id: int
    body: Mapping[str, Any]
    id: int


def _error(
    status: int, detail: str, headers: Mapping[str, str] | None = None
) -> Answer:
    body = {"errors": [{"detail": detail, "status": str(status)}]}
    return Answer(status, json.dumps(body).encode(), headers=dict(headers or {}))


def _invalid(message: str) -> Answer:
    # Transactional validation errors come in the older "meta" shape.
    return Answer(400, json.dumps({"meta": {"error": message}}).encode())


def _ok(payload: object) -> Answer:
    return Answer(200, json.dumps(payload).encode())


def _document(body: bytes, *, empty_ok: bool = False) -> dict[str, Any] | None:
    if empty_ok and not body.strip():
        return {}
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None

    return document if isinstance(document, dict) else None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FakeAppApi:
    """
    The App API of a :class:`~cio_async.testing.FakeCustomerIO`; reach it as
    ``fake.app``.

    Attributes:
        api_key: The App API key it accepts as ``Authorization: Bearer``.
        wrong_region: Answer every App request with the 301 "wrong
            datacenter" of an account in the other region.
        sends: Accepted transactional messages, in arrival order.
        broadcasts: Accepted broadcast triggers, in arrival order.
    """

    def __init__(
        self,
        workspace: Workspace,
        api_key: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_key = api_key
        self.wrong_region = False
        self.sends: list[FakeSend] = []
        self.broadcasts: list[FakeBroadcastTrigger] = []
        self._workspace = workspace
        self._clock = clock
        self._limits: dict[str, tuple[int, float]] | None = None
        self._arrivals: dict[str, deque[float]] = {}
        self._serial = 0

    def routes(self) -> list[tuple[str, str, AppHandler]]:
        """
        The App API routes, as ``(method, template, handler)``.
        """
        customer = "/v1/customers/{customer_id}"
        routes: list[tuple[str, str, AppHandler]] = [
            ("POST", f"/v1/send/{kind}", self._send_handler(kind))
            for kind in SEND_KINDS
        ]
        routes += [
            ("POST", "/v1/campaigns/{broadcast_id}/triggers", self.trigger_broadcast),
            ("GET", "/v1/customers", self.customers_by_email),
            ("GET", f"{customer}/attributes", self.attributes),
            ("GET", f"{customer}/segments", self.segments),
        ]
        return routes

    # Switches.

    def enforce_rate_limits(
        self,
        *,
        sends_per_second: int = 100,
        requests_per_second: int = 10,
        broadcast_interval: float = 10.0,
    ) -> None:
        """
        Answer 429 with ``Retry-After`` when a rate class is over its limit.

        Each class counts the requests it let through in a sliding window: one
        second for sends and for other calls, ``broadcast_interval`` seconds
        for broadcast triggers (one each).

        Args:
            sends_per_second: Transactional sends (Customer.io: 100).
            requests_per_second: Lookups (Customer.io: 10).
            broadcast_interval: Seconds between broadcast triggers
                (Customer.io: 10).
        """
        self._limits = {
            "send": (sends_per_second, 1.0),
            "request": (requests_per_second, 1.0),
            "broadcast": (1, broadcast_interval),
        }
        self._arrivals = {name: deque() for name in self._limits}

    def stop_enforcing_rate_limits(self) -> None:
        """
        Let every request through again, whatever the rate.
        """
        self._limits = None
        self._arrivals = {}

    def clear(self) -> None:
        """
        Forget sends, triggers and switches.
        """
        self.sends.clear()
        self.broadcasts.clear()
        self.wrong_region = False
        self.stop_enforcing_rate_limits()

    def check_auth(self, header: str | None) -> bool:
        """
        Whether ``Authorization`` carries the key (always, in the wrong region:
        the other data center answers 301 before it looks at keys).
        """
        if self.wrong_region:
            return True
        if header is None:
            return False

        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.api_key.encode()
        )

    # Handlers.

    def _guard(self, call: AppCall, rate_class: str) -> Answer | None:
        """
        The 301 of the wrong region or the 429 of a rate limit, if either holds.
        """
        if self.wrong_region:
            headers = {"Location": str(call.request.url)}
            return Answer(301, json.dumps(_WRONG_REGION).encode(), headers=headers)
        if self._limits is None:
            return None

        count, window = self._limits[rate_class]
        arrivals = self._arrivals[rate_class]
        now = self._clock()
        while arrivals and arrivals[0] <= now - window:
            arrivals.popleft()
        if len(arrivals) >= count:
            wait = max(1, math.ceil(arrivals[0] + window - now))
            detail = f"rate limited to {count} requests per {window:g}s"
            return _error(429, detail, {"Retry-After": str(wait)})
        arrivals.append(now)

        return None

    def _send_handler(self, kind: str) -> AppHandler:
        def handle(call: AppCall) -> Answer:
            return self.send(kind, call)

        return handle

    def send(self, kind: str, call: AppCall) -> Answer:
        """
        ``POST /v1/send/{kind}``: check the fields, record, answer a delivery id.
        """
        refused = self._guard(call, "send")
        if refused is not None:
            return refused
        document = _document(call.body)
        if document is None:
            return _invalid("the body must be a JSON object")
        problem = _send_problem(kind, document)
        if problem is not None:
            return _invalid(problem)

        self._serial += 1
        record = FakeSend(
            kind=kind,
            body=document,
            delivery_id=f"fake-delivery-{self._serial:06d}",
            queued_at=int(time.time()),
        )
        self.sends.append(record)
        # Customer.io creates the person a message is for if they are new.
        ((id_type, value),) = document["identifiers"].items()
        self._workspace.identify(id_type, value, {})

        return _ok({"delivery_id": record.delivery_id, "queued_at": record.queued_at})

    def trigger_broadcast(self, call: AppCall) -> Answer:
        """
        ``POST /v1/campaigns/{broadcast_id}/triggers``.
        """
        refused = self._guard(call, "broadcast")
        if refused is not None:
            return refused
        raw_id = call.param("broadcast_id")
        if not raw_id.isdigit():
            return _error(404, "broadcast not found")
        document = _document(call.body, empty_ok=True)
        if document is None:
            return _invalid("the body must be a JSON object")
        problem = _broadcast_problem(document)
        if problem is not None:
            return _error(422, problem)

        self._serial += 1
        self.broadcasts.append(
            FakeBroadcastTrigger(int(raw_id), document, id=self._serial)
        )

        return _ok({"id": self._serial})

    def customers_by_email(self, call: AppCall) -> Answer:
        """
        ``GET /v1/customers?email=``.
        """
        refused = self._guard(call, "request")
        if refused is not None:
            return refused
        email = call.request.query.get("email", "")
        if not email:
            return _invalid("email is required")

        person = self._workspace.find("email", email)
        results = [] if person is None else [_identifiers(person)]

        return _ok({"results": results})

    def _person(self, call: AppCall) -> FakePerson | Answer:
        refused = self._guard(call, "request")
        if refused is not None:
            return refused
        id_type = call.request.query.get("id_type", "id")
        if id_type not in PERSON_ID_TYPES:
            return _invalid("id_type must be id, email, phone or cio_id")
        value = call.param("customer_id")
        if id_type == "cio_id" and value.startswith("cio_"):
            value = value[4:]

        person = self._workspace.find(id_type, value)
        if person is None:
            return _error(404, "customer not found")

        return person

    def attributes(self, call: AppCall) -> Answer:
        """
        ``GET /v1/customers/{customer_id}/attributes?id_type=``.
        """
        person = self._person(call)
        if isinstance(person, Answer):
            return person

        identifiers = _identifiers(person)
        devices = [
            {"id": token, **details} for token, details in person.devices.items()
        ]
        customer = {
            "id": person.id,
            "identifiers": identifiers,
            "attributes": {**person.attributes, **identifiers},
            "timestamps": {},
            "unsubscribed": person.attributes.get("unsubscribed") is True,
            "devices": devices,
        }

        return _ok({"customer": customer})

    def segments(self, call: AppCall) -> Answer:
        """
        ``GET /v1/customers/{customer_id}/segments?id_type=``: manual segments.
        """
        person = self._person(call)
        if isinstance(person, Answer):
            return person

        segments = [
            {"id": segment, "name": f"Segment {segment}", "type": "manual"}
            for segment in sorted(person.segments)
        ]

        return _ok({"segments": segments})


def _identifiers(person: FakePerson) -> dict[str, str]:
    return {
        key: person.identifiers[key]
        for key in ("id", "email", "cio_id")
        if key in person.identifiers
    }


def _send_problem(kind: str, document: Mapping[str, Any]) -> str | None:
    """
    What is wrong with a transactional send body, in the API's words, or None.
    """
    message_id = document.get("transactional_message_id")
    if message_id is None:
        return "transactional_message_id is required"
    if not (
        (_is_int(message_id) and message_id > 0)
        or (isinstance(message_id, str) and message_id)
    ):
        return "transactional_message_id must be an id or a trigger name"
    error = check_identity(
        document.get("identifiers"), _TRANSACTIONAL_ID_TYPES, "identifiers"
    )
    if error is not None:
        return error.message
    if kind == "email" and not isinstance(document.get("to"), str):
        return "to is required"

    for key in _TEXT_FIELDS:
        if key in document and not isinstance(document[key], str):
            return f"{key} must be a string"
    for key in _FLAG_FIELDS:
        if key in document and not isinstance(document[key], bool):
            return f"{key} must be a boolean"
    for key in _OBJECT_FIELDS:
        if key in document and not isinstance(document[key], dict):
            return f"{key} must be an object"
    if "send_at" in document and not _is_int(document["send_at"]):
        return "send_at must be a unix timestamp"

    return _attachments_problem(document.get("attachments"))


def _attachments_problem(attachments: object) -> str | None:
    if attachments is None:
        return None
    if not isinstance(attachments, dict):
        return "attachments must be an object of file names to base64 content"

    total = 0
    for content in attachments.values():
        if not isinstance(content, str):
            return "attachments must be base64 strings"
        try:
            base64.b64decode(content, validate=True)
        except (ValueError, binascii.Error):
            return "attachments must be base64 strings"
        total += len(content)
    if total >= ATTACHMENTS_LIMIT_BYTES:
        return "attachments must total less than 2 MB"

    return None


def _broadcast_problem(document: Mapping[str, Any]) -> str | None:
    """
    Why a broadcast trigger is refused (422), or None.
    """
    audiences = [key for key in _AUDIENCES if key in document]
    if len(audiences) > 1:
        return "only one of ids, emails, recipients, per_user_data or data_file_url"

    data = document.get("data", {})
    if not isinstance(data, dict):
        return "data must be an object"
    size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
    if size > BROADCAST_DATA_LIMIT_BYTES:
        return f"data may be at most {BROADCAST_DATA_LIMIT_BYTES} bytes"

    if "recipients" in document:
        recipients = document["recipients"]
        if not isinstance(recipients, dict) or not recipients:
            return "empty recipients filter is not valid"
    for key in ("ids", "emails", "per_user_data"):
        if key not in document:
            continue
        entries = document[key]
        if not isinstance(entries, list) or not entries:
            return f"{key} must be a non-empty list"
        if len(entries) > BROADCAST_RECIPIENTS_LIMIT:
            return f"{key} may hold at most {BROADCAST_RECIPIENTS_LIMIT} entries"
    if "data_file_url" in document and not isinstance(document["data_file_url"], str):
        return "data_file_url must be a URL"

    return None
