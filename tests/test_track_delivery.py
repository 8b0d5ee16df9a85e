"""
Delivery metrics need the device token Track v2 requires; refused at the call.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cio_async import AsyncCustomerIO, DeliveryFailure, InvalidArgumentError
from cio_async.testing import FakeCustomerIO

MakeClient = Callable[..., AsyncCustomerIO]


async def test_delivery_metric_without_device_token_is_refused_at_the_call(
    fake: FakeCustomerIO,
    make_client: MakeClient,
    failures: list[DeliveryFailure],
) -> None:
    """
    Reference section 2: a ``delivery`` item needs ``attributes.device_token``.
    ``device_token`` is optional in the signature, so the call is accepted and
    the item is rejected later (207) into on_failure, where every other shape
    rule is enforced at the call with InvalidArgumentError.
    """
    client = make_client()
    try:
        # TypeError (a required keyword) or InvalidArgumentError both do.
        with pytest.raises((TypeError, InvalidArgumentError)):
            await client.track_delivery("dlv-1", "opened")  # type: ignore[call-arg]
    finally:
        await client.flush(timeout=5)
    assert failures == []
