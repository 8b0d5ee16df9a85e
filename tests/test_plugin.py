"""
The pytest plugin's fixtures and assertion helpers, as a user's tests use them.
"""

from __future__ import annotations

import base64
import os
from typing import Any, cast

import aiohttp
import attrs
import pytest

from cio_async import AsyncCustomerIO, Person
from cio_async.integrations import client_from_env
from cio_async.testing import FakeCustomerIO
from cio_async.testing.plugin import FakeAssertions


class TestEnvironment:
    async def test_cio_env_points_clients_built_from_the_environment_at_the_fake(
        self, cio_env: FakeCustomerIO
    ) -> None:
        """
        Under cio_env, clients built from the environment deliver to the fake.
        """
        async with client_from_env() as cio:
            await cio.track("u1", "signed_up")

        assert os.environ["CUSTOMERIO_TRACK_URL"] == cio_env.url
        assert [e.name for e in cio_env.events()] == ["signed_up"]

    async def test_from_env_finds_the_fake_credentials(
        self, cio_env: FakeCustomerIO
    ) -> None:
        """
        AsyncCustomerIO.from_env reads the fake's site id and key from cio_env.
        """
        async with AsyncCustomerIO.from_env(base_url=cio_env.url) as cio:
            await cio.identify("u1", {"plan": "pro"})

        person = cio_env.person(id="u1")
        assert person is not None
        assert person.attributes["plan"] == "pro"


