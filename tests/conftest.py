"""
Shared fixtures: a running fake Customer.io and a factory of clients wired to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest
import pytest_asyncio

from cio_async import (
    AsyncCustomerIO,
    BatchConfig,
    DeliveryFailure,
    RetryPolicy,
    Timeouts,
)
from cio_async.testing import FakeCustomerIO

#: Batching for tests: short linger, no rate cap unless a test sets one.
TEST_BATCHING = BatchConfig(
    flush_interval=0.05, flush_jitter=0.0, max_requests_per_second=None
)
#: Retries that finish in milliseconds.
TEST_RETRY = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.1, deadline=10.0)
TEST_TIMEOUTS = Timeouts(request=5.0, connect=2.0, close=5.0)

MakeClient = Callable[..., AsyncCustomerIO]


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeCustomerIO]:
    """
    A running fake Customer.io on loopback, stopped after the test.
    """
    async with FakeCustomerIO() as server:
        yield server


@pytest.fixture
def failures() -> list[DeliveryFailure]:
    """
    The failures handed to the default failure handler of ``make_client``.
    """
    return []


@pytest_asyncio.fixture
async def make_client(
    fake: FakeCustomerIO, failures: list[DeliveryFailure]
) -> AsyncIterator[MakeClient]:
    """
    Build clients against ``fake``; every one is closed when the test ends.

    ``batching``, ``retry`` and ``timeouts`` take either a settings object or a
    dict of changes to the test defaults. Failures go to ``failures`` unless
    ``on_failure`` is given.
    """
    clients: list[AsyncCustomerIO] = []

    def make(
        *,
        batching: BatchConfig | dict[str, Any] | None = None,
        retry: RetryPolicy | dict[str, Any] | None = None,
        timeouts: Timeouts | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> AsyncCustomerIO:
        kwargs.setdefault("on_failure", failures.append)
        kwargs.setdefault("base_url", fake.url)
        client = AsyncCustomerIO(
            kwargs.pop("site_id", fake.site_id),
            kwargs.pop("api_key", fake.api_key),
            batching=_settings(TEST_BATCHING, batching),
            retry=_settings(TEST_RETRY, retry),
            timeouts=_settings(TEST_TIMEOUTS, timeouts),
            **kwargs,
        )
        clients.append(client)
        return client

    yield make

    for client in clients:
        await client.aclose(timeout=2.0)


def _settings(default: Any, given: Any) -> Any:
    if given is None:
        return default
    if isinstance(given, dict):
        return attrs.evolve(default, **given)
    return given
