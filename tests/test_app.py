"""
The App API client end to end: sends, broadcasts, lookups, safe retries, errors.

Every test talks real HTTP over loopback to the fake Customer.io, which serves
the App API on the same port as the Track API.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

import cio_async
from cio_async import (
    AppRateLimits,
    AsyncAPIClient,
    AsyncCustomerIO,
    AuthenticationError,
    BatchConfig,
    ClientClosedError,
    ConfigurationError,
    CustomerAttributes,
    CustomerIdentifiers,
    InvalidArgumentError,
    InvalidTypeError,
    MessageMayHaveBeenSentError,
    NotFoundError,
    PayloadTooLargeError,
    Person,
    RateLimitedError,
    Region,
    RequestRejectedError,
    RetryPolicy,
    Segment,
    SendEmailRequest,
    SendInAppRequest,
    SendInboxMessageRequest,
    SendPushRequest,
    SendResult,
    SendSMSRequest,
    SendWhatsAppRequest,
    ServerError,
    Timeouts,
    TransportError,
    WrongRegionError,
)
from cio_async.testing import Delay, FakeCustomerIO, Reset, Respond, StoreThenReset

pytestmark = pytest.mark.timeout(20)

#: Retries that finish in milliseconds unless the server sends Retry-After.
FAST_RETRY = RetryPolicy(
    max_attempts=4, base_delay=0.01, max_delay=0.05, deadline=10.0, max_retry_after=5.0
)
#: No client-side spacing, so tests that do not test it run at full speed.
NO_LIMITS = AppRateLimits(
    sends_per_second=None, requests_per_second=None, broadcast_interval=None
)

MakeApi = Callable[..., AsyncAPIClient]


@pytest_asyncio.fixture
async def make_api(fake: FakeCustomerIO) -> AsyncIterator[MakeApi]:
    """
    Build App API clients wired to ``fake``; every one is closed after the test.
    """
    clients: list[AsyncAPIClient] = []

    def make(**kwargs: Any) -> AsyncAPIClient:
        kwargs.setdefault("base_url", fake.url)
        kwargs.setdefault("retry", FAST_RETRY)
        kwargs.setdefault("rate_limits", NO_LIMITS)
        client = AsyncAPIClient(kwargs.pop("app_api_key", fake.app_api_key), **kwargs)
        clients.append(client)
        return client

    yield make

    for client in clients:
        await client.aclose()


@pytest.fixture
def api(make_api: MakeApi) -> AsyncAPIClient:
    """
    A client with the default test settings.
    """
    return make_api()


def email(**changes: Any) -> SendEmailRequest:
    fields: dict[str, Any] = {
        "transactional_message_id": 7,
        "identifiers": "u1",
        "to": "ada@example.com",
    }
    fields.update(changes)
    return SendEmailRequest(**fields)


def closed_port() -> int:
    """
    A loopback port nothing listens on: connecting to it is refused.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# Each kind: the client method, a request, its endpoint, and the exact body.
