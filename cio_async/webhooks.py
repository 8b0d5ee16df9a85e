"""
Verify and read Customer.io reporting webhooks.

Customer.io signs every reporting-webhook request: ``X-CIO-Signature`` is the
HMAC-SHA256 hex digest of ``v0:<X-CIO-Timestamp>:<raw body>``, keyed with the
signing key shown on the reporting-webhook settings page. Check the raw bytes as
received: a body that was parsed and re-encoded no longer matches.

With aiohttp::

    from aiohttp import web
    from cio_async.webhooks import verify_aiohttp_request

    async def receive(request: web.Request) -> web.Response:
        event = await verify_aiohttp_request(request, signing_key)
        print(event.object_type, event.metric)
        return web.Response(status=204)

With FastAPI::

    from fastapi import Depends
    from cio_async.webhooks import WebhookEvent, fastapi_dependency

    signing_key = os.environ["CUSTOMERIO_WEBHOOK_SIGNING_KEY"]
    verify_cio_webhook = fastapi_dependency(signing_key)

    @app.post("/webhooks/customerio", status_code=204)
    async def receive(event: WebhookEvent = Depends(verify_cio_webhook)) -> None:
        print(event.object_type, event.metric)

Anywhere else, call ``verify_signature(body, timestamp, signature, signing_key)``
and then ``parse_event(body)``.

Customer.io treats any answer other than 2xx as a failure: it retries for up to
seven days and holds back later events until the failed one is accepted. Parsing
is therefore lenient: only the envelope (``event_id``, ``object_type``,
``metric``, ``timestamp``, ``data``) must be well formed, and fields we do not
know are kept in ``WebhookData.extra``.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import inspect
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import (
    ConfigurationError,
    CustomerIOError,
    InvalidArgumentError,
    InvalidTypeError,
)
from ._errors import WebhookVerificationError as WebhookVerificationError

if TYPE_CHECKING:
    from aiohttp import web
    from starlette.requests import Request

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ObjectType",
    "WebhookData",
    "WebhookEvent",
    "WebhookPayloadError",
    "WebhookVerificationError",
    "fastapi_dependency",
    "parse_event",
    "sign",
    "verify_aiohttp_request",
    "verify_signature",
]

TIMESTAMP_HEADER = "X-CIO-Timestamp"
SIGNATURE_HEADER = "X-CIO-Signature"

# A Unix time in seconds has 10 digits until the year 2286; the bound keeps a
# hostile header from turning into an integer too large to subtract from a float.
_MAX_TIMESTAMP_DIGITS = 15
_SIGNATURE_PREFIX = "v0="
_EMPTY: Mapping[str, Any] = MappingProxyType({})

_log = logging.getLogger(__name__)


class WebhookPayloadError(CustomerIOError, ValueError):
    """
    A webhook body is not a reporting-webhook event that can be read.

    ``field`` is the dotted path of the offending key, for example
    ``data.delivery_id``; the value itself is never included.
    """

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class ObjectType(str, enum.Enum):
    """
    The kinds of object Customer.io reported on when this release was made.

    ``WebhookEvent.object_type`` keeps the string Customer.io sent, so kinds added
    later still parse. Members compare equal to their strings, so
    ``event.object_type == ObjectType.EMAIL`` works.
    """

    CUSTOMER = "customer"
    EMAIL = "email"
    PUSH = "push"
    IN_APP = "in_app"
    SMS = "sms"
    SLACK = "slack"
    WEBHOOK = "webhook"
    WHATSAPP = "whatsapp"


@attrs.frozen(kw_only=True)
class WebhookData:
    """
    The ``data`` object of a reporting-webhook event.

    Which fields are set depends on the object type, the metric and what sent the
    message (campaign, API-triggered broadcast, newsletter or transactional
    message). Keys not listed here are kept, unchanged, in ``extra``. Personal data
    is left out of the repr.

    Attributes:
        customer_id: The person's id; deprecated by Customer.io in favour of
            ``identifiers``, and blank when the person was deleted.
        identifiers: The person's identifiers (``id``, ``email``, ``cio_id``);
            identifiers that are not set are left out.
        delivery_id: The message delivery this event is about.
        action_id: The campaign or broadcast action that sent the message.
        campaign_id: The campaign that sent the message.
        broadcast_id: The broadcast that sent the message.
        newsletter_id: The newsletter that sent the message.
        content_id: The newsletter variant.
        parent_action_id: The parent of ``action_id``, for example a split.
        journey_id: The path the person took through a campaign or broadcast.
        trigger_id: The API trigger of a broadcast.
        trigger_event_id: The event that triggered the campaign.
        transactional_message_id: The transactional message template.
        recipient: The address the message went to (email, phone, device).
        extra: Every other key of ``data``, such as ``subject``, ``href``,
            ``link_id``, ``failure_message`` or ``email_address``.
    """

    customer_id: str | None = attrs.field(default=None, repr=False)
    identifiers: Mapping[str, str] = attrs.field(default=_EMPTY, repr=False, hash=False)
    delivery_id: str | None = None
    action_id: int | None = None
    campaign_id: int | None = None
    broadcast_id: int | None = None
    newsletter_id: int | None = None
    content_id: int | None = None
    parent_action_id: int | None = None
    journey_id: str | None = None
    trigger_id: int | None = None
    trigger_event_id: str | None = None
    transactional_message_id: int | str | None = None
    recipient: str | None = attrs.field(default=None, repr=False)
    extra: Mapping[str, Any] = attrs.field(default=_EMPTY, repr=False, hash=False)


_DATA_FIELDS = frozenset(attrs.fields_dict(WebhookData)) - {"extra"}


@attrs.frozen
class WebhookEvent:
    """
    One reporting-webhook event, as Customer.io sent it.

    Attributes:
        event_id: The event's unique id; Customer.io may deliver an event more
            than once, so use it to drop duplicates.
        object_type: What the event is about, such as ``"email"``; compare it
            with `ObjectType` members. Unknown kinds keep their string.
        metric: What happened, such as ``"sent"``, ``"delivered"`` or
            ``"clicked"``.
        timestamp: When it happened, in Unix seconds.
        data: The event's details.
        raw: The whole decoded body, read-only, left out of the repr.
    """

    event_id: str
    object_type: str
    metric: str
    timestamp: int
    data: WebhookData
    raw: Mapping[str, Any] = attrs.field(repr=False, hash=False)


def sign(body: bytes, signing_key: str | bytes, timestamp: int | str) -> str:
    """
    Compute the ``X-CIO-Signature`` value Customer.io would send with a body.

    Meant for tests and fake servers that need to send signed requests.

    Args:
        body: The raw request body.
        signing_key: The reporting webhook's signing key.
        timestamp: The ``X-CIO-Timestamp`` value, in Unix seconds.

    Returns:
        The lowercase hex HMAC-SHA256 digest, without a ``v0=`` prefix.

    Raises:
        cio_async.ConfigurationError: The signing key is empty or has surrounding
            whitespace.
    """
    key = _signing_key_bytes(signing_key)

    mac = hmac.new(key, digestmod=hashlib.sha256)
    mac.update(b"v0:")
    mac.update(str(timestamp).encode())
    mac.update(b":")
    mac.update(body)

    return mac.hexdigest()


def verify_signature(
    body: bytes,
    timestamp: str | int | None,
    signature: str | None,
    signing_key: str | bytes,
    *,
    max_age: float | None = 300.0,
    now: float | None = None,
) -> None:
    """
    Check that a request came from Customer.io and is recent.

    The signature is compared in constant time. A ``v0=`` prefix on the signature
    is accepted; Customer.io does not document whether it sends one.

    Args:
        body: The raw request body, exactly as received.
        timestamp: The ``X-CIO-Timestamp`` header, or None if it was absent.
        signature: The ``X-CIO-Signature`` header, or None if it was absent.
        signing_key: The reporting webhook's signing key.
        max_age: How many seconds the timestamp may be away from ``now``, in
            either direction, to stop replays; None skips the check.
        now: The current Unix time; defaults to the system clock.

    Raises:
        cio_async.WebhookVerificationError: A header is missing, the timestamp is
            not a whole number of seconds or outside ``max_age``, or the signature
            does not match. The message says which; it never holds the key or
            the body.
        cio_async.ConfigurationError: The signing key is empty or has surrounding
            whitespace.
        cio_async.InvalidArgumentError: ``max_age`` is not a positive number.
        cio_async.InvalidTypeError: ``body`` is a str instead of the raw bytes.
    """
    key = _signing_key_bytes(signing_key)
    _check_max_age(max_age)
    _check_body(body)

    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        timestamp = str(timestamp)  # sign() takes an int too; be symmetric
    if not timestamp:
        message = f"{TIMESTAMP_HEADER} header is missing"
        raise WebhookVerificationError(message)
    if not isinstance(timestamp, str) or not isinstance(signature, (str, type(None))):
        message = "the timestamp and signature must be the header strings"
        raise InvalidTypeError("timestamp", message)
    if not signature:
        message = f"{SIGNATURE_HEADER} header is missing"
        raise WebhookVerificationError(message)
    if not _is_unix_seconds(timestamp):
        message = f"{TIMESTAMP_HEADER} header is not a Unix time in whole seconds"
        raise WebhookVerificationError(message)

    provided = signature.strip().lower()
    if provided.startswith(_SIGNATURE_PREFIX):
        provided = provided[len(_SIGNATURE_PREFIX) :]
    expected = sign(body, key, timestamp)
    if not (provided.isascii() and hmac.compare_digest(provided, expected)):
        message = (
            f"{SIGNATURE_HEADER} does not match the body and timestamp "
            "(a wrong signing key, or the body was changed on the way)"
        )
        raise WebhookVerificationError(message)

    if max_age is None:
        return
    age = (time.time() if now is None else now) - int(timestamp)
    if age > max_age:
        message = (
            f"{TIMESTAMP_HEADER} is too old: {age:.0f} s, over max_age={max_age:g} s "
            "(a replayed request, or a clock out of sync)"
        )
        raise WebhookVerificationError(message)
    if -age > max_age:
        message = (
            f"{TIMESTAMP_HEADER} is in the future: {-age:.0f} s ahead, over "
            f"max_age={max_age:g} s (a clock out of sync)"
        )
        raise WebhookVerificationError(message)


def parse_event(body: bytes) -> WebhookEvent:
    """
    Read a reporting-webhook body into a `WebhookEvent`.

    This does not verify anything: call `verify_signature` first.

    Args:
        body: The raw request body, JSON in UTF-8.

    Returns:
        The event, with the decoded body kept in ``raw``.

    Raises:
        cio_async.webhooks.WebhookPayloadError: The body is not JSON, is not an
            object, lacks one of ``event_id``, ``object_type``, ``metric``,
            ``timestamp`` or ``data``, or a known field has the wrong type.
    """
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise WebhookPayloadError("body", "is not valid JSON") from error
    if not isinstance(document, dict):
        raise WebhookPayloadError("body", "is not a JSON object")

    data = document.get("data")
    if not isinstance(data, dict):
        reason = "is missing" if data is None else "is not an object"
        raise WebhookPayloadError("data", reason)

    return WebhookEvent(
        event_id=_required_str(document, "event_id"),
        object_type=_required_str(document, "object_type"),
        metric=_required_str(document, "metric"),
        timestamp=_required_int(document, "timestamp"),
        data=_parse_data(data),
        raw=MappingProxyType(document),
    )


async def verify_aiohttp_request(
    request: web.Request,
    signing_key: str | bytes,
    *,
    max_age: float | None = 300.0,
) -> WebhookEvent:
    """
    Verify and read the reporting-webhook request an aiohttp handler received.

    A request that fails the check is answered 401; one that passes the check but
    cannot be read is answered 400 (which Customer.io retries after an hour,
    holding back later events), and logged as an error.

    Args:
        request: The incoming request; its body is read here.
        signing_key: The reporting webhook's signing key.
        max_age: How many seconds the timestamp may be off; None skips the check.

    Returns:
        The verified event.

    Raises:
        aiohttp.web.HTTPUnauthorized: The headers or the signature do not verify;
            the text says which check failed.
        aiohttp.web.HTTPBadRequest: The body verified but is not a readable event.
        cio_async.ConfigurationError: The signing key is empty or has surrounding
            whitespace.
    """
    from aiohttp import web

    body = await request.read()
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    signature = request.headers.get(SIGNATURE_HEADER)

    try:
        verify_signature(body, timestamp, signature, signing_key, max_age=max_age)
    except WebhookVerificationError as error:
        _log.warning("reporting webhook refused with 401: %s", error)
        raise web.HTTPUnauthorized(text=str(error)) from error

    try:
        return parse_event(body)
    except WebhookPayloadError as error:
        _log.error("reporting webhook refused with 400: %s", error)
        raise web.HTTPBadRequest(text=str(error)) from error


def fastapi_dependency(
    signing_key: str | bytes,
    *,
    max_age: float | None = 300.0,
) -> Callable[[Request], Awaitable[WebhookEvent]]:
    """
    Build a FastAPI dependency that verifies and reads a reporting webhook.

    Use it as ``event: WebhookEvent = Depends(verify_cio_webhook)`` where
    ``verify_cio_webhook = fastapi_dependency(signing_key)``. FastAPI is imported
    only when a request arrives, so this module works without it.

    Args:
        signing_key: The reporting webhook's signing key; checked here, so a bad
            key fails at startup rather than on the first request.
        max_age: How many seconds the timestamp may be off; None skips the check.

    Returns:
        An async dependency taking a ``starlette.requests.Request``. It raises
        ``fastapi.HTTPException`` 401 when the request does not verify (the detail
        says which check failed) and 400 when it verifies but is not a readable
        event.

    Raises:
        cio_async.ConfigurationError: The signing key is empty or has surrounding
            whitespace.
        cio_async.InvalidArgumentError: ``max_age`` is not a positive number.
    """
    _signing_key_bytes(signing_key)
    _check_max_age(max_age)

    return _FastAPIVerifier(signing_key=signing_key, max_age=max_age)


@attrs.frozen(eq=False)
class _FastAPIVerifier:
    """
    The dependency `fastapi_dependency` returns; it keeps the key out of its repr.
    """

    _signing_key: str | bytes = attrs.field(repr=False)
    _max_age: float | None

    @property
    def __signature__(self) -> inspect.Signature:
        # FastAPI finds the Request parameter through the signature. Our
        # annotations are strings naming a type imported only for type checking,
        # so give FastAPI the real class, imported now that it is needed.
        from starlette.requests import Request

        request = inspect.Parameter(
            "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
        )
        return inspect.Signature([request], return_annotation=WebhookEvent)

    async def __call__(self, request: Request) -> WebhookEvent:
        from fastapi import HTTPException

        body = await request.body()
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)

        try:
            verify_signature(
                body, timestamp, signature, self._signing_key, max_age=self._max_age
            )
        except WebhookVerificationError as error:
            _log.warning("reporting webhook refused with 401: %s", error)
            raise HTTPException(status_code=401, detail=str(error)) from error

        try:
            return parse_event(body)
        except WebhookPayloadError as error:
            _log.error("reporting webhook refused with 400: %s", error)
            raise HTTPException(status_code=400, detail=str(error)) from error


def _signing_key_bytes(signing_key: object) -> bytes:
    """
    Return the signing key as bytes, refusing keys that cannot be right.
    """
    if not isinstance(signing_key, (str, bytes)):
        message = f"signing_key must be str or bytes, not {type(signing_key).__name__}"
        raise ConfigurationError(message)

    key = signing_key.encode() if isinstance(signing_key, str) else signing_key
    if not key:
        message = (
            "signing_key is empty: copy it from the reporting-webhook settings "
            "in Customer.io"
        )
        raise ConfigurationError(message)
    if key != key.strip():
        message = (
            "signing_key has leading or trailing whitespace (a newline from a "
            "secrets file?)"
        )
        raise ConfigurationError(message)

    return key


def _check_body(body: object) -> None:
    """
    Refuse a body that was decoded to str: re-encoding it may change its bytes.
    """
    if isinstance(body, str):
        reason = "must be the raw request bytes, not str: re-encoding breaks the check"
        raise InvalidTypeError("body", reason)
    if not isinstance(body, (bytes, bytearray, memoryview)):
        reason = f"must be the raw request bytes, not {type(body).__name__}"
        raise InvalidTypeError("body", reason)


def _check_max_age(max_age: object) -> None:
    """
    Refuse a replay window that is not a positive, finite number of seconds.
    """
    if max_age is None:
        return
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)):
        reason = f"must be a number of seconds or None, not {type(max_age).__name__}"
        raise InvalidArgumentError("max_age", reason)
    if not (math.isfinite(max_age) and max_age > 0):
        reason = "must be a positive, finite number of seconds, or None to skip it"
        raise InvalidArgumentError("max_age", reason)


def _is_unix_seconds(timestamp: str) -> bool:
    """
    Tell whether a header is a plain run of ASCII digits of sensible length.
    """
    return (
        timestamp.isascii()
        and timestamp.isdigit()
        and len(timestamp) <= _MAX_TIMESTAMP_DIGITS
    )


def _parse_data(data: Mapping[str, Any]) -> WebhookData:
    """
    Read the ``data`` object, keeping keys we do not model in ``extra``.
    """
    extra = {key: value for key, value in data.items() if key not in _DATA_FIELDS}

    return WebhookData(
        customer_id=_optional_str(data, "customer_id"),
        identifiers=_identifiers(data),
        delivery_id=_optional_str(data, "delivery_id"),
        action_id=_optional_int(data, "action_id"),
        campaign_id=_optional_int(data, "campaign_id"),
        broadcast_id=_optional_int(data, "broadcast_id"),
        newsletter_id=_optional_int(data, "newsletter_id"),
        content_id=_optional_int(data, "content_id"),
        parent_action_id=_optional_int(data, "parent_action_id"),
        journey_id=_optional_str(data, "journey_id"),
        trigger_id=_optional_int(data, "trigger_id"),
        trigger_event_id=_optional_str(data, "trigger_event_id"),
        transactional_message_id=_optional_id(data, "transactional_message_id"),
        recipient=_optional_str(data, "recipient"),
        extra=MappingProxyType(extra),
    )


def _required_str(document: Mapping[str, Any], key: str) -> str:
    """
    Return a top-level string that every event carries.
    """
    value = document.get(key)
    if value is None:
        raise WebhookPayloadError(key, "is missing")
    if not isinstance(value, str):
        raise WebhookPayloadError(key, "is not a string")

    return value


def _required_int(document: Mapping[str, Any], key: str) -> int:
    """
    Return a top-level integer that every event carries.
    """
    value = document.get(key)
    if value is None:
        raise WebhookPayloadError(key, "is missing")
    if isinstance(value, bool) or not isinstance(value, int):
        raise WebhookPayloadError(key, "is not an integer")

    return value


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    """
    Return a string field of ``data``, accepting an integer in its place.
    """
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)

    raise WebhookPayloadError(f"data.{key}", "is not a string")


def _optional_int(data: Mapping[str, Any], key: str) -> int | None:
    """
    Return an integer field of ``data``, accepting a string of digits in its place.
    """
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)

    raise WebhookPayloadError(f"data.{key}", "is not an integer")


def _optional_id(data: Mapping[str, Any], key: str) -> int | str | None:
    """
    Return a field of ``data`` that may be an integer id or a string name.
    """
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return value

    raise WebhookPayloadError(f"data.{key}", "is not an integer or a string")


def _identifiers(data: Mapping[str, Any]) -> Mapping[str, str]:
    """
    Return ``data.identifiers`` as strings, leaving out identifiers that are null.
    """
    value = data.get("identifiers")
    if value is None:
        return _EMPTY
    if not isinstance(value, dict):
        raise WebhookPayloadError("data.identifiers", "is not an object")

    identifiers: dict[str, str] = {}
    for name, identifier in value.items():
        if identifier is None:
            continue
        if isinstance(identifier, bool) or not isinstance(identifier, (str, int)):
            reason = "is not a string"
            raise WebhookPayloadError(f"data.identifiers.{name}", reason)
        identifiers[name] = str(identifier)

    return MappingProxyType(identifiers)
