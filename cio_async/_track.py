"""
``AsyncCustomerIO``: the Track API client. Thin: check, encode, enqueue.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Literal, overload

import aiohttp
import attrs

from ._batcher import Batcher, FailureHandler, Stats
from ._config import (
    BatchConfig,
    Region,
    RetryPolicy,
    Timeouts,
    as_region,
    check_base_url,
    optional_env,
    region_from_env,
    require_env,
)
from ._errors import (
    ClientClosedError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidTypeError,
    PayloadTooLargeError,
)
from ._errors import ServerError as ServerErrorAnswer
from ._events import Attributes, Event, as_dict, event_name_and_data
from ._operations import (
    DELIVERY_METRICS,
    ObjectRef,
    Operation,
    PersonRef,
    Relationship,
    batch_item,
    large_event,
    merge_identifiers,
    ordering_key,
    person_identifiers,
    relationships,
    segment_operations,
)
from ._retry import retry
from ._signals import SignalDrain
from ._transport import Answer, Transport
from ._ulid import new_ulid
from ._values import (
    MAX_EVENT_NAME_BYTES,
    MAX_ITEM_BYTES,
    MAX_V1_EVENT_DATA_BYTES,
    check_attributes,
    check_data,
    check_identifier,
    check_name,
    encode,
    encode_native,
    to_unix_seconds,
)

_Timestamp = Any  # datetime | date | int; checked by to_unix_seconds
_running_loop = asyncio.get_running_loop


@attrs.frozen
class AccountRegion:
    """
    Where Customer.io says an account lives.
    """

    region: Region
    url: str


class AsyncCustomerIO:
    """
    An asyncio client for Customer.io's Track API, batching in the background.

    Calls check their arguments, encode them once and put them on a bounded
    queue; background senders deliver them in Track API v2 batches. Every
    accepted operation ends delivered or handed to ``on_failure``.

    Use it as ``async with AsyncCustomerIO(...) as cio:``, or call ``aclose()``.

    Args:
        site_id: The workspace's Track API site id.
        api_key: The workspace's Track API key.
        region: Where the account lives: ``Region.US`` or ``Region.EU`` (or
            ``"us"``/``"eu"``).
        base_url: Another Track host root (a proxy, or the fake server);
            overrides ``region``.
        session: An aiohttp session to use; it is never closed by the client.
            By default the client makes its own and closes it.
        batching: Queue and batch settings.
        retry: Retry settings.
        timeouts: Request and shutdown time limits.
        on_failure: Called (sync or async) with each
            :class:`cio_async.DeliveryFailure`. Its exceptions are logged.
        dead_letter_path: Append failed operations here as NDJSON that
            ``cio-async send`` can replay.
        install_signal_handlers: Drain on SIGTERM/SIGINT, then let the signal
            take effect. Leave off under frameworks that own signals (uvicorn,
            gunicorn, aiohttp's runner) and close the client from their shutdown.

    Raises:
        cio_async.ConfigurationError: A credential is empty or a setting invalid.
    """

    def __init__(
        self,
        site_id: str,
        api_key: str,
        *,
        region: Region | str = Region.US,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        batching: BatchConfig | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        on_failure: FailureHandler | None = None,
        dead_letter_path: str | os.PathLike[str] | None = None,
        install_signal_handlers: bool = False,
    ) -> None:
        for name, value in (("site_id", site_id), ("api_key", api_key)):
            if not isinstance(value, str) or not value.strip():
                message = f"{name} must be a non-empty string"
                raise ConfigurationError(message)
            if value != value.strip():
                # A newline from a secrets file would fail every request as 401.
                message = f"{name} has leading or trailing whitespace; strip it"
                raise ConfigurationError(message)
        if ":" in site_id:
            message = "site_id must not contain ':' (it ends the Basic auth user)"
            raise ConfigurationError(message)
        region = as_region(region)
        _check_settings(batching, retry, timeouts, on_failure, dead_letter_path)

        self._region = region
        self._base_url = (
            region.track_url if base_url is None else check_base_url(base_url)
        )
        self._timeouts = timeouts or Timeouts()
        self._batching = batching or BatchConfig()
        credentials = base64.b64encode(f"{site_id}:{api_key}".encode()).decode("ascii")
        self._transport = Transport(
            self._base_url,
            authorization=f"Basic {credentials}",
            timeouts=self._timeouts,
            session=session,
            connection_limit=self._batching.max_concurrent_requests + 2,
        )
        self._retry_policy = retry or RetryPolicy()
        self._batcher = Batcher(
            self._transport,
            batching=self._batching,
            retry_policy=self._retry_policy,
            on_failure=on_failure,
            dead_letter_path=dead_letter_path,
        )
        self._signals = SignalDrain(self.aclose) if install_signal_handlers else None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_env(cls, **kwargs: Any) -> AsyncCustomerIO:
        """
        Build a client from ``CUSTOMERIO_SITE_ID``, ``CUSTOMERIO_TRACK_API_KEY``
        and ``CUSTOMERIO_REGION`` (``us`` or ``eu``, default ``us``), and
        ``CUSTOMERIO_TRACK_URL`` when set (another Track host root, such as
        ``cio-async fake-server``'s); keyword arguments win over variables.

        Args:
            **kwargs: Passed on to the constructor.

        Raises:
            cio_async.ConfigurationError: A variable is missing or invalid; the
                message names it.
        """
        kwargs.setdefault("region", region_from_env())
        if kwargs.get("base_url") is None:
            kwargs["base_url"] = optional_env("CUSTOMERIO_TRACK_URL")
        return cls(
            require_env("CUSTOMERIO_SITE_ID"),
            require_env("CUSTOMERIO_TRACK_API_KEY"),
            **kwargs,
        )

    def __repr__(self) -> str:
        return (
            f"<AsyncCustomerIO {self._base_url} region={self._region.value} "
            f"state={self._batcher.state} credentials=***>"
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
        Whether the client no longer accepts calls (closing, closed or broken).
        """
        return self._batcher.state in ("closing", "closed", "broken")

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> AsyncCustomerIO:
        if self.closed:
            message = "the client is closed; make a new one"
            raise ClientClosedError(message)
        self._bind_loop()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            if self._signals is not None:
                self._signals.install()
        elif self._loop is not loop:
            message = (
                "this client belongs to another event loop; make one client per "
                "loop (cio_async.integrations.SharedClient does this for you)"
            )
            raise ClientClosedError(message)

    async def flush(self, timeout: float | None = None) -> None:
        """
        Wait until everything accepted before this call is delivered or failed.

        Also waits for ``on_failure`` to have seen those failures, unless called
        from inside ``on_failure``.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Raises:
            cio_async.FlushTimeoutError: The timeout passed first. Its
                ``pending`` says how many were still open; sending goes on.
        """
        await self._batcher.flush(timeout)

    async def aclose(self, timeout: float | None = None) -> None:
        """
        Stop accepting, deliver what is pending, then close. Idempotent.

        Operations still pending after ``timeout`` (default
        ``Timeouts.close``) go to the failure handler as ``shutdown_timeout``.
        Calls made after this raise :class:`cio_async.ClientClosedError`.
        """
        limit = self._timeouts.close if timeout is None else timeout
        try:
            await self._batcher.aclose(limit)
        finally:
            if self._signals is not None:
                self._signals.uninstall()

    def stats(self) -> Stats:
        """
        A snapshot of the counters; see :class:`cio_async.Stats`.
        """
        return self._batcher.stats()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        batcher = getattr(self, "_batcher", None)
        if batcher is None or batcher.state in ("idle", "closed"):
            return
        pending = batcher.pending
        _warn(
            f"AsyncCustomerIO was not closed; {pending} operations were pending. "
            "Use 'async with' or await aclose().",
            ResourceWarning,
            stacklevel=2,
            source=self,
        )

    # -- operations ------------------------------------------------------------

    async def _submit(self, op: Operation, wait: bool) -> None:
        if type(wait) is not bool:
            raise InvalidTypeError("wait", "must be True or False")
        self._bind_loop()
        if not wait:
            await self._batcher.put(op)
            return

        op._waiter = asyncio.get_running_loop().create_future()
        await self._batcher.put(op)
        await op._waiter

    async def identify(
        self,
        person: PersonRef,
        attributes: Mapping[str, Any] | Attributes | None = None,
        *,
        update_only: bool = False,
        timestamp: _Timestamp = None,
        wait: bool = False,
    ) -> None:
        """
        Create or update a person and merge ``attributes`` into their profile.

        Args:
            person: A str id, or a :class:`cio_async.Person` for email, phone or
                cio_id.
            attributes: Up to 300 attributes; names up to 150 bytes, values up
                to 1,000 bytes. Values are coerced as the README's table says.
                May also be a typed :class:`cio_async.Attributes` instance.
            update_only: Only update an existing person, never create one.
            timestamp: When the change happened; Customer.io applies rapid
                updates in this order. Defaults to now.
            wait: Return only once delivered.

        Raises:
            cio_async.InvalidArgumentError: An argument breaks a rule; the
                message names it.
            cio_async.DeliveryError: With ``wait=True``, it was not delivered.
            cio_async.ClientClosedError: The client is closed.
        """
        identifiers = person_identifiers(person)
        if isinstance(attributes, Attributes):
            attributes = as_dict(attributes, "attributes")
        checked = check_attributes(attributes or {}, "attributes")
        if type(update_only) is not bool:
            raise InvalidTypeError("update_only", "must be True or False")
        if update_only:
            checked = {**checked, "_update": True}
        item: dict[str, Any] = {
            "type": "person",
            "identifiers": identifiers,
            "action": "identify",
            "attributes": checked,
            "timestamp": self._timestamp(timestamp),
        }

        op = batch_item("identify", item, ordering_key(identifiers))
        # Another loop than the one the client is bound to goes the slow way,
        # which refuses it: its queue would never be served.
        if wait or self._loop is not _running_loop() or not self._batcher.offer(op):
            await self._submit(op, wait)

    @overload
    async def track(
        self,
        person: PersonRef,
        name: str,
        data: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
        timestamp: _Timestamp = None,
        wait: bool = False,
    ) -> None: ...

    @overload
    async def track(
        self,
        person: PersonRef,
        name: Event,
        *,
        id: str | None = None,
        timestamp: _Timestamp = None,
        wait: bool = False,
    ) -> None: ...

    async def track(
        self,
        person: PersonRef,
        name: str | Event,
        data: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
        timestamp: _Timestamp = None,
        wait: bool = False,
    ) -> None:
        """
        Record that a person did something: an event that can trigger campaigns.

        Args:
            person: A str id, or a :class:`cio_async.Person`.
            name: The event name, up to 100 bytes; or a typed
                :class:`cio_async.Event`, which carries its name and data.
            data: Event data. Over 32 KB it goes through Track API v1, which
                allows up to 100,000 bytes.
            id: A unique event id (a ULID is made when not given); Customer.io
                ignores repeats, which is what makes retries safe.
            timestamp: When it happened (past events are backfill); defaults
                to now. Only events from the last 72 hours trigger campaigns.
            wait: Return only once delivered.

        Raises:
            cio_async.InvalidArgumentError: An argument breaks a rule; the
                message names it.
            cio_async.DeliveryError: With ``wait=True``, it was not delivered.
            cio_async.ClientClosedError: The client is closed.
        """
        if isinstance(name, Event):
            if data is not None:
                message = "a typed event carries its own data; pass no data"
                raise InvalidArgumentError("data", message)
            name, data = event_name_and_data(name)
        op = self._event("event", person, name, data, id, timestamp)
        # The common case queues without another coroutine; see Batcher.offer.
        # Another loop than the one the client is bound to goes the slow way,
        # which refuses it: its queue would never be served.
        if wait or self._loop is not _running_loop() or not self._batcher.offer(op):
            await self._submit(op, wait)

    def _event(
        self,
        action: str,
        person: PersonRef,
        name: str,
        data: Mapping[str, Any] | None,
        event_id: str | None,
        timestamp: _Timestamp,
    ) -> Operation:
        identifiers = person_identifiers(person)
        item: dict[str, Any] = {
            "type": "person",
            "identifiers": identifiers,
            "action": action,
            "name": check_name(name, "name", MAX_EVENT_NAME_BYTES),
            "id": new_ulid() if event_id is None else check_name(event_id, "id", 150),
            "timestamp": self._timestamp(timestamp),
            "attributes": data,
        }

        # Plain JSON data skips the walk of the full check: see encode_native.
        body = encode_native(item) if type(data) is dict else None
        if body is None:
            item["attributes"] = check_data(data, "data")
            body = encode(item)
        if len(body) > MAX_ITEM_BYTES:
            return large_event(identifiers, item)
        return Operation(action, body, ordering_key(identifiers))

    async def page(
        self,
        person: PersonRef,
        url: str,
        data: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
        timestamp: _Timestamp = None,
        wait: bool = False,
    ) -> None:
        """
        Record a page view; ``url`` is the event name, as Customer.io expects.

        Args and errors are those of :meth:`track`.
        """
        await self._submit(self._event("page", person, url, data, id, timestamp), wait)

    async def screen(
        self,
        person: PersonRef,
        name: str,
        data: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
        timestamp: _Timestamp = None,
        wait: bool = False,
    ) -> None:
        """
        Record a mobile screen view.

        Args and errors are those of :meth:`track`.
        """
        await self._submit(
            self._event("screen", person, name, data, id, timestamp), wait
        )

    async def track_anonymous(
        self,
        anonymous_id: str | None,
        name: str,
        data: Mapping[str, Any] | None = None,
        *,
        id: str | None = None,
        timestamp: _Timestamp = None,
        wait: bool = False,
    ) -> None:
        """
        Record an event of someone not identified yet (Track v1 ``/events``).

        Identifying a person later with the same ``anonymous_id`` attributes
        the event to them. ``None`` with ``data["recipient"]`` is an "invite"
        event. Sent one request each, through the same queue and retries.

        Args:
            anonymous_id: The visitor's anonymous id, or ``None``.
            name: The event name, up to 100 bytes.
            data: Event data, up to 100,000 bytes.
            id: Event id for deduplication; a ULID is made when not given.
            timestamp: When it happened; defaults to now.
            wait: Return only once delivered.

        Raises:
            cio_async.InvalidArgumentError: An argument breaks a rule.
        """
        body: dict[str, Any] = {
            "name": check_name(name, "name", MAX_EVENT_NAME_BYTES),
            "data": check_data(data, "data"),
            "id": new_ulid() if id is None else check_name(id, "id", 150),
            "timestamp": self._timestamp(timestamp),
        }
        if anonymous_id is not None:
            body["anonymous_id"] = check_identifier(anonymous_id, "anonymous_id")
        encoded = encode(body)
        if len(encoded) > MAX_V1_EVENT_DATA_BYTES:
            raise PayloadTooLargeError(
                "data",
                f"encodes to {len(encoded):,} bytes; the limit is "
                f"{MAX_V1_EVENT_DATA_BYTES:,}",
                size=len(encoded),
                limit=MAX_V1_EVENT_DATA_BYTES,
            )

        op = Operation("anonymous_event", encoded, None, "POST", "/api/v1/events")
        await self._submit(op, wait)

    async def delete(self, person: PersonRef, *, wait: bool = False) -> None:
        """
        Delete a person and everything Customer.io holds about them.
        """
        await self._person_action("delete", person, {}, wait)

    async def suppress(self, person: PersonRef, *, wait: bool = False) -> None:
        """
        Delete a person and refuse to re-create them under the same identifier.
        """
        await self._person_action("suppress", person, {}, wait)

    async def unsuppress(self, person: PersonRef, *, wait: bool = False) -> None:
        """
        Allow a suppressed identifier to be used again.
        """
        await self._person_action("unsuppress", person, {}, wait)

    async def add_device(
        self,
        person: PersonRef,
        token: str,
        platform: Literal["ios", "android"] | str,
        *,
        last_used: _Timestamp = None,
        attributes: Mapping[str, Any] | None = None,
        wait: bool = False,
    ) -> None:
        """
        Add or update a push device of a person.

        Args:
            person: Whose device.
            token: The device's push token.
            platform: ``"ios"`` or ``"android"``.
            last_used: When the device was last used; defaults to now.
            attributes: Custom device attributes.
            wait: Return only once delivered.
        """
        if platform not in ("ios", "android"):
            raise InvalidArgumentError("platform", 'must be "ios" or "android"')
        device: dict[str, Any] = {
            "token": check_identifier(token, "token"),
            "platform": platform,
            "last_used": self._timestamp(last_used),
        }
        if attributes:
            device["attributes"] = check_attributes(attributes, "attributes")

        await self._person_action("add_device", person, {"device": device}, wait)

    async def delete_device(
        self, person: PersonRef, token: str, *, wait: bool = False
    ) -> None:
        """
        Remove a push device from a person.
        """
        device = {"token": check_identifier(token, "token")}
        await self._person_action("delete_device", person, {"device": device}, wait)

    async def merge(
        self, primary: PersonRef, secondary: PersonRef, *, wait: bool = False
    ) -> None:
        """
        Merge ``secondary`` into ``primary``; the secondary person is deleted.

        The primary must already exist. Identify-then-merge can race on
        Customer.io's side: pass ``wait=True`` to the identify first.
        """
        first = merge_identifiers(primary, "primary")
        second = merge_identifiers(secondary, "secondary")
        if first == second:
            raise InvalidArgumentError("secondary", "is the same person as primary")
        item = {
            "type": "person",
            "action": "merge",
            "primary": first,
            "secondary": second,
        }
        key = ordering_key(first)
        await self._submit(batch_item("merge", item, key), wait)

    async def add_relationships(
        self,
        person: PersonRef,
        objects: Iterable[ObjectRef | Relationship],
        *,
        wait: bool = False,
    ) -> None:
        """
        Relate a person to objects (a :class:`cio_async.ObjectRef` each, or a
        :class:`cio_async.Relationship` carrying attributes).
        """
        related = relationships(objects, "objects", to_objects=True)
        await self._person_action(
            "add_relationships", person, {"cio_relationships": related}, wait
        )

    async def delete_relationships(
        self,
        person: PersonRef,
        objects: Iterable[ObjectRef | Relationship],
        *,
        wait: bool = False,
    ) -> None:
        """
        Remove a person's relationships to objects.
        """
        related = relationships(objects, "objects", to_objects=True)
        await self._person_action(
            "delete_relationships", person, {"cio_relationships": related}, wait
        )

    async def identify_object(
        self,
        obj: ObjectRef,
        attributes: Mapping[str, Any] | None = None,
        *,
        people: Iterable[PersonRef | Relationship] = (),
        wait: bool = False,
    ) -> None:
        """
        Create or update an object, and optionally relate people to it.
        """
        extra: dict[str, Any] = {
            "attributes": check_attributes(attributes or {}, "attributes")
        }
        people = list(people)
        if people:
            extra["cio_relationships"] = relationships(
                people, "people", to_objects=False
            )
        await self._object_action("identify", obj, extra, wait)

    async def delete_object(self, obj: ObjectRef, *, wait: bool = False) -> None:
        """
        Delete an object.
        """
        await self._object_action("delete", obj, {}, wait)

    async def add_object_relationships(
        self,
        obj: ObjectRef,
        people: Iterable[PersonRef | Relationship],
        *,
        wait: bool = False,
    ) -> None:
        """
        Relate people to an object.
        """
        related = relationships(people, "people", to_objects=False)
        await self._object_action(
            "add_relationships", obj, {"cio_relationships": related}, wait
        )

    async def delete_object_relationships(
        self,
        obj: ObjectRef,
        people: Iterable[PersonRef | Relationship],
        *,
        wait: bool = False,
    ) -> None:
        """
        Remove people's relationships to an object.
        """
        related = relationships(people, "people", to_objects=False)
        await self._object_action(
            "delete_relationships", obj, {"cio_relationships": related}, wait
        )

    async def track_delivery(
        self,
        delivery_id: str,
        metric: Literal["opened", "converted", "delivered"],
        *,
        device_token: str,
        timestamp: _Timestamp = None,
        wait: bool = False,
    ) -> None:
        """
        Report a delivery metric (a push opened, converted or delivered).

        Args:
            delivery_id: The delivery's id from the message payload.
            metric: ``"opened"``, ``"converted"`` or ``"delivered"``.
            device_token: The device the push reached.
            timestamp: When; defaults to now.
            wait: Return only once delivered.
        """
        if metric not in DELIVERY_METRICS:
            message = 'must be "opened", "converted" or "delivered"'
            raise InvalidArgumentError("metric", message)
        attributes = {"device_token": check_identifier(device_token, "device_token")}
        item = {
            "type": "delivery",
            "identifiers": {"id": check_identifier(delivery_id, "delivery_id")},
            "action": "event",
            "name": metric,
            "timestamp": self._timestamp(timestamp),
            "attributes": attributes,
        }

        await self._submit(batch_item("delivery", item, None), wait)

    async def add_to_segment(
        self,
        segment_id: int,
        people: Iterable[str],
        *,
        id_type: Literal["id", "email", "cio_id"] = "id",
        wait: bool = False,
    ) -> None:
        """
        Add people to a manual segment, 1,000 per request.

        Args:
            segment_id: The manual segment's id.
            people: Identifiers of the kind ``id_type`` names.
            id_type: ``"id"``, ``"email"`` or ``"cio_id"``.
            wait: Return only once every request is delivered.
        """
        ops = segment_operations(segment_id, people, id_type, "add_customers")
        await self._submit_all(ops, wait)

    async def remove_from_segment(
        self,
        segment_id: int,
        people: Iterable[str],
        *,
        id_type: Literal["id", "email", "cio_id"] = "id",
        wait: bool = False,
    ) -> None:
        """
        Remove people from a manual segment, 1,000 per request.
        """
        ops = segment_operations(segment_id, people, id_type, "remove_customers")
        await self._submit_all(ops, wait)

    async def _submit_all(self, ops: list[Operation], wait: bool) -> None:
        if wait:
            loop = asyncio.get_running_loop()
            for op in ops:
                op._waiter = loop.create_future()
        for op in ops:
            await self._submit(op, False)
        if wait:
            await asyncio.gather(*(op._waiter for op in ops if op._waiter is not None))

    async def _person_action(
        self, action: str, person: PersonRef, extra: dict[str, Any], wait: bool
    ) -> None:
        identifiers = person_identifiers(person)
        item = {"type": "person", "identifiers": identifiers, "action": action, **extra}
        await self._submit(batch_item(action, item, ordering_key(identifiers)), wait)

    async def _object_action(
        self, action: str, obj: ObjectRef, extra: dict[str, Any], wait: bool
    ) -> None:
        if not isinstance(obj, ObjectRef):
            raise InvalidArgumentError("obj", "must be a cio_async.ObjectRef")
        item = {
            "type": "object",
            "identifiers": obj.identifiers,
            "action": action,
            **extra,
        }
        key = f"object:{obj.type_id}:{obj.id}"
        await self._submit(batch_item(f"object_{action}", item, key), wait)

    async def replay(self, record: Mapping[str, Any], *, wait: bool = False) -> None:
        """
        Queue an operation again from a dead-letter record.

        Args:
            record: One line of a ``dead_letter_path`` file, decoded.
            wait: Return only once delivered.

        Raises:
            cio_async.InvalidArgumentError: The record is not a dead-letter record.
        """
        await self._submit(Operation.from_record(dict(record)), wait)

    async def account_region(self) -> AccountRegion:
        """
        Ask Customer.io which region these credentials belong to.

        A cheap way to check credentials and the ``region`` setting at startup.

        Returns:
            The account's region and Track URL.

        Raises:
            cio_async.AuthenticationError: The credentials were refused.
            cio_async.HTTPStatusError: Another error answer.
            cio_async.TransportError: No answer.
        """
        if self._loop is None:
            self._bind_loop()

        async def attempt() -> Answer:
            answer = await self._transport.request("GET", "/api/v1/accounts/region")
            if not answer.ok:
                raise answer.error()
            return answer

        answer = await retry(attempt, self._retry_policy, self._batcher.gate)
        body = answer.json()
        region_name = body.get("region") if isinstance(body, dict) else None
        try:
            region = Region(str(region_name).lower())
        except ValueError:
            message = "the region answer had no region in it"
            raise ServerErrorAnswer(answer.status, server_message=message) from None

        return AccountRegion(
            region=region,
            url=str(body.get("url", "")) if isinstance(body, dict) else "",
        )

    @staticmethod
    def _timestamp(value: _Timestamp) -> int:
        if value is None:
            return int(time.time())
        return to_unix_seconds(value, "timestamp")


def _check_settings(
    batching: object,
    retry: object,
    timeouts: object,
    on_failure: object,
    dead_letter_path: object,
) -> None:
    """
    Refuse settings of the wrong kind here, not later in the background task.
    """
    for name, value, kind in (
        ("batching", batching, BatchConfig),
        ("retry", retry, RetryPolicy),
        ("timeouts", timeouts, Timeouts),
    ):
        if value is not None and not isinstance(value, kind):
            message = f"{name} must be a cio_async.{kind.__name__}"
            raise ConfigurationError(message)
    if on_failure is not None and not callable(on_failure):
        message = "on_failure must be a function taking a DeliveryFailure"
        raise ConfigurationError(message)
    if dead_letter_path is not None and not isinstance(
        dead_letter_path, (str, os.PathLike)
    ):
        message = "dead_letter_path must be a str or a path"
        raise ConfigurationError(message)
