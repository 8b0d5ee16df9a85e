"""
The one retry loop: backoff with full jitter, ``Retry-After``, a shared gate.

Every request either path makes (batches, single Track calls, App API calls) goes
through :func:`retry`. A :class:`RequestGate` is shared by all senders of one
client: it spaces requests to the rate cap, and a ``Retry-After`` from any answer
closes it for everyone, since the server was talking to the client, not to one
sender. Waits are plain sleeps, so cancelling the caller (shutdown) ends them.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from ._config import RetryPolicy
from ._errors import CustomerIOError, HTTPStatusError

T = TypeVar("T")


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """
    Read a ``Retry-After`` header: delay seconds or an HTTP-date.

    Returns:
        Seconds to wait (0 for a date in the past), or ``None`` when absent or
        unreadable.
    """
    if not value:
        return None

    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # NaN and infinity parse as floats; neither is a delay.
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            return None
        return max(0.0, seconds)

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None

    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff_delay(
    retry_number: int,
    policy: RetryPolicy,
    *,
    rand: Callable[[], float] = random.random,
) -> float:
    """
    The full-jitter delay before retry number ``retry_number`` (1 for the first).
    """
    # Cap the exponent: 2**1000 is a float overflow, and the cap is reached
    # long before anyway.
    ceiling = min(policy.max_delay, policy.base_delay * 2.0 ** min(retry_number, 62))
    return rand() * ceiling


class RequestGate:
    """
    Spaces requests to a rate cap and holds everyone back after ``Retry-After``.

    Not thread-safe; one per client, used from its event loop.
    """

    __slots__ = ("_interval", "_next_slot", "_paused_until")

    def __init__(self, max_per_second: float | None) -> None:
        self._interval = 0.0 if max_per_second is None else 1.0 / max_per_second
        self._next_slot = 0.0
        self._paused_until = 0.0

    @property
    def paused_until(self) -> float:
        """
        The monotonic time before which no request starts.
        """
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """
        Hold every request back for ``seconds`` from now (never shortens a pause).
        """
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def wait(self) -> None:
        """
        Return when a request may start, and reserve its slot.
        """
        while True:
            now = time.monotonic()
            start = max(now, self._paused_until, self._next_slot)
            if start <= now:
                self._next_slot = max(now, self._next_slot) + self._interval
                return
            # Sleep and look again: a pause may have been extended meanwhile.
            await anyio.sleep(start - now)


OnRetry = Callable[[int, float, CustomerIOError], None]


async def retry(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    gate: RequestGate,
    *,
    on_retry: OnRetry | None = None,
    retryable: Callable[[CustomerIOError], bool] | None = None,
) -> T:
    """
    Call ``attempt`` until it returns, retrying the errors that allow it.

    An error is retried when ``retryable(error)`` says so (by default the error's
    own ``retryable``), attempts remain, and the wait would end before the
    policy's deadline. ``Retry-After`` replaces the computed delay and pauses
    the whole gate.

    Raises:
        CustomerIOError: The last error, when it is not retried.
    """
    should_retry = retryable or _is_retryable
    deadline = time.monotonic() + policy.deadline
    attempts = 0

    while True:
        await gate.wait()
        attempts += 1
        try:
            return await attempt()
        except CustomerIOError as error:
            server_delay = (
                error.retry_after if isinstance(error, HTTPStatusError) else None
            )
            if server_delay is not None:
                # The server spoke to the client, not to this attempt: hold
                # everyone back even when this one gives up.
                gate.pause(min(server_delay, policy.max_retry_after))
            if attempts >= policy.max_attempts or not should_retry(error):
                raise

            delay = backoff_delay(attempts, policy)
            if server_delay is not None:
                delay = min(server_delay, policy.max_retry_after)
            # The gate may hold us longer than our own delay (another sender's
            # Retry-After); no retry may start after the deadline either way.
            if max(time.monotonic() + delay, gate.paused_until) > deadline:
                raise

            if on_retry is not None:
                on_retry(attempts, delay, error)
            await anyio.sleep(delay)


def _is_retryable(error: CustomerIOError) -> bool:
    return error.retryable
