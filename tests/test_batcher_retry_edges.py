"""
Retry edges of the batch path: every 5xx but 501, Retry-After on the last
attempt, and the deadline behind a paused gate.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cio_async import AsyncCustomerIO, DeliveryFailure
from cio_async.testing import FakeCustomerIO, Respond

MakeClient = Callable[..., AsyncCustomerIO]
BATCH = "/api/v2/batch"


@pytest.mark.parametrize("status", [520, 522, 524])
async def test_any_5xx_batch_answer_is_retried(
    fake: FakeCustomerIO,
    make_client: MakeClient,
    failures: list[DeliveryFailure],
    status: int,
) -> None:
    """
    Reference section 4: 5xx is transient on every API (and HTTPStatusError's
    own ``retryable`` says status >= 500). The batcher's _RETRY_STATUSES only
    lists 500/502/503/504, so an edge 520-524 fails the whole batch at once as
    ``client_error`` ("retrying cannot fix").
    """
    client = make_client()
    fake.script(Respond(status), path=BATCH)
    await client.track("user-1", "clicked", id="e-1")
    await client.flush(timeout=5)

    assert failures == []
    assert [str(e.id) for e in fake.events()] == ["e-1"]


async def test_retry_after_on_last_attempt_still_pauses_the_gate(
    fake: FakeCustomerIO,
    make_client: MakeClient,
    failures: list[DeliveryFailure],
) -> None:
    """
    _retry.py's contract: "a Retry-After from any answer closes [the gate] for
    everyone". When the 429 comes on the batch's last attempt, retry() raises
    before gate.pause(), so the next batch goes out at once, into the limit.
    """
    client = make_client(
        batching={"max_batch_items": 1, "max_concurrent_requests": 1},
        retry={"max_attempts": 1},
    )
    fake.script(Respond(429, headers={"Retry-After": "1"}), path=BATCH)
    await client.track("user-1", "clicked", id="e-1")
    await client.track("user-1", "clicked", id="e-2")
    await client.flush(timeout=5)

    first, second = fake.requests_to(BATCH)
    assert second.arrived_at - first.arrived_at >= 0.9


async def test_no_retry_starts_after_the_deadline_behind_a_paused_gate(
    fake: FakeCustomerIO,
    make_client: MakeClient,
    failures: list[DeliveryFailure],
) -> None:
    """
    RetryPolicy.deadline: "Seconds from the first attempt after which no retry
    starts". retry() checks only its own backoff against the deadline, then
    waits on the gate, which another sender's Retry-After has closed for
    longer: the retry starts well after the deadline.
    """
    client = make_client(
        batching={"max_batch_items": 1, "max_concurrent_requests": 2},
        retry={"deadline": 0.5, "max_retry_after": 2.0},
    )
    fake.script(Respond(429, headers={"Retry-After": "2"}), Respond(500), path=BATCH)
    await client.track("user-1", "clicked", id="e-1")
    await client.track("user-1", "clicked", id="e-2")
    await client.flush(timeout=5)

    arrivals = [r.arrived_at for r in fake.requests_to(BATCH)]
    assert max(arrivals) - min(arrivals) < 1.0, arrivals