SEND_AT = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
KINDS = [
    (
        "send_email",
        lambda: SendEmailRequest(
            transactional_message_id=7,
            identifiers=Person(email="ada@example.com"),
            to="Ada <ada@example.com>",
            from_="support@example.com",
            reply_to="help@example.com",
            bcc="audit@example.com",
            subject="Reset your password",
            body="<p>Hi</p>",
            headers={"X-Campaign": "reset"},
            tracked=False,
            language="fr",
            disable_message_retention=True,
            send_to_unsubscribed=False,
            queue_draft=False,
            message_data={"token": "abc"},
        ),
        "email",
        {
            "transactional_message_id": 7,
            "identifiers": {"email": "ada@example.com"},
            "message_data": {"token": "abc"},
            "disable_message_retention": True,
            "queue_draft": False,
            "language": "fr",
            "to": "Ada <ada@example.com>",
            "from": "support@example.com",
            "reply_to": "help@example.com",
            "bcc": "audit@example.com",
            "subject": "Reset your password",
            "body": "<p>Hi</p>",
            "headers": {"X-Campaign": "reset"},
            "tracked": False,
            "send_to_unsubscribed": False,
        },
    ),
    (
        "send_push",
        lambda: SendPushRequest(
            transactional_message_id="order_shipped",
            identifiers="u1",
            to="last_used",
            title="Shipped",
            message="Your order is on its way",
            link="app://orders/9",
            custom_data={"order": 9},
        ),
        "push",
        {
            "transactional_message_id": "order_shipped",
            "identifiers": {"id": "u1"},
            "to": "last_used",
            "title": "Shipped",
            "message": "Your order is on its way",
            "link": "app://orders/9",
            "custom_data": {"order": 9},
        },
    ),
    (
        "send_sms",
        lambda: SendSMSRequest(
            transactional_message_id=8,
            identifiers=Person(cio_id="a0000001"),
            to="+15005550006",
            from_="+15005550001",
            send_at=SEND_AT,
        ),
        "sms",
        {
            "transactional_message_id": 8,
            "identifiers": {"cio_id": "a0000001"},
            "send_at": int(SEND_AT.timestamp()),
            "to": "+15005550006",
            "from": "+15005550001",
        },
    ),
    (
        "send_whatsapp",
        lambda: SendWhatsAppRequest(
            transactional_message_id=9,
            identifiers="u1",
            to="+15005550006",
            message_data={"code": 1234},
        ),
        "whatsapp",
        {
            "transactional_message_id": 9,
            "identifiers": {"id": "u1"},
            "message_data": {"code": 1234},
            "to": "+15005550006",
        },
    ),
    (
        "send_inbox_message",
        lambda: SendInboxMessageRequest(
            transactional_message_id=10, identifiers="u1", language="de"
        ),
        "inbox_message",
        {"transactional_message_id": 10, "identifiers": {"id": "u1"}, "language": "de"},
    ),
    (
        "send_in_app",
        lambda: SendInAppRequest(
            transactional_message_id=11, identifiers="u1", queue_draft=True
        ),
        "in_app",
        {
            "transactional_message_id": 11,
            "identifiers": {"id": "u1"},
            "queue_draft": True,
        },
    ),
]


