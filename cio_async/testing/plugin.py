"""
A pytest plugin: fixtures for testing code that uses cio_async.

Installed with the package and loaded through the ``pytest11`` entry point, so
the fixtures are there without imports. They need pytest-asyncio:

``cio_fake``
    A running :class:`cio_async.testing.FakeCustomerIO` on 127.0.0.1.
``cio_client``
    An :class:`cio_async.AsyncCustomerIO` wired to ``cio_fake``, closed (and so
    drained) when the test ends. Failures are collected in
    ``cio_client_failures``.

Example::

    async def test_signup_tracks_event(cio_client, cio_fake):
        await signup(cio_client, "user-1")
        await cio_client.flush()
        assert [e.name for e in cio_fake.person(id="user-1").events] == ["signed_up"]
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cio_async import AsyncCustomerIO, BatchConfig, DeliveryFailure

from ._fake import FakeCustomerIO

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixtures need it; say so on use
    pytest_asyncio = None  # type: ignore[assignment]


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def cio_fake() -> AsyncIterator[FakeCustomerIO]:
        """
        A running fake Customer.io, stopped after the test.
        """
        async with FakeCustomerIO() as fake:
            yield fake

    @pytest.fixture
    def cio_client_failures() -> list[DeliveryFailure]:
        """
        The failures ``cio_client`` handed to its failure handler.
        """
        return []

    @pytest_asyncio.fixture
    async def cio_client(
        cio_fake: FakeCustomerIO, cio_client_failures: list[DeliveryFailure]
    ) -> AsyncIterator[AsyncCustomerIO]:
        """
        A client wired to ``cio_fake`` that flushes quickly; closed after the test.
        """
        client = AsyncCustomerIO(
            cio_fake.site_id,
            cio_fake.api_key,
            base_url=cio_fake.url,
            batching=BatchConfig(flush_interval=0.05),
            on_failure=cio_client_failures.append,
        )
        async with client:
            yield client
