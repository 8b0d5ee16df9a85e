"""
App API requests and answers as data: transactional sends, broadcasts, lookups.

Each send kind is a frozen, keyword-only class whose fields are the documented
body fields. Values are checked when the request is built: ``message_data``
and the other free-form objects go through the coercion table of ``_values``,
so a bad value fails there, with its path. Attachments are the exception:
reading a file is I/O, so they are read, encoded and measured when the request
is sent, still before anything leaves the process.
"""

from __future__ import annotations

import base64
import math
import os
import time
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, ClassVar

import anyio
import attrs

from ._errors import InvalidArgumentError, InvalidTypeError, PayloadTooLargeError
from ._operations import Person, PersonRef, person_identifiers
from ._values import (
    JSONValue,
    _key_segment,
    check_data,
    check_identifier,
    check_name,
    encode,
    to_unix_seconds,
)

#: Attachments may total this many bytes, counted on the base64 text that is
#: sent. Customer.io documents "total < 2 MB" for the map of base64 strings; we
#: read MB as 10**6 bytes, the smaller reading, so about 1.5 MB of raw files.
MAX_ATTACHMENTS_BYTES = 2_000_000
#: ``send_at`` may be at most this far ahead (Customer.io: 90 days).
MAX_SCHEDULE_SECONDS = 90 * 24 * 3600

#: Broadcast limits from Customer.io's "send messages" limits.
MAX_BROADCAST_RECIPIENTS = 10_000
MAX_BROADCAST_DATA_BYTES = 50_000
MAX_BROADCAST_BODY_BYTES = 25_000_000

# A trigger name or a from address has no documented limit; this only stops
# a runaway value before it is sent.
_MAX_TEXT_BYTES = 10_000

Timestamp = datetime | date | int
AttachmentSource = bytes | bytearray | memoryview | os.PathLike[str]


# -- Field checks ---------------------------------------------------------------