class TestSends:
    @pytest.mark.parametrize(
        ("method", "build", "kind", "expected"),
        KINDS,
        ids=[entry[2] for entry in KINDS],
    )
    async def test_each_kind_reaches_its_endpoint_with_the_documented_body(
        self,
        api: AsyncAPIClient,
        fake: FakeCustomerIO,
        method: str,
        build: Callable[[], Any],
        kind: str,
        expected: dict[str, Any],
    ) -> None:
        """
        Each send kind posts its documented body to /v1/send/{kind} and returns
        the typed delivery.
        """
        result = await getattr(api, method)(build())

        (request,) = fake.requests_to(f"/v1/send/{kind}", method="POST")
        assert request.headers["Authorization"] == f"Bearer {fake.app_api_key}"
        assert request.headers["Content-Type"] == "application/json"
        assert request.json() == expected
        (sent,) = fake.sends
        assert sent.kind == kind
        assert isinstance(result, SendResult)
        assert result.delivery_id == sent.delivery_id
        assert result.queued_at == sent.queued_at

    async def test_message_data_is_coerced(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        Datetimes and Decimals in message_data are sent as unix seconds and numbers.
        """
        moment = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

        await api.send_email(
            email(
                message_data={"at": moment, "total": Decimal("9.50"), "n": Decimal(3)}
            )
        )

        (sent,) = fake.sends
        assert sent.body["message_data"] == {
            "at": int(moment.timestamp()),
            "total": 9.5,
            "n": 3,
        }

    async def test_bad_message_data_is_refused_at_the_call_with_its_path(
        self, fake: FakeCustomerIO
    ) -> None:
        """
        A NaN deep in message_data is refused when the request is built, naming
        its path and not its value.
        """
        with pytest.raises(InvalidArgumentError) as caught:
            email(message_data={"items": [{"price": 1}, {"price": float("nan")}]})

        assert caught.value.argument == "message_data.items[1].price"
        assert fake.requests == []

    @pytest.mark.parametrize(
        ("changes", "argument", "error"),
        [
            (
                {"identifiers": Person(phone="+15005550006")},
                "identifiers",
                InvalidArgumentError,
            ),
            ({"identifiers": 42}, "identifiers", InvalidArgumentError),
            (
                {"transactional_message_id": 0},
                "transactional_message_id",
                InvalidArgumentError,
            ),
            (
                {"transactional_message_id": True},
                "transactional_message_id",
                InvalidTypeError,
            ),
            ({"to": ""}, "to", InvalidArgumentError),
            ({"tracked": "yes"}, "tracked", InvalidTypeError),
            (
                {"headers": {"X-A": "one\r\ntwo"}},
                'headers["X-A"]',
                InvalidArgumentError,
            ),
            (
                {"send_at": datetime.now(timezone.utc) + timedelta(days=91)},
                "send_at",
                InvalidArgumentError,
            ),
        ],
        ids=[
            "phone",
            "int-id",
            "zero-id",
            "bool-id",
            "empty-to",
            "tracked",
            "header",
            "send-at",
        ],
    )
    def test_invalid_fields_are_refused_when_built(
        self, changes: dict[str, Any], argument: str, error: type[Exception]
    ) -> None:
        """
        A field that breaks a documented rule is refused at construction, named.
        """
        with pytest.raises(error) as caught:
            email(**changes)

        assert getattr(caught.value, "argument", None) == argument

    async def test_a_request_of_the_wrong_kind_is_refused(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        Passing a push request to send_email is a type error, and nothing is sent.
        """
        push = SendPushRequest(transactional_message_id=1, identifiers="u1")

        with pytest.raises(InvalidTypeError, match="SendEmailRequest"):
            await api.send_email(push)  # type: ignore[arg-type]

        assert fake.requests == []

    async def test_a_send_creates_the_person(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        The fake creates the person a message is for, as Customer.io does.
        """
        await api.send_email(email(identifiers=Person(email="new@example.com")))

        assert fake.person(email="new@example.com") is not None


class TestAttachments:
    async def test_two_attachments_arrive_base64_encoded(
        self, api: AsyncAPIClient, fake: FakeCustomerIO, tmp_path: Path
    ) -> None:
        """
        One attachment given as bytes and one as a path both arrive as base64.
        """
        pdf = tmp_path / "invoice.pdf"
        pdf.write_bytes(b"%PDF-1.4 \x00\xff binary")

        await api.send_email(
            email(attachments={"notes.txt": b"hello\n", "invoice.pdf": pdf})
        )

        (sent,) = fake.sends
        assert sent.body["attachments"] == {
            "notes.txt": base64.b64encode(b"hello\n").decode(),
            "invoice.pdf": base64.b64encode(pdf.read_bytes()).decode(),
        }

    async def test_over_two_megabytes_is_refused_before_any_request(
        self, api: AsyncAPIClient, fake: FakeCustomerIO, tmp_path: Path
    ) -> None:
        """
        2.1 MB of attachments (bytes and a file) is refused before any request.
        """
        big = tmp_path / "big.bin"
        big.write_bytes(b"\x00" * 1_100_000)
        request = email(attachments={"a.bin": b"\x00" * 1_000_000, "big.bin": big})

        with pytest.raises(PayloadTooLargeError) as caught:
            await api.send_email(request)

        assert caught.value.argument == "attachments"
        assert caught.value.limit == 2_000_000
        assert fake.requests == []

    async def test_the_limit_counts_the_base64_text(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        1.6 MB of raw bytes is refused, since its base64 is over 2,000,000 bytes.
        """
        with pytest.raises(PayloadTooLargeError) as caught:
            await api.send_email(email(attachments={"a.bin": b"\x00" * 1_600_000}))

        assert caught.value.size == 4 * (1_600_000 // 3 + 1)
        assert fake.requests == []

    def test_a_str_attachment_is_refused_as_ambiguous(self) -> None:
        """
        A str could be content or a path, so it is refused with a hint.
        """
        with pytest.raises(InvalidTypeError, match=r"pathlib\.Path"):
            email(attachments={"a.txt": "hello"})

    async def test_an_unreadable_file_names_the_attachment(
        self, api: AsyncAPIClient, fake: FakeCustomerIO, tmp_path: Path
    ) -> None:
        """
        A missing file is refused naming the attachment, before any request.
        """
        request = email(attachments={"gone.pdf": tmp_path / "gone.pdf"})

        with pytest.raises(InvalidArgumentError) as caught:
            await api.send_email(request)

        assert caught.value.argument == 'attachments["gone.pdf"]'
        assert fake.requests == []


class TestSafeRetries:
    async def test_429_waits_retry_after_and_is_retried_once(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A 429 with Retry-After: 1 is waited out, then the send is retried once.
        """
        fake.script(Respond(429, headers={"Retry-After": "1"}), path="/v1/send/email")
        started = time.monotonic()

        result = await api.send_email(email())

        elapsed = time.monotonic() - started
        first, second = fake.requests_to("/v1/send/email")
        assert (first.status, second.status) == (429, 200)
        assert second.arrived_at - first.arrived_at >= 0.95
        assert elapsed >= 0.95
        assert [s.delivery_id for s in fake.sends] == [result.delivery_id]

    async def test_503_is_retried(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A 503 means the send was not accepted, so it is retried.
        """
        fake.script(Respond(503), path="/v1/send/email")

        await api.send_email(email())

        assert [r.status for r in fake.requests_to("/v1/send/email")] == [503, 200]
        assert len(fake.sends) == 1

    @pytest.mark.parametrize(
        "fault", [StoreThenReset(), Reset()], ids=["stored", "not"]
    )
    async def test_a_reset_after_writing_is_not_retried(
        self, api: AsyncAPIClient, fake: FakeCustomerIO, fault: Any
    ) -> None:
        """
        A reset after the request was written raises "may have been sent" and
        exactly one request reaches Customer.io.
        """
        fake.script(fault, api="app")

        with pytest.raises(MessageMayHaveBeenSentError, match="may have been sent"):
            await api.send_email(email())

        assert len(fake.requests_to("/v1/send/email")) == 1
        assert len(fake.sends) == (1 if isinstance(fault, StoreThenReset) else 0)

    async def test_a_timeout_is_not_retried(
        self, make_api: MakeApi, fake: FakeCustomerIO
    ) -> None:
        """
        A send that times out raises "may have been sent" after one request.
        """
        api = make_api(timeouts=Timeouts(request=0.2))
        fake.script(Delay(2.0), path="/v1/send/sms")
        request = SendSMSRequest(transactional_message_id=1, identifiers="u1")

        with pytest.raises(MessageMayHaveBeenSentError) as caught:
            await api.send_sms(request)

        assert isinstance(caught.value.__cause__, TimeoutError)
        assert len(fake.requests_to("/v1/send/sms")) == 1

    @pytest.mark.parametrize("status", [500, 502, 504])
    async def test_other_5xx_are_not_retried(
        self, api: AsyncAPIClient, fake: FakeCustomerIO, status: int
    ) -> None:
        """
        A 500, 502 or 504 may follow an accepted send: one request, and the error
        says the message may have been sent.
        """
        fake.script(Respond(status), path="/v1/send/email")

        with pytest.raises(ServerError, match="may have been sent") as caught:
            await api.send_email(email())

        assert caught.value.status == status
        assert len(fake.requests_to("/v1/send/email")) == 1

    async def test_connection_refused_is_retried_then_raised(
        self, make_api: MakeApi, caplog: pytest.LogCaptureFixture
    ) -> None:
        """
        A refused connection carried nothing, so the send is retried, then
        TransportError (not "may have been sent") is raised.
        """
        caplog.set_level(logging.WARNING, logger="cio_async")
        api = make_api(base_url=f"http://127.0.0.1:{closed_port()}")

        with pytest.raises(TransportError) as caught:
            await api.send_email(email())

        assert not isinstance(caught.value, MessageMayHaveBeenSentError)
        assert caught.value.request_sent is False
        retries = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(retries) == FAST_RETRY.max_attempts - 1
        assert all("failed (TransportError)" in r.getMessage() for r in retries)

    async def test_reads_retry_on_any_retryable_error(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A lookup is retried after a 500 and a reset, since reading twice is harmless.
        """
        fake.script(Respond(500), Reset(), path="/v1/customers")

        assert await api.get_customers_by_email("nobody@example.com") == []

        assert [r.status for r in fake.requests_to("/v1/customers")] == [500, None, 200]

    async def test_broadcasts_are_retried_as_safely_as_sends(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A broadcast trigger reset after writing is not retried either.
        """
        fake.script(Reset(), path="/v1/campaigns/3/triggers")

        with pytest.raises(MessageMayHaveBeenSentError):
            await api.trigger_broadcast(3, ids=["u1"])

        assert len(fake.requests_to("/v1/campaigns/3/triggers")) == 1


class TestBroadcasts:
    async def test_a_trigger_sends_data_and_one_audience(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A trigger posts data, the audience and its flag, and returns the trigger id.
        """
        trigger_id = await api.trigger_broadcast(
            3, data={"sale": "spring"}, ids=["u1", "u2"], id_ignore_missing=True
        )

        (request,) = fake.requests_to("/v1/campaigns/3/triggers", method="POST")
        assert request.json() == {
            "data": {"sale": "spring"},
            "ids": ["u1", "u2"],
            "id_ignore_missing": True,
        }
        (trigger,) = fake.app.broadcasts
        assert (trigger.broadcast_id, trigger.id) == (3, trigger_id)

    async def test_no_audience_uses_the_broadcasts_own(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        Without an audience only data is sent; with no data the body is empty.
        """
        await api.trigger_broadcast(4)

        (request,) = fake.requests_to("/v1/campaigns/4/triggers")
        assert request.json() == {}

    async def test_per_user_data_and_a_filter_are_sent_as_given(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        per_user_data entries and a recipients filter keep their documented shape.
        """
        await api.trigger_broadcast(
            5,
            per_user_data=[{"id": "u1", "data": {"n": 1}}, {"email": "b@example.com"}],
        )
        await api.trigger_broadcast(6, recipients={"segment": {"id": 7}})

        first, second = (b.body for b in fake.app.broadcasts)
        assert first == {
            "per_user_data": [
                {"id": "u1", "data": {"n": 1}},
                {"email": "b@example.com"},
            ]
        }
        assert second == {"recipients": {"segment": {"id": 7}}}

    @pytest.mark.parametrize(
        ("kwargs", "argument", "error"),
        [
            (
                {"ids": ["u1"], "emails": ["a@example.com"]},
                "ids, emails",
                InvalidArgumentError,
            ),
            ({"ids": [f"u{i}" for i in range(10_001)]}, "ids", PayloadTooLargeError),
            ({"emails": []}, "emails", InvalidArgumentError),
            ({"recipients": {}}, "recipients", InvalidArgumentError),
            ({"ids": "u1"}, "ids", InvalidTypeError),
            ({"data": {"blob": "x" * 50_001}}, "data", PayloadTooLargeError),
            (
                {"email_ignore_missing": True},
                "email_ignore_missing",
                InvalidArgumentError,
            ),
            (
                {"per_user_data": [{"data": {}}]},
                "per_user_data[0]",
                InvalidArgumentError,
            ),
            ({"data_file_url": "ftp://x"}, "data_file_url", InvalidArgumentError),
        ],
        ids=[
            "two-audiences",
            "10001-ids",
            "empty-list",
            "empty-filter",
            "str-ids",
            "big-data",
            "flag-alone",
            "no-identifier",
            "bad-url",
        ],
    )
    async def test_bad_triggers_are_refused_at_the_call(
        self,
        api: AsyncAPIClient,
        fake: FakeCustomerIO,
        kwargs: dict[str, Any],
        argument: str,
        error: type[InvalidArgumentError | InvalidTypeError],
    ) -> None:
        """
        Two audiences, 10,001 ids, an empty filter and the like are refused
        before any request, naming the argument.
        """
        with pytest.raises(error) as caught:
            await api.trigger_broadcast(3, **kwargs)

        assert getattr(caught.value, "argument", None) == argument
        assert fake.requests == []

    async def test_a_422_carries_the_servers_message(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A 422 from Customer.io raises RequestRejectedError with its message.
        """
        body = {"meta": {"error": "empty recipients filter is not valid"}}
        fake.script(Respond(422, body=body), api="app")

        with pytest.raises(RequestRejectedError) as caught:
            await api.trigger_broadcast(3, recipients={"and": [{"segment": {"id": 1}}]})

        assert caught.value.status == 422
        assert caught.value.server_message == "empty recipients filter is not valid"


class TestLookups:
    @pytest_asyncio.fixture
    async def ada(self, fake: FakeCustomerIO) -> None:
        """
        Ada, identified through the Track client, in manual segment 12.
        """
        quick = BatchConfig(flush_interval=0.01, flush_jitter=0.0)
        async with AsyncCustomerIO(
            fake.site_id, fake.api_key, base_url=fake.url, batching=quick
        ) as cio:
            await cio.identify(
                "ada", {"email": "ada@example.com", "plan": "pro"}, wait=True
            )
            await cio.add_to_segment(12, ["ada"], wait=True)

    @pytest.mark.usefixtures("ada")
    async def test_customers_by_email(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A lookup by email returns the typed identifiers of the matching people.
        """
        person = fake.person(id="ada")
        assert person is not None

        found = await api.get_customers_by_email("ada@example.com")

        assert found == [
            CustomerIdentifiers(cio_id=person.cio_id, id="ada", email="ada@example.com")
        ]
        (request,) = fake.requests_to("/v1/customers")
        assert request.query == {"email": "ada@example.com"}

    @pytest.mark.usefixtures("ada")
    async def test_attributes_by_id_email_and_cio_id(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A person's attributes are found by any identifier, sent as id_type.
        """
        person = fake.person(id="ada")
        assert person is not None

        by_id = await api.get_customer_attributes("ada")
        by_email = await api.get_customer_attributes(Person(email="ada@example.com"))
        by_cio = await api.get_customer_attributes(Person(cio_id=person.cio_id))

        assert isinstance(by_id, CustomerAttributes)
        assert by_id == by_email == by_cio
        assert by_id.attributes["plan"] == "pro"
        assert by_id.identifiers.email == "ada@example.com"
        assert by_id.unsubscribed is False
        id_types = [r.query["id_type"] for r in fake.requests if r.method == "GET"]
        assert id_types == ["id", "email", "cio_id"]

    @pytest.mark.usefixtures("ada")
    async def test_segments(self, api: AsyncAPIClient) -> None:
        """
        A person's segments come back typed.
        """
        segments = await api.get_customer_segments("ada")

        assert segments == [Segment(id=12, name="Segment 12", type="manual")]

    async def test_an_unknown_person_is_not_found(self, api: AsyncAPIClient) -> None:
        """
        Reading an unknown person raises NotFoundError, and 404 is not retried.
        """
        with pytest.raises(NotFoundError) as caught:
            await api.get_customer_attributes("nobody")

        assert caught.value.status == 404

    async def test_an_answer_in_another_shape_is_a_server_error(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A 200 whose body is not the documented shape raises ServerError.
        """
        fake.script(Respond(200, body={"unexpected": True}), path="/v1/customers")

        with pytest.raises(ServerError, match="documented shape"):
            await api.get_customers_by_email("ada@example.com")


class TestErrors:
    async def test_a_wrong_key_is_an_authentication_error_without_retries(
        self,
        make_api: MakeApi,
        fake: FakeCustomerIO,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """
        401 raises AuthenticationError after one request, and the key shows
        nowhere: not in the error, the repr or the logs.
        """
        caplog.set_level(logging.DEBUG, logger="cio_async")
        secret = "sk-wrong-key-1234567890"
        api = make_api(app_api_key=secret)

        with pytest.raises(AuthenticationError) as caught:
            await api.send_email(email())

        assert caught.value.status == 401
        assert len(fake.requests) == 1
        shown = str(caught.value) + repr(caught.value) + repr(api) + caplog.text
        assert secret not in shown
        assert "***" in repr(api)

    async def test_the_wrong_region_raises_with_a_hint_and_is_not_followed(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        The 301 "wrong datacenter" answer raises WrongRegionError with a hint to
        switch region, and the redirect is never followed.
        """
        fake.app.wrong_region = True

        with pytest.raises(WrongRegionError) as caught:
            await api.send_email(email())

        assert caught.value.status == 301
        assert "wrong datacenter" in str(caught.value)
        assert "region=Region.EU" in str(caught.value)
        assert len(fake.requests) == 1
        assert fake.sends == []

    async def test_errors_carry_the_request_id(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A validation error carries the status, the server's message and the
        request id.
        """
        fake.script(
            Respond(
                400,
                headers={"X-Request-Id": "req-42"},
                body={"meta": {"error": "transactional message 7 not found"}},
            ),
            api="app",
        )

        with pytest.raises(RequestRejectedError) as caught:
            await api.send_email(email())

        assert caught.value.status == 400
        assert caught.value.server_message == "transactional message 7 not found"
        assert caught.value.request_id == "req-42"
        assert "ada@example.com" not in str(caught.value)

    async def test_rate_limited_when_retries_run_out_carries_retry_after(
        self, make_api: MakeApi, fake: FakeCustomerIO
    ) -> None:
        """
        With no retries left, a 429 raises RateLimitedError with its Retry-After.
        """
        api = make_api(retry=RetryPolicy(max_attempts=1))
        fake.script(Respond(429, headers={"Retry-After": "3"}), api="app")

        with pytest.raises(RateLimitedError) as caught:
            await api.get_customers_by_email("ada@example.com")

        assert caught.value.retry_after == 3.0

    async def test_an_unreadable_acceptance_says_it_was_probably_sent(
        self, api: AsyncAPIClient, fake: FakeCustomerIO
    ) -> None:
        """
        A 200 without a delivery id is not a failure to retry: the error says
        the message was probably sent.
        """
        fake.script(Respond(200, body="ok"), path="/v1/send/email")

        with pytest.raises(MessageMayHaveBeenSentError, match="probably sent"):
            await api.send_email(email())

        assert len(fake.requests) == 1

    async def test_no_personal_data_or_key_in_logs(
        self,
        api: AsyncAPIClient,
        fake: FakeCustomerIO,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """
        Log lines carry routes, statuses and times, never the key, an email or an
        id in a path.
        """
        caplog.set_level(logging.DEBUG, logger="cio_async")
        fake.script(Respond(503), path="/v1/send/email")

        await api.send_email(email(identifiers=Person(email="ada@example.com")))
        with pytest.raises(NotFoundError):
            await api.get_customer_attributes("secret-user-id")

        assert "POST /v1/send/email" in caplog.text
        assert "/v1/customers/{person}/attributes" in caplog.text
        for private in (fake.app_api_key, "ada@example.com", "secret-user-id"):
            assert private not in caplog.text


class TestRateLimits:
    async def test_client_spacing_keeps_sends_under_the_servers_limit(
        self, make_api: MakeApi, fake: FakeCustomerIO
    ) -> None:
        """
        30 concurrent sends to a fake allowing 20 a second all pass without a
        429, because the client spaces them at 16 a second.
        """
        fake.app.enforce_rate_limits(sends_per_second=20)
        api = make_api(
            rate_limits=AppRateLimits(sends_per_second=16),
            retry=RetryPolicy(max_attempts=1),
        )

        results = await asyncio.gather(*(api.send_email(email()) for _ in range(30)))

        assert len({r.delivery_id for r in results}) == 30
        assert {r.status for r in fake.requests} == {200}

    async def test_without_spacing_the_fake_answers_429(
        self, make_api: MakeApi, fake: FakeCustomerIO
    ) -> None:
        """
        The same burst without client spacing meets 429s: the fake enforces the
        limit.
        """
        fake.app.enforce_rate_limits(sends_per_second=20)
        api = make_api(retry=RetryPolicy(max_attempts=1))

        outcomes = await asyncio.gather(
            *(api.send_email(email()) for _ in range(30)), return_exceptions=True
        )

        limited = [o for o in outcomes if isinstance(o, RateLimitedError)]
        assert limited
        assert all(o.retry_after is not None and o.retry_after >= 1 for o in limited)

    async def test_lookups_and_broadcasts_have_their_own_gates(
        self, make_api: MakeApi, fake: FakeCustomerIO
    ) -> None:
        """
        Lookups are spaced by their own rate and broadcast triggers by their
        interval, whatever the sends do.
        """
        fake.app.enforce_rate_limits(requests_per_second=10, broadcast_interval=0.2)
        api = make_api(
            rate_limits=AppRateLimits(requests_per_second=8, broadcast_interval=0.25),
            retry=RetryPolicy(max_attempts=1),
        )

        await asyncio.gather(
            *(api.get_customers_by_email("a@example.com") for _ in range(12))
        )
        await asyncio.gather(*(api.trigger_broadcast(3) for _ in range(2)))

        assert {r.status for r in fake.requests} == {200}
        first, second = fake.requests_to("/v1/campaigns/3/triggers")
        assert second.arrived_at - first.arrived_at >= 0.2


class TestLifecycle:
    def test_from_env_reads_the_key_and_region(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        from_env reads CUSTOMERIO_APP_API_KEY and CUSTOMERIO_REGION.
        """
        monkeypatch.setenv("CUSTOMERIO_APP_API_KEY", "key-from-env")
        monkeypatch.setenv("CUSTOMERIO_REGION", "eu")

        api = AsyncAPIClient.from_env()

        assert api.region is Region.EU
        assert api.base_url == "https://api-eu.customer.io"
        assert "key-from-env" not in repr(api)

    def test_from_env_names_a_missing_variable(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        A missing key is a ConfigurationError naming the variable.
        """
        monkeypatch.delenv("CUSTOMERIO_APP_API_KEY", raising=False)

        with pytest.raises(ConfigurationError, match="CUSTOMERIO_APP_API_KEY"):
            AsyncAPIClient.from_env()

    @pytest.mark.parametrize("key", ["", "   ", "key\nwith-newline", "two words"])
    def test_an_unusable_key_is_refused_without_echoing_it(self, key: str) -> None:
        """
        An empty key or one a header cannot carry is refused, and not shown.
        """
        with pytest.raises(ConfigurationError) as caught:
            AsyncAPIClient(key)

        assert not key.strip() or key not in str(caught.value)

    async def test_calls_after_close_are_refused(self, api: AsyncAPIClient) -> None:
        """
        After aclose(), calls raise ClientClosedError; aclose() is idempotent.
        """
        await api.aclose()
        await api.aclose()

        assert api.closed
        with pytest.raises(ClientClosedError):
            await api.send_email(email())
        with pytest.raises(ClientClosedError):
            await api.get_customers_by_email("a@example.com")

    async def test_a_session_passed_in_is_left_open(self, fake: FakeCustomerIO) -> None:
        """
        The client uses the caller's session and never closes it.
        """
        async with aiohttp.ClientSession() as session:
            async with AsyncAPIClient(
                fake.app_api_key, base_url=fake.url, session=session
            ) as api:
                await api.send_email(email())

            assert not session.closed

    def test_public_names_are_exported(self) -> None:
        """
        The App API names are in cio_async.__all__.
        """
        assert {
            "AppRateLimits",
            "AsyncAPIClient",
            "SendEmailRequest",
            "SendResult",
        } <= set(cio_async.__all__)
