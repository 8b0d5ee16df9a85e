"""
Shutdown edge cases: a cancelled aclose() still stops everything it owns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from cio_async import AsyncCustomerIO, DeliveryFailure
from cio_async.testing import FakeCustomerIO, Respond

MakeClient = Callable[..., AsyncCustomerIO]
BATCH = "/api/v2/batch"


async def test_cancelled_aclose_then_aclose_settles_everything(
    fake: FakeCustomerIO,
    make_client: MakeClient,
    failures: list[DeliveryFailure],
) -> None:
    """
    A caller that cancels aclose() (asyncio.wait_for around it, a cancelled
    lifespan) must not leave operations neither delivered nor failed: a second
    aclose() has to finish the job, and every op must end up delivered or in
    on_failure.
    """
    client = make_client()
    fake.pause()
    await client.track("user-1", "clicked", id="held")
    await fake.wait_for(lambda f: len(f.requests_to(BATCH)) == 1)

    # The caller gives up on a drain that cannot finish (the server is paused).
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.aclose(timeout=30), 0.2)

    # The server now refuses the held batch for good.
    fake.script(Respond(400, body={"errors": [{"message": "bad"}]}), path=BATCH)
    fake.resume()

    try:
        await client.aclose(timeout=2)
        stats = client.stats()
        assert stats.in_flight == 0
        assert stats.queued == 0
        assert stats.accepted == stats.delivered + stats.failed
        # Handed to on_failure exactly once, before the second aclose() returned.
        assert len(failures) == stats.failed == 1
    finally:
        # The bug leaves the senders and the session alive; clean up by hand
        # so the leak does not surface as an unraisable warning elsewhere.
        batcher = client._batcher
        if batcher._task_group is not None:
            batcher._task_group.cancel_scope.cancel()
        if batcher._run_task is not None:
            await asyncio.gather(batcher._run_task, return_exceptions=True)
        session = client._transport._session
        if session is not None:
            await session.close()
