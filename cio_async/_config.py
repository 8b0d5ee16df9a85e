"""
Regions and the settings that shape batching, retries and timeouts.

Every settings class is frozen and checked when it is built, so a bad value fails
where it was written, not later inside the background task.
"""

from __future__ import annotations

import enum
import math
import os
import urllib.parse
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from ._errors import ConfigurationError

QueueFullPolicy = Literal["wait", "raise"]


class Region(enum.Enum):
    """
    The Customer.io data center an account lives in.

    Only the host changes between regions; ``track_url`` and ``app_url`` are the
    host roots of the Track API and the App API.
    """

    US = "us"
    EU = "eu"

    @property
    def track_url(self) -> str:
        """
        The Track API host root, for example ``https://track.customer.io``.
        """
        return _HOSTS[self][0]

    @property
    def app_url(self) -> str:
        """
        The App API host root, for example ``https://api.customer.io``.
        """
        return _HOSTS[self][1]


_HOSTS = {
    Region.US: ("https://track.customer.io", "https://api.customer.io"),
    Region.EU: ("https://track-eu.customer.io", "https://api-eu.customer.io"),
}


def _positive(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
        message = f"{attribute.name} must be a positive finite number"
        raise ConfigurationError(message)


def _positive_int(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        message = f"{attribute.name} must be a positive integer"
        raise ConfigurationError(message)


def _optional_positive(
    instance: object, attribute: attrs.Attribute[Any], value: Any
) -> None:
    if value is not None:
        _positive(instance, attribute, value)


@attrs.frozen(kw_only=True)
class BatchConfig:
    """
    How operations are queued and grouped into requests.

    Args:
        max_queue_size: Operations that may wait in memory before calls feel
            back-pressure.
        queue_full: ``"wait"`` waits up to ``enqueue_timeout`` for room and then
            hands the operation to the failure handler as ``queue_full``;
            ``"raise"`` raises :class:`cio_async.QueueFullError` at the call.
        enqueue_timeout: Seconds a call may wait for room under ``"wait"``.
        max_batch_bytes: Upper bound of one request body, measured on the exact
            bytes sent. The Track API refuses 500 KB; the default keeps headroom.
        max_batch_items: Upper bound of operations in one request.
        flush_interval: Seconds a partly filled batch may wait for company.
        flush_jitter: Fraction of ``flush_interval`` added at random, so that many
            processes started together do not flush in lockstep.
        max_concurrent_requests: Batches in flight at once.
        max_requests_per_second: Shared request rate cap for this client, or
            ``None`` for none. Customer.io's documented fair use is 100/s.
    """

    max_queue_size: int = attrs.field(default=10_000, validator=_positive_int)
    queue_full: QueueFullPolicy = attrs.field(default="wait")
    enqueue_timeout: float = attrs.field(default=2.0, validator=_positive)
    max_batch_bytes: int = attrs.field(default=475_000, validator=_positive_int)
    max_batch_items: int = attrs.field(default=1_000, validator=_positive_int)
    flush_interval: float = attrs.field(default=1.0, validator=_positive)
    flush_jitter: float = attrs.field(default=0.1)
    max_concurrent_requests: int = attrs.field(default=4, validator=_positive_int)
    max_requests_per_second: float | None = attrs.field(
        default=100.0, validator=_optional_positive
    )

    @queue_full.validator
    def _check_policy(self, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in ("wait", "raise"):
            message = 'queue_full must be "wait" or "raise"'
            raise ConfigurationError(message)

    @flush_jitter.validator
    def _check_jitter(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not (isinstance(value, (int, float)) and 0 <= value <= 1):
            message = "flush_jitter must be between 0 and 1"
            raise ConfigurationError(message)

    @max_batch_bytes.validator
    def _check_bytes(self, attribute: attrs.Attribute[int], value: int) -> None:
        # Room for the envelope and one maximal item, or nothing large could
        # ever be sent; and under the Track API's 500 KB, read as 500,000.
        if value < 33_000 or value > 500_000:
            message = "max_batch_bytes must be between 33,000 and 500,000"
            raise ConfigurationError(message)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """
    How a failed request is retried: exponential backoff with full jitter.

    The n-th retry waits a random time between 0 and
    ``min(max_delay, base_delay * 2**n)``, unless the server sent
    ``Retry-After``, which replaces it (capped at ``max_retry_after``) and
    pauses every sender of the client.

    Args:
        max_attempts: Requests per batch, the first included. 1 disables retries.
        base_delay: Seconds; the scale of the first backoff.
        max_delay: Seconds; the cap of one computed backoff.
        deadline: Seconds from the first attempt after which no retry starts.
        max_retry_after: Seconds; the cap on a server's ``Retry-After``.
    """

    max_attempts: int = attrs.field(default=6, validator=_positive_int)
    base_delay: float = attrs.field(default=0.2, validator=_positive)
    max_delay: float = attrs.field(default=10.0, validator=_positive)
    deadline: float = attrs.field(default=60.0, validator=_positive)
    max_retry_after: float = attrs.field(default=60.0, validator=_positive)


@attrs.frozen(kw_only=True)
class Timeouts:
    """
    Time limits of the HTTP layer and of shutdown.

    Args:
        request: Seconds one request may take in total, connecting, writing and
            reading the whole answer included. A server that drips its answer
            still costs at most this.
        connect: Seconds to open a connection.
        keepalive: Seconds an idle pooled connection is kept. Customer.io closes
            idle connections on its side; keeping this short avoids reusing a
            socket the server has already dropped.
        close: Seconds ``aclose()`` and ``async with`` spend draining by default.
    """

    request: float = attrs.field(default=10.0, validator=_positive)
    connect: float = attrs.field(default=5.0, validator=_positive)
    keepalive: float = attrs.field(default=15.0, validator=_positive)
    close: float = attrs.field(default=10.0, validator=_positive)


def as_region(value: Region | str, argument: str = "region") -> Region:
    """
    Accept a :class:`Region` or its name (``"us"``, ``"eu"``, any case).
    """
    if isinstance(value, Region):
        return value
    try:
        return Region(str(value).strip().lower())
    except ValueError:
        if argument.isupper():
            message = f'{argument} must be "us" or "eu"'
        else:
            message = f'{argument} must be Region.US, Region.EU, "us" or "eu"'
        raise ConfigurationError(message) from None


def check_base_url(value: object, argument: str = "base_url") -> str:
    """
    Accept an ``http(s)://host[:port][/path]`` root; refuse anything else.

    A URL with credentials in it is refused too: they would show in reprs and
    logs, where the client's own credentials never do.
    """
    if not isinstance(value, str):
        message = f"{argument} must be a str URL such as https://track.customer.io"
        raise ConfigurationError(message)
    url = urllib.parse.urlsplit(value.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        message = f"{argument} must be an http:// or https:// URL with a host"
        raise ConfigurationError(message)
    if url.username or url.password:
        message = (
            f"{argument} must not carry credentials; they go in their own arguments"
        )
        raise ConfigurationError(message)
    if url.query or url.fragment:
        message = f"{argument} must be a host root, without a query or fragment"
        raise ConfigurationError(message)

    return value.strip().rstrip("/")


def optional_env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """
    Read an optional environment variable; unset and empty both mean ``None``.
    """
    env = os.environ if environ is None else environ
    return env.get(name, "").strip() or None


def region_from_env(environ: Mapping[str, str] | None = None) -> Region:
    """
    Read ``CUSTOMERIO_REGION`` (``us`` or ``eu``; ``us`` when unset).
    """
    env = os.environ if environ is None else environ
    return as_region(
        env.get("CUSTOMERIO_REGION", "").strip() or "us", "CUSTOMERIO_REGION"
    )


def require_env(name: str, environ: Mapping[str, str] | None = None) -> str:
    """
    Read a required environment variable, naming it when it is missing or empty.
    """
    env = os.environ if environ is None else environ
    value = env.get(name, "").strip()
    if not value:
        message = f"environment variable {name} is not set"
        raise ConfigurationError(message)

    return value
