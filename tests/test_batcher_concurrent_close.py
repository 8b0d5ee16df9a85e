"""
A second, concurrent aclose() returns only once the failure handler and the
dead-letter file have seen what the first one failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from cio_async import AsyncCustomerIO, DeliveryFailure, FailureReason
from cio_async.testing import FakeCustomerIO

MakeClient = Callable[..., AsyncCustomerIO]
BATCH = "/api/v2/batch"


async def test_second_aclose_waits_for_the_failure_handler(
    fake: FakeCustomerIO,
    make_client: MakeClient,
    failures: list[DeliveryFailure],
    tmp_path: Path,
) -> None:
    """
    A SIGTERM drain and an app's shutdown hook both call aclose(). Whichever
    comes second must not return (and let the process exit) before the
    shutdown_timeout failures reach on_failure and the dead-letter file.
    """
    dead = tmp_path / "dead.ndjson"
    client = make_client(dead_letter_path=dead)
    fake.pause()
    await client.track("user-1", "clicked", id="held")
    await fake.wait_for(lambda f: len(f.requests_to(BATCH)) == 1)

    first = asyncio.create_task(client.aclose(timeout=0.2))
    second = asyncio.create_task(client.aclose(timeout=0.2))
    await asyncio.wait_for(second, 5)

    handed = [f.reason for f in failures]
    written = dead.read_text() if dead.exists() else ""
    await asyncio.wait_for(first, 5)
    fake.resume()

    assert handed == [FailureReason.SHUTDOWN_TIMEOUT]
    assert '"held"' in written
