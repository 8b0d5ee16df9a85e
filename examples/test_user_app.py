"""
How to test your own app's Customer.io calls, with cio_async's pytest plugin.

The plugin comes with cio_async (no ``conftest.py`` needed) and its fixtures
need pytest-asyncio. ``cio_env`` starts a fake Customer.io for the test and
points the ``CUSTOMERIO_*`` variables at it, so the app builds its client as in
production and talks to the fake; ``cio_assert`` asks the fake what arrived.
The apps under test are the neighbouring examples, imported by module name
(pytest puts this directory on ``sys.path``). Run it from the repository root::

    python -m pytest examples/test_user_app.py

(with ``asyncio_mode = "auto"``, as this repository sets; otherwise mark the
tests ``@pytest.mark.asyncio``).
"""

from __future__ import annotations

import aiohttp_app
import fastapi_app
import httpx
from aiohttp.test_utils import TestClient, TestServer

from cio_async.testing import FakeCustomerIO
from cio_async.testing.plugin import FakeAssertions


class TestFastAPIApp:
    async def test_signup_identifies_and_tracks(
        self, cio_env: FakeCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        A sign-up creates the person with their plan and records signed_up.
        """
        app = fastapi_app.app
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://app")

        # Leaving the lifespan drains the client: everything is on the fake.
        async with app.router.lifespan_context(app), http:
            response = await http.post(
                "/users/u1/signup", json={"email": "ada@example.com", "plan": "pro"}
            )

        assert response.status_code == 204
        cio_assert.assert_identified("u1", {"email": "ada@example.com", "plan": "pro"})
        cio_assert.assert_tracked("u1", "signed_up", {"plan": "pro"}, times=1)

    async def test_orders_are_tracked_with_their_totals(
        self, cio_env: FakeCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        Each order becomes one order_completed event carrying its total.
        """
        app = fastapi_app.app
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://app")

        async with app.router.lifespan_context(app), http:
            for total in (10, 20.5):
                await http.post("/users/u2/orders", json={"total": total})

        totals = [e.data["total"] for e in cio_assert.events("u2", "order_completed")]
        assert totals == [10, 20.5]
        cio_assert.assert_not_tracked("u2", "signed_up")


class TestAiohttpApp:
    async def test_signup_identifies_and_tracks(
        self, cio_env: FakeCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        The aiohttp app reports a sign-up the same way, drained at cleanup.
        """
        # TestClient runs the app's cleanup_ctx, which drains the client.
        async with TestClient(TestServer(aiohttp_app.build_app())) as http:
            response = await http.post(
                "/users/u3/signup", json={"email": "grace@example.com"}
            )

        assert response.status == 204
        cio_assert.assert_identified("u3", {"plan": "free"})
        cio_assert.assert_tracked("u3", "signed_up")