def _message_id(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    argument = attribute.name
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        reason = f"must be an int id or a str trigger name, not {type(value).__name__}"
        raise InvalidTypeError(argument, reason)
    if isinstance(value, int) and value < 1:
        raise InvalidArgumentError(argument, "must be a positive int")
    if isinstance(value, str):
        check_name(value, argument, _MAX_TEXT_BYTES)


def _identifiers(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    transactional_identifiers(value)


def _optional_text(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is not None:
        check_name(value, attribute.name, _MAX_TEXT_BYTES)


def _required_text(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    check_name(value, attribute.name, _MAX_TEXT_BYTES)


def _optional_str(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is not None and not isinstance(value, str):
        reason = f"must be a str or None, not {type(value).__name__}"
        raise InvalidTypeError(attribute.name, reason)


def _optional_bool(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is not None and not isinstance(value, bool):
        reason = f"must be True, False or None, not {type(value).__name__}"
        raise InvalidTypeError(attribute.name, reason)


def _message_data(value: Mapping[str, Any] | None) -> dict[str, JSONValue] | None:
    return None if value is None else check_data(value, "message_data")


def _custom_data(value: Mapping[str, Any] | None) -> dict[str, JSONValue] | None:
    return None if value is None else check_data(value, "custom_data")


def _custom_payload(value: Mapping[str, Any] | None) -> dict[str, JSONValue] | None:
    return None if value is None else check_data(value, "custom_payload")


def _custom_device(value: Mapping[str, Any] | None) -> dict[str, JSONValue] | None:
    return None if value is None else check_data(value, "custom_device")


def _send_at(value: Timestamp | None) -> int | None:
    if value is None:
        return None

    seconds = to_unix_seconds(value, "send_at")
    if seconds > time.time() + MAX_SCHEDULE_SECONDS:
        reason = "is more than 90 days ahead; Customer.io schedules up to 90 days"
        raise InvalidArgumentError("send_at", reason)

    return seconds


def _headers(value: Mapping[str, str] | None) -> dict[str, str] | None:
    given: object = value
    if given is None:
        return None
    if not isinstance(given, Mapping):
        reason = f"must be a mapping of names to values, not {type(given).__name__}"
        raise InvalidTypeError("headers", reason)

    checked: dict[str, str] = {}
    for name, text in given.items():
        if not isinstance(name, str) or not isinstance(text, str):
            raise InvalidTypeError("headers", "names and values must be str")
        if not _plain_header(name):
            reason = "a header name must be non-empty printable ASCII without spaces"
            raise InvalidArgumentError("headers", reason)
        if not (text.isascii() and text.isprintable()):
            reason = "must be printable ASCII (no line breaks)"
            raise InvalidArgumentError(f"headers{_key_segment(name)}", reason)
        checked[name] = text

    return checked


def _plain_header(name: str) -> bool:
    return (
        bool(name)
        and name.isascii()
        and name.isprintable()
        and " " not in name
        and ":" not in name
    )


def _attachments(
    value: Mapping[str, AttachmentSource] | None,
) -> dict[str, bytes | os.PathLike[str]] | None:
    given: object = value
    if given is None:
        return None
    if not isinstance(given, Mapping):
        reason = (
            f"must be a mapping of file names to contents, not {type(given).__name__}"
        )
        raise InvalidTypeError("attachments", reason)

    checked: dict[str, bytes | os.PathLike[str]] = {}
    for name, source in given.items():
        check_name(name, "attachments (a file name)", 255)
        path = f"attachments{_key_segment(name)}"
        if isinstance(source, (bytes, bytearray, memoryview)):
            checked[name] = bytes(source)
        elif isinstance(source, os.PathLike):
            checked[name] = source
        elif isinstance(source, str):
            reason = (
                "is a str; pass the content as bytes, or a pathlib.Path to read "
                "a file (a str could be either)"
            )
            raise InvalidTypeError(path, reason)
        else:
            reason = f"must be bytes or a pathlib.Path, not {type(source).__name__}"
            raise InvalidTypeError(path, reason)

    return checked


def transactional_identifiers(person: object) -> dict[str, str]:
    """
    The ``identifiers`` of a transactional message: one of id, email, cio_id.

    Raises:
        cio_async.InvalidArgumentError: Not a str id or a :class:`Person`, or a
            phone number, which transactional messages cannot address.
    """
    identifiers = person_identifiers(person, "identifiers")  # type: ignore[arg-type]
    if "phone" in identifiers:
        reason = "a transactional message addresses a person by id, email or cio_id"
        raise InvalidArgumentError("identifiers", reason)

    return identifiers


# -- Send requests --------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _SendRequest:
    """
    The fields every transactional send shares.
    """

    #: The endpoint under ``/v1/send/``.
    kind: ClassVar[str] = ""

    transactional_message_id: int | str = attrs.field(validator=_message_id)
    identifiers: PersonRef = attrs.field(validator=_identifiers)
    message_data: Mapping[str, Any] | None = attrs.field(
        default=None, converter=_message_data
    )
    send_at: int | None = attrs.field(default=None, converter=_send_at)
    disable_message_retention: bool | None = attrs.field(
        default=None, validator=_optional_bool
    )
    queue_draft: bool | None = attrs.field(default=None, validator=_optional_bool)
    language: str | None = attrs.field(default=None, validator=_optional_text)

    def to_json(self) -> dict[str, Any]:
        """
        The request body, without attachments (they are read when sending).

        Fields left as ``None`` are left out, so Customer.io's defaults apply.
        """
        body: dict[str, Any] = {}
        for field in attrs.fields(type(self)):
            value = getattr(self, field.name)
            if value is None or field.name == "attachments":
                continue
            if field.name == "identifiers":
                value = transactional_identifiers(value)
            body[field.metadata.get("json", field.name)] = value

        return body


@attrs.frozen(kw_only=True)
class SendEmailRequest(_SendRequest):
    """
    A transactional email (``POST /v1/send/email``).

    Args:
        transactional_message_id: The message's id, or its trigger name.
        identifiers: The person it is about: a str id or a
            :class:`cio_async.Person` (id, email or cio_id). Customer.io
            creates the person if needed.
        to: The recipient address, such as ``"Ada <ada@example.com>"``.
        message_data: Liquid variables (``{{trigger.*}}``), coerced like
            event data.
        send_at: When to send (datetime, date or unix seconds), up to 90 days
            ahead; ``None`` sends now.
        from_: Sender address (sent as ``from``); must be verified.
        reply_to, bcc, subject, preheader, body, body_plain, body_amp: Override
            the template's.
        fake_bcc: Send the bcc copy as a separate message.
        headers: Extra email headers, printable ASCII.
        attachments: File name to content, given as ``bytes`` or a
            ``pathlib.Path`` to read when sending. Encoded as base64 for you;
            the base64 text may total less than 2,000,000 bytes (about 1.5 MB
            of files), checked before sending.
        tracked: Track opens and clicks (Customer.io's default: True).
        disable_css_preprocessing: Skip inlining CSS.
        send_to_unsubscribed: Send even if the person unsubscribed (default
            True).
        disable_message_retention: Do not keep the message body.
        queue_draft: Queue as a draft instead of sending.
        language: The translation to send.

    Raises:
        cio_async.InvalidArgumentError: A field breaks a rule; the message
            names it. Also ``cio_async.InvalidTypeError`` for a wrong type.
    """

    kind: ClassVar[str] = "email"

    to: str = attrs.field(validator=_required_text)
    from_: str | None = attrs.field(
        default=None, validator=_optional_text, metadata={"json": "from"}
    )
    reply_to: str | None = attrs.field(default=None, validator=_optional_text)
    bcc: str | None = attrs.field(default=None, validator=_optional_text)
    fake_bcc: bool | None = attrs.field(default=None, validator=_optional_bool)
    subject: str | None = attrs.field(default=None, validator=_optional_text)
    preheader: str | None = attrs.field(default=None, validator=_optional_text)
    body: str | None = attrs.field(default=None, validator=_optional_str)
    body_plain: str | None = attrs.field(default=None, validator=_optional_str)
    body_amp: str | None = attrs.field(default=None, validator=_optional_str)
    headers: Mapping[str, str] | None = attrs.field(default=None, converter=_headers)
    attachments: Mapping[str, bytes | os.PathLike[str]] | None = attrs.field(
        default=None, converter=_attachments
    )
    tracked: bool | None = attrs.field(default=None, validator=_optional_bool)
    disable_css_preprocessing: bool | None = attrs.field(
        default=None, validator=_optional_bool
    )
    send_to_unsubscribed: bool | None = attrs.field(
        default=None, validator=_optional_bool
    )


@attrs.frozen(kw_only=True)
class SendPushRequest(_SendRequest):
    """
    A transactional push notification (``POST /v1/send/push``).

    Args:
        to: Which devices: ``"all"``, ``"last_used"`` or a device token;
            Customer.io's default is the last used device.
        title, message, image_url, link, sound: Override the template's.
        custom_data: Key-value pairs delivered with the push.
        custom_payload: A full platform payload (``{"ios": ..., "android":
            ...}``) replacing the template.
        custom_device: A device to send to that is not on the person's profile.
        send_to_unsubscribed: Send even if the person unsubscribed.

    The shared fields are those of :class:`SendEmailRequest`.
    """

    kind: ClassVar[str] = "push"

    to: str | None = attrs.field(default=None, validator=_optional_text)
    title: str | None = attrs.field(default=None, validator=_optional_str)
    message: str | None = attrs.field(default=None, validator=_optional_str)
    image_url: str | None = attrs.field(default=None, validator=_optional_text)
    link: str | None = attrs.field(default=None, validator=_optional_text)
    sound: str | None = attrs.field(default=None, validator=_optional_text)
    custom_data: Mapping[str, Any] | None = attrs.field(
        default=None, converter=_custom_data
    )
    custom_payload: Mapping[str, Any] | None = attrs.field(
        default=None, converter=_custom_payload
    )
    custom_device: Mapping[str, Any] | None = attrs.field(
        default=None, converter=_custom_device
    )
    send_to_unsubscribed: bool | None = attrs.field(
        default=None, validator=_optional_bool
    )


@attrs.frozen(kw_only=True)
class _PhoneMessageRequest(_SendRequest):
    """
    The fields an SMS and a WhatsApp message share.
    """

    to: str | None = attrs.field(default=None, validator=_optional_text)
    from_: str | None = attrs.field(
        default=None, validator=_optional_text, metadata={"json": "from"}
    )
    tracked: bool | None = attrs.field(default=None, validator=_optional_bool)
    send_to_unsubscribed: bool | None = attrs.field(
        default=None, validator=_optional_bool
    )


@attrs.frozen(kw_only=True)
class SendSMSRequest(_PhoneMessageRequest):
    """
    A transactional SMS (``POST /v1/send/sms``).

    Args:
        to: The phone number (E.164); by default the person's ``phone``.
        from_: The sending number (sent as ``from``).
        tracked: Track link clicks.
        send_to_unsubscribed: Send even if the person unsubscribed.

    The shared fields are those of :class:`SendEmailRequest`.
    """

    kind: ClassVar[str] = "sms"


@attrs.frozen(kw_only=True)
class SendWhatsAppRequest(_PhoneMessageRequest):
    """
    A transactional WhatsApp message (``POST /v1/send/whatsapp``).

    Args:
        to: The phone number (E.164); by default the person's ``phone``.
        from_: The sending WhatsApp number (sent as ``from``).
        tracked: Track link clicks.
        send_to_unsubscribed: Send even if the person unsubscribed.

    The shared fields are those of :class:`SendEmailRequest`.
    """

    kind: ClassVar[str] = "whatsapp"


@attrs.frozen(kw_only=True)
class SendInboxMessageRequest(_SendRequest):
    """
    A transactional inbox message (``POST /v1/send/inbox_message``).

    It has only the shared fields, those of :class:`SendEmailRequest`.
    """

    kind: ClassVar[str] = "inbox_message"


@attrs.frozen(kw_only=True)
class SendInAppRequest(_SendRequest):
    """
    A transactional in-app message (``POST /v1/send/in_app``).

    It has only the shared fields, those of :class:`SendEmailRequest`.
    """

    kind: ClassVar[str] = "in_app"


SendRequest = (
    SendEmailRequest
    | SendPushRequest
    | SendSMSRequest
    | SendWhatsAppRequest
    | SendInboxMessageRequest
    | SendInAppRequest
)


# -- Attachments ----------------------------------------------------------------


def _base64_size(raw_size: int) -> int:
    return 4 * math.ceil(raw_size / 3)


def _check_attachments_size(raw_sizes: Iterable[int]) -> None:
    raw = list(raw_sizes)
    encoded = sum(_base64_size(size) for size in raw)
    if encoded >= MAX_ATTACHMENTS_BYTES:
        reason = (
            f"{sum(raw):,} bytes of files encode to {encoded:,} bytes of base64; "
            f"the total must be under {MAX_ATTACHMENTS_BYTES:,}"
        )
        raise PayloadTooLargeError(
            "attachments", reason, size=encoded, limit=MAX_ATTACHMENTS_BYTES
        )


async def encode_attachments(
    attachments: Mapping[str, bytes | os.PathLike[str]],
) -> dict[str, str]:
    """
    Read and base64-encode attachments, refusing a total over the limit.

    Files are measured before they are read, so an oversized one is refused
    without reading it, and measured again after, in case one grew.

    Raises:
        cio_async.PayloadTooLargeError: The encoded total is 2,000,000 bytes
            or more.
        cio_async.InvalidArgumentError: A file cannot be read.
    """
    sizes: list[int] = []
    for name, source in attachments.items():
        if isinstance(source, bytes):
            sizes.append(len(source))
        else:
            sizes.append((await _file_call(name, source, "stat")).st_size)
    _check_attachments_size(sizes)

    contents: dict[str, bytes] = {}
    for name, source in attachments.items():
        if isinstance(source, bytes):
            contents[name] = source
        else:
            contents[name] = await _file_call(name, source, "read_bytes")
    _check_attachments_size(len(raw) for raw in contents.values())

    return {
        name: base64.b64encode(raw).decode("ascii") for name, raw in contents.items()
    }


async def _file_call(name: str, source: os.PathLike[str], what: str) -> Any:
    """
    ``stat()`` or ``read_bytes()`` a file in a worker thread, naming the
    attachment (not the path) if it fails.
    """
    path = anyio.Path(source)
    try:
        if what == "stat":
            return await path.stat()
        return await path.read_bytes()
    except OSError as error:
        reason = f"the file cannot be read ({type(error).__name__})"
        failure = InvalidArgumentError(f"attachments{_key_segment(name)}", reason)
    raise failure


# -- Broadcasts -----------------------------------------------------------------

_AUDIENCES = ("ids", "emails", "recipients", "per_user_data", "data_file_url")
_LIST_AUDIENCES = frozenset({"ids", "emails", "per_user_data", "data_file_url"})


def broadcast_body(
    *,
    data: Mapping[str, Any] | None,
    ids: Iterable[str] | None,
    emails: Iterable[str] | None,
    recipients: Mapping[str, Any] | None,
    per_user_data: Iterable[Mapping[str, Any]] | None,
    data_file_url: str | None,
    flags: Mapping[str, bool | None],
) -> bytes:
    """
    The encoded body of a broadcast trigger, checked against the documented
    limits.

    Raises:
        cio_async.InvalidArgumentError: More than one audience, an empty or bad
            audience, or a flag without a list audience.
        cio_async.PayloadTooLargeError: Over 10,000 recipients, ``data`` over
            50,000 bytes, or a body over 25 MB.
    """
    given = {
        "ids": ids,
        "emails": emails,
        "recipients": recipients,
        "per_user_data": per_user_data,
        "data_file_url": data_file_url,
    }
    chosen = [name for name in _AUDIENCES if given[name] is not None]
    if len(chosen) > 1:
        reason = (
            "give at most one audience (ids, emails, recipients, per_user_data "
            "or data_file_url); none means the broadcast's own audience"
        )
        raise InvalidArgumentError(", ".join(chosen), reason)

    body: dict[str, Any] = {}
    checked_data = check_data(data, "data")
    if checked_data:
        size = len(encode(checked_data))
        if size > MAX_BROADCAST_DATA_BYTES:
            raise _too_large("data", size, MAX_BROADCAST_DATA_BYTES)
        body["data"] = checked_data

    if chosen:
        (audience,) = chosen
        body[audience] = _audience(audience, given[audience])
    for flag, value in flags.items():
        if value is None:
            continue
        if not isinstance(value, bool):
            raise InvalidTypeError(flag, "must be True, False or None")
        if not chosen or chosen[0] not in _LIST_AUDIENCES:
            reason = "applies only with ids, emails, per_user_data or data_file_url"
            raise InvalidArgumentError(flag, reason)
        body[flag] = value

    encoded = encode(body)
    if len(encoded) > MAX_BROADCAST_BODY_BYTES:
        raise _too_large("broadcast", len(encoded), MAX_BROADCAST_BODY_BYTES)

    return encoded


def _audience(name: str, value: Any) -> Any:
    if name == "recipients":
        recipients = check_data(value, "recipients")
        if not recipients:
            reason = (
                "must not be empty (Customer.io refuses an empty filter); leave it "
                "out to use the broadcast's own audience"
            )
            raise InvalidArgumentError("recipients", reason)
        return recipients
    if name == "data_file_url":
        url = check_name(value, "data_file_url", _MAX_TEXT_BYTES)
        if not url.startswith(("https://", "http://")):
            raise InvalidArgumentError("data_file_url", "must be an http(s) URL")
        return url

    entries = _bounded_list(name, value)
    if name == "per_user_data":
        return [
            _per_user_entry(entry, f"{name}[{i}]") for i, entry in enumerate(entries)
        ]
    return [check_identifier(entry, f"{name}[{i}]") for i, entry in enumerate(entries)]


def _bounded_list(name: str, value: Any) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        reason = f"must be a list, not {type(value).__name__}"
        raise InvalidTypeError(name, reason)

    entries = list(value)
    if len(entries) > MAX_BROADCAST_RECIPIENTS:
        reason = (
            f"has {len(entries):,} entries; the limit is {MAX_BROADCAST_RECIPIENTS:,}"
        )
        raise PayloadTooLargeError(
            name, reason, size=len(entries), limit=MAX_BROADCAST_RECIPIENTS
        )
    if not entries:
        raise InvalidArgumentError(name, "must not be empty")

    return entries


def _per_user_entry(entry: Any, path: str) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        reason = f'must be a mapping with "id" or "email", not {type(entry).__name__}'
        raise InvalidTypeError(path, reason)
    keys = [key for key in ("id", "email") if key in entry]
    unknown = set(entry) - {"id", "email", "data"}
    if len(keys) != 1 or unknown:
        reason = 'must hold exactly one of "id" or "email", and optionally "data"'
        raise InvalidArgumentError(path, reason)

    (key,) = keys
    checked: dict[str, Any] = {key: check_identifier(entry[key], f"{path}.{key}")}
    if entry.get("data") is not None:
        checked["data"] = check_data(entry["data"], f"{path}.data")

    return checked


def _too_large(argument: str, size: int, limit: int) -> PayloadTooLargeError:
    reason = f"encodes to {size:,} bytes; the limit is {limit:,}"
    return PayloadTooLargeError(argument, reason, size=size, limit=limit)


# -- Answers --------------------------------------------------------------------


@attrs.frozen
class SendResult:
    """
    Customer.io accepted a transactional message.

    Attributes:
        delivery_id: The delivery's id; reporting webhooks and the delivery
            log name it.
        queued_at: When it was queued, in unix seconds, if the answer said.
    """

    delivery_id: str
    queued_at: int | None = None


@attrs.frozen
class CustomerIdentifiers:
    """
    The identifiers of one person, as a lookup returns them.
    """

    cio_id: str
    id: str | None = None
    email: str | None = None

    def as_person(self) -> Person:
        """
        The person, addressed by ``cio_id``, ready for other calls.
        """
        return Person(cio_id=self.cio_id)


@attrs.frozen
class CustomerAttributes:
    """
    A person's profile as the App API returns it.

    Attributes:
        identifiers: The person's id, email and cio_id.
        attributes: Every attribute, values as Customer.io stores them.
        timestamps: When each attribute last changed, in unix seconds.
        unsubscribed: Whether the person unsubscribed.
        devices: The person's devices, as Customer.io describes them.
    """

    identifiers: CustomerIdentifiers
    attributes: Mapping[str, Any]
    timestamps: Mapping[str, int] = attrs.Factory(dict)
    unsubscribed: bool = False
    devices: tuple[Mapping[str, Any], ...] = ()


@attrs.frozen
class Segment:
    """
    A segment a person belongs to.
    """

    id: int
    name: str
    type: str | None = None


def parse_send_result(document: object) -> SendResult | None:
    """
    The typed result of a send, or None if the answer is not as documented.
    """
    if not isinstance(document, dict):
        return None
    delivery_id = document.get("delivery_id")
    if isinstance(delivery_id, bool) or not isinstance(delivery_id, (str, int)):
        return None
    if delivery_id == "":
        return None

    queued_at = document.get("queued_at")
    if isinstance(queued_at, bool) or not isinstance(queued_at, int):
        queued_at = None

    return SendResult(delivery_id=str(delivery_id), queued_at=queued_at)


def parse_trigger_id(document: object) -> int | None:
    """
    The id of a broadcast trigger, or None if the answer is not as documented.
    """
    if not isinstance(document, dict):
        return None
    trigger_id = document.get("id")
    if isinstance(trigger_id, bool) or not isinstance(trigger_id, int):
        return None

    return trigger_id


def parse_customers(document: object) -> list[CustomerIdentifiers] | None:
    """
    The people of ``GET /v1/customers?email=``, or None if not as documented.
    """
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, list):
        return None

    people = [_identifiers_of(entry) for entry in results]
    return None if any(p is None for p in people) else [p for p in people if p]


def parse_attributes(document: object) -> CustomerAttributes | None:
    """
    The profile of ``GET /v1/customers/{id}/attributes``, or None.
    """
    customer = document.get("customer") if isinstance(document, dict) else None
    if not isinstance(customer, dict):
        return None
    attributes = customer.get("attributes")
    if not isinstance(attributes, dict):
        return None
    raw_ids = customer.get("identifiers")
    identifiers = _identifiers_of(raw_ids if isinstance(raw_ids, dict) else attributes)
    if identifiers is None:
        return None

    timestamps = customer.get("timestamps")
    devices = customer.get("devices")
    return CustomerAttributes(
        identifiers=identifiers,
        attributes=attributes,
        timestamps=timestamps if isinstance(timestamps, dict) else {},
        unsubscribed=customer.get("unsubscribed") is True,
        devices=tuple(d for d in devices if isinstance(d, dict))
        if isinstance(devices, list)
        else (),
    )


def parse_segments(document: object) -> list[Segment] | None:
    """
    The segments of ``GET /v1/customers/{id}/segments``, or None.
    """
    entries = document.get("segments") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return None

    segments: list[Segment] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
            return None
        kind = entry.get("type")
        segments.append(
            Segment(
                id=entry["id"],
                name=str(entry.get("name") or ""),
                type=kind if isinstance(kind, str) else None,
            )
        )

    return segments


def _identifiers_of(entry: object) -> CustomerIdentifiers | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("cio_id"), str):
        return None

    found = {
        key: str(entry[key])
        for key in ("id", "email")
        if isinstance(entry.get(key), (str, int)) and entry[key] != ""
    }
    return CustomerIdentifiers(entry["cio_id"], found.get("id"), found.get("email"))
