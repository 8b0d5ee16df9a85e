"""
Testing helpers: a fake Customer.io (Track and App APIs) over loopback HTTP.

Point any client at ``fake.url``::

    async with FakeCustomerIO() as fake:
        ...  # send requests with fake.site_id / fake.api_key
        await fake.wait_for(lambda f: f.counts.items_accepted >= 3)
        assert fake.person(id="u1").attributes["plan"] == "pro"

The App API (transactional sends, broadcasts, lookups) answers on the same
port, for ``AsyncAPIClient(fake.app_api_key, base_url=fake.url)``; what it
accepted is in ``fake.sends``, its switches on ``fake.app``.

Faults are scripted with ``fake.script(Respond(503), Reset())`` or drawn at
random with ``fake.faults.chaos(error_5xx=0.1, seed=1)``.
"""

from __future__ import annotations

from ._app_api import FakeAppApi as FakeAppApi
from ._app_api import FakeBroadcastTrigger as FakeBroadcastTrigger
from ._app_api import FakeSend as FakeSend
from ._fake import FakeCustomerIO as FakeCustomerIO
from ._fake import RecordedRequest as RecordedRequest
from ._faults import Chaos as Chaos
from ._faults import Delay as Delay
from ._faults import Drip as Drip
from ._faults import Fault as Fault
from ._faults import Faults as Faults
from ._faults import NeverAnswer as NeverAnswer
from ._faults import Reset as Reset
from ._faults import Respond as Respond
from ._faults import StoreThenReset as StoreThenReset
from ._state import Counts as Counts
from ._state import FakeDeliveryEvent as FakeDeliveryEvent
from ._state import FakeEvent as FakeEvent
from ._state import FakeObject as FakeObject
from ._state import FakePerson as FakePerson
from ._state import ItemError as ItemError

__all__ = [
    "Chaos",
    "Counts",
    "Delay",
    "Drip",
    "FakeAppApi",
    "FakeBroadcastTrigger",
    "FakeCustomerIO",
    "FakeDeliveryEvent",
    "FakeEvent",
    "FakeObject",
    "FakePerson",
    "FakeSend",
    "Fault",
    "Faults",
    "ItemError",
    "NeverAnswer",
    "RecordedRequest",
    "Reset",
    "Respond",
    "StoreThenReset",
]
