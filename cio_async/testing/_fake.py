"""
An in-process fake of Customer.io's Track API, served over real loopback HTTP.

Every request takes one path: read and record it, hold it while paused, add
latency, answer 404 or 413 if it must, take a fault, then either run the fault
or check credentials and call the route's handler. Handlers are plain functions
from a :class:`_Call` to an :class:`Answer`; they change the :class:`Workspace`
and never do I/O.

Routes come in tables, one per API, each naming the credentials it needs. A
second API (such as the App API with Bearer keys) adds its table to
``FakeCustomerIO._tables`` and its checker to ``FakeCustomerIO._auth``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any

import attrs
from aiohttp import web
from multidict import CIMultiDict

from ._app_api import FakeAppApi, FakeSend
from ._faults import (
    Answer,
    Delay,
    Drip,
    Fault,
    Faults,
    IdleConnections,
    NeverAnswer,
    Respond,
    StoreThenReset,
    reset_connection,
)
from ._state import (
    ITEM_LIMIT_BYTES,
    MERGE_ID_TYPES,
    Counts,
    FakeDeliveryEvent,
    FakeEvent,
    FakeObject,
    FakePerson,
    Workspace,
    check_identity,
    check_item,
    split_batch,
)

__all__ = ["FakeCustomerIO", "RecordedRequest"]

logger = logging.getLogger("cio_async.testing")

#: A v2 batch body of this many bytes or more is refused with 400.
BATCH_LIMIT_BYTES = 512_000
#: Largest v1 event ``data``, measured as compact UTF-8 JSON.
EVENT_DATA_LIMIT_BYTES = 100_000
#: Most ids one manual-segment call may carry.
SEGMENT_IDS_LIMIT = 1000
# Handlers that are stuck get this long to finish when the server stops.
_SHUTDOWN_TIMEOUT = 0.1
_DELIVERY_METRICS = ("opened", "converted", "delivered")


@attrs.define(eq=False)
class RecordedRequest:
    """
    One request the fake received, recorded before it was handled.

    ``status`` is what the fake answered: None while the request is being
    handled, and for good if the connection was reset or never answered. For a
    :class:`~cio_async.testing.Drip` answer it is set once the headers are sent.
    """

    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    headers: CIMultiDict[str]
    body: bytes
    arrived_at: float
    #: The route template that matched, such as ``/api/v2/batch``; None for 404s.
    route: str | None = None
    status: int | None = None

    def json(self) -> Any:
        """
        Decode the body as JSON.

        Raises:
            ValueError: The body is not JSON.
        """
        return json.loads(self.body)


@attrs.frozen
class _Call:
    request: web.Request
    body: bytes

    def param(self, name: str) -> str:
        # aiohttp matches on the path with %2F and %25 still encoded and decodes
        # them in match_info, so each value is decoded exactly once.
        return self.request.match_info[name]


Handler = Callable[[_Call], Answer]


@attrs.frozen
class _Endpoint:
    method: str
    template: str
    handle: Handler
    #: Which credentials the route needs: "track" (Basic) or None.
    auth: str | None = "track"
    #: The route table it belongs to; scripted faults select by it.
    api: str = "track"


_OK = Answer(200, b"{}")
_UNAUTHORIZED = Answer(401, b"Unauthorized request", "text/plain")
_NOT_FOUND = Answer(404, b"Not Found", "text/plain")
_TOO_LARGE = Answer(413, b"Request Entity Too Large", "text/plain")


def _json(status: int, payload: object) -> Answer:
    return Answer(status, json.dumps(payload).encode())


def _v1_error(message: str) -> Answer:
    return _json(400, {"meta": {"errors": [message]}})


def _v2_error(reason: str, field: str, message: str) -> Answer:
    return _json(
        400, {"errors": [{"reason": reason, "field": field, "message": message}]}
    )


def _parse(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _v1_object(call: _Call, *, empty_ok: bool = False) -> dict[str, Any] | Answer:
    if empty_ok and not call.body.strip():
        return {}
    document = _parse(call.body)
    if not isinstance(document, dict):
        return _v1_error("the body must be a JSON object")

    return document


def _v1_identifier(raw: str) -> tuple[str, str]:
    # Customer.io infers the identifier's type from its shape.
    if raw.startswith("cio_"):
        return "cio_id", raw[4:]
    if "@" in raw:
        return "email", raw

    return "id", raw


def _optional(document: Mapping[str, Any], key: str, kind: type) -> bool:
    value = document.get(key)
    return value is None or (isinstance(value, kind) and not isinstance(value, bool))


class _BasicAuth:
    """
    Checks ``Authorization: Basic`` headers, remembering recent verdicts.
    """

    def __init__(self, user: str, password: str) -> None:
        self._user = user.encode()
        self._password = password.encode()
        self._verdicts: dict[str, bool] = {}

    def check(self, header: str | None) -> bool:
        if header is None:
            return False
        verdict = self._verdicts.get(header)
        if verdict is not None:
            return verdict

        scheme, _, encoded = header.partition(" ")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (ValueError, binascii.Error):
            decoded = ""
        user, colon, password = decoded.partition(":")
        verdict = (
            scheme.lower() == "basic"
            and colon == ":"
            and hmac.compare_digest(user.encode(), self._user)
            and hmac.compare_digest(password.encode(), self._password)
        )
        if len(self._verdicts) > 64:
            self._verdicts.clear()
        self._verdicts[header] = verdict

        return verdict


class _TrackApi:
    """
    The Track API v1 and v2 routes.
    """

    def __init__(self, workspace: Workspace, fake: FakeCustomerIO) -> None:
        self._workspace = workspace
        self._fake = fake

    def endpoints(self) -> list[_Endpoint]:
        customer = "/api/v1/customers/{identifier}"
        return [
            _Endpoint("POST", "/api/v2/batch", self.batch),
            _Endpoint("POST", "/api/v2/entity", self.entity),
            _Endpoint("PUT", customer, self.identify),
            _Endpoint("DELETE", customer, self.delete),
            _Endpoint("POST", f"{customer}/events", self.track),
            _Endpoint("PUT", f"{customer}/devices", self.add_device),
            _Endpoint(
                "DELETE", f"{customer}/devices/{{device_id}}", self.delete_device
            ),
            _Endpoint("POST", f"{customer}/suppress", self.suppress),
            _Endpoint("POST", f"{customer}/unsuppress", self.unsuppress),
            _Endpoint("POST", "/api/v1/events", self.track_anonymous),
            _Endpoint("POST", "/api/v1/merge_customers", self.merge),
            _Endpoint(
                "POST",
                "/api/v1/segments/{segment_id}/add_customers",
                self.add_to_segment,
            ),
            _Endpoint(
                "POST",
                "/api/v1/segments/{segment_id}/remove_customers",
                self.remove_from_segment,
            ),
            _Endpoint("POST", "/api/v1/metrics", self.metric, auth=None),
            _Endpoint("POST", "/api/v1/push/events", self.push_event, auth=None),
            _Endpoint("GET", "/api/v1/accounts/region", self.region),
        ]

    def _accepted(self) -> Answer:
        self._workspace.counts.items_accepted += 1
        return _OK

    def _rejected(self, answer: Answer) -> Answer:
        self._workspace.counts.items_rejected += 1
        return answer

    # v2

    def apply_items(
        self, items: Sequence[object], sizes: Sequence[int], skip: frozenset[int]
    ) -> list[dict[str, object]]:
        """
        Apply the valid items not in ``skip`` and return the errors of the others.
        """
        workspace = self._workspace
        counts = workspace.counts
        errors: list[dict[str, object]] = []

        for index, item in enumerate(items):
            if index in skip:
                counts.items_rejected += 1
                continue
            error = check_item(item, size=sizes[index])
            if error is None:
                workspace.apply_item(item)  # type: ignore[arg-type]
                counts.items_accepted += 1
            else:
                counts.items_rejected += 1
                errors.append(error.as_json(index))

        return errors

    def batch(self, call: _Call, skip: frozenset[int] = frozenset()) -> Answer:
        if len(call.body) >= BATCH_LIMIT_BYTES:
            message = f"a batch must be smaller than {BATCH_LIMIT_BYTES} bytes"
            return _v2_error("too_large", "batch", message)
        split = split_batch(call.body)
        if split is None:
            message = "the body must be a JSON object with a batch list"
            return _v2_error("invalid", "batch", message)

        errors = self.apply_items(*split, skip)
        self._workspace.counts.batches += 1

        return _json(207, {"errors": errors}) if errors else _OK

    def entity(self, call: _Call) -> Answer:
        if len(call.body) > ITEM_LIMIT_BYTES:
            message = f"an item may be at most {ITEM_LIMIT_BYTES} bytes"
            return self._rejected(_v2_error("too_large", "item", message))
        document = _parse(call.body)
        if not isinstance(document, dict):
            return self._rejected(
                _v2_error("invalid", "item", "the body must be a JSON object")
            )
        error = check_item(document)
        if error is not None:
            return self._rejected(_json(400, {"errors": [error.as_json()]}))

        self._workspace.apply_item(document)

        return self._accepted()

    # v1 people

    def identify(self, call: _Call) -> Answer:
        attributes = _v1_object(call, empty_ok=True)
        if isinstance(attributes, Answer):
            return self._rejected(attributes)

        id_type, value = _v1_identifier(call.param("identifier"))
        self._workspace.identify(id_type, value, attributes)

        return self._accepted()

    def delete(self, call: _Call) -> Answer:
        self._workspace.delete(*_v1_identifier(call.param("identifier")))
        return self._accepted()

    def _event_problem(self, document: Mapping[str, Any]) -> str | None:
        name = document.get("name")
        if not isinstance(name, str) or not name:
            return "name is required"
        if not _optional(document, "data", dict):
            return "data must be an object"
        if not (
            _optional(document, "id", str) and _optional(document, "timestamp", int)
        ):
            return "id must be a string and timestamp an integer"
        if document.get("type", "event") not in ("event", "page", "screen"):
            return "type must be event, page or screen"
        data = document.get("data") or {}
        size = len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
        if size > EVENT_DATA_LIMIT_BYTES:
            return f"data may be at most {EVENT_DATA_LIMIT_BYTES} bytes"

        return None

    def track(self, call: _Call) -> Answer:
        document = _v1_object(call)
        if isinstance(document, Answer):
            return self._rejected(document)
        problem = self._event_problem(document)
        if problem is not None:
            return self._rejected(_v1_error(problem))

        id_type, value = _v1_identifier(call.param("identifier"))
        self._workspace.track(
            id_type,
            value,
            name=document["name"],
            event_id=document.get("id"),
            timestamp=document.get("timestamp"),
            data=document.get("data"),
            kind=document.get("type", "event"),
        )

        return self._accepted()

    def track_anonymous(self, call: _Call) -> Answer:
        document = _v1_object(call)
        if isinstance(document, Answer):
            return self._rejected(document)
        problem = self._event_problem(document)
        if problem is None and not _optional(document, "anonymous_id", str):
            problem = "anonymous_id must be a string"
        if problem is not None:
            return self._rejected(_v1_error(problem))

        self._workspace.track_anonymous(
            name=document["name"],
            anonymous_id=document.get("anonymous_id") or None,
            event_id=document.get("id"),
            timestamp=document.get("timestamp"),
            data=document.get("data"),
            kind=document.get("type", "event"),
        )

        return self._accepted()

    def add_device(self, call: _Call) -> Answer:
        document = _v1_object(call)
        if isinstance(document, Answer):
            return self._rejected(document)
        device = document.get("device")
        if (
            not isinstance(device, dict)
            or not isinstance(device.get("id"), str)
            or not device["id"]
        ):
            return self._rejected(_v1_error("device.id is required"))
        if not (
            _optional(device, "platform", str) and _optional(device, "last_used", int)
        ):
            return self._rejected(
                _v1_error("device.platform or device.last_used is invalid")
            )

        # Some SDKs send custom device attributes flat inside "device".
        extra = {
            key: value
            for key, value in device.items()
            if key not in ("id", "platform", "last_used", "attributes")
        }
        if isinstance(device.get("attributes"), dict):
            extra.update(device["attributes"])
        id_type, value = _v1_identifier(call.param("identifier"))
        self._workspace.add_device(
            id_type,
            value,
            token=device["id"],
            platform=device.get("platform"),
            last_used=device.get("last_used"),
            attributes=extra,
        )

        return self._accepted()

    def delete_device(self, call: _Call) -> Answer:
        id_type, value = _v1_identifier(call.param("identifier"))
        self._workspace.delete_device(id_type, value, call.param("device_id"))
        return self._accepted()

    def suppress(self, call: _Call) -> Answer:
        id_type, value = _v1_identifier(call.param("identifier"))
        self._workspace.set_suppressed(id_type, value, suppressed=True)
        return self._accepted()

    def unsuppress(self, call: _Call) -> Answer:
        id_type, value = _v1_identifier(call.param("identifier"))
        self._workspace.set_suppressed(id_type, value, suppressed=False)
        return self._accepted()

    def merge(self, call: _Call) -> Answer:
        document = _v1_object(call)
        if isinstance(document, Answer):
            return self._rejected(document)
        for side in ("primary", "secondary"):
            error = check_identity(document.get(side), MERGE_ID_TYPES, side)
            if error is not None:
                return self._rejected(_v1_error(error.message))

        self._workspace.merge(
            next(iter(document["primary"].items())),
            next(iter(document["secondary"].items())),
        )

        return self._accepted()

    def _change_segment(self, call: _Call, *, add: bool) -> Answer:
        raw_segment = call.param("segment_id")
        if not raw_segment.isdigit():
            return self._rejected(_v1_error("segment_id must be an integer"))
        id_type = call.request.query.get("id_type", "id")
        if id_type not in MERGE_ID_TYPES:
            return self._rejected(_v1_error("id_type must be id, email or cio_id"))
        document = _v1_object(call)
        if isinstance(document, Answer):
            return self._rejected(document)
        ids = document.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
            return self._rejected(_v1_error("ids must be a list of identifiers"))
        if len(ids) > SEGMENT_IDS_LIMIT:
            return self._rejected(
                _v1_error(f"ids may hold at most {SEGMENT_IDS_LIMIT} identifiers")
            )

        self._workspace.change_segment(
            int(raw_segment), id_type, [str(i) for i in ids], add=add
        )

        return self._accepted()

    def add_to_segment(self, call: _Call) -> Answer:
        return self._change_segment(call, add=True)

    def remove_from_segment(self, call: _Call) -> Answer:
        return self._change_segment(call, add=False)

    # v1 deliveries and account

    def metric(self, call: _Call) -> Answer:
        document = _v1_object(call)
        if isinstance(document, Answer):
            return self._rejected(document)
        delivery_id = document.get("delivery_id")
        metric = document.get("metric")
        if not (
            isinstance(delivery_id, str)
            and delivery_id
            and isinstance(metric, str)
            and metric
        ):
            return self._rejected(_v1_error("delivery_id and metric are required"))
        if not _optional(document, "timestamp", int):
            return self._rejected(_v1_error("timestamp must be an integer"))

        rest = {
            k: v
            for k, v in document.items()
            if k not in ("delivery_id", "metric", "timestamp")
        }
        self._workspace.record_delivery(
            delivery_id=delivery_id,
            metric=metric,
            timestamp=document.get("timestamp"),
            attributes=rest,
            source="metrics",
        )

        return self._accepted()

    def push_event(self, call: _Call) -> Answer:
        document = _v1_object(call)
        if isinstance(document, Answer):
            return self._rejected(document)
        delivery_id = document.get("delivery_id")
        event = document.get("event")
        if (
            not isinstance(delivery_id, str)
            or not delivery_id
            or event not in _DELIVERY_METRICS
        ):
            return self._rejected(
                _v1_error(
                    "delivery_id and event (opened, converted, delivered) are required"
                )
            )
        if not _optional(document, "timestamp", int):
            return self._rejected(_v1_error("timestamp must be an integer"))

        self._workspace.record_delivery(
            delivery_id=delivery_id,
            metric=str(event),
            timestamp=document.get("timestamp"),
            attributes={"device_id": document.get("device_id")},
            source="push",
        )

        return self._accepted()

    def region(self, call: _Call) -> Answer:
        fake = self._fake
        return _json(200, {"url": fake.url, "region": fake.region, "environment_id": 1})


def _loopback(host: str) -> str:
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        message = "host must be a loopback address such as 127.0.0.1"
        raise ValueError(message)

    return host


class FakeCustomerIO:
    """
    A fake Customer.io (Track and App APIs) on a loopback port, for tests and demos.

    Use it as ``async with FakeCustomerIO() as fake:`` and point a client at
    ``fake.url``. It records every request in :attr:`requests`, applies what it
    accepts to people and objects you can inspect, and injects faults through
    :attr:`faults`.

    Args:
        site_id: The Track site id it accepts.
        api_key: The Track API key it accepts.
        app_api_key: The App API key it accepts as a Bearer token; the App
            routes (``/v1/...``) and their switches are on :attr:`app`.
        host: The loopback address to listen on.
        port: The port; 0 picks a free one.
        region: What ``/api/v1/accounts/region`` reports, "us" or "eu".
        record_bodies: Whether :class:`RecordedRequest` keeps request bodies;
            turn off to save memory in long runs.

    Raises:
        ValueError: ``host`` is not a loopback address, or another argument is
            out of range.
    """

    def __init__(
        self,
        *,
        site_id: str = "fake-site-id",
        api_key: str = "fake-track-api-key",
        app_api_key: str = "fake-app-api-key",
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us",
        record_bodies: bool = True,
    ) -> None:
        if region not in ("us", "eu"):
            message = "region must be 'us' or 'eu'"
            raise ValueError(message)
        if not 0 <= port <= 65535:
            message = "port must be from 0 to 65535"
            raise ValueError(message)

        self.site_id = site_id
        self.api_key = api_key
        self.host = _loopback(host)
        self.region = region
        self.faults = Faults()
        self._port = port
        self._record_bodies = record_bodies
        self._workspace = Workspace()
        self._requests: list[RecordedRequest] = []
        self._changed = asyncio.Condition()
        self._idle = IdleConnections()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._stopped = False
        self._closing: asyncio.Future[None] | None = None
        self._paused = False
        self._resumed: asyncio.Future[None] | None = None
        self._track = _TrackApi(self._workspace, self)
        # Each route table names the credentials its routes need; another API
        # (such as the App API's Bearer routes) adds a table and an entry here.
        self._auth: dict[str, Callable[[str | None], bool]] = {
            "track": _BasicAuth(site_id, api_key).check
        }
        self._tables: list[list[_Endpoint]] = [self._track.endpoints()]
        self.app_api_key = app_api_key
        self.app = FakeAppApi(self._workspace, app_api_key)
        self._auth["app"] = self.app.check_auth
        self._tables.append(
            [
                _Endpoint(method, template, handle, auth="app", api="app")
                for method, template, handle in self.app.routes()
            ]
        )

    def __repr__(self) -> str:
        where = self._url or "not started"
        return f"<FakeCustomerIO {where} requests={len(self._requests)}>"

    # Lifecycle.

    async def start(self) -> None:
        """
        Start listening.

        Raises:
            RuntimeError: It was already started.
        """
        if self._runner is not None or self._stopped:
            message = "a FakeCustomerIO can be started only once"
            raise RuntimeError(message)

        app = web.Application(client_max_size=64 * 1024 * 1024)
        for table in self._tables:
            for endpoint in table:
                app.router.add_route(
                    endpoint.method, endpoint.template, self._route(endpoint)
                )
        app.router.add_route("*", "/{tail:.*}", self._route(None))
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise

        self._runner = runner
        self._closing = asyncio.get_running_loop().create_future()
        port = runner.addresses[0][1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._url = f"http://{host}:{port}"
        logger.debug("fake Customer.io listening on port %d", port)

    async def aclose(self) -> None:
        """
        Stop the server, aborting requests that are held, hung or dripping.
        """
        runner, self._runner = self._runner, None
        self._stopped = True
        if runner is None:
            return

        if self._closing is not None and not self._closing.done():
            self._closing.set_result(None)
        self._idle.clear()
        await runner.cleanup()
        logger.debug("fake Customer.io stopped after %d requests", len(self._requests))

    async def __aenter__(self) -> FakeCustomerIO:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    # What tests read.

    @property
    def url(self) -> str:
        """
        The host root, such as ``http://127.0.0.1:54321``.

        Raises:
            RuntimeError: The fake has not been started.
        """
        if self._url is None:
            message = "the fake is not started; use 'async with FakeCustomerIO()'"
            raise RuntimeError(message)

        return self._url

    @property
    def requests(self) -> list[RecordedRequest]:
        """
        Every request received, in arrival order.
        """
        return self._requests

    @property
    def counts(self) -> Counts:
        """
        Running totals of requests, batches and items.
        """
        return self._workspace.counts

    @property
    def people(self) -> list[FakePerson]:
        """
        Every person ever created, including deleted and merged-away ones.
        """
        return list(self._workspace.people)

    @property
    def objects(self) -> Mapping[tuple[str, str], FakeObject]:
        """
        Objects by ``(object_type_id, object_id)``.
        """
        return MappingProxyType(self._workspace.objects)

    @property
    def anonymous_events(self) -> list[FakeEvent]:
        """
        Events sent to ``/api/v1/events``, in arrival order.
        """
        return list(self._workspace.anonymous_events)

    @property
    def deliveries(self) -> list[FakeDeliveryEvent]:
        """
        Delivery metrics from v2 delivery items, ``/metrics`` and ``/push/events``.
        """
        return list(self._workspace.deliveries)

    @property
    def sends(self) -> list[FakeSend]:
        """
        Transactional messages the App API accepted, in arrival order.
        """
        return list(self.app.sends)

    def person(
        self,
        *,
        id: str | None = None,
        email: str | None = None,
        cio_id: str | None = None,
        phone: str | None = None,
    ) -> FakePerson | None:
        """
        Find a person by exactly one identifier.

        Returns:
            The live person with that identifier, else the latest deleted one,
            else None.

        Raises:
            TypeError: Not exactly one identifier was given.
        """
        given = [
            (id_type, value)
            for id_type, value in (
                ("id", id),
                ("email", email),
                ("cio_id", cio_id),
                ("phone", phone),
            )
            if value is not None
        ]
        if len(given) != 1:
            message = "person() takes exactly one of id, email, cio_id or phone"
            raise TypeError(message)

        return self._workspace.lookup(*given[0])

    def events(self, name: str | None = None) -> list[FakeEvent]:
        """
        People's stored events (after dedupe), in arrival order.

        Args:
            name: Only events with this name.
        """
        stored = self._workspace.events
        if name is None:
            return list(stored)

        return [event for event in stored if event.name == name]

    def requests_to(
        self, path: str, *, method: str | None = None
    ) -> list[RecordedRequest]:
        """
        The recorded requests to a decoded path or route template.
        """
        return [
            record
            for record in self._requests
            if path in (record.path, record.route)
            and (method is None or record.method == method.upper())
        ]

    async def wait_for(
        self,
        predicate: Callable[[FakeCustomerIO], bool],
        timeout: float = 5.0,
    ) -> None:
        """
        Wait until ``predicate(fake)`` holds, checking as requests arrive and finish.

        Args:
            predicate: Called with this fake.
            timeout: Seconds to wait.

        Raises:
            TimeoutError: It did not hold within ``timeout``.
        """
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: predicate(self)), timeout
                )
            except asyncio.TimeoutError:
                message = f"the condition did not hold within {timeout} seconds"
                raise TimeoutError(message) from None

    # Control.

    def script(
        self,
        *faults: Fault,
        path: str | None = None,
        method: str | None = None,
        api: str = "track",
    ) -> None:
        """
        Queue faults for the next matching requests; see :meth:`Faults.script`.

        ``api="app"`` with no path scripts the App API's routes.
        """
        self.faults.script(*faults, path=path, method=method, api=api)

    def pause(self) -> None:
        """
        Hold every request that arrives from now on until :meth:`resume`.
        """
        self._paused = True

    def resume(self) -> None:
        """
        Release held requests and stop holding new ones.
        """
        self._paused = False
        resumed, self._resumed = self._resumed, None
        if resumed is not None and not resumed.done():
            resumed.set_result(None)

    def reset(self) -> None:
        """
        Forget all state, recorded requests and faults, and resume if paused.
        """
        self._workspace.clear()
        self.app.clear()
        self._requests.clear()
        self.faults.clear()
        self.resume()

    # Serving.

    def _route(
        self, endpoint: _Endpoint | None
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            return await self._serve(endpoint, request)

        return serve

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _serve(
        self, endpoint: _Endpoint | None, request: web.Request
    ) -> web.StreamResponse:
        self._idle.busy(request.transport)
        try:
            body = await request.read()
        except ConnectionError:
            return web.Response()

        record = RecordedRequest(
            method=request.method,
            path=request.path,
            raw_path=request.rel_url.raw_path,
            query=dict(request.query),
            headers=CIMultiDict(request.headers),
            body=body if self._record_bodies else b"",
            arrived_at=time.monotonic(),
            route=None if endpoint is None else endpoint.template,
        )
        self._requests.append(record)
        self._workspace.counts.requests += 1
        await self._notify()

        try:
            return await self._respond(endpoint, request, body, record)
        finally:
            await self._notify()

    async def _respond(
        self,
        endpoint: _Endpoint | None,
        request: web.Request,
        body: bytes,
        record: RecordedRequest,
    ) -> web.StreamResponse:
        faults = self.faults
        if self._paused and not await self._held():
            return self._abort(request)
        if faults.latency and not await self._sleep(faults.latency):
            return self._abort(request)
        if endpoint is None:
            return await self._send(request, record, _NOT_FOUND)
        if faults.max_body_bytes is not None and len(body) > faults.max_body_bytes:
            return await self._send(request, record, _TOO_LARGE)

        call = _Call(request, body)
        fault = faults.take(
            endpoint.api, request.method, record.path, endpoint.template
        )
        if fault is None:
            return await self._send(request, record, self._handle(endpoint, call))
        logger.debug("injecting %s", type(fault).__name__)

        if isinstance(fault, Respond):
            partial = fault.status == 207 and endpoint.template == "/api/v2/batch"
            if partial and self._authorized(endpoint, call):
                self._track.batch(call, skip=fault.named_indices())
            return await self._send(request, record, fault.answer())
        if isinstance(fault, Delay):
            if not await self._sleep(fault.seconds):
                return self._abort(request)
            return await self._send(request, record, self._handle(endpoint, call))
        if isinstance(fault, Drip):
            answer = self._handle(endpoint, call)
            return await self._drip(request, record, answer, fault.interval)
        if isinstance(fault, StoreThenReset):
            self._handle(endpoint, call)
        elif isinstance(fault, NeverAnswer):
            await self._sleep(None)

        return self._abort(request)

    def _authorized(self, endpoint: _Endpoint, call: _Call) -> bool:
        if endpoint.auth is None:
            return True

        header = call.request.headers.get("Authorization")
        return self._auth[endpoint.auth](header)

    def _handle(self, endpoint: _Endpoint, call: _Call) -> Answer:
        if not self._authorized(endpoint, call):
            return _UNAUTHORIZED

        return endpoint.handle(call)

    async def _sleep(self, seconds: float | None) -> bool:
        """
        Wait ``seconds`` (None: forever); False if the server began stopping.
        """
        closing = self._closing
        if closing is None or closing.done():
            return False

        done, _ = await asyncio.wait((closing,), timeout=seconds)

        return not done

    async def _held(self) -> bool:
        """
        Wait while paused; False if the server began stopping instead.
        """
        closing = self._closing
        if closing is None:
            return False
        if self._resumed is None:
            self._resumed = asyncio.get_running_loop().create_future()
        resumed = self._resumed

        await asyncio.wait((resumed, closing), return_when=asyncio.FIRST_COMPLETED)

        return not closing.done()

    def _abort(self, request: web.Request) -> web.StreamResponse:
        reset_connection(request.transport)
        # aiohttp fails to write this to the aborted connection and treats that
        # as a client disconnect, quietly.
        return web.Response()

    async def _send(
        self, request: web.Request, record: RecordedRequest, answer: Answer
    ) -> web.StreamResponse:
        response = web.Response(
            status=answer.status,
            body=answer.body,
            content_type=answer.content_type,
            headers=answer.headers,
        )
        try:
            await response.prepare(request)
            await response.write_eof()
        except ConnectionError:
            return response

        record.status = answer.status
        self._idle.idle(request.transport, self.faults.close_idle_after)

        return response

    async def _drip(
        self,
        request: web.Request,
        record: RecordedRequest,
        answer: Answer,
        interval: float,
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        response.content_type = answer.content_type
        response.content_length = len(answer.body)
        try:
            await response.prepare(request)
            record.status = answer.status
            for offset in range(len(answer.body)):
                if not await self._sleep(interval):
                    return self._abort(request)
                await response.write(answer.body[offset : offset + 1])
            await response.write_eof()
        except ConnectionError:
            return response

        self._idle.idle(request.transport, self.faults.close_idle_after)

        return response
