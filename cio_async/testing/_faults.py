"""
Fault injection for the fake Customer.io.

A fault replaces or wraps the normal handling of one request. Tests queue
scripted faults with :meth:`Faults.script` and turn on random ones with
:meth:`Faults.chaos`; the knobs ``latency``, ``max_body_bytes`` and
``close_idle_after`` apply to every request while set. The server in
``_fake.py`` asks :meth:`Faults.take` which fault, if any, a request gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, TypeAlias

import attrs

__all__ = [
    "Answer",
    "Chaos",
    "Delay",
    "Drip",
    "Fault",
    "Faults",
    "IdleConnections",
    "NeverAnswer",
    "Reset",
    "Respond",
    "StoreThenReset",
    "reset_connection",
]


@attrs.frozen
class Answer:
    """
    An HTTP answer the fake is about to send.
    """

    status: int
    body: bytes = b"{}"
    content_type: str = "application/json"
    headers: Mapping[str, str] = attrs.Factory(dict)


def _check_status(
    instance: object, attribute: attrs.Attribute[Any], value: int
) -> None:
    if not 200 <= value <= 599:
        message = f"{attribute.name} must be an HTTP status from 200 to 599"
        raise ValueError(message)


def _check_seconds(
    instance: object, attribute: attrs.Attribute[Any], value: float | None
) -> None:
    if value is not None and value < 0:
        message = f"{attribute.name} must be zero or more seconds"
        raise ValueError(message)


def _check_positive(
    instance: object, attribute: attrs.Attribute[Any], value: float | None
) -> None:
    if value is not None and value <= 0:
        message = f"{attribute.name} must be more than zero"
        raise ValueError(message)


def _check_rate(
    instance: object, attribute: attrs.Attribute[Any], value: float
) -> None:
    if not 0.0 <= value <= 1.0:
        message = f"{attribute.name} must be a rate from 0 to 1"
        raise ValueError(message)


def _check_path(
    instance: object, attribute: attrs.Attribute[Any], value: str | None
) -> None:
    if value is not None and not value.startswith("/"):
        message = f"{attribute.name} must be a path starting with '/'"
        raise ValueError(message)


_KNOWN = frozenset(status.value for status in HTTPStatus)


@attrs.frozen
class Respond:
    """
    Answer with this status, headers and body without applying the request.

    One exception: a 207 to ``/api/v2/batch`` applies every item that its body's
    ``errors`` do not name by ``batch_index``, as the real server does; without
    a body it applies all items and answers ``{"errors": []}``.

    Args:
        status: The HTTP status, 200 to 599.
        headers: Extra response headers, such as ``Retry-After``.
        body: A dict or list (sent as JSON), a str (sent as text) or bytes.
            By default 2xx answers send ``{}`` and others the status phrase.
    """

    status: int = attrs.field(validator=_check_status)
    headers: Mapping[str, str] | None = None
    body: bytes | str | Mapping[str, Any] | list[Any] | None = None

    def answer(self) -> Answer:
        """
        Render the scripted answer.
        """
        headers = dict(self.headers or {})
        body = self.body
        if body is None and self.status == 207:
            body = {"errors": []}
        if body is None and self.status < 300:
            body = {}
        if body is None:
            body = HTTPStatus(self.status).phrase if self.status in _KNOWN else "Error"

        if isinstance(body, bytes):
            content_type = "application/octet-stream"
        elif isinstance(body, str):
            content_type = "text/plain"
            body = body.encode()
        else:
            content_type = "application/json"
            body = json.dumps(body).encode()
        for name in [name for name in headers if name.lower() == "content-type"]:
            content_type = headers.pop(name)

        return Answer(self.status, body, content_type, headers)

    def named_indices(self) -> frozenset[int]:
        """
        The ``batch_index`` values that the body's ``errors`` name.
        """
        body = self.body
        if isinstance(body, (bytes, str)):
            with contextlib.suppress(ValueError):
                body = json.loads(body)
        if not isinstance(body, Mapping) or not isinstance(body.get("errors"), list):
            return frozenset()

        return frozenset(
            error["batch_index"]
            for error in body["errors"]
            if isinstance(error, Mapping) and isinstance(error.get("batch_index"), int)
        )


@attrs.frozen
class Reset:
    """
    Abort the TCP connection with a reset, without applying the request.
    """


@attrs.frozen
class StoreThenReset:
    """
    Apply the request normally, then abort the connection instead of answering.
    """


@attrs.frozen
class NeverAnswer:
    """
    Hold the request until the server stops, then abort the connection.
    """


@attrs.frozen
class Delay:
    """
    Wait, then handle the request normally.

    Args:
        seconds: How long to wait before handling.
    """

    seconds: float = attrs.field(validator=_check_seconds)


@attrs.frozen
class Drip:
    """
    Handle the request normally but send the answer's body one byte at a time.

    Args:
        interval: Seconds between bytes.
    """

    interval: float = attrs.field(default=0.1, validator=_check_positive)


Fault: TypeAlias = Respond | Reset | StoreThenReset | NeverAnswer | Delay | Drip


_FAULT_TYPES = (Respond, Reset, StoreThenReset, NeverAnswer, Delay, Drip)


@attrs.frozen(kw_only=True)
class Chaos:
    """
    Rates of random faults; each request draws at most one.

    Args:
        error_5xx: Share of requests answered with a status from ``error_statuses``.
        rate_limited: Share answered 429 with a ``Retry-After`` from
            ``retry_after`` (no header if it is empty).
        reset: Share that get :class:`Reset` or :class:`StoreThenReset`, half each.
        no_answer: Share that get :class:`NeverAnswer`.
        seed: Seed of the random draws, for repeatable runs.
        error_statuses: The 5xx statuses to draw from.
        retry_after: The ``Retry-After`` values to draw from.
        path: Only requests to this path (or route template) draw; None means
            every Track request.

    Raises:
        ValueError: A rate is outside 0..1 or the rates add up to more than 1.
    """

    error_5xx: float = attrs.field(default=0.0, validator=_check_rate)
    rate_limited: float = attrs.field(default=0.0, validator=_check_rate)
    reset: float = attrs.field(default=0.0, validator=_check_rate)
    no_answer: float = attrs.field(default=0.0, validator=_check_rate)
    seed: int | None = None
    error_statuses: tuple[int, ...] = (500, 502, 503, 504)
    retry_after: tuple[str, ...] = ("0", "1")
    path: str | None = attrs.field(default=None, validator=_check_path)

    def __attrs_post_init__(self) -> None:
        if self.error_5xx + self.rate_limited + self.reset + self.no_answer > 1.0:
            message = "chaos rates must add up to at most 1"
            raise ValueError(message)
        if not self.error_statuses or any(s < 500 for s in self.error_statuses):
            message = "error_statuses must be one or more 5xx statuses"
            raise ValueError(message)

    def draw(self, rng: random.Random) -> Fault | None:
        """
        Draw the fault for one request, or None to handle it normally.
        """
        roll = rng.random()
        if roll < self.error_5xx:
            return Respond(rng.choice(self.error_statuses))
        roll -= self.error_5xx
        if roll < self.rate_limited:
            headers = (
                {"Retry-After": rng.choice(self.retry_after)}
                if self.retry_after
                else None
            )
            return Respond(429, headers=headers)
        roll -= self.rate_limited
        if roll < self.reset:
            return Reset() if rng.random() < 0.5 else StoreThenReset()
        roll -= self.reset
        if roll < self.no_answer:
            return NeverAnswer()

        return None


@attrs.frozen
class _Scripted:
    fault: Fault
    path: str | None
    method: str | None
    api: str

    def matches(self, api: str, method: str, path: str, template: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.path is None:
            return self.api == api

        return self.path in (path, template)


def _matches_path(wanted: str | None, api: str, path: str, template: str) -> bool:
    if wanted is None:
        return api == "track"

    return wanted in (path, template)


@attrs.define(kw_only=True)
class Faults:
    """
    The faults a running fake applies; reach it as ``fake.faults``.

    Scripted faults come first, in the order queued; chaos draws only for
    requests that no scripted fault matched. A request over ``max_body_bytes``
    gets 413 before either is consulted.

    Args:
        latency: Seconds added before every answer.
        max_body_bytes: Bodies longer than this are answered 413.
        close_idle_after: Close keep-alive connections idle this many seconds.
    """

    latency: float = attrs.field(default=0.0, validator=_check_seconds)
    max_body_bytes: int | None = attrs.field(default=None, validator=_check_positive)
    close_idle_after: float | None = attrs.field(
        default=None, validator=_check_positive
    )
    _script: list[_Scripted] = attrs.field(factory=list, init=False)
    _chaos: Chaos | None = attrs.field(default=None, init=False)
    _rng: random.Random = attrs.field(factory=random.Random, init=False, repr=False)

    @property
    def pending(self) -> list[Fault]:
        """
        The scripted faults not yet consumed, in order.
        """
        return [entry.fault for entry in self._script]

    @property
    def active_chaos(self) -> Chaos | None:
        """
        The chaos settings in force, or None.
        """
        return self._chaos

    def script(
        self,
        *faults: Fault,
        path: str | None = None,
        method: str | None = None,
        api: str = "track",
    ) -> None:
        """
        Queue faults for the next matching requests, one fault per request.

        Args:
            *faults: The faults, in the order requests will get them.
            path: Only requests to this decoded path, or to this route template
                (such as ``/api/v1/customers/{identifier}``), consume them.
            method: Only requests with this HTTP method consume them.
            api: With no path, the route table whose requests consume them.

        Raises:
            ValueError: ``path`` does not start with "/".
            TypeError: An argument is not a fault.
        """
        if path is not None and not path.startswith("/"):
            message = "path must start with '/'"
            raise ValueError(message)
        # Callers without a type checker may pass anything.
        given: tuple[object, ...] = faults
        for fault in given:
            if not isinstance(fault, _FAULT_TYPES):
                message = f"script() takes faults, not {type(fault).__name__}"
                raise TypeError(message)

        method = None if method is None else method.upper()
        self._script.extend(_Scripted(fault, path, method, api) for fault in faults)

    def chaos(
        self,
        *,
        error_5xx: float = 0.0,
        rate_limited: float = 0.0,
        reset: float = 0.0,
        no_answer: float = 0.0,
        seed: int | None = None,
        error_statuses: tuple[int, ...] = (500, 502, 503, 504),
        retry_after: tuple[str, ...] = ("0", "1"),
        path: str | None = None,
    ) -> Chaos:
        """
        Start drawing random faults at these rates; see :class:`Chaos`.

        Returns:
            The settings now in force.

        Raises:
            ValueError: The rates or statuses are invalid.
        """
        settings = Chaos(
            error_5xx=error_5xx,
            rate_limited=rate_limited,
            reset=reset,
            no_answer=no_answer,
            seed=seed,
            error_statuses=tuple(error_statuses),
            retry_after=tuple(retry_after),
            path=path,
        )
        self._chaos = settings
        self._rng = random.Random(seed)

        return settings

    def calm(self) -> None:
        """
        Stop drawing random faults; scripted faults stay queued.
        """
        self._chaos = None

    def clear(self) -> None:
        """
        Drop scripted faults and chaos and reset every knob to its default.
        """
        self._script.clear()
        self._chaos = None
        self.latency = 0.0
        self.max_body_bytes = None
        self.close_idle_after = None

    def take(self, api: str, method: str, path: str, template: str) -> Fault | None:
        """
        Consume the fault for one request: the first matching scripted one, else
        a chaos draw.
        """
        for position, entry in enumerate(self._script):
            if entry.matches(api, method, path, template):
                del self._script[position]
                return entry.fault

        chaos = self._chaos
        if chaos is None or not _matches_path(chaos.path, api, path, template):
            return None

        return chaos.draw(self._rng)


def reset_connection(transport: asyncio.BaseTransport | None) -> None:
    """
    Abort a connection so that the peer sees a TCP reset, not a clean close.
    """
    if transport is None or transport.is_closing():
        return

    sock = transport.get_extra_info("socket")
    if sock is not None:
        # A zero linger time makes close() send RST instead of FIN.
        with contextlib.suppress(OSError):
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    else:
        transport.close()


class IdleConnections:
    """
    Closes keep-alive connections that stay idle longer than a given time.

    This is what a load balancer with a short idle timeout does, and it makes
    clients meet the race where a pooled connection dies just as it is reused.
    """

    def __init__(self) -> None:
        self._timers: dict[asyncio.BaseTransport, asyncio.TimerHandle] = {}

    def busy(self, transport: asyncio.BaseTransport | None) -> None:
        """
        Note that a request arrived on the connection, so it is not idle.
        """
        if self._timers and transport is not None:
            timer = self._timers.pop(transport, None)
            if timer is not None:
                timer.cancel()

    def idle(
        self, transport: asyncio.BaseTransport | None, after: float | None
    ) -> None:
        """
        Close the connection ``after`` seconds from now unless it gets busy.
        """
        if after is None or transport is None or transport.is_closing():
            return

        self.busy(transport)
        loop = asyncio.get_running_loop()
        self._timers[transport] = loop.call_later(after, self._close, transport)

    def _close(self, transport: asyncio.BaseTransport) -> None:
        self._timers.pop(transport, None)
        if not transport.is_closing():
            transport.close()

    def clear(self) -> None:
        """
        Cancel every pending close.
        """
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
