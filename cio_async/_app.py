"""
``AsyncAPIClient``: the App API client. Request/response, no batching.

Every call is one request, made through the shared retry loop and spaced by
one :class:`RequestGate` per rate-limit class (sends, broadcast triggers, the
rest). What may be retried depends on the call: a read is retried on any
retryable error, a send only when Customer.io cannot have accepted it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import attrs

from ._config import (
    Region,
    RetryPolicy,
    Timeouts,
    _optional_positive,
    as_region,
    check_base_url,
    optional_env,
    region_from_env,
    require_env,
)
from ._errors import (
    ClientClosedError,
    ConfigurationError,
    CustomerIOError,
    HTTPStatusError,
    InvalidArgumentError,
    InvalidTypeError,
    MessageMayHaveBeenSentError,
    ServerError,
    TransportError,
    WrongRegionError,
)
from ._messages import (
    CustomerAttributes,
    CustomerIdentifiers,
    Segment,
    SendEmailRequest,
    SendInAppRequest,
    SendInboxMessageRequest,
    SendPushRequest,
    SendRequest,
    SendResult,
    SendSMSRequest,
    SendWhatsAppRequest,
    broadcast_body,
    encode_attachments,
    parse_attributes,
    parse_customers,
    parse_segments,
    parse_send_result,
    parse_trigger_id,
)
from ._operations import PersonRef, person_identifiers
from ._retry import RequestGate, retry
from ._transport import Answer, Transport, redact_path
from ._values import check_identifier, encode

log = logging.getLogger("cio_async.app")

T = TypeVar("T")

#: Retries for request/response calls: a caller (often a web request) waits.
APP_RETRY = RetryPolicy(
    max_attempts=4, base_delay=0.2, max_delay=2.0, deadline=15.0, max_retry_after=12.0
)

# Pooled connections; sends may run 100 a second.
_CONNECTIONS = 20

# What a send or a trigger names in its "may have been sent" errors.
_MESSAGE = "the message"
_TRIGGER = "the broadcast trigger"

# Statuses at which Customer.io has refused a send before accepting it.
_NOT_ACCEPTED = (429, 503)


@attrs.frozen(kw_only=True)
class AppRateLimits:
    """
    The App API's rate limits, kept on our side so requests are not refused.

    Each is ``None`` to keep no limit of that class (the server's still holds).

    Args:
        sends_per_second: Transactional sends (Customer.io: 100/s).
        requests_per_second: Lookups and other calls (Customer.io: 10/s).
        broadcast_interval: Seconds between broadcast triggers (Customer.io:
            one per 10 s).
    """

    sends_per_second: float | None = attrs.field(
        default=100.0, validator=_optional_positive
    )
    requests_per_second: float | None = attrs.field(
        default=10.0, validator=_optional_positive
    )
    broadcast_interval: float | None = attrs.field(
        default=10.0, validator=_optional_positive
    )


class AsyncAPIClient:
    """
    An asyncio client for Customer.io's App API: transactional messages,
    broadcast triggers and customer lookups.

    Each call makes one request and returns its typed result or raises. Use it
    as ``async with AsyncAPIClient(...) as api:``, or call ``aclose()``.

    Retries never send a message twice. A transactional send or a broadcast
    trigger is retried only when Customer.io cannot have accepted it: the
    connection could not be opened (refused, DNS failure, connect timeout),
    the answer was 429 (after ``Retry-After``), or it was 503, which
    Customer.io's edge answers when the service is unavailable, before the
    request is handled. Any other failure after the request was written,
    such as a timeout or a reset connection, raises
    :class:`cio_async.MessageMayHaveBeenSentError` without a retry, and a 500,
    502 or 504 raises :class:`cio_async.ServerError` saying the message may
    have been sent: check the delivery log before sending again. Reads
    (lookups) are retried on every retryable error. Requests are spaced
    client-side to the App API's rate limits (see :class:`AppRateLimits`).

    Args:
        app_api_key: An App API key (Settings, API credentials). It is sent as
            a Bearer token and never shown in a repr, a log line or an error.
        region: Where the account lives: ``Region.US`` or ``Region.EU`` (or
            ``"us"``/``"eu"``).
        base_url: Another App API host root (a proxy, or the fake server);
            overrides ``region``.
        session: An aiohttp session to use; it is never closed by the client.
            By default the client makes its own and closes it.
        retry: Retry settings; by default at most 4 attempts within 15 s.
        timeouts: Request time limits.
        rate_limits: Client-side rate limits; the documented ones by default.

    Raises:
        cio_async.ConfigurationError: The key is empty or a setting invalid.
    """

    def __init__(
        self,
        app_api_key: str,
        *,
        region: Region | str = Region.US,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        rate_limits: AppRateLimits | None = None,
    ) -> None:
        _check_key(app_api_key)
        region = as_region(region)
        limits = rate_limits or AppRateLimits()

        self._region = region
        self._base_url = (
            region.app_url if base_url is None else check_base_url(base_url)
        )
        self._retry_policy = retry or APP_RETRY
        self._transport = Transport(
            self._base_url,
            authorization=f"Bearer {app_api_key}",
            timeouts=timeouts or Timeouts(),
            session=session,
            connection_limit=_CONNECTIONS,
        )
        self._send_gate = RequestGate(limits.sends_per_second)
        self._request_gate = RequestGate(limits.requests_per_second)
        interval = limits.broadcast_interval
        self._broadcast_gate = RequestGate(None if interval is None else 1 / interval)
        self._closed = False

    @classmethod
    def from_env(cls, **kwargs: Any) -> AsyncAPIClient:
        """
        Build a client from ``CUSTOMERIO_APP_API_KEY`` and ``CUSTOMERIO_REGION``
        (``us`` or ``eu``, default ``us``), and ``CUSTOMERIO_APP_URL`` when set
        (another App API host root, such as ``cio-async fake-server``'s).

        Args:
            **kwargs: Passed on to the constructor.

        Raises:
            cio_async.ConfigurationError: A variable is missing or invalid; the
                message names it.
        """
        kwargs.setdefault("region", region_from_env())
        if kwargs.get("base_url") is None:
            kwargs["base_url"] = optional_env("CUSTOMERIO_APP_URL")
        return cls(require_env("CUSTOMERIO_APP_API_KEY"), **kwargs)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (
            f"<AsyncAPIClient {self._base_url} region={self._region.value} "
            f"state={state} app_api_key=***>"
        )

    @property
    def region(self) -> Region:
        return self._region

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def closed(self) -> bool:
        """
        Whether ``aclose()`` was called.
        """
        return self._closed

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> AsyncAPIClient:
        self._check_open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """
        Close the client and the session it made (never one passed in).

        Idempotent. Calls made after this raise
        :class:`cio_async.ClientClosedError`.
        """
        self._closed = True
        await self._transport.aclose()

    def _check_open(self) -> None:
        if self._closed:
            message = "the App API client is closed"
            raise ClientClosedError(message)

    # -- transactional messages --------------------------------------------------

    async def send_email(self, request: SendEmailRequest) -> SendResult:
        """
        Send a transactional email.

        Attachments given as paths are read here; the base64 total is checked
        before anything is sent.

        Args:
            request: The message; see :class:`cio_async.SendEmailRequest`.

        Returns:
            The delivery id and when the message was queued.

        Raises:
            cio_async.PayloadTooLargeError: Attachments total 2,000,000 bytes
                of base64 or more; nothing was sent.
            cio_async.MessageMayHaveBeenSentError: The request was written but
                no answer came back; it was not retried.
            cio_async.RequestRejectedError: Customer.io refused it (400, 422);
                the message says why.
            cio_async.AuthenticationError: The key was refused.
            cio_async.WrongRegionError: The account is in the other region.
            cio_async.RateLimitedError: Still rate limited when retries ran out.
            cio_async.ServerError: A 5xx; unless 503, it may have been sent.
            cio_async.TransportError: No connection could be opened.
            cio_async.ClientClosedError: The client is closed.
        """
        return await self._send(request, SendEmailRequest)

    async def send_push(self, request: SendPushRequest) -> SendResult:
        """
        Send a transactional push notification.

        Returns and raises as :meth:`send_email`.
        """
        return await self._send(request, SendPushRequest)

    async def send_sms(self, request: SendSMSRequest) -> SendResult:
        """
        Send a transactional SMS.

        Returns and raises as :meth:`send_email`.
        """
        return await self._send(request, SendSMSRequest)

    async def send_whatsapp(self, request: SendWhatsAppRequest) -> SendResult:
        """
        Send a transactional WhatsApp message.

        Returns and raises as :meth:`send_email`.
        """
        return await self._send(request, SendWhatsAppRequest)

    async def send_inbox_message(self, request: SendInboxMessageRequest) -> SendResult:
        """
        Send a transactional inbox message.

        Returns and raises as :meth:`send_email`.
        """
        return await self._send(request, SendInboxMessageRequest)

    async def send_in_app(self, request: SendInAppRequest) -> SendResult:
        """
        Send a transactional in-app message.

        Returns and raises as :meth:`send_email`.
        """
        return await self._send(request, SendInAppRequest)

    async def _send(
        self, request: SendRequest, expected: type[SendRequest]
    ) -> SendResult:
        self._check_open()
        given: object = request
        if not isinstance(given, expected):
            reason = (
                f"must be a cio_async.{expected.__name__}, not {type(given).__name__}"
            )
            raise InvalidTypeError("request", reason)

        payload = request.to_json()
        if isinstance(request, SendEmailRequest) and request.attachments:
            payload["attachments"] = await encode_attachments(request.attachments)
        path = f"/v1/send/{request.kind}"

        answer = await self._call(
            "POST", path, body=encode(payload), gate=self._send_gate, sends=_MESSAGE
        )
        result = parse_send_result(answer.json())
        if result is None:
            raise _unreadable_acceptance(path, answer, _MESSAGE)

        return result

    # -- broadcasts --------------------------------------------------------------

    async def trigger_broadcast(
        self,
        broadcast_id: int,
        *,
        data: Mapping[str, Any] | None = None,
        ids: Iterable[str] | None = None,
        emails: Iterable[str] | None = None,
        recipients: Mapping[str, Any] | None = None,
        per_user_data: Iterable[Mapping[str, Any]] | None = None,
        data_file_url: str | None = None,
        id_ignore_missing: bool | None = None,
        email_ignore_missing: bool | None = None,
        email_add_duplicates: bool | None = None,
    ) -> int:
        """
        Trigger an API-triggered broadcast.

        Give at most one audience; with none, the broadcast goes to the
        audience set in Customer.io. Triggers are spaced one per 10 s by
        default (Customer.io's limit) and retried only as safely as sends.

        Args:
            broadcast_id: The broadcast's id.
            data: Liquid data for every recipient (``{{trigger.*}}``), up to
                50,000 bytes.
            ids: Up to 10,000 person ids.
            emails: Up to 10,000 email addresses.
            recipients: An audience filter, such as ``{"segment": {"id": 7}}``;
                must not be empty.
            per_user_data: Up to 10,000 ``{"id" or "email": ..., "data": {...}}``.
            data_file_url: A URL of a JSON-lines file of per-user data.
            id_ignore_missing: Skip ids of unknown people instead of failing.
            email_ignore_missing: Skip unknown emails instead of failing.
            email_add_duplicates: Send to every person sharing an email.

        Returns:
            The trigger's id.

        Raises:
            cio_async.InvalidArgumentError: Two audiences, an empty one, or a
                limit broken; nothing was sent. The message names the argument.
            cio_async.MessageMayHaveBeenSentError: No answer after the request
                was written; it was not retried.
            cio_async.RequestRejectedError: Customer.io refused it (422).
            cio_async.NotFoundError: No such broadcast.
            cio_async.HTTPStatusError: Another error answer.
        """
        self._check_open()
        if isinstance(broadcast_id, bool) or not isinstance(broadcast_id, int):
            raise InvalidTypeError("broadcast_id", "must be an int")
        if broadcast_id < 1:
            raise InvalidArgumentError("broadcast_id", "must be a positive int")
        body = broadcast_body(
            data=data,
            ids=ids,
            emails=emails,
            recipients=recipients,
            per_user_data=per_user_data,
            data_file_url=data_file_url,
            flags={
                "id_ignore_missing": id_ignore_missing,
                "email_ignore_missing": email_ignore_missing,
                "email_add_duplicates": email_add_duplicates,
            },
        )
        path = f"/v1/campaigns/{broadcast_id}/triggers"

        answer = await self._call(
            "POST", path, body=body, gate=self._broadcast_gate, sends=_TRIGGER
        )
        trigger_id = parse_trigger_id(answer.json())
        if trigger_id is None:
            raise _unreadable_acceptance(path, answer, _TRIGGER)

        return trigger_id

    # -- lookups -----------------------------------------------------------------

    async def get_customers_by_email(self, email: str) -> list[CustomerIdentifiers]:
        """
        Find the people who have this email address.

        Returns:
            Their identifiers; empty when there is none.

        Raises:
            cio_async.AuthenticationError: The key was refused.
            cio_async.HTTPStatusError: Another error answer, after retries.
            cio_async.TransportError: No answer, after retries.
        """
        self._check_open()
        params = {"email": check_identifier(email, "email")}

        answer = await self._read("/v1/customers", params)

        return _parsed(parse_customers(answer.json()), answer)

    async def get_customer_attributes(self, person: PersonRef) -> CustomerAttributes:
        """
        Read a person's attributes, identifiers and devices.

        Args:
            person: A str id, or a :class:`cio_async.Person` (id, email, phone
                or cio_id).

        Raises:
            cio_async.NotFoundError: No such person.
            cio_async.RequestRejectedError: The identifier type is not enabled
                in the workspace (phone, usually).
            cio_async.HTTPStatusError: Another error answer, after retries.
            cio_async.TransportError: No answer, after retries.
        """
        answer = await self._read_person(person, "attributes")
        return _parsed(parse_attributes(answer.json()), answer)

    async def get_customer_segments(self, person: PersonRef) -> list[Segment]:
        """
        List the segments a person belongs to.

        Args and errors are those of :meth:`get_customer_attributes`.
        """
        answer = await self._read_person(person, "segments")
        return _parsed(parse_segments(answer.json()), answer)

    async def _read_person(self, person: PersonRef, what: str) -> Answer:
        self._check_open()
        ((id_type, value),) = person_identifiers(person).items()
        path = f"/v1/customers/{quote(value, safe='')}/{what}"

        return await self._read(path, {"id_type": id_type})

    async def _read(self, path: str, params: Mapping[str, str]) -> Answer:
        return await self._call("GET", path, params=params, gate=self._request_gate)

    # -- one call ----------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        gate: RequestGate,
        sends: str | None = None,
        body: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        """
        Make one call with retries: all retryable errors for a read; for a call
        that ``sends`` something ("the message", "the broadcast trigger"), only
        those that prove nothing was accepted.
        """
        route = redact_path(path)
        started = time.monotonic()

        async def attempt() -> Answer:
            try:
                answer = await self._transport.request(
                    method, path, body=body, params=params
                )
            except TransportError as error:
                if sends is not None and error.request_sent:
                    message = (
                        f"{error}; {sends} may have been sent, so it was not "
                        "retried (a retry could send it twice); check the "
                        "delivery log before sending again"
                    )
                    raise MessageMayHaveBeenSentError(message) from error
                raise
            if not answer.ok:
                raise self._status_error(answer, sends)
            return answer

        def on_retry(attempts: int, delay: float, error: CustomerIOError) -> None:
            log.warning(
                "%s %s failed (%s); retry %d in %.2f s",
                method,
                route,
                _reason(error),
                attempts,
                delay,
            )

        try:
            answer = await retry(
                attempt,
                self._retry_policy,
                gate,
                on_retry=on_retry,
                retryable=None if sends is None else _nothing_accepted,
            )
        except CustomerIOError as error:
            elapsed = (time.monotonic() - started) * 1000
            log.info(
                "%s %s failed (%s) in %.0f ms", method, route, _reason(error), elapsed
            )
            raise

        elapsed = (time.monotonic() - started) * 1000
        log.info("%s %s answered %d in %.0f ms", method, route, answer.status, elapsed)
        return answer

    def _status_error(self, answer: Answer, sends: str | None) -> HTTPStatusError:
        """
        The error for an answer, with a hint where one helps.
        """
        error = answer.error()
        hint = None
        if isinstance(error, WrongRegionError):
            other = Region.EU if self._region is Region.US else Region.US
            hint = (
                "the App API key belongs to an account in the other region: "
                f"pass region=Region.{other.name}"
            )
        elif sends and isinstance(error, ServerError) and error.status != 503:
            hint = (
                f"{sends} may have been sent, so it was not retried; check the "
                "delivery log before sending again"
            )
        if hint is None:
            return error

        return type(error)(
            error.status,
            server_message=error.server_message,
            retry_after=error.retry_after,
            request_id=error.request_id,
            hint=hint,
        )


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not key.strip():
        message = "app_api_key must be a non-empty string"
        raise ConfigurationError(message)
    if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
        message = "app_api_key must not contain whitespace or control characters"
        raise ConfigurationError(message)


def _nothing_accepted(error: CustomerIOError) -> bool:
    """
    Whether a send failed in a way that proves Customer.io did not accept it.

    A connection that never opened carried nothing. A 429 is the rate limiter
    refusing the request before it is handled. A 503 is the service (or its
    load balancer) refusing work while unavailable. A 500, 502 or 504 may
    come after the message was queued, and a timeout or a reset after the
    request was written says nothing about it: those are never retried.
    """
    if isinstance(error, TransportError):
        return not error.request_sent
    if isinstance(error, HTTPStatusError):
        return error.status in _NOT_ACCEPTED
    return False


def _reason(error: CustomerIOError) -> str:
    """
    A short, data-free reason for a log line: a status or an error class.
    """
    if isinstance(error, HTTPStatusError):
        return f"status {error.status}"
    return type(error).__name__


def _unreadable_acceptance(path: str, answer: Answer, sends: str) -> CustomerIOError:
    """
    A 2xx that does not say what was accepted: it was most likely sent.
    """
    message = (
        f"POST {redact_path(path)}: Customer.io answered {answer.status} but the "
        f"answer could not be read; {sends} was probably sent, so check the "
        "delivery log before sending again"
    )
    return MessageMayHaveBeenSentError(message)


def _parsed(value: T | None, answer: Answer) -> T:
    """
    A parsed read answer, or a ServerError if it was not in the documented shape.
    """
    if value is None:
        message = "the answer was not in the documented shape"
        raise ServerError(answer.status, server_message=message)

    return value