class TestEvents:
    async def test_assert_tracked_matches_name_data_and_count(
        self, cio_client: AsyncCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        assert_tracked finds an event by name and data subset, and counts them.
        """
        await cio_client.track("u1", "order_completed", {"total": 10, "cur": "EUR"})
        await cio_client.track("u1", "order_completed", {"total": 20, "cur": "EUR"})
        await cio_client.flush()

        event = cio_assert.assert_tracked("u1", "order_completed", {"total": 20})
        cio_assert.assert_tracked("u1", "order_completed", {"cur": "EUR"}, times=2)

        assert event.data == {"total": 20, "cur": "EUR"}
        assert len(cio_assert.events("u1")) == 2
        assert cio_assert.events("nobody") == []

    async def test_failures_say_what_was_there(
        self, cio_client: AsyncCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        A failed assert_tracked lists the person's events or the data they carried.
        """
        await cio_client.track("u1", "viewed", {"page": 1})
        await cio_client.flush()

        with pytest.raises(AssertionError, match=r"their events are \['viewed'\]"):
            cio_assert.assert_tracked("u1", "signed_up")
        with pytest.raises(AssertionError, match=r"its data was \[\{'page': 1\}\]"):
            cio_assert.assert_tracked("u1", "viewed", {"page": 2})
        with pytest.raises(AssertionError, match="1 events 'viewed' for id='u1'"):
            cio_assert.assert_tracked("u1", "viewed", times=2)
        with pytest.raises(AssertionError, match="1 events 'viewed'"):
            cio_assert.assert_not_tracked("u1", "viewed")

    async def test_people_are_found_by_any_identifier(
        self, cio_client: AsyncCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        A person identified by id with an email is found by that email too.
        """
        await cio_client.identify("u1", {"email": "ada@example.com"})
        await cio_client.track(Person(email="ada@example.com"), "signed_up")
        await cio_client.flush()

        cio_assert.assert_tracked("u1", "signed_up")
        cio_assert.assert_tracked(Person(email="ada@example.com"), "signed_up")

    async def test_wait_for_event_waits_for_background_delivery(
        self, cio_client: AsyncCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        wait_for_event returns once the event arrives, without a flush.
        """
        await cio_client.track("u1", "signed_up", {"plan": "pro"})

        event = await cio_assert.wait_for_event("u1", "signed_up", {"plan": "pro"})

        assert event.data == {"plan": "pro"}

    async def test_wait_for_event_times_out(self, cio_assert: FakeAssertions) -> None:
        """
        wait_for_event raises TimeoutError when the event never comes.
        """
        with pytest.raises(TimeoutError):
            await cio_assert.wait_for_event("u1", "never", timeout=0.05)


class TestIdentify:
    async def test_last_identify_is_the_last_call_not_the_merge(
        self, cio_client: AsyncCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        last_identify gives the last call's attributes, not the merged profile.
        """
        await cio_client.identify("u1", {"plan": "free", "seats": 1})
        await cio_client.identify("u1", {"plan": "pro"}, update_only=True)
        await cio_client.flush()

        assert cio_assert.last_identify("u1") == {"plan": "pro", "_update": True}
        assert cio_assert.assert_identified("u1", {"plan": "pro"})["plan"] == "pro"
        assert cio_assert.last_identify("u2") is None

    async def test_v1_identifies_count_too(
        self, cio_fake: FakeCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        A Track v1 PUT /customers/{email} is read as an identify of that email.
        """
        token = base64.b64encode(f"{cio_fake.site_id}:{cio_fake.api_key}".encode())
        headers = {"Authorization": f"Basic {token.decode()}"}
        url = f"{cio_fake.url}/api/v1/customers/ada%40example.com"
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.put(url, json={"plan": "team"}) as answer,
        ):
            assert answer.status == 200

        assert cio_assert.last_identify(Person(email="ada@example.com")) == {
            "plan": "team"
        }

    async def test_assert_identified_explains(
        self, cio_client: AsyncCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        A failed assert_identified shows what the last identify carried.
        """
        await cio_client.identify("u1", {"plan": "free"})
        await cio_client.flush()

        with pytest.raises(AssertionError, match=r"was \{'plan': 'free'\}"):
            cio_assert.assert_identified("u1", {"plan": "pro"})
        with pytest.raises(AssertionError, match="no identify for id='u2'"):
            cio_assert.assert_identified("u2")


@attrs.frozen
class _Send:
    kind: str
    body: dict[str, Any]
    delivery_id: str


@attrs.frozen
class _WithSends:
    sends: list[_Send]


class TestSentEmails:
    def test_sent_emails_reads_the_fakes_sends(self) -> None:
        """
        sent_emails filters the fake's sends by kind, person and body fields.
        """
        sends = [
            _Send("email", {"to": "a@x.io", "identifiers": {"id": "u1"}}, "d1"),
            _Send("push", {"identifiers": {"id": "u1"}}, "d2"),
            _Send("email", {"to": "b@x.io", "identifiers": {"id": "u2"}}, "d3"),
        ]
        helper = FakeAssertions(cast(FakeCustomerIO, _WithSends(sends)))

        assert [s.delivery_id for s in helper.sent_emails()] == ["d1", "d3"]
        assert helper.sent_emails("u2") == [sends[2]]
        assert helper.assert_email_sent(to="a@x.io") is sends[0]
        assert helper.assert_email_sent(delivery_id="d3") is sends[2]
        with pytest.raises(AssertionError, match="0 sent emails for id='u1'"):
            helper.assert_email_sent("u1", to="b@x.io")

    def test_sent_emails_without_an_app_api_fake_says_so(self) -> None:
        """
        A fake without recorded sends makes sent_emails raise, saying why.
        """
        helper = FakeAssertions(cast(FakeCustomerIO, object()))

        with pytest.raises(RuntimeError, match=r"fake\.sends"):
            helper.sent_emails()

    async def test_real_fake_records_sends(
        self, cio_fake: FakeCustomerIO, cio_assert: FakeAssertions
    ) -> None:
        """
        An email sent to the fake's App API shows in sent_emails.
        """
        headers = {"Authorization": f"Bearer {cio_fake.app_api_key}"}
        body = {
            "transactional_message_id": 3,
            "to": "ada@example.com",
            "identifiers": {"id": "u1"},
        }
        url = f"{cio_fake.url}/v1/send/email"
        async with (
            aiohttp.ClientSession(headers=headers) as http,
            http.post(url, json=body) as answer,
        ):
            assert answer.status == 200

        sent = cio_assert.assert_email_sent("u1", transactional_message_id=3)
        assert sent.body["to"] == "ada@example.com"
