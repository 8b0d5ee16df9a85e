"""
A plain script: identify a few people, track their orders, and exit cleanly.

Leaving ``async with`` waits until everything is delivered or handed to the
failure handler, so the counts printed at the end add up. Try it against the
fake Customer.io, from a checkout (``PYTHONPATH=.``) or with cio_async
installed::

    cio-async fake-server --port 8080        # in another shell
    export CUSTOMERIO_SITE_ID=fake-site-id CUSTOMERIO_TRACK_API_KEY=fake-track-api-key
    export CUSTOMERIO_TRACK_URL=http://127.0.0.1:8080
    python examples/script.py

Without ``CUSTOMERIO_TRACK_URL`` it sends to Customer.io itself (set
``CUSTOMERIO_REGION=eu`` for an EU account).
"""

from __future__ import annotations

import asyncio
import os
import sys

from cio_async import AsyncCustomerIO, DeliveryFailure, Person

PEOPLE = [
    ("u1", "ada@example.com", "pro"),
    ("u2", "grace@example.com", "free"),
    ("u3", "edsger@example.com", "pro"),
]


async def main() -> int:
    """
    Send the operations and print what happened to them.
    """
    failures: list[DeliveryFailure] = []

    async with AsyncCustomerIO.from_env(
        base_url=os.environ.get("CUSTOMERIO_TRACK_URL") or None,
        on_failure=failures.append,
    ) as cio:
        for user_id, email, plan in PEOPLE:
            await cio.identify(user_id, {"email": email, "plan": plan})
            await cio.track(user_id, "order_completed", {"total": 42.5})
        # People can be addressed by email too.
        await cio.track(Person(email="ada@example.com"), "newsletter_opened")
    stats = cio.stats()

    print(
        f"{stats.accepted} accepted, {stats.delivered} delivered, "
        f"{stats.failed} failed in {stats.requests} requests"
    )
    for failure in failures:
        print(f"not delivered: {len(failure.operations)} ({failure.reason.value})")

    return 0 if stats.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
