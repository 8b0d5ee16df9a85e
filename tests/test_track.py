"""
The Track client end to end: calls, shapes on the wire, flush, credentials.

Every test talks real HTTP over loopback to the fake Customer.io through the
``cio_fake`` / ``cio_client`` fixtures of our own pytest plugin.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pytest

import cio_async
from cio_async import (
    AsyncCustomerIO,
    Attributes,
    BatchConfig,
    ClientClosedError,
    ConfigurationError,
    DeliveryError,
    DeliveryFailure,
    Event,
    FailureReason,
    InvalidArgumentError,
    ObjectRef,
    PayloadTooLargeError,
    Person,
    Region,
    Relationship,
)
from cio_async.testing import FakeCustomerIO, Respond


def batch_items(fake: FakeCustomerIO) -> list[dict[str, Any]]:
    """
    Every item of every v2 batch the fake received, in order.
    """
    items: list[dict[str, Any]] = []
    for request in fake.requests_to("/api/v2/batch"):
        items.extend(request.json()["batch"])
    return items


class TestWalkingSkeleton:
    async def test_identify_and_track_land_in_one_batch(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        An identify and an event travel together in one v2 batch, shaped as documented.
        """
        await cio_client.identify("u1", {"email": "ada@example.com", "plan": "pro"})
        await cio_client.track("u1", "signed_up", {"method": "google"})
        await cio_client.flush()

        (request,) = cio_fake.requests_to("/api/v2/batch")
        identify, event = request.json()["batch"]
        assert identify["type"] == "person"
        assert identify["action"] == "identify"
        assert identify["identifiers"] == {"id": "u1"}
        assert identify["attributes"] == {"email": "ada@example.com", "plan": "pro"}
        assert isinstance(identify["timestamp"], int)
        assert event["action"] == "event"
        assert event["name"] == "signed_up"
        assert event["attributes"] == {"method": "google"}
        assert len(event["id"]) == 26
        person = cio_fake.person(id="u1")
        assert person is not None
        assert person.attributes["plan"] == "pro"
        assert [e.name for e in person.events] == ["signed_up"]

    async def test_requests_carry_basic_auth_and_json(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        Each batch is sent with HTTP Basic site id and key and a JSON content type.
        """
        await cio_client.track("u1", "e")
        await cio_client.flush()

        (request,) = cio_fake.requests
        expected = base64.b64encode(
            f"{cio_fake.site_id}:{cio_fake.api_key}".encode()
        ).decode()
        assert request.headers["Authorization"] == f"Basic {expected}"
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["User-Agent"].startswith("cio-async/")

    async def test_flush_waits_for_everything_accepted_before_it(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        After flush() returns, the fake holds every event accepted before the call.
        """
        for i in range(250):
            await cio_client.track(f"u{i % 7}", "viewed", {"n": i})
        await cio_client.flush()

        assert cio_fake.counts.items_accepted == 250
        stats = cio_client.stats()
        assert (stats.accepted, stats.delivered, stats.queued, stats.in_flight) == (
            250,
            250,
            0,
            0,
        )

    async def test_flush_with_nothing_pending_returns(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        flush() on a fresh client returns at once and sends nothing.
        """
        await asyncio.wait_for(cio_client.flush(), 1)

        assert cio_fake.requests == []

    async def test_many_events_are_batched(self, cio_fake: FakeCustomerIO) -> None:
        """
        Thousands of events go out in a handful of requests, none over the item cap.
        """
        async with AsyncCustomerIO(
            cio_fake.site_id,
            cio_fake.api_key,
            base_url=cio_fake.url,
            batching=BatchConfig(max_batch_items=500),
        ) as cio:
            for i in range(3_000):
                await cio.track(f"u{i}", "e", {"i": i})
            await cio.flush()

        sizes = [len(r.json()["batch"]) for r in cio_fake.requests_to("/api/v2/batch")]
        assert sum(sizes) == 3_000
        assert max(sizes) == 500
        assert len(sizes) <= 8

    async def test_wrong_key_fails_as_unauthorized_without_stopping(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        A refused key is counted as failed (unauthorized); the client keeps working.
        """
        failures: list[DeliveryFailure] = []
        async with AsyncCustomerIO(
            cio_fake.site_id,
            "wrong-key",
            base_url=cio_fake.url,
            on_failure=failures.append,
            batching=BatchConfig(flush_interval=0.01),
        ) as cio:
            await cio.track("u1", "e")
            await cio.flush()
            await cio.track("u1", "e2")
            await cio.flush()
            stats = cio.stats()

        assert stats.failed == 2
        assert stats.failed_by_reason == {"unauthorized": 2}
        assert [f.reason for f in failures] == [FailureReason.UNAUTHORIZED] * 2
        assert failures[0].status == 401
        assert failures[0].message == "Unauthorized request"
        assert cio_fake.events() == []

    async def test_use_after_close_raises(self, cio_fake: FakeCustomerIO) -> None:
        """
        A call after aclose() raises ClientClosedError; aclose() twice is fine.
        """
        cio = AsyncCustomerIO(cio_fake.site_id, cio_fake.api_key, base_url=cio_fake.url)
        await cio.track("u1", "e")
        await cio.aclose()
        await cio.aclose()

        with pytest.raises(ClientClosedError):
            await cio.track("u1", "e")
        assert cio_fake.counts.items_accepted == 1


class TestSecrets:
    async def test_repr_masks_credentials(self) -> None:
        """
        Neither the site id nor the key shows in the client's repr.
        """
        cio = AsyncCustomerIO("site-SECRET-1", "key-SECRET-2")

        text = repr(cio) + str(cio)
        assert "SECRET" not in text
        assert "***" in text
        await cio.aclose()

    async def test_logs_and_failures_never_show_credentials(
        self, cio_fake: FakeCustomerIO, caplog: pytest.LogCaptureFixture
    ) -> None:
        """
        At DEBUG, through failures and retries, no log line or failure holds a secret.
        """
        caplog.set_level(logging.DEBUG, logger="cio_async")
        failures: list[DeliveryFailure] = []
        cio_fake.script(Respond(503), Respond(503))
        async with AsyncCustomerIO(
            "site-SECRET-1",
            "key-SECRET-2",
            base_url=cio_fake.url,
            on_failure=failures.append,
            retry=cio_async.RetryPolicy(base_delay=0.01),
        ) as cio:
            await cio.track("u1", "e")
            await cio.flush()

        encoded = base64.b64encode(b"site-SECRET-1:key-SECRET-2").decode()
        everything = caplog.text + repr(failures) + str(failures)
        assert "SECRET" not in everything
        assert encoded not in everything
        assert "retry 1" in caplog.text

    def test_from_env_names_the_missing_variable(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        from_env() says which variable is missing, and which one is invalid.
        """
        monkeypatch.setenv("CUSTOMERIO_SITE_ID", "site")
        monkeypatch.delenv("CUSTOMERIO_TRACK_API_KEY", raising=False)
        with pytest.raises(ConfigurationError, match="CUSTOMERIO_TRACK_API_KEY"):
            AsyncCustomerIO.from_env()

        monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", "key")
        monkeypatch.setenv("CUSTOMERIO_REGION", "mars")
        with pytest.raises(ConfigurationError, match="CUSTOMERIO_REGION"):
            AsyncCustomerIO.from_env()

        monkeypatch.setenv("CUSTOMERIO_REGION", "EU")
        cio = AsyncCustomerIO.from_env()
        assert cio.region is Region.EU
        assert cio.base_url == "https://track-eu.customer.io"

    def test_empty_credentials_are_refused(self) -> None:
        """
        An empty site id is a configuration error that names the argument.
        """
        with pytest.raises(ConfigurationError, match="site_id"):
            AsyncCustomerIO("", "key")


class TestSession:
    async def test_a_session_passed_in_is_used_and_left_open(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        The client sends through the caller's session and never closes it.
        """
        async with aiohttp.ClientSession() as session:
            async with AsyncCustomerIO(
                cio_fake.site_id,
                cio_fake.api_key,
                base_url=cio_fake.url,
                session=session,
            ) as cio:
                await cio.track("u1", "e")
            assert not session.closed
        assert cio_fake.counts.items_accepted == 1

    async def test_own_session_is_created_lazily_and_closed(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        No session exists before the first request; aclose() closes ours.
        """
        cio = AsyncCustomerIO(cio_fake.site_id, cio_fake.api_key, base_url=cio_fake.url)
        assert cio._transport._session is None
        await cio.track("u1", "e")
        await cio.flush()
        session = cio._transport._session
        assert session is not None

        await cio.aclose()

        assert session.closed


class TestPeople:
    async def test_every_person_operation_has_the_documented_shape(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        Each person operation reaches the fake as the v2 item the reference shows.
        """
        company = ObjectRef("1", "acme")
        await cio_client.identify(
            Person(email="e@x.io"), {"plan": "pro"}, update_only=False
        )
        await cio_client.identify(
            "u1", {"plan": "free"}, update_only=True, timestamp=1_700_000_000
        )
        await cio_client.page("u1", "https://example.com/a", {"ref": "ad"})
        await cio_client.screen("u1", "Settings")
        await cio_client.add_device("u1", "tok-1", "ios", last_used=1_700_000_000)
        await cio_client.delete_device("u1", "tok-1")
        await cio_client.suppress("u2")
        await cio_client.unsuppress("u2")
        await cio_client.add_relationships(
            "u1", [Relationship(company, {"role": "admin"})]
        )
        await cio_client.delete_relationships("u1", [company])
        await cio_client.merge("u1", Person(email="old@x.io"))
        await cio_client.delete(Person(cio_id="abc"))
        await cio_client.flush()

        items = {(i["action"], i.get("name")): i for i in batch_items(cio_fake)}
        first, update = [i for i in batch_items(cio_fake) if i["action"] == "identify"]
        assert first["identifiers"] == {"email": "e@x.io"}
        assert first["attributes"] == {"plan": "pro"}
        assert update["attributes"] == {"plan": "free", "_update": True}
        assert update["timestamp"] == 1_700_000_000
        assert items[("page", "https://example.com/a")]["attributes"] == {"ref": "ad"}
        assert items[("screen", "Settings")]["identifiers"] == {"id": "u1"}
        assert items[("add_device", None)]["device"] == {
            "token": "tok-1",
            "platform": "ios",
            "last_used": 1_700_000_000,
        }
        assert items[("delete_device", None)]["device"] == {"token": "tok-1"}
        assert items[("add_relationships", None)]["cio_relationships"] == [
            {
                "identifiers": {"object_type_id": "1", "object_id": "acme"},
                "relationship_attributes": {"role": "admin"},
            }
        ]
        assert items[("merge", None)]["primary"] == {"id": "u1"}
        assert items[("merge", None)]["secondary"] == {"email": "old@x.io"}
        assert items[("delete", None)]["identifiers"] == {"cio_id": "abc"}
        assert cio_fake.counts.items_rejected == 0
        person = cio_fake.person(id="u1")
        assert person is not None
        assert [e.type for e in person.events] == ["page", "screen"]

    async def test_objects_and_delivery_metrics(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        Objects are identified, related to people and deleted; delivery metrics land.
        """
        acme = ObjectRef(1, "acme")
        await cio_client.identify("u1", {"name": "Ada"})
        await cio_client.identify_object(acme, {"seats": 40}, people=["u1"])
        await cio_client.add_object_relationships(
            acme, [Relationship("u2", {"role": "owner"})]
        )
        await cio_client.delete_object_relationships(acme, ["u2"])
        await cio_client.track_delivery("dlv-1", "opened", device_token="tok-9")
        await cio_client.flush()

        obj = cio_fake.objects[("1", "acme")]
        assert obj.attributes == {"seats": 40}
        person = cio_fake.person(id="u1")
        assert person is not None
        assert ("1", "acme") in person.relationships
        (metric,) = cio_fake.deliveries
        assert (metric.delivery_id, metric.metric) == ("dlv-1", "opened")

        await cio_client.delete_object(acme)
        await cio_client.flush()
        assert cio_fake.objects[("1", "acme")].deleted

    async def test_anonymous_events_go_through_v1(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        track_anonymous posts to /api/v1/events with an id and the anonymous id.
        """
        await cio_client.track_anonymous("anon-7", "visited", {"path": "/pricing"})
        await cio_client.flush()

        (request,) = cio_fake.requests_to("/api/v1/events")
        body = request.json()
        assert body["anonymous_id"] == "anon-7"
        assert body["name"] == "visited"
        assert body["data"] == {"path": "/pricing"}
        assert len(body["id"]) == 26
        assert [e.name for e in cio_fake.anonymous_events] == ["visited"]

    async def test_segments_split_into_requests_of_1000(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        2,500 people join a manual segment in three v1 requests of at most 1,000.
        """
        people = [f"p{i}" for i in range(2_500)]
        await cio_client.add_to_segment(7, people, wait=True)

        requests = cio_fake.requests_to("/api/v1/segments/7/add_customers")
        assert sorted(len(r.json()["ids"]) for r in requests) == [500, 1000, 1000]
        assert all(r.query["id_type"] == "id" for r in requests)

    @pytest.mark.parametrize(
        "person_id",
        ["a/b", "plus+sign", "100%", "ada@example.com", "with space", "Zoë Ångström"],
    )
    async def test_odd_ids_round_trip_on_v1_paths(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO, person_id: str
    ) -> None:
        """
        Ids with reserved characters reach the fake intact when an event uses v1.
        """
        big = {"blob": "x" * 40_000}

        await cio_client.track(person_id, "big_event", big, wait=True)

        (request,) = [r for r in cio_fake.requests if r.path.endswith("/events")]
        assert request.path == f"/api/v1/customers/{person_id}/events"
        stored = [e for e in cio_fake.events() if e.name == "big_event"]
        assert len(stored) == 1
        assert stored[0].data == big

    async def test_event_over_v1_limit_is_refused_at_the_call(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        Event data over 100,000 bytes is refused at the call, naming data.
        """
        with pytest.raises(PayloadTooLargeError) as caught:
            await cio_client.track("u1", "huge", {"blob": "x" * 100_001})

        assert caught.value.argument == "data"
        assert cio_client.stats().accepted == 0

    async def test_bad_values_are_refused_with_their_path(
        self, cio_client: AsyncCustomerIO
    ) -> None:
        """
        A NaN deep in event data is refused at the call with the field's path.
        """
        with pytest.raises(InvalidArgumentError) as caught:
            await cio_client.track(
                "u1", "e", {"items": [{"price": 1.0}, {"price": float("nan")}]}
            )

        assert caught.value.argument == "data.items[1].price"

    async def test_person_needs_exactly_one_identifier(self) -> None:
        """
        Person() with two identifiers, or none, is refused.
        """
        with pytest.raises(InvalidArgumentError):
            Person(id="a", email="b@c.d")
        with pytest.raises(InvalidArgumentError):
            Person()


@attrs.frozen
class SignedUp(Event, name="signed_up"):
    method: str
    referrer: str | None = None


@attrs.frozen
class Traits(Attributes):
    plan: str
    seats: int


class TestTypedEventsAndReceipts:
    async def test_typed_event_carries_its_name_and_fields(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        A typed event is sent under its declared name with its fields as data.
        """
        await cio_client.track("u1", SignedUp(method="google"))
        await cio_client.identify("u1", Traits(plan="pro", seats=3))
        await cio_client.flush()

        event, identify = batch_items(cio_fake)
        assert event["name"] == "signed_up"
        assert event["attributes"] == {"method": "google", "referrer": None}
        assert identify["attributes"] == {"plan": "pro", "seats": 3}

    async def test_wait_returns_after_delivery(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        identify(wait=True) returns only once the fake holds the person.
        """
        await cio_client.identify("u9", {"plan": "pro"}, wait=True)

        assert cio_fake.person(id="u9") is not None

    async def test_wait_raises_when_not_delivered(
        self, cio_client: AsyncCustomerIO, cio_fake: FakeCustomerIO
    ) -> None:
        """
        track(wait=True) raises DeliveryError carrying the failure when refused.
        """
        cio_fake.script(Respond(400, body=b'{"errors":[{"message":"bad"}]}'))

        with pytest.raises(DeliveryError) as caught:
            await cio_client.track("u1", "e", wait=True)

        assert caught.value.failure.reason is FailureReason.REJECTED
        assert caught.value.failure.status == 400


class TestCommandLine:
    async def _run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cio_async.cli",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def test_send_delivers_good_lines_and_names_bad_ones(
        self, cio_fake: FakeCustomerIO, tmp_path: Path
    ) -> None:
        """
        A 1,000-line file with 3 bad lines delivers 997 and names lines 10, 500, 999.
        """
        import json

        lines = []
        for n in range(1, 1001):
            if n == 10:
                lines.append("{not json")
            elif n == 500:
                lines.append(json.dumps({"action": "event", "id": "u1"}))
            elif n == 999:
                lines.append(
                    json.dumps(
                        {
                            "action": "event",
                            "id": "u1",
                            "name": "e",
                            "data": {"x": float("inf")},
                        }
                    ).replace("Infinity", "1e999")
                )
            elif n % 2:
                lines.append(
                    json.dumps(
                        {"action": "identify", "id": f"u{n}", "attributes": {"n": n}}
                    )
                )
            else:
                lines.append(
                    json.dumps(
                        {
                            "action": "event",
                            "id": f"u{n}",
                            "name": "e",
                            "data": {"n": n},
                        }
                    )
                )
        path = tmp_path / "ops.ndjson"
        path.write_text("\n".join(lines) + "\n")
        env = {
            "CUSTOMERIO_SITE_ID": cio_fake.site_id,
            "CUSTOMERIO_TRACK_API_KEY": cio_fake.api_key,
        }

        code, out, err = await self._run(
            "send", str(path), "--base-url", cio_fake.url, env=env
        )

        assert code == 1
        assert "997 delivered" in out
        assert "line 10:" in err
        assert "line 500:" in err
        assert "line 999:" in err
        assert cio_fake.counts.items_accepted == 997

    @pytest.mark.slow
    async def test_demo_delivers_everything(self) -> None:
        """
        cio-async demo exits 0 with delivered == accepted >= 55,000 and no failures.
        """
        code, out, err = await self._run("demo")

        assert code == 0, err
        assert "accepted      55,000" in out
        assert "delivered     55,000  (the fake counted 55,000)" in out
        assert "failed             0" in out


def test_all_lists_exactly_the_public_names() -> None:
    """
    __all__ is sorted and names every public attribute of the package, no more.
    """
    public = {
        name
        for name in dir(cio_async)
        if not name.startswith("_")
        and name not in {"annotations"}
        and not isinstance(getattr(cio_async, name), type(sys))
    }

    assert cio_async.__all__ == sorted(
        cio_async.__all__, key=lambda name: (name.startswith("_"), name)
    )
    assert set(cio_async.__all__) - {"__version__"} == public


class TestGarbageCollection:
    async def test_unclosed_client_warns_with_its_pending_count(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        A client collected while open warns ResourceWarning naming what was pending.
        """
        cio_fake.pause()
        cio = AsyncCustomerIO(
            cio_fake.site_id,
            cio_fake.api_key,
            base_url=cio_fake.url,
            batching=BatchConfig(flush_interval=0.01),
        )
        for i in range(3):
            await cio.track("u1", "e", {"i": i})
        batcher = cio._batcher
        holder = [cio]
        del cio

        with pytest.warns(ResourceWarning, match="3 operations were pending"):
            holder.clear()

        cio_fake.resume()
        await batcher.aclose(5)
        assert batcher.stats().delivered == 3


class TestMisuse:
    async def test_from_env_reads_the_track_url(
        self, monkeypatch: pytest.MonkeyPatch, cio_fake: FakeCustomerIO
    ) -> None:
        """
        CUSTOMERIO_TRACK_URL, as fake-server prints it, points from_env() there.
        """
        monkeypatch.setenv("CUSTOMERIO_SITE_ID", cio_fake.site_id)
        monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", cio_fake.api_key)
        monkeypatch.setenv("CUSTOMERIO_TRACK_URL", cio_fake.url)

        async with AsyncCustomerIO.from_env() as cio:
            await cio.track("u1", "e")

        assert cio.base_url == cio_fake.url
        assert cio_fake.counts.items_accepted == 1

    @pytest.mark.parametrize(
        "url",
        ["", "ftp://example.com", "127.0.0.1:8080", "http://", "http://u:pw@host"],
    )
    def test_bad_base_urls_are_refused(self, url: str) -> None:
        """
        A base_url that is no http(s) host root, or carries credentials, is refused.
        """
        with pytest.raises(ConfigurationError, match="base_url") as caught:
            AsyncCustomerIO("site", "key", base_url=url)

        assert "pw" not in str(caught.value)

    def test_settings_of_the_wrong_kind_are_refused(self) -> None:
        """
        A dict for batching or a number for on_failure fails at construction.
        """
        with pytest.raises(ConfigurationError, match="batching"):
            AsyncCustomerIO("s", "k", batching={"max_batch_items": 5})  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="on_failure"):
            AsyncCustomerIO("s", "k", on_failure=5)  # type: ignore[arg-type]

    async def test_a_lone_string_is_not_a_list_of_people(
        self, cio_client: AsyncCustomerIO
    ) -> None:
        """
        add_to_segment(7, "u1") is refused instead of adding "u" and "1".
        """
        with pytest.raises(TypeError, match="people"):
            await cio_client.add_to_segment(7, "u1")
        with pytest.raises(TypeError, match="objects"):
            await cio_client.add_relationships("u1", ObjectRef("1", "acme"))  # type: ignore[arg-type]

        assert cio_client.stats().accepted == 0

    async def test_typed_event_with_data_is_refused(
        self, cio_client: AsyncCustomerIO
    ) -> None:
        """
        Data passed next to a typed event is refused rather than silently dropped.
        """
        with pytest.raises(InvalidArgumentError, match="data"):
            await cio_client.track("u1", SignedUp(method="x"), {"b": 2})  # type: ignore[call-overload]

    async def test_merging_a_person_into_itself_is_refused(
        self, cio_client: AsyncCustomerIO
    ) -> None:
        """
        merge() with the same primary and secondary is refused at the call.
        """
        with pytest.raises(InvalidArgumentError, match="secondary"):
            await cio_client.merge("u1", "u1")

    async def test_flags_must_be_booleans(self, cio_client: AsyncCustomerIO) -> None:
        """
        wait="no" and update_only="false" are refused, not read as True.
        """
        with pytest.raises(TypeError, match="wait"):
            await cio_client.track("u1", "e", wait="no")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="update_only"):
            await cio_client.identify("u1", {}, update_only="false")  # type: ignore[arg-type]

    async def test_a_closed_client_cannot_be_entered_again(
        self, cio_fake: FakeCustomerIO
    ) -> None:
        """
        async with on a client that was closed raises ClientClosedError.
        """
        cio = AsyncCustomerIO(cio_fake.site_id, cio_fake.api_key, base_url=cio_fake.url)
        await cio.track("u1", "e")
        await cio.aclose()

        with pytest.raises(ClientClosedError):
            async with cio:
                pass

    @pytest.mark.parametrize(
        ("site_id", "api_key", "named"),
        [("s", "key\n", "api_key"), (" s", "k", "site_id"), ("a:b", "k", "site_id")],
    )
    def test_credentials_that_would_fail_every_request_are_refused(
        self, site_id: str, api_key: str, named: str
    ) -> None:
        """
        Whitespace around a credential, or ':' in the site id, fails at construction.
        """
        with pytest.raises(ConfigurationError, match=named) as caught:
            AsyncCustomerIO(site_id, api_key)

        assert "key\n" not in str(caught.value)

    def test_a_client_refuses_a_second_event_loop(self) -> None:
        """
        A client used from another loop than its first raises instead of queuing
        into a queue nobody serves.
        """
        import asyncio as aio

        cio = AsyncCustomerIO("site", "key", base_url="http://127.0.0.1:9")

        async def first() -> None:
            await cio.track("u1", "e")
            await cio._batcher.aclose(0.1)

        async def second() -> None:
            await cio.track("u1", "e")

        aio.run(first())
        with pytest.raises(ClientClosedError, match="another event loop"):
            aio.run(second())
