"""
The failure dispatcher survives its handler, and flush() inside one client's
handler still waits for another client's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from cio_async import AsyncCustomerIO, DeliveryFailure
from cio_async.testing import FakeCustomerIO, Respond

MakeClient = Callable[..., AsyncCustomerIO]
BATCH = "/api/v2/batch"


async def test_handler_raising_cancelled_error_does_not_stop_later_failures(
    fake: FakeCustomerIO, make_client: MakeClient
) -> None:
    """
    on_failure awaits something that was cancelled elsewhere (a task it
    awaits, a shielded call) and CancelledError escapes it. ``_hand_over``
    only catches Exception, so the dispatcher task dies silently: later
    failures never reach on_failure and flush() waits for them forever.
    """
    seen: list[DeliveryFailure] = []

    async def on_failure(failure: DeliveryFailure) -> None:
        seen.append(failure)
        if len(seen) == 1:
            other = asyncio.get_running_loop().create_future()
            other.cancel()
            await other  # raises CancelledError inside the handler

    client = make_client(on_failure=on_failure, batching={"max_batch_items": 1})
    fake.script(Respond(400), Respond(400), path=BATCH)
    await client.track("user-1", "clicked", id="one")
    await client.flush(timeout=3)
    await client.track("user-1", "clicked", id="two")
    await client.flush(timeout=3)  # FlushTimeoutError: the dispatcher is gone
    assert len(seen) == 2


async def test_flush_of_another_client_inside_on_failure_waits_for_its_handler(
    fake: FakeCustomerIO, make_client: MakeClient
) -> None:
    """
    _IN_FAILURE_HANDLER is one module-wide flag, not per client. Inside client
    A's on_failure (forwarding to a fallback client B, say), B.flush() skips
    waiting for B's own failure handler, breaking flush()'s documented promise
    ("also waits for on_failure to have seen those failures, unless called
    from inside on_failure" -- meaning its own).
    """
    seen_b: list[DeliveryFailure] = []
    b = make_client(on_failure=seen_b.append)
    result: dict[str, int] = {}

    async def on_failure_a(failure: DeliveryFailure) -> None:
        await b.track("user-2", "clicked", id="b-1")
        await b.flush(timeout=5)
        result["b_failures_seen_when_flush_returned"] = len(seen_b)

    a = make_client(on_failure=on_failure_a)
    fake.script(Respond(400), Respond(400), path=BATCH)
    await a.track("user-1", "clicked", id="a-1")
    await a.flush(timeout=5)
    assert result == {"b_failures_seen_when_flush_returned": 1}
