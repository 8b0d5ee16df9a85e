"""
Tests for cio_async._retry: Retry-After parsing, backoff, the shared gate, retry().
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cio_async import (
    CustomerIOError,
    MessageMayHaveBeenSentError,
    RateLimitedError,
    RequestRejectedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from cio_async._retry import RequestGate, backoff_delay, parse_retry_after, retry

NOW = 1_700_000_000.0

#: Retries that would wait long: the tests that reach a wait use Retry-After.
SLOW_BACKOFF = RetryPolicy(max_attempts=4, base_delay=5.0, max_delay=5.0)


def http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


class Attempts:
    """
    An attempt function that raises the given errors in turn, then returns "ok".
    """

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def rate_limited(seconds: float) -> RateLimitedError:
    return RateLimitedError(429, retry_after=seconds)


class TestParseRetryAfter:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [("2", 2.0), (" 1.5 ", 1.5), ("0", 0.0), ("-3", 0.0), ("120", 120.0)],
    )
    def test_seconds(self, value: str, expected: float) -> None:
        """
        A number of seconds is read as is, and a negative one as zero.
        """
        assert parse_retry_after(value) == expected

    def test_http_date_in_the_future(self) -> None:
        """
        An HTTP-date gives the seconds from now until then.
        """
        assert parse_retry_after(http_date(NOW + 30), now=NOW) == 30.0

    def test_http_date_in_the_past(self) -> None:
        """
        An HTTP-date already past means no wait.
        """
        assert parse_retry_after(http_date(NOW - 30), now=NOW) == 0.0

    def test_http_date_against_the_clock(self) -> None:
        """
        Without ``now`` the date is measured against the wall clock.
        """
        delay = parse_retry_after(http_date(time.time() + 60))

        assert delay is not None
        assert 58.0 <= delay <= 60.0

    @pytest.mark.parametrize(
        "value",
        [
            None,
            "",
            "soon",
            "nan",
            "inf",
            "-inf",
            "2 seconds",
            "Wed, 21 Oct 2015 07:28:00",  # no zone: not an HTTP-date
            "Wed, 99 Foo 2015 07:28:00 GMT",
        ],
    )
    def test_garbage_is_none(self, value: str | None) -> None:
        """
        Absent, unreadable or zoneless values give ``None``, never an error.
        """
        assert parse_retry_after(value, now=NOW) is None


class TestBackoffDelay:
    def test_full_jitter_spans_zero_to_the_ceiling(self) -> None:
        """
        The delay is ``rand()`` times ``base_delay * 2**n``: from 0 up to it.
        """
        policy = RetryPolicy(base_delay=0.1, max_delay=100.0)

        assert backoff_delay(1, policy, rand=lambda: 0.0) == 0.0
        assert backoff_delay(1, policy, rand=lambda: 1.0) == pytest.approx(0.2)
        assert backoff_delay(3, policy, rand=lambda: 1.0) == pytest.approx(0.8)
        assert backoff_delay(3, policy, rand=lambda: 0.5) == pytest.approx(0.4)

    def test_capped_at_max_delay(self) -> None:
        """
        The ceiling stops at ``max_delay``, even for huge retry numbers.
        """
        policy = RetryPolicy(base_delay=0.1, max_delay=3.0)

        assert backoff_delay(10, policy, rand=lambda: 1.0) == 3.0
        assert backoff_delay(100_000, policy, rand=lambda: 1.0) == 3.0

    @given(
        number=st.integers(min_value=1, max_value=100_000),
        base=st.floats(min_value=0.001, max_value=10.0),
        cap=st.floats(min_value=0.001, max_value=100.0),
    )
    def test_always_within_bounds(self, number: int, base: float, cap: float) -> None:
        """
        With the real random source every delay lies in ``[0, min(cap, base*2**n)]``.
        """
        policy = RetryPolicy(base_delay=base, max_delay=cap)

        delay = backoff_delay(number, policy)

        assert 0.0 <= delay <= min(cap, base * 2.0 ** min(number, 62))


class TestRequestGate:
    async def test_no_cap_never_waits(self) -> None:
        """
        Without a rate cap and without a pause, ``wait()`` reserves no future slot.
        """
        gate = RequestGate(None)

        for _ in range(100):
            await gate.wait()

        assert gate.paused_until == 0.0

    async def test_pause_holds_wait(self) -> None:
        """
        After ``pause(s)``, ``wait()`` returns no sooner than ``s`` later.
        """
        gate = RequestGate(None)
        gate.pause(0.2)
        started = time.monotonic()

        await gate.wait()

        assert time.monotonic() - started >= 0.19

    async def test_pause_never_shortens(self) -> None:
        """
        A shorter pause does not cut a longer one already in force.
        """
        gate = RequestGate(None)
        gate.pause(10.0)
        until = gate.paused_until

        gate.pause(1.0)

        assert gate.paused_until == until

    async def test_pause_extended_while_waiting_is_honoured(self) -> None:
        """
        A waiter looks again after sleeping, so a pause extended meanwhile holds it.
        """
        gate = RequestGate(None)
        gate.pause(0.05)
        started = time.monotonic()
        waiter = asyncio.create_task(gate.wait())
        await asyncio.sleep(0)  # let it start sleeping on the short pause

        gate.pause(0.3)
        await asyncio.wait_for(waiter, 5)

        assert time.monotonic() - started >= 0.29

    async def test_spacing(self) -> None:
        """
        A cap of 20 per second starts requests at least 50 ms apart.
        """
        gate = RequestGate(20)
        starts = []

        for _ in range(6):
            await gate.wait()
            starts.append(time.monotonic())

        gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
        assert min(gaps) >= 0.045
        assert starts[-1] - starts[0] >= 5 * 0.05 - 0.005


class TestRetry:
    async def test_returns_the_first_success(self) -> None:
        """
        Errors that allow it are retried until an attempt returns.
        """
        attempt = Attempts(ServerError(503), TransportError("reset"))
        seen: list[tuple[int, str]] = []
        policy = RetryPolicy(base_delay=0.001, max_delay=0.002)

        result = await retry(
            attempt,
            policy,
            RequestGate(None),
            on_retry=lambda n, delay, error: seen.append((n, type(error).__name__)),
        )

        assert result == "ok"
        assert attempt.calls == 3
        assert seen == [(1, "ServerError"), (2, "TransportError")]

    @pytest.mark.parametrize(
        "error",
        [
            RequestRejectedError(400),
            RequestRejectedError(413),
            MessageMayHaveBeenSentError("sent?"),
        ],
    )
    async def test_stops_on_a_non_retryable_error(self, error: CustomerIOError) -> None:
        """
        An error whose ``retryable`` is false is raised after one attempt.
        """
        attempt = Attempts(error)

        with pytest.raises(type(error)) as raised:
            await retry(attempt, SLOW_BACKOFF, RequestGate(None))

        assert raised.value is error
        assert attempt.calls == 1

    async def test_stops_when_the_caller_says_not_retryable(self) -> None:
        """
        A ``retryable`` predicate overrides the error's own flag.
        """
        attempt = Attempts(ServerError(503))

        with pytest.raises(ServerError):
            await retry(
                attempt, SLOW_BACKOFF, RequestGate(None), retryable=lambda e: False
            )

        assert attempt.calls == 1

    async def test_other_exceptions_pass_through_untouched(self) -> None:
        """
        An exception that is not ours is not retried.
        """
        attempt = Attempts(ValueError("bug"))

        with pytest.raises(ValueError, match="bug"):
            await retry(attempt, SLOW_BACKOFF, RequestGate(None))

        assert attempt.calls == 1

    async def test_stops_on_attempts(self) -> None:
        """
        After ``max_attempts`` attempts the last error is raised.
        """
        errors = [ServerError(500), ServerError(502), ServerError(503)]
        attempt = Attempts(*errors, ServerError(504))
        policy = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002)

        with pytest.raises(ServerError) as raised:
            await retry(attempt, policy, RequestGate(None))

        assert attempt.calls == 3
        assert raised.value.status == 503

    async def test_stops_on_deadline(self) -> None:
        """
        A retry whose wait would end after the deadline is not made: raise now.
        """
        attempt = Attempts(rate_limited(5.0))
        policy = RetryPolicy(deadline=1.0)
        started = time.monotonic()

        with pytest.raises(RateLimitedError):
            await retry(attempt, policy, RequestGate(None))

        assert attempt.calls == 1
        assert time.monotonic() - started < 1.0

    async def test_retry_after_replaces_backoff_and_pauses_the_gate(self) -> None:
        """
        ``Retry-After`` sets the delay (not the 5 s backoff) and pauses the gate.
        """
        attempt = Attempts(rate_limited(0.1))
        gate = RequestGate(None)
        delays: list[float] = []
        before = time.monotonic()

        await retry(
            attempt, SLOW_BACKOFF, gate, on_retry=lambda n, d, e: delays.append(d)
        )

        assert delays == [0.1]
        assert gate.paused_until >= before + 0.1
        assert time.monotonic() - before >= 0.099

    async def test_retry_after_is_capped(self) -> None:
        """
        A server's ``Retry-After`` beyond ``max_retry_after`` is cut to it.
        """
        attempt = Attempts(rate_limited(3600.0))
        policy = RetryPolicy(max_retry_after=0.05)
        delays: list[float] = []

        await retry(
            attempt,
            policy,
            RequestGate(None),
            on_retry=lambda n, d, e: delays.append(d),
        )

        assert delays == [0.05]
        assert attempt.calls == 2
