"""
A pytest plugin: fixtures for testing code that uses cio_async.

Installed with the package and loaded through the ``pytest11`` entry point, so
the fixtures are there without imports. They need pytest-asyncio, and each runs
in the test's own event loop (keep pytest-asyncio's default function scope):

``cio_fake``
    A running :class:`cio_async.testing.FakeCustomerIO` on 127.0.0.1.
``cio_client``
    An :class:`cio_async.AsyncCustomerIO` wired to ``cio_fake``, closed (and so
    drained) when the test ends. Failures are collected in
    ``cio_client_failures``.
``cio_env``
    Points the ``CUSTOMERIO_*`` environment variables at ``cio_fake`` for the
    test, so that code building its client from the environment
    (``AsyncCustomerIO.from_env``, ``cio_async.integrations.SharedClient``, the
    FastAPI and aiohttp integrations) talks to the fake. Yields the fake.
``cio_assert``
    A :class:`FakeAssertions` over ``cio_fake``: events of a person, the last
    identify, sent emails, and assertions that explain what was there instead.

Testing a function that takes a client::

    async def test_signup_tracks_event(cio_client, cio_assert):
        await signup(cio_client, "user-1")
        await cio_client.flush()
        cio_assert.assert_tracked("user-1", "signed_up", {"plan": "pro"})

Testing your whole app: request ``cio_env`` before the app starts, run the app's
lifespan inside the test, and send requests in process. Leaving the lifespan
drains the client, so everything sent is on the fake afterwards::

    import httpx
    from myapp import app  # FastAPI(lifespan=integrations.fastapi.lifespan(...))

    async def test_signup(cio_env, cio_assert):
        transport = httpx.ASGITransport(app=app)
        http = httpx.AsyncClient(transport=transport, base_url="http://app")
        async with app.router.lifespan_context(app), http:
            response = await http.post("/signup/user-1")
        assert response.status_code == 204
        cio_assert.assert_tracked("user-1", "signed_up")

For aiohttp apps, use aiohttp's ``TestServer`` and ``TestClient`` inside the
test (or pytest-aiohttp's ``aiohttp_client``), which run ``cleanup_ctx``. Code
that tracks in the background, where the test cannot flush, is checked with
``await cio_assert.wait_for_event(person, name)``.

Write these tests as ``async def`` (``asyncio_mode = "auto"`` in the pytest
settings, or ``@pytest.mark.asyncio`` on each): the fake serves from the
test's event loop, which does not run while a synchronous test blocks, so
Starlette's synchronous ``TestClient`` cannot reach it.

A :class:`cio_async.integrations.SharedClient` at module level of your app
works across tests, although each test runs in a new event loop: every loop gets
its own client, built from the environment as it is then, and a loop that ends
with its client open closes it on the way out. Close it yourself (leave the
lifespan, or ``await shared.aclose()``) so that nothing is left pending.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any
from urllib.parse import unquote

import pytest

from cio_async import AsyncCustomerIO, BatchConfig, DeliveryFailure, Person
from cio_async.testing import FakeCustomerIO, FakeEvent, FakePerson, RecordedRequest

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixtures need it; say so on use
    pytest_asyncio = None  # type: ignore[assignment]

__all__ = ["FakeAssertions", "PersonLike"]

#: A person as the helpers take one: a str id, or a :class:`cio_async.Person`.
PersonLike = str | Person

_MISSING = object()
_CUSTOMER_PATH = "/api/v1/customers/"


class FakeAssertions:
    """
    Questions and assertions about what a :class:`FakeCustomerIO` received.

    The ``assert_*`` methods raise ``AssertionError`` with what the fake holds
    instead, so a failing test says what went wrong. They read what has
    arrived: flush or close the client first, or use :meth:`wait_for_event`.

    Args:
        fake: The fake to read.
    """

    def __init__(self, fake: FakeCustomerIO) -> None:
        self.fake = fake

    def __repr__(self) -> str:
        return f"<FakeAssertions {self.fake!r}>"

    # -- questions -------------------------------------------------------------

    def person(self, person: PersonLike) -> FakePerson | None:
        """
        The fake's record of a person, or None if it never heard of them.
        """
        id_type, value = _identifier(person)
        return self.fake.person(**{id_type: value})

    def events(self, person: PersonLike, name: str | None = None) -> list[FakeEvent]:
        """
        A person's stored events, page and screen views, oldest first.

        Repeats of an event id are stored once, as Customer.io does.

        Args:
            person: Whose events.
            name: Only events of this name (for page views, the URL).
        """
        found = self.person(person)
        if found is None:
            return []

        return [e for e in found.events if name is None or e.name == name]

    def last_identify(self, person: PersonLike) -> dict[str, Any] | None:
        """
        The attributes of the last identify sent for a person, as sent.

        Unlike the person's merged attributes, this is one call's attributes:
        what the code under test sent last. Reads the recorded requests (v2
        batches and entities, v1 ``PUT /customers``) that were answered 2xx.

        Returns:
            The attributes (``update_only`` shows as ``"_update": True``), or
            None if no identify addressed this person.
        """
        wanted = self._identifiers(person)
        last: dict[str, Any] | None = None
        for attributes, identifiers in self._identifies():
            if identifiers & wanted:
                last = attributes

        return last

    def sent_emails(self, person: PersonLike | None = None, **match: Any) -> list[Any]:
        """
        Transactional emails the fake's App API accepted, oldest first.

        Args:
            person: Only emails for this person (by the identifiers sent).
            **match: Values the send must have, such as ``to=...`` or
                ``transactional_message_id=...``. Each is looked up as an
                attribute of the recorded send (``delivery_id``), then as a key
                of its request body (``to``, ``subject``, ``message_data``).

        Raises:
            RuntimeError: This fake records no App API sends (``fake.sends``).
        """
        sends: Iterable[Any] | None = getattr(self.fake, "sends", None)
        if sends is None:
            message = (
                "this FakeCustomerIO records no App API sends (fake.sends); "
                "sent_emails() needs a cio_async with the App API fake"
            )
            raise RuntimeError(message)

        wanted = None if person is None else _identifier(person)
        return [
            send
            for send in sends
            if getattr(send, "kind", "email") == "email"
            and (wanted is None or _sent_to(send, wanted))
            and _matches(send, match)
        ]

    # -- assertions ------------------------------------------------------------

    def assert_tracked(
        self,
        person: PersonLike,
        name: str,
        data: Mapping[str, Any] | None = None,
        *,
        times: int | None = None,
    ) -> FakeEvent:
        """
        Assert that a person has an event of this name (and data).

        Args:
            person: Whose event.
            name: The event name.
            data: Keys the event's data must hold with these values; other
                keys may be there too.
            times: Exactly this many matching events, when given.

        Returns:
            The last matching event.
        """
        events = self.events(person, name)
        matching = [e for e in events if _contains(e.data, data or {})]
        who = _describe(person)

        if not matching:
            if events:
                detail = f"its data was {[e.data for e in events]!r}"
            else:
                names = [e.name for e in self.events(person)]
                detail = f"their events are {names!r}"
            message = f"no event {name!r} for {who} with data {data!r}; {detail}"
            raise AssertionError(message)
        if times is not None and len(matching) != times:
            message = f"{len(matching)} events {name!r} for {who}, expected {times}"
            raise AssertionError(message)

        return matching[-1]

    def assert_not_tracked(self, person: PersonLike, name: str) -> None:
        """
        Assert that a person has no event of this name.
        """
        events = self.events(person, name)
        if events:
            message = f"{len(events)} events {name!r} for {_describe(person)}"
            raise AssertionError(message)

    def assert_identified(
        self, person: PersonLike, attributes: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """
        Assert that the last identify of a person carried these attributes.

        Args:
            person: Who.
            attributes: Keys the last identify must hold with these values;
                other keys may be there too.

        Returns:
            The last identify's attributes.
        """
        last = self.last_identify(person)
        who = _describe(person)
        if last is None:
            message = f"no identify for {who}"
            raise AssertionError(message)
        if not _contains(last, attributes or {}):
            message = f"the last identify of {who} was {last!r}, not {attributes!r}"
            raise AssertionError(message)

        return last

    def assert_email_sent(self, person: PersonLike | None = None, **match: Any) -> Any:
        """
        Assert that exactly one sent email matches, as :meth:`sent_emails` picks.

        Returns:
            That send, as the fake recorded it.

        Raises:
            RuntimeError: This fake records no App API sends.
        """
        found = self.sent_emails(person, **match)
        if len(found) != 1:
            total = len(self.sent_emails())
            who = "" if person is None else f" for {_describe(person)}"
            message = (
                f"{len(found)} sent emails{who} match {match!r} (of {total} sent); "
                "expected exactly 1"
            )
            raise AssertionError(message)

        return found[0]

    async def wait_for_event(
        self,
        person: PersonLike,
        name: str,
        data: Mapping[str, Any] | None = None,
        *,
        timeout: float = 5.0,
    ) -> FakeEvent:
        """
        Wait until a person has an event of this name (and data), and return it.

        For code that tracks in the background, where the test cannot flush.

        Raises:
            TimeoutError: It did not arrive within ``timeout`` seconds.
        """

        def arrived(_: FakeCustomerIO) -> bool:
            return any(_contains(e.data, data or {}) for e in self.events(person, name))

        await self.fake.wait_for(arrived, timeout)

        return self.assert_tracked(person, name, data)

    # -- reading requests ------------------------------------------------------

    def _identifiers(self, person: PersonLike) -> set[tuple[str, str]]:
        wanted = {_identifier(person)}
        found = self.person(person)
        if found is not None:
            wanted.update(found.identifiers.items())

        return wanted

    def _identifies(self) -> Iterable[tuple[dict[str, Any], set[tuple[str, str]]]]:
        for request in self.fake.requests:
            if request.status is None or not 200 <= request.status < 300:
                continue
            yield from _identifies_in(request)


def _identifies_in(
    request: RecordedRequest,
) -> Iterable[tuple[dict[str, Any], set[tuple[str, str]]]]:
    try:
        body = request.json() if request.body else {}
    except ValueError:
        return

    if request.route in ("/api/v2/batch", "/api/v2/entity"):
        items = body.get("batch", []) if request.route == "/api/v2/batch" else [body]
        for item in items:
            if (
                isinstance(item, dict)
                and item.get("type") == "person"
                and item.get("action") == "identify"
                and isinstance(item.get("identifiers"), dict)
            ):
                identifiers = {(k, str(v)) for k, v in item["identifiers"].items()}
                yield dict(item.get("attributes") or {}), identifiers
    elif (
        request.method == "PUT"
        and request.path.startswith(_CUSTOMER_PATH)
        and "/" not in request.path[len(_CUSTOMER_PATH) :]
        and isinstance(body, dict)
    ):
        yield dict(body), {_v1_identifier(request.path[len(_CUSTOMER_PATH) :])}


def _v1_identifier(raw: str) -> tuple[str, str]:
    # Track v1 infers an identifier's kind from its shape.
    value = unquote(raw)
    if value.startswith("cio_"):
        return "cio_id", value[4:]
    if "@" in value:
        return "email", value

    return "id", value


def _identifier(person: PersonLike) -> tuple[str, str]:
    if isinstance(person, str):
        return "id", person
    ((id_type, value),) = person.identifiers.items()

    return id_type, value


def _describe(person: PersonLike) -> str:
    id_type, value = _identifier(person)
    return f"{id_type}={value!r}"


def _contains(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> bool:
    return all(actual.get(key, _MISSING) == value for key, value in expected.items())


def _field(record: Any, key: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(key, _MISSING)
    found = getattr(record, key, _MISSING)
    if found is _MISSING:
        body = getattr(record, "body", None)
        if isinstance(body, Mapping):
            found = body.get(key, _MISSING)

    return found


def _matches(record: Any, match: Mapping[str, Any]) -> bool:
    return all(_field(record, key) == value for key, value in match.items())


def _sent_to(record: Any, wanted: tuple[str, str]) -> bool:
    identifiers = _field(record, "identifiers")
    if not isinstance(identifiers, Mapping):
        return False
    id_type, value = wanted

    return str(identifiers.get(id_type)) == value


if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def cio_fake() -> AsyncIterator[FakeCustomerIO]:
        """
        A running fake Customer.io, stopped after the test.
        """
        async with FakeCustomerIO() as fake:
            yield fake

    @pytest.fixture
    def cio_client_failures() -> list[DeliveryFailure]:
        """
        The failures ``cio_client`` handed to its failure handler.
        """
        return []

    @pytest_asyncio.fixture
    async def cio_client(
        cio_fake: FakeCustomerIO, cio_client_failures: list[DeliveryFailure]
    ) -> AsyncIterator[AsyncCustomerIO]:
        """
        A client wired to ``cio_fake`` that flushes quickly; closed after the test.
        """
        client = AsyncCustomerIO(
            cio_fake.site_id,
            cio_fake.api_key,
            base_url=cio_fake.url,
            batching=BatchConfig(flush_interval=0.05),
            on_failure=cio_client_failures.append,
        )
        async with client:
            yield client

    @pytest.fixture
    def cio_env(
        cio_fake: FakeCustomerIO, monkeypatch: pytest.MonkeyPatch
    ) -> FakeCustomerIO:
        """
        The ``CUSTOMERIO_*`` variables (Track and App API) point at ``cio_fake``.
        """
        monkeypatch.setenv("CUSTOMERIO_SITE_ID", cio_fake.site_id)
        monkeypatch.setenv("CUSTOMERIO_TRACK_API_KEY", cio_fake.api_key)
        monkeypatch.setenv("CUSTOMERIO_TRACK_URL", cio_fake.url)
        monkeypatch.setenv("CUSTOMERIO_REGION", cio_fake.region)
        monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", cio_fake.app_api_key)
        monkeypatch.setenv("CUSTOMERIO_APP_URL", cio_fake.url)
        return cio_fake

    @pytest.fixture
    def cio_assert(cio_fake: FakeCustomerIO) -> FakeAssertions:
        """
        Assertions about what ``cio_fake`` received.
        """
        return FakeAssertions(cio_fake)
