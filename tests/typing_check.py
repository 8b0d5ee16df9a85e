"""
The public API under ``mypy --strict``: this module must type-check cleanly.

It is not run by pytest; ``nox -s typecheck`` checks it, and
``tests/test_typing.py`` checks that a misuse of the same API is refused.
"""

from __future__ import annotations

import attrs

from cio_async import (
    AsyncCustomerIO,
    Attributes,
    BatchConfig,
    DeliveryFailure,
    Event,
    FailureReason,
    ObjectRef,
    Person,
    Region,
    Relationship,
    RetryPolicy,
    Stats,
    Timeouts,
)


@attrs.frozen
class SignedUp(Event, name="signed_up"):
    method: str
    referrer: str | None = None


@attrs.frozen
class Traits(Attributes):
    plan: str
    seats: int


async def on_failure(failure: DeliveryFailure) -> None:
    reason: FailureReason = failure.reason
    print(reason.value, failure.status, len(failure.operations))


async def use_everything() -> Stats:
    async with AsyncCustomerIO(
        "site",
        "key",
        region=Region.EU,
        batching=BatchConfig(max_batch_items=500, queue_full="raise"),
        retry=RetryPolicy(max_attempts=3),
        timeouts=Timeouts(request=5.0),
        on_failure=on_failure,
    ) as cio:
        await cio.identify("u1", {"plan": "pro"})
        await cio.identify(Person(email="a@b.c"), Traits(plan="pro", seats=3))
        await cio.track("u1", SignedUp(method="google"))
        await cio.track("u1", "viewed", {"path": "/"}, wait=True)
        await cio.page("u1", "https://example.com")
        await cio.add_relationships("u1", [Relationship(ObjectRef("1", "acme"))])
        await cio.flush(timeout=2.0)
        return cio.stats()
