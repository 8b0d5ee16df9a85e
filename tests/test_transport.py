"""
A caller's session with raise_for_status=True still has its answers read.
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from cio_async import AsyncCustomerIO, DeliveryFailure, FailureReason
from cio_async.testing import FakeCustomerIO, Respond

MakeClient = Callable[..., AsyncCustomerIO]
BATCH = "/api/v2/batch"


async def test_given_session_with_raise_for_status_still_reads_answers(
    fake: FakeCustomerIO,
    make_client: MakeClient,
    failures: list[DeliveryFailure],
) -> None:
    """
    ``session=`` is documented as "an aiohttp session to use". Transport does
    not pass raise_for_status=False per request, so with an app's session made
    with raise_for_status=True a 400 becomes ClientResponseError -> a
    retryable TransportError(request_sent=True): the batch is resent
    max_attempts times and fails as retries_exhausted with no status (and an
    App API send would claim "may have been sent").
    """
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        client = make_client(session=session)
        bad = Respond(400, body={"errors": [{"message": "bad"}]})
        fake.script(*[bad] * 5, path=BATCH)  # a malformed batch stays malformed
        await client.track("user-1", "clicked", id="e-1")
        await client.flush(timeout=5)
        await client.aclose()

    assert [(f.reason, f.status) for f in failures] == [(FailureReason.REJECTED, 400)]
    assert len(fake.requests_to(BATCH)) == 1
