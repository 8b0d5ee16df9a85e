"""
Tests of cio_async.testing.FakeCustomerIO, over real loopback sockets.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from multidict import CIMultiDict
from yarl import URL

import cio_async.testing
from cio_async.testing import (
    Chaos,
    Delay,
    Drip,
    FakeCustomerIO,
    NeverAnswer,
    Reset,
    Respond,
    StoreThenReset,
)

pytestmark = pytest.mark.timeout(15)


def basic(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


def customer_url(fake: FakeCustomerIO, identifier: str, tail: str = "") -> URL:
    encoded = quote(identifier, safe="")
    return URL(f"{fake.url}/api/v1/customers/{encoded}{tail}", encoded=True)


def event(user: str, name: str = "clicked", **extra: Any) -> dict[str, Any]:
    return {
        "type": "person",
        "action": "event",
        "identifiers": {"id": user},
        "name": name,
        **extra,
    }


def identify(user: str, **attributes: Any) -> dict[str, Any]:
    return {
        "type": "person",
        "action": "identify",
        "identifiers": {"id": user},
        "attributes": attributes,
    }


@pytest.fixture
async def fake() -> AsyncIterator[FakeCustomerIO]:
    """
    A fresh fake, defined here so the fake's own tests need no shared fixtures.
    """
    async with FakeCustomerIO() as running:
        yield running


@pytest.fixture
async def session(fake: FakeCustomerIO) -> AsyncIterator[aiohttp.ClientSession]:
    """
    A plain aiohttp session that sends the fake's Track credentials.
    """
    headers = {"Authorization": basic(fake.site_id, fake.api_key)}
    async with aiohttp.ClientSession(headers=headers) as client:
        yield client


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    payload: Any = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    async with session.request(method, url, json=payload, **kwargs) as response:
        text = await response.text()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


async def batch(
    session: aiohttp.ClientSession, fake: FakeCustomerIO, items: list[Any]
) -> tuple[int, Any]:
    return await send(session, "POST", f"{fake.url}/api/v2/batch", {"batch": items})


class TestPublicApi:
    def test_all_is_sorted_and_complete(self) -> None:
        """
        The package's __all__ is sorted and names exactly its public attributes.
        """
        public = {
            name
            for name, value in vars(cio_async.testing).items()
            if name.isidentifier()
            and not name.startswith("_")
            and not inspect.ismodule(value)
            and name != "annotations"
        }

        assert cio_async.testing.__all__ == sorted(cio_async.testing.__all__)
        assert set(cio_async.testing.__all__) == public


class TestLifecycle:
    async def test_url_is_a_loopback_host_root(self, fake: FakeCustomerIO) -> None:
        """
        A started fake serves on 127.0.0.1 at a real port, with no path.
        """
        url = URL(fake.url)

        assert url.host == "127.0.0.1"
        assert url.port not in (None, 0)
        assert url.path in ("", "/")

    def test_only_loopback_hosts_are_accepted(self) -> None:
        """
        Asking the fake to listen beyond loopback is refused.
        """
        with pytest.raises(ValueError, match="loopback"):
            FakeCustomerIO(host="0.0.0.0")

    def test_url_before_start_is_an_error(self) -> None:
        """
        Reading the url of a fake that never started raises RuntimeError.
        """
        with pytest.raises(RuntimeError, match="not started"):
            _ = FakeCustomerIO().url

    def test_repr_hides_credentials(self) -> None:
        """
        The repr of a fake shows neither its site id nor its API key.
        """
        text = repr(FakeCustomerIO(site_id="secret-site", api_key="secret-key"))

        assert "secret" not in text

    async def test_region_probe_reports_url_and_region(self) -> None:
        """
        GET /api/v1/accounts/region answers the fake's url, region and an env id.
        """
        async with FakeCustomerIO(region="eu") as fake:
            headers = {"Authorization": basic(fake.site_id, fake.api_key)}
            async with aiohttp.ClientSession(headers=headers) as client:
                status, body = await send(
                    client, "GET", f"{fake.url}/api/v1/accounts/region"
                )

        assert status == 200
        assert body == {"url": fake.url, "region": "eu", "environment_id": 1}

    async def test_unknown_path_is_404_and_recorded(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A path the fake does not serve answers 404 and is still recorded.
        """
        status, _ = await send(session, "POST", f"{fake.url}/api/v3/nothing", {})

        assert status == 404
        assert [(r.path, r.route, r.status) for r in fake.requests] == [
            ("/api/v3/nothing", None, 404)
        ]

    async def test_wait_for_times_out_with_timeout_error(
        self, fake: FakeCustomerIO
    ) -> None:
        """
        wait_for raises TimeoutError when its condition never holds.
        """
        with pytest.raises(TimeoutError):
            await fake.wait_for(lambda f: f.counts.requests > 0, timeout=0.05)

    async def test_wait_for_wakes_on_requests(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        wait_for returns once requests make its condition true.
        """
        waiter = asyncio.create_task(
            fake.wait_for(lambda f: f.counts.items_accepted >= 2, timeout=5)
        )

        await batch(session, fake, [event("u1"), event("u2")])
        await waiter

        assert fake.counts.items_accepted == 2


class TestAuth:
    async def test_missing_credentials_get_plain_text_401(
        self, fake: FakeCustomerIO
    ) -> None:
        """
        A Track request without credentials gets a plain-text 401 and changes nothing.
        """
        async with (
            aiohttp.ClientSession() as client,
            client.post(
                f"{fake.url}/api/v2/batch", json={"batch": [event("u1")]}
            ) as response,
        ):
            text = await response.text()

        assert response.status == 401
        assert response.content_type == "text/plain"
        assert text == "Unauthorized request"
        assert fake.people == []
        assert fake.requests[0].status == 401

    async def test_wrong_key_gets_401(self, fake: FakeCustomerIO) -> None:
        """
        Basic credentials with the wrong API key are refused.
        """
        headers = {"Authorization": basic(fake.site_id, "wrong")}
        async with aiohttp.ClientSession(headers=headers) as client:
            status, body = await send(client, "PUT", customer_url(fake, "u1"), {})

        assert status == 401
        assert body == "Unauthorized request"

    async def test_custom_credentials_are_the_ones_accepted(self) -> None:
        """
        Credentials given to the constructor are the ones the fake accepts.
        """
        async with FakeCustomerIO(site_id="site", api_key="key") as fake:
            headers = {"Authorization": basic("site", "key")}
            async with aiohttp.ClientSession(headers=headers) as client:
                status, _ = await send(client, "PUT", customer_url(fake, "u1"), {})

        assert status == 200

    async def test_metrics_and_push_events_need_no_auth(
        self, fake: FakeCustomerIO
    ) -> None:
        """
        /api/v1/metrics and /api/v1/push/events work without credentials.
        """
        async with aiohttp.ClientSession() as client:
            metric, _ = await send(
                client,
                "POST",
                f"{fake.url}/api/v1/metrics",
                {"delivery_id": "d1", "metric": "clicked", "href": "https://x"},
            )
            push, _ = await send(
                client,
                "POST",
                f"{fake.url}/api/v1/push/events",
                {"delivery_id": "d2", "device_id": "tok", "event": "opened"},
            )

        assert (metric, push) == (200, 200)
        assert [(d.delivery_id, d.metric, d.source) for d in fake.deliveries] == [
            ("d1", "clicked", "metrics"),
            ("d2", "opened", "push"),
        ]


class TestRecording:
    async def test_request_is_recorded_in_full(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A request is recorded with method, paths, query, headers, body and status.
        """
        before = time.monotonic()

        await send(
            session,
            "POST",
            f"{fake.url}/api/v1/segments/7/add_customers?id_type=email",
            {"ids": []},
            headers={"X-Trace": "abc"},
        )

        (record,) = fake.requests
        assert record.method == "POST"
        assert record.path == "/api/v1/segments/7/add_customers"
        assert record.raw_path == "/api/v1/segments/7/add_customers"
        assert record.route == "/api/v1/segments/{segment_id}/add_customers"
        assert record.query == {"id_type": "email"}
        assert isinstance(record.headers, CIMultiDict)
        assert record.headers["x-trace"] == "abc"
        assert record.json() == {"ids": []}
        assert record.arrived_at >= before
        assert record.status == 200

    @pytest.mark.parametrize(
        "identifier",
        ["a/b", "a+b", "50%", "with space", "Jürgen/ü", "%2F", "x?y#z", "..a"],
    )
    async def test_encoded_ids_round_trip(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession, identifier: str
    ) -> None:
        """
        An id percent-encoded in a v1 path is decoded exactly once.
        """
        status, _ = await send(session, "PUT", customer_url(fake, identifier), {})

        person = fake.person(id=identifier)
        assert status == 200
        assert person is not None
        assert person.id == identifier
        assert fake.requests[0].path == f"/api/v1/customers/{identifier}"

    async def test_encoded_email_addresses_by_email(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        An encoded v1 path identifier with "@" addresses the person by email.
        """
        await send(session, "PUT", customer_url(fake, "a+b/c@example.com"), {})

        person = fake.person(email="A+B/C@example.com")
        assert person is not None
        assert person.identifiers["email"] == "a+b/c@example.com"

    async def test_encoded_device_id_round_trips(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A device token with "/" and "%" can be deleted through its encoded path.
        """
        token = "tok/en%1"
        await send(
            session,
            "PUT",
            customer_url(fake, "u1", "/devices"),
            {"device": {"id": token, "platform": "ios"}},
        )
        url = URL(
            f"{customer_url(fake, 'u1')}/devices/{quote(token, safe='')}", encoded=True
        )

        status, _ = await send(session, "DELETE", url)

        person = fake.person(id="u1")
        assert status == 200
        assert person is not None
        assert person.devices == {}

    async def test_bodies_can_be_left_out(self) -> None:
        """
        With record_bodies=False the fake records requests without their bodies.
        """
        async with FakeCustomerIO(record_bodies=False) as fake:
            headers = {"Authorization": basic(fake.site_id, fake.api_key)}
            async with aiohttp.ClientSession(headers=headers) as client:
                await batch(client, fake, [event("u1")])

        assert fake.requests[0].body == b""
        assert fake.counts.items_accepted == 1


class TestBatchV2:
    async def test_valid_batch_answers_200_and_applies_everything(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A batch of valid items answers 200 {} and applies every item.
        """
        status, body = await batch(
            session,
            fake,
            [
                identify("u1", email="ada@example.com", plan="pro"),
                event("u1", "signed_up", id="e1", timestamp=1700000000),
                {**event("u1", "/pricing"), "action": "page"},
            ],
        )

        person = fake.person(id="u1")
        assert (status, body) == (200, {})
        assert person is not None
        assert person.attributes == {"email": "ada@example.com", "plan": "pro"}
        assert person.email == "ada@example.com"
        assert [(e.name, e.type, e.id) for e in person.events] == [
            ("signed_up", "event", "e1"),
            ("/pricing", "page", None),
        ]
        assert person.events[0].timestamp == 1700000000
        assert fake.counts.batches == 1
        assert fake.counts.items_accepted == 3

    async def test_invalid_items_get_207_and_valid_ones_are_applied(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A batch with invalid items answers 207 naming them and applies the rest.
        """
        items = [
            event("u1", "first"),
            {"type": "person", "action": "event", "identifiers": {"id": "u2"}},
            event("u3", "third"),
            {"type": "person", "action": "fly", "identifiers": {"id": "u4"}},
        ]

        status, body = await batch(session, fake, items)

        assert status == 207
        assert [(e["batch_index"], e["field"]) for e in body["errors"]] == [
            (1, "name"),
            (3, "action"),
        ]
        assert all(e["reason"] and e["message"] for e in body["errors"])
        assert [e.name for e in fake.events()] == ["first", "third"]
        assert fake.person(id="u2") is None
        assert (fake.counts.items_accepted, fake.counts.items_rejected) == (2, 2)

    @pytest.mark.parametrize(
        ("item", "field"),
        [
            ("not an object", "item"),
            ({"action": "identify", "identifiers": {"id": "u"}}, "type"),
            (
                {"type": "robot", "action": "identify", "identifiers": {"id": "u"}},
                "type",
            ),
            ({"type": "person", "identifiers": {"id": "u"}}, "action"),
            ({"type": "person", "action": ["x"], "identifiers": {"id": "u"}}, "action"),
            (
                {"type": ["person"], "action": "delete", "identifiers": {"id": "u"}},
                "type",
            ),
            (
                {"type": "object", "action": "event", "identifiers": {"id": "u"}},
                "action",
            ),
            ({"type": "person", "action": "identify"}, "identifiers"),
            (
                {"type": "person", "action": "identify", "identifiers": {}},
                "identifiers",
            ),
            (
                {
                    "type": "person",
                    "action": "identify",
                    "identifiers": {"id": "u", "email": "u@x"},
                },
                "identifiers",
            ),
            (
                {"type": "person", "action": "identify", "identifiers": {"id": ""}},
                "identifiers.id",
            ),
            (
                {"type": "person", "action": "identify", "identifiers": {"id": 7}},
                "identifiers.id",
            ),
            (
                {"type": "person", "action": "identify", "identifiers": {"uid": "u"}},
                "identifiers",
            ),
            (
                {
                    "type": "person",
                    "action": "identify",
                    "identifiers": {"id": "u"},
                    "attributes": [1],
                },
                "attributes",
            ),
            (
                {"type": "person", "action": "screen", "identifiers": {"id": "u"}},
                "name",
            ),
            ({**event("u"), "timestamp": "yesterday"}, "timestamp"),
            (
                {"type": "person", "action": "add_device", "identifiers": {"id": "u"}},
                "device",
            ),
            (
                {
                    "type": "person",
                    "action": "delete_device",
                    "identifiers": {"id": "u"},
                    "device": {"platform": "ios"},
                },
                "device.token",
            ),
            (
                {"type": "person", "action": "merge", "primary": {"id": "a"}},
                "secondary",
            ),
            (
                {
                    "type": "person",
                    "action": "merge",
                    "primary": {"phone": "+15550100"},
                    "secondary": {"id": "b"},
                },
                "primary",
            ),
            (
                {
                    "type": "person",
                    "action": "add_relationships",
                    "identifiers": {"id": "u"},
                },
                "cio_relationships",
            ),
            (
                {
                    "type": "person",
                    "action": "add_relationships",
                    "identifiers": {"id": "u"},
                    "cio_relationships": [{"identifiers": {"object_id": "acme"}}],
                },
                "cio_relationships[0].identifiers",
            ),
            (
                {
                    "type": "object",
                    "action": "identify",
                    "identifiers": {"object_type_id": "1"},
                },
                "identifiers",
            ),
            (
                {
                    "type": "delivery",
                    "action": "event",
                    "identifiers": {"id": "d1"},
                    "name": "clicked",
                    "attributes": {"device_token": "t"},
                },
                "name",
            ),
            (
                {
                    "type": "delivery",
                    "action": "event",
                    "identifiers": {"id": "d1"},
                    "name": "opened",
                },
                "attributes.device_token",
            ),
        ],
    )
    async def test_each_invalid_shape_is_named(
        self,
        fake: FakeCustomerIO,
        session: aiohttp.ClientSession,
        item: Any,
        field: str,
    ) -> None:
        """
        Each kind of malformed item is rejected with a 207 error naming its field.
        """
        status, body = await batch(session, fake, [event("ok"), item])

        assert status == 207
        assert [(e["batch_index"], e["field"]) for e in body["errors"]] == [(1, field)]
        assert fake.counts.items_accepted == 1

    async def test_every_documented_shape_is_accepted(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        One item of each documented type and action is accepted with 200.
        """
        acme = {"object_type_id": "1", "object_id": "acme"}
        items = [
            identify("u1", plan="pro"),
            {"type": "person", "action": "identify", "identifiers": {"phone": "+1555"}},
            {**event("u1", "home"), "action": "screen"},
            {
                "type": "person",
                "action": "add_device",
                "identifiers": {"id": "u1"},
                "device": {"token": "t1", "platform": "ios", "last_used": 1},
            },
            {
                "type": "person",
                "action": "delete_device",
                "identifiers": {"id": "u1"},
                "device": {"token": "t1"},
            },
            {
                "type": "person",
                "action": "add_relationships",
                "identifiers": {"id": "u1"},
                "cio_relationships": [{"identifiers": acme}],
            },
            {
                "type": "person",
                "action": "delete_relationships",
                "identifiers": {"id": "u1"},
                "cio_relationships": [{"identifiers": acme}],
            },
            {"type": "person", "action": "suppress", "identifiers": {"id": "u1"}},
            {"type": "person", "action": "unsuppress", "identifiers": {"id": "u1"}},
            identify("u2"),
            {
                "type": "person",
                "action": "merge",
                "primary": {"id": "u1"},
                "secondary": {"id": "u2"},
            },
            {"type": "person", "action": "delete", "identifiers": {"cio_id": "nope"}},
            {"type": "object", "action": "identify", "identifiers": acme},
            {
                "type": "object",
                "action": "identify_anonymous",
                "identifiers": acme,
                "cio_relationships": [{"identifiers": {"anonymous_id": "anon-1"}}],
            },
            {
                "type": "object",
                "action": "add_relationships",
                "identifiers": acme,
                "cio_relationships": [{"identifiers": {"email": "b@example.com"}}],
            },
            {
                "type": "object",
                "action": "delete_relationships",
                "identifiers": acme,
                "cio_relationships": [{"identifiers": {"email": "b@example.com"}}],
            },
            {
                "type": "object",
                "action": "delete",
                "identifiers": {"cio_object_id": "x"},
            },
            {
                "type": "delivery",
                "action": "event",
                "identifiers": {"id": "d1"},
                "name": "delivered",
                "attributes": {"device_token": "t1"},
            },
        ]

        status, body = await batch(session, fake, items)

        assert (status, body) == (200, {})
        assert fake.counts.items_accepted == len(items)

    async def test_body_that_is_not_json_is_400(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A batch body that is not JSON answers 400 with a v2 error list.
        """
        async with session.post(
            f"{fake.url}/api/v2/batch", data=b"{not json"
        ) as response:
            body = await response.json()

        assert response.status == 400
        assert list(body["errors"][0]) == ["reason", "field", "message"]
        assert fake.counts.batches == 0

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (
                b' \n{ "x" : [1, {"a": 2}] ,\t"batch" : [ {"type": "person", '
                b'"action": "delete", "identifiers": {"id": "u"}} ] } \n',
                200,
            ),
            (b'{"batch": [], "batch": []}', 200),
            (b'{"batch": [], }', 400),
            (b'{"batch": [1 2]}', 400),
            (b'{"batch": []} trailing', 400),
            (b'{"batch": [], "batch": 5}', 400),
            (b"\xff\xfe", 400),
            (b"[]", 400),
            (b"", 400),
        ],
    )
    async def test_body_syntax(
        self,
        fake: FakeCustomerIO,
        session: aiohttp.ClientSession,
        raw: bytes,
        expected: int,
    ) -> None:
        """
        Batch bodies are parsed as strict JSON objects, whatever their spacing.
        """
        async with session.post(f"{fake.url}/api/v2/batch", data=raw) as response:
            status = response.status

        assert status == expected

    async def test_body_without_batch_list_is_400(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A JSON body whose batch is missing or not a list answers 400.
        """
        missing, _ = await send(session, "POST", f"{fake.url}/api/v2/batch", {})
        wrong, _ = await send(
            session, "POST", f"{fake.url}/api/v2/batch", {"batch": {"a": 1}}
        )

        assert (missing, wrong) == (400, 400)

    async def test_item_over_32kb_is_rejected_as_too_large(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        An item whose JSON exceeds 32,768 bytes is a 207 error with reason too_large.
        """
        big = event("u1", "big", attributes={"blob": "é" * 17_000})

        status, body = await batch(session, fake, [event("u1"), big])

        assert status == 207
        assert body["errors"][0]["batch_index"] == 1
        assert body["errors"][0]["reason"] == "too_large"

    async def test_item_size_limit_is_inclusive(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        An item of exactly 32,768 raw bytes is accepted and one byte more is not.
        """

        def sized(size: int) -> dict[str, Any]:
            bare = event("u1", "edge", attributes={"blob": ""})
            padding = "x" * (size - len(json.dumps(bare, separators=(",", ":"))))
            return event("u1", "edge", attributes={"blob": padding})

        body = {"batch": [sized(32_768), sized(32_769)]}

        async with session.post(
            f"{fake.url}/api/v2/batch",
            data=json.dumps(body, separators=(",", ":")),
            headers={"Content-Type": "application/json"},
        ) as response:
            answer = await response.json()

        assert response.status == 207
        assert [(e["batch_index"], e["reason"]) for e in answer["errors"]] == [
            (1, "too_large")
        ]

    async def test_body_of_500kb_is_400(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A batch body of 512,000 bytes or more answers 400 and applies nothing.
        """
        items = [event(f"u{i}", attributes={"pad": "x" * 20_000}) for i in range(26)]

        status, body = await batch(session, fake, items)

        assert status == 400
        assert body["errors"][0]["reason"] == "too_large"
        assert fake.counts.items_accepted == 0

    async def test_entity_applies_one_item(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        POST /api/v2/entity applies one valid item and answers 200 {}.
        """
        status, body = await send(
            session, "POST", f"{fake.url}/api/v2/entity", identify("u1", plan="pro")
        )

        person = fake.person(id="u1")
        assert (status, body) == (200, {})
        assert person is not None
        assert person.attributes == {"plan": "pro"}

    async def test_entity_answers_400_for_an_invalid_item(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        /api/v2/entity has no 207: an invalid item answers 400 with its error.
        """
        status, body = await send(
            session,
            "POST",
            f"{fake.url}/api/v2/entity",
            {"type": "person", "action": "event", "identifiers": {"id": "u1"}},
        )

        assert status == 400
        assert body["errors"][0]["field"] == "name"
        assert fake.people == []


class TestPeople:
    async def test_email_addressed_person_gains_an_id(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Identifying an email-addressed person with attributes.id sets their id.
        """
        by_email = {
            "type": "person",
            "action": "identify",
            "identifiers": {"email": "ada@example.com"},
            "attributes": {"id": "u1"},
        }

        await batch(session, fake, [by_email, event("u1", "after")])

        person = fake.person(email="ADA@example.com")
        assert person is not None
        assert person.id == "u1"
        assert [e.name for e in person.events] == ["after"]
        assert len(fake.people) == 1

    async def test_email_attribute_matches_email_addressing(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A person given an email attribute is found when addressed by that email.
        """
        by_email = {
            "type": "person",
            "action": "event",
            "identifiers": {"email": "ada@example.com"},
            "name": "opened_app",
        }

        await batch(session, fake, [identify("u1", email="ada@example.com"), by_email])

        person = fake.person(id="u1")
        assert person is not None
        assert [e.name for e in person.events] == ["opened_app"]
        assert len(fake.people) == 1

    async def test_new_people_get_a_cio_id(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Each new person gets a distinct generated cio_id they can be found by.
        """
        await batch(session, fake, [identify("u1"), event("u2")])

        first, second = fake.people
        assert first.cio_id != second.cio_id
        assert fake.person(cio_id=second.cio_id) is second

    async def test_unknown_cio_id_is_dropped(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        An identify addressed to an unknown cio_id creates nobody.
        """
        item = {
            "type": "person",
            "action": "identify",
            "identifiers": {"cio_id": "ffff"},
            "attributes": {"a": 1},
        }

        status, _ = await batch(session, fake, [item])

        assert status == 200
        assert fake.people == []

    async def test_cio_id_addressing_changes_email(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Addressed as cio_<cio_id> in v1, a person's email can be changed.
        """
        await send(session, "PUT", customer_url(fake, "u1"), {"email": "old@x.io"})
        person = fake.person(id="u1")
        assert person is not None

        await send(
            session,
            "PUT",
            customer_url(fake, f"cio_{person.cio_id}"),
            {"email": "new@x.io"},
        )

        assert person.email == "new@x.io"
        assert fake.person(email="new@x.io") is person

    async def test_update_only_identify_creates_nobody(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        An identify with _update: true does not create a missing person.
        """
        await batch(session, fake, [identify("u1", _update=True, plan="pro")])

        assert fake.people == []

    async def test_older_timestamp_does_not_overwrite(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        An identify stamped older than the applied one leaves attributes alone.
        """
        newer = {**identify("u1", plan="pro"), "timestamp": 200}
        older = {**identify("u1", plan="free"), "timestamp": 100}

        await batch(session, fake, [newer, older])

        person = fake.person(id="u1")
        assert person is not None
        assert person.attributes == {"plan": "pro"}

    async def test_merge_moves_events_and_retires_secondary(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A merge moves the secondary's events to the primary and marks it deleted.
        """
        merge = {
            "type": "person",
            "action": "merge",
            "primary": {"id": "keep"},
            "secondary": {"id": "gone"},
        }

        await batch(
            session,
            fake,
            [identify("keep", a=1), event("gone", "old"), identify("gone", a=2), merge],
        )

        keep = fake.person(id="keep")
        gone = fake.person(id="gone")
        assert keep is not None
        assert gone is not None
        assert [e.name for e in keep.events] == ["old"]
        assert keep.attributes == {"a": 1}
        assert (gone.deleted, gone.merged_into) == (True, keep.cio_id)

    async def test_delete_keeps_a_deleted_record(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A deleted person is still found, marked deleted; a new identify starts over.
        """
        delete = {"type": "person", "action": "delete", "identifiers": {"id": "u1"}}
        await batch(session, fake, [identify("u1", a=1), delete])
        deleted = fake.person(id="u1")

        await batch(session, fake, [identify("u1", b=2)])

        person = fake.person(id="u1")
        assert deleted is not None
        assert deleted.deleted is True
        assert person is not None
        assert person is not deleted
        assert person.attributes == {"b": 2}

    async def test_relationships_link_people_and_objects(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Object identify and person relationships link both sides.
        """
        acme = {"object_type_id": "1", "object_id": "acme"}
        relate = {
            "type": "person",
            "action": "add_relationships",
            "identifiers": {"id": "u1"},
            "cio_relationships": [
                {"identifiers": acme, "relationship_attributes": {"role": "admin"}}
            ],
        }
        company = {
            "type": "object",
            "action": "identify",
            "identifiers": acme,
            "attributes": {"name": "Acme"},
        }

        await batch(session, fake, [company, relate])

        person = fake.person(id="u1")
        company_object = fake.objects[("1", "acme")]
        assert person is not None
        assert person.relationships == {("1", "acme")}
        assert person.relationship_attributes == {("1", "acme"): {"role": "admin"}}
        assert company_object.attributes == {"name": "Acme"}
        assert company_object.relationships == {person.cio_id}

    async def test_device_moves_to_its_latest_owner(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A device token added to a second person leaves the first.
        """
        items = [
            {
                "type": "person",
                "action": "add_device",
                "identifiers": {"id": user},
                "device": {"token": "t1", "platform": "android"},
            }
            for user in ("u1", "u2")
        ]

        await batch(session, fake, items)

        first = fake.person(id="u1")
        second = fake.person(id="u2")
        assert first is not None
        assert second is not None
        assert first.devices == {}
        assert second.devices["t1"]["platform"] == "android"

    def test_person_needs_exactly_one_identifier(self, fake: FakeCustomerIO) -> None:
        """
        person() with no or several identifiers raises TypeError.
        """
        with pytest.raises(TypeError):
            fake.person()
        with pytest.raises(TypeError):
            fake.person(id="a", email="b")


class TestDedupe:
    async def test_repeated_event_id_is_stored_once(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        An event whose id was seen before is accepted but not stored again.
        """
        await batch(session, fake, [event("u1", id="e1")])

        status, _ = await batch(session, fake, [event("u1", id="e1")])

        assert status == 200
        assert len(fake.events()) == 1
        assert fake.counts.items_accepted == 2
        assert fake.counts.duplicate_events == 1

    async def test_dedupe_spans_v1_and_v2(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        An event id first seen through v1 dedupes the same id sent through v2.
        """
        await send(
            session,
            "POST",
            customer_url(fake, "u1", "/events"),
            {"name": "paid", "id": "e9"},
        )

        await batch(session, fake, [event("u1", "paid", id="e9")])

        assert [e.name for e in fake.events()] == ["paid"]
        assert fake.counts.duplicate_events == 1

    async def test_events_without_ids_are_all_kept(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Events without an id are never deduped.
        """
        await batch(session, fake, [event("u1"), event("u1")])

        assert len(fake.events()) == 2
        assert fake.counts.duplicate_events == 0


class TestV1:
    async def test_identify_merges_flat_attributes(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        PUT /customers/{id} merges a flat attribute map into the person.
        """
        first, first_body = await send(
            session, "PUT", customer_url(fake, "u1"), {"plan": "free", "age": 3}
        )
        second, _ = await send(
            session, "PUT", customer_url(fake, "u1"), {"plan": "pro"}
        )

        person = fake.person(id="u1")
        assert (first, first_body, second) == (200, {}, 200)
        assert person is not None
        assert person.attributes == {"plan": "pro", "age": 3}

    async def test_identify_accepts_an_empty_body(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        PUT /customers/{id} with no body creates the person.
        """
        async with session.put(customer_url(fake, "u1")) as response:
            assert response.status == 200

        assert fake.person(id="u1") is not None

    async def test_delete_marks_person_deleted(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        DELETE /customers/{id} marks the person deleted.
        """
        await send(session, "PUT", customer_url(fake, "u1"), {})

        status, _ = await send(session, "DELETE", customer_url(fake, "u1"))

        person = fake.person(id="u1")
        assert status == 200
        assert person is not None
        assert person.deleted is True

    async def test_track_stores_event_fields(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        POST /customers/{id}/events stores name, id, timestamp, data and type.
        """
        payload = {
            "name": "https://x.io/a",
            "id": "e1",
            "timestamp": 1700000000,
            "data": {"ref": "ad"},
            "type": "page",
        }

        status, _ = await send(
            session, "POST", customer_url(fake, "u1", "/events"), payload
        )

        (stored,) = fake.events()
        assert status == 200
        assert (stored.name, stored.id, stored.timestamp) == (
            "https://x.io/a",
            "e1",
            1700000000,
        )
        assert (stored.data, stored.type) == ({"ref": "ad"}, "page")

    async def test_event_without_name_is_400_with_meta_errors(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A v1 event without a name answers 400 with {"meta": {"errors": [...]}}.
        """
        status, body = await send(
            session, "POST", customer_url(fake, "u1", "/events"), {"data": {}}
        )

        assert status == 400
        assert isinstance(body["meta"]["errors"][0], str)
        assert fake.counts.items_rejected == 1

    async def test_event_data_over_100kb_is_400(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A v1 event whose data exceeds 100,000 bytes answers 400.
        """
        payload = {"name": "big", "data": {"blob": "x" * 100_000}}

        status, _ = await send(
            session, "POST", customer_url(fake, "u1", "/events"), payload
        )

        assert status == 400
        assert fake.events() == []

    async def test_anonymous_events_are_kept_apart(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        POST /api/v1/events stores an anonymous event outside any person.
        """
        status, _ = await send(
            session,
            "POST",
            f"{fake.url}/api/v1/events",
            {"name": "visited", "anonymous_id": "anon-1", "data": {"p": 1}},
        )

        (stored,) = fake.anonymous_events
        assert status == 200
        assert (stored.name, stored.anonymous_id, stored.data) == (
            "visited",
            "anon-1",
            {"p": 1},
        )
        assert fake.people == []

    async def test_devices_are_added_and_deleted(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        PUT .../devices stores a device, flat extras as attributes; DELETE removes it.
        """
        device = {"id": "tok", "platform": "ios", "last_used": 5, "app_version": "2"}

        await send(
            session, "PUT", customer_url(fake, "u1", "/devices"), {"device": device}
        )
        person = fake.person(id="u1")
        assert person is not None
        stored = dict(person.devices)
        await send(session, "DELETE", customer_url(fake, "u1", "/devices/tok"))

        assert stored == {
            "tok": {
                "platform": "ios",
                "last_used": 5,
                "attributes": {"app_version": "2"},
            }
        }
        assert person.devices == {}

    async def test_device_without_id_is_400(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        PUT .../devices without device.id answers 400.
        """
        status, _ = await send(
            session,
            "PUT",
            customer_url(fake, "u1", "/devices"),
            {"device": {"platform": "ios"}},
        )

        assert status == 400

    async def test_suppress_and_unsuppress(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        POST .../suppress and .../unsuppress toggle the person's suppressed flag.
        """
        await send(session, "POST", customer_url(fake, "u1", "/suppress"))
        person = fake.person(id="u1")
        assert person is not None
        suppressed = person.suppressed

        await send(session, "POST", customer_url(fake, "u1", "/unsuppress"))

        assert (suppressed, person.suppressed) == (True, False)

    async def test_merge_customers(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        POST /merge_customers folds the secondary person into the primary.
        """
        await send(session, "PUT", customer_url(fake, "a"), {})
        await send(session, "PUT", customer_url(fake, "b@x.io"), {"x": 1})

        status, _ = await send(
            session,
            "POST",
            f"{fake.url}/api/v1/merge_customers",
            {"primary": {"id": "a"}, "secondary": {"email": "b@x.io"}},
        )

        primary = fake.person(id="a")
        assert status == 200
        assert primary is not None
        assert primary.attributes == {"x": 1, "email": "b@x.io"}
        assert primary.email == "b@x.io"

    async def test_merge_with_bad_identifier_is_400(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A merge whose primary has no allowed identifier answers 400.
        """
        status, _ = await send(
            session,
            "POST",
            f"{fake.url}/api/v1/merge_customers",
            {"primary": {"phone": "+1"}, "secondary": {"id": "b"}},
        )

        assert status == 400

    async def test_segments_add_and_remove_by_id_type(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Manual segment calls add and remove known people addressed by id_type.
        """
        await send(session, "PUT", customer_url(fake, "u1"), {"email": "a@x.io"})
        url = f"{fake.url}/api/v1/segments/12/add_customers?id_type=email"

        added, _ = await send(session, "POST", url, {"ids": ["a@x.io", "nobody@x"]})
        person = fake.person(id="u1")
        assert person is not None
        segments = set(person.segments)
        removed, _ = await send(
            session,
            "POST",
            f"{fake.url}/api/v1/segments/12/remove_customers",
            {"ids": ["u1"]},
        )

        assert (added, removed) == (200, 200)
        assert segments == {12}
        assert person.segments == set()

    async def test_segment_call_limits(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        More than 1000 ids, or an unknown id_type, answer 400.
        """
        url = f"{fake.url}/api/v1/segments/1/add_customers"

        too_many, _ = await send(session, "POST", url, {"ids": ["u"] * 1001})
        bad_type, _ = await send(
            session, "POST", f"{url}?id_type=phone", {"ids": ["u"]}
        )
        at_limit, _ = await send(session, "POST", url, {"ids": ["u"] * 1000})

        assert (too_many, bad_type, at_limit) == (400, 400, 200)


async def post_event(
    session: aiohttp.ClientSession, fake: FakeCustomerIO, user: str = "u1"
) -> tuple[int, Any]:
    return await batch(session, fake, [event(user)])


class TestFaults:
    async def test_scripted_answers_come_first_then_normal(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Scripted 503s answer the next requests without applying them, then normal.
        """
        fake.script(Respond(503), Respond(503))

        statuses = [(await post_event(session, fake, f"u{i}"))[0] for i in range(3)]

        assert statuses == [503, 503, 200]
        assert [p.id for p in fake.people] == ["u2"]
        assert fake.faults.pending == []

    async def test_scripted_429_carries_its_headers(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A scripted 429 is sent with the headers it was given.
        """
        fake.script(Respond(429, headers={"Retry-After": "2"}))

        async with session.post(
            f"{fake.url}/api/v2/batch", json={"batch": [event("u1")]}
        ) as response:
            retry_after = response.headers.get("Retry-After")

        assert (response.status, retry_after) == (429, "2")
        assert fake.people == []

    async def test_scripted_answers_render_their_bodies(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Scripted bodies are sent as given, with their own Content-Type if set.
        """
        fake.script(
            Respond(
                502,
                body="<html>bad gateway</html>",
                headers={"content-type": "text/html"},
            ),
            Respond(500),
            path="/api/v2/batch",
        )
        answers = []

        for _ in range(2):
            async with session.post(
                f"{fake.url}/api/v2/batch", json={"batch": []}
            ) as response:
                answers.append(
                    (response.status, response.content_type, await response.text())
                )

        assert answers == [
            (502, "text/html", "<html>bad gateway</html>"),
            (500, "text/plain", "Internal Server Error"),
        ]
        assert len(fake.requests_to("/api/v2/batch", method="post")) == 2

    async def test_scripted_207_applies_the_items_it_does_not_name(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A scripted 207 naming batch_index 1 applies items 0 and 2 only.
        """
        errors = {
            "errors": [{"batch_index": 1, "reason": "x", "field": "f", "message": "m"}]
        }
        fake.script(Respond(207, body=errors))

        status, body = await batch(
            session, fake, [event("u0"), event("u1"), event("u2")]
        )

        assert (status, body) == (207, errors)
        assert sorted(p.id or "" for p in fake.people) == ["u0", "u2"]

    async def test_script_path_filter(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A fault scripted for one path is not consumed by requests to others.
        """
        fake.script(Respond(500), path="/api/v2/batch")

        other, _ = await send(session, "PUT", customer_url(fake, "u1"), {})
        scripted, _ = await post_event(session, fake)

        assert (other, scripted) == (200, 500)

    async def test_script_route_template_filter(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A fault scripted for a route template matches any id on that route.
        """
        fake.script(Respond(502), path="/api/v1/customers/{identifier}")

        status, _ = await send(session, "PUT", customer_url(fake, "any/one"), {})

        assert status == 502

    async def test_reset_aborts_without_applying(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Reset drops the connection, applies nothing and records no status.
        """
        fake.script(Reset())

        with pytest.raises(aiohttp.ClientError):
            await post_event(session, fake)

        assert fake.people == []
        assert fake.requests[0].status is None

    async def test_store_then_reset_applies_but_never_answers(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        StoreThenReset applies the body and then drops the connection unanswered.
        """
        fake.script(StoreThenReset())

        with pytest.raises(aiohttp.ClientError):
            await post_event(session, fake)

        assert [p.id for p in fake.people] == ["u1"]
        assert fake.counts.items_accepted == 1
        assert fake.requests[0].status is None

    async def test_never_answer_is_released_when_the_fake_stops(self) -> None:
        """
        A NeverAnswer request hangs until the fake stops, which takes well under 1 s.
        """
        fake = FakeCustomerIO()
        await fake.start()
        headers = {"Authorization": basic(fake.site_id, fake.api_key)}
        async with aiohttp.ClientSession(headers=headers) as client:
            fake.script(NeverAnswer())
            pending = asyncio.create_task(post_event(client, fake))
            await fake.wait_for(lambda f: f.counts.requests == 1)
            hanging = not pending.done()

            started = time.monotonic()
            await fake.aclose()
            elapsed = time.monotonic() - started

            with pytest.raises(aiohttp.ClientError):
                await pending

        assert hanging is True
        assert elapsed < 0.5
        assert fake.requests[0].status is None

    async def test_stopping_is_quick_with_hung_dripping_and_held_requests(
        self,
    ) -> None:
        """
        aclose() is quick even with hung, dripping and held requests.
        """
        fake = FakeCustomerIO()
        await fake.start()
        headers = {"Authorization": basic(fake.site_id, fake.api_key)}
        async with aiohttp.ClientSession(headers=headers) as client:
            fake.script(NeverAnswer(), Drip(interval=30), Delay(30))
            tasks = [asyncio.create_task(post_event(client, fake)) for _ in range(3)]
            await fake.wait_for(lambda f: f.counts.requests == 3)
            fake.pause()
            tasks.append(asyncio.create_task(post_event(client, fake)))
            await fake.wait_for(lambda f: f.counts.requests == 4)

            started = time.monotonic()
            await fake.aclose()
            elapsed = time.monotonic() - started

            outcomes = await asyncio.gather(*tasks, return_exceptions=True)

        assert elapsed < 0.5
        assert all(isinstance(o, aiohttp.ClientError) for o in outcomes)

    async def test_delay_waits_then_answers_normally(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Delay holds the answer for its time, then applies and answers 200.
        """
        fake.script(Delay(0.2))
        started = time.monotonic()

        status, _ = await post_event(session, fake)

        assert status == 200
        assert time.monotonic() - started >= 0.2
        assert fake.counts.items_accepted == 1

    async def test_drip_sends_the_body_byte_by_byte(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Drip answers 200 with the full body, one byte per interval.
        """
        fake.script(Drip(interval=0.05))
        started = time.monotonic()

        status, body = await post_event(session, fake)

        assert (status, body) == (200, {})
        assert time.monotonic() - started >= 0.1
        assert fake.requests[0].status == 200

    async def test_drip_trips_a_client_read_timeout(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A client with a short read timeout gives up on a dripping answer.
        """
        fake.script(Drip(interval=1.0))
        timeout = aiohttp.ClientTimeout(sock_read=0.1)

        with pytest.raises(asyncio.TimeoutError):
            await send(
                session,
                "POST",
                f"{fake.url}/api/v2/batch",
                {"batch": [event("u1")]},
                timeout=timeout,
            )

        assert fake.counts.items_accepted == 1

    async def test_latency_is_added_to_every_answer(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        faults.latency delays each answer by at least that long.
        """
        fake.faults.latency = 0.1
        started = time.monotonic()

        await post_event(session, fake)
        await post_event(session, fake)

        assert time.monotonic() - started >= 0.2

    async def test_bodies_over_max_body_bytes_get_413(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        With max_body_bytes set, a larger body answers 413 and applies nothing.
        """
        fake.faults.max_body_bytes = 100

        small, _ = await batch(session, fake, [identify("u1")])
        big, _ = await batch(session, fake, [identify("u2", pad="x" * 200)])

        assert (small, big) == (200, 413)
        assert [p.id for p in fake.people] == ["u1"]

    async def test_idle_keep_alive_connections_are_closed(
        self, fake: FakeCustomerIO
    ) -> None:
        """
        With close_idle_after set, the fake closes a keep-alive connection left idle.
        """
        fake.faults.close_idle_after = 0.1
        url = URL(fake.url)
        assert url.host is not None
        assert url.port is not None
        reader, writer = await asyncio.open_connection(url.host, url.port)
        request = (
            "PUT /api/v1/customers/u1 HTTP/1.1\r\n"
            f"Host: {url.host}\r\n"
            f"Authorization: {basic(fake.site_id, fake.api_key)}\r\n"
            "Content-Length: 2\r\n\r\n{}"
        )
        try:
            writer.write(request.encode())
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(2)
            answered = time.monotonic()

            rest = await asyncio.wait_for(reader.read(), timeout=5)
            idle_for = time.monotonic() - answered
        finally:
            writer.close()
            await writer.wait_closed()

        assert head.startswith(b"HTTP/1.1 200")
        assert rest == b""
        assert idle_for >= 0.05

    async def test_pause_holds_requests_until_resume(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        While paused, requests are recorded but not applied or answered.
        """
        fake.pause()
        pending = asyncio.create_task(post_event(session, fake))
        await fake.wait_for(lambda f: f.counts.requests == 1)
        held = (pending.done(), fake.counts.items_accepted)

        fake.resume()
        status, _ = await pending

        assert held == (False, 0)
        assert status == 200
        assert fake.counts.items_accepted == 1

    async def test_reset_clears_state_records_and_faults(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        reset() forgets people, events, requests, counts and queued faults.
        """
        await post_event(session, fake)
        fake.script(Respond(500))
        fake.faults.latency = 1.0

        fake.reset()
        status, _ = await post_event(session, fake, "u2")

        assert status == 200
        assert [p.id for p in fake.people] == ["u2"]
        assert len(fake.requests) == 1
        assert fake.counts.requests == 1

    def test_fault_arguments_are_validated(self, fake: FakeCustomerIO) -> None:
        """
        Out-of-range fault settings raise ValueError; non-faults raise TypeError.
        """
        with pytest.raises(ValueError, match="status"):
            Respond(99)
        with pytest.raises(ValueError, match="seconds"):
            Delay(-1)
        with pytest.raises(ValueError, match="interval"):
            Drip(interval=0)
        with pytest.raises(ValueError, match="latency"):
            fake.faults.latency = -0.1
        with pytest.raises(ValueError, match="path"):
            fake.script(Reset(), path="api/v2/batch")
        with pytest.raises(TypeError, match="faults"):
            fake.script(503)  # type: ignore[arg-type]


class TestChaos:
    async def statuses(self, seed: int, count: int) -> list[int]:
        async with FakeCustomerIO() as fake:
            fake.faults.chaos(error_5xx=0.3, rate_limited=0.3, seed=seed)
            headers = {"Authorization": basic(fake.site_id, fake.api_key)}
            async with aiohttp.ClientSession(headers=headers) as client:
                for index in range(count):
                    await post_event(client, fake, f"u{index}")

        return [r.status or 0 for r in fake.requests]

    async def test_seeded_chaos_is_repeatable(self) -> None:
        """
        Two runs with the same seed draw the same faults in the same order.
        """
        first = await self.statuses(seed=7, count=30)
        second = await self.statuses(seed=7, count=30)

        assert first == second
        assert {200, 429} <= set(first)
        assert any(status >= 500 for status in first)

    async def test_rate_limited_answers_carry_retry_after(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Chaos 429s carry Retry-After 0 or 1 and apply nothing.
        """
        fake.faults.chaos(rate_limited=1.0, seed=1)
        values = set()

        for _ in range(10):
            async with session.post(
                f"{fake.url}/api/v2/batch", json={"batch": [event("u1")]}
            ) as response:
                assert response.status == 429
                values.add(response.headers["Retry-After"])

        assert values <= {"0", "1"}
        assert fake.people == []

    async def test_chaos_resets_mix_stored_and_unstored(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        Chaos resets abort every request, some after storing and some before.
        """
        fake.faults.chaos(reset=1.0, seed=3)

        for index in range(12):
            with pytest.raises(aiohttp.ClientError):
                await post_event(session, fake, f"u{index}")

        assert 0 < fake.counts.items_accepted < 12
        assert all(r.status is None for r in fake.requests)

    async def test_chaos_no_answer_trips_client_timeout(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A chaos no-answer leaves the client to its own timeout.
        """
        fake.faults.chaos(no_answer=1.0)

        with pytest.raises(asyncio.TimeoutError):
            await send(
                session,
                "POST",
                f"{fake.url}/api/v2/batch",
                {"batch": [event("u1")]},
                timeout=aiohttp.ClientTimeout(total=0.2),
            )

    async def test_calm_stops_chaos(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        faults.calm() turns chaos off.
        """
        fake.faults.chaos(error_5xx=1.0, error_statuses=(503,))
        failed, _ = await post_event(session, fake)

        fake.faults.calm()
        calmed, _ = await post_event(session, fake)

        assert (failed, calmed) == (503, 200)

    async def test_scripted_faults_win_over_chaos(
        self, fake: FakeCustomerIO, session: aiohttp.ClientSession
    ) -> None:
        """
        A scripted fault is used before chaos draws for that request.
        """
        fake.faults.chaos(error_5xx=1.0, error_statuses=(500,))
        fake.script(Respond(418))

        statuses = [(await post_event(session, fake))[0] for _ in range(2)]

        assert statuses == [418, 500]

    def test_rates_are_validated(self) -> None:
        """
        Rates outside 0..1, or adding up to more than 1, are refused.
        """
        with pytest.raises(ValueError, match="rate"):
            Chaos(error_5xx=1.5)
        with pytest.raises(ValueError, match="add up"):
            Chaos(error_5xx=0.6, reset=0.6)
