"""
Tests for cio_async.webhooks: signatures, payloads, and the aiohttp and FastAPI glue.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import cio_async.webhooks as webhooks
from cio_async._errors import (
    ConfigurationError,
    CustomerIOError,
    InvalidArgumentError,
    InvalidTypeError,
    WebhookVerificationError,
)
from cio_async.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ObjectType,
    WebhookData,
    WebhookEvent,
    WebhookPayloadError,
    fastapi_dependency,
    parse_event,
    sign,
    verify_aiohttp_request,
    verify_signature,
)

KEY = "8f4a2c6e0b1d3f5a7c9e1b3d5f7a9c0e"
OTHER_KEY = "0e9c7a5f3d1b9e7c5a3f1d0b6e2c4a8f"
NOW = 1_700_000_000

DELIVERED: dict[str, Any] = {
    "event_id": "01HF4Z8J6W2V9Q3R5T7Y1B3N5M",
    "object_type": "email",
    "metric": "delivered",
    "timestamp": 1_699_999_990,
    "data": {
        "action_id": 36,
        "campaign_id": 12,
        "customer_id": "user-42",
        "delivery_id": "RMehBAAAAXE7r_ONUGXly9DBGkpq1JS31w==",
        "identifiers": {
            "id": "user-42",
            "email": "ada@example.com",
            "cio_id": "a3000001",
        },
        "journey_id": "01GW20GXAAXBKZD8J96M8FNV3R",
        "parent_action_id": 35,
        "recipient": "ada@example.com",
        "subject": "Your receipt",
        "trigger_event_id": "01HF4Z7Y0000000000000000AB",
    },
}
DELIVERED_BODY = json.dumps(DELIVERED).encode()


def signed_headers(body: bytes, *, key: str = KEY, at: int = NOW) -> dict[str, str]:
    """
    Build the two headers Customer.io sends with a body.
    """
    return {TIMESTAMP_HEADER: str(at), SIGNATURE_HEADER: sign(body, key, at)}


def event_body(**changes: Any) -> bytes:
    """
    Encode the delivered event with top-level keys replaced; ``...`` removes one.
    """
    document = {**DELIVERED, **changes}
    return json.dumps({k: v for k, v in document.items() if v is not ...}).encode()


class TestSign:
    def test_signs_version_timestamp_and_body(self) -> None:
        """The signature is HMAC-SHA256 of v0:<timestamp>:<body>, in hex."""
        message = b"v0:" + str(NOW).encode() + b":" + DELIVERED_BODY
        expected = hmac.new(KEY.encode(), message, hashlib.sha256).hexdigest()

        assert sign(DELIVERED_BODY, KEY, NOW) == expected

    def test_str_and_bytes_keys_agree(self) -> None:
        """A key given as bytes signs the same as the same key given as str."""
        assert sign(b"{}", KEY.encode(), NOW) == sign(b"{}", KEY, str(NOW))


class TestVerifySignature:
    def test_accepts_correct_signature(self) -> None:
        """A body signed with the right key and a current timestamp verifies."""
        headers = signed_headers(DELIVERED_BODY)

        verify_signature(
            DELIVERED_BODY,
            headers[TIMESTAMP_HEADER],
            headers[SIGNATURE_HEADER],
            KEY,
            now=NOW,
        )

    def test_accepts_v0_prefix(self) -> None:
        """A signature sent as v0=<hex> verifies like the bare hex digest."""
        signature = "v0=" + sign(DELIVERED_BODY, KEY, NOW)

        verify_signature(DELIVERED_BODY, str(NOW), signature, KEY, now=NOW)

    def test_accepts_uppercase_hex(self) -> None:
        """Hex digits are compared without regard to case."""
        signature = sign(DELIVERED_BODY, KEY, NOW).upper()

        verify_signature(DELIVERED_BODY, str(NOW), signature, KEY, now=NOW)

    def test_rejects_tampered_body(self) -> None:
        """A body changed after signing fails the signature check."""
        signature = sign(DELIVERED_BODY, KEY, NOW)
        tampered = DELIVERED_BODY.replace(b"delivered", b"bounced")

        with pytest.raises(WebhookVerificationError, match="does not match"):
            verify_signature(tampered, str(NOW), signature, KEY, now=NOW)

    def test_rejects_wrong_key(self) -> None:
        """A body signed with another key fails the signature check."""
        signature = sign(DELIVERED_BODY, OTHER_KEY, NOW)

        with pytest.raises(WebhookVerificationError, match="does not match"):
            verify_signature(DELIVERED_BODY, str(NOW), signature, KEY, now=NOW)

    def test_rejects_signature_over_another_timestamp(self) -> None:
        """A valid signature moved onto a fresher timestamp fails the check."""
        signature = sign(DELIVERED_BODY, KEY, NOW - 3600)

        with pytest.raises(WebhookVerificationError, match="does not match"):
            verify_signature(DELIVERED_BODY, str(NOW), signature, KEY, now=NOW)

    def test_rejects_stale_timestamp(self) -> None:
        """A correctly signed request older than max_age is refused as too old."""
        sent = NOW - 301
        signature = sign(DELIVERED_BODY, KEY, sent)

        with pytest.raises(WebhookVerificationError, match="too old: 301 s"):
            verify_signature(DELIVERED_BODY, str(sent), signature, KEY, now=NOW)

    def test_rejects_future_timestamp(self) -> None:
        """A correctly signed request dated beyond max_age ahead is refused."""
        sent = NOW + 301
        signature = sign(DELIVERED_BODY, KEY, sent)

        with pytest.raises(WebhookVerificationError, match="in the future: 301 s"):
            verify_signature(DELIVERED_BODY, str(sent), signature, KEY, now=NOW)

    @pytest.mark.parametrize("offset", [-300, 300])
    def test_accepts_timestamp_at_edge_of_window(self, offset: int) -> None:
        """A timestamp exactly max_age away, either way, still verifies."""
        sent = NOW + offset
        signature = sign(DELIVERED_BODY, KEY, sent)

        verify_signature(DELIVERED_BODY, str(sent), signature, KEY, now=NOW)

    def test_custom_max_age(self) -> None:
        """A smaller max_age refuses what the default window would accept."""
        sent = NOW - 60
        signature = sign(DELIVERED_BODY, KEY, sent)

        with pytest.raises(WebhookVerificationError, match="too old"):
            verify_signature(
                DELIVERED_BODY, str(sent), signature, KEY, max_age=30, now=NOW
            )

    def test_max_age_none_skips_window(self) -> None:
        """With max_age=None a correctly signed old request verifies."""
        sent = NOW - 86_400 * 7
        signature = sign(DELIVERED_BODY, KEY, sent)

        verify_signature(
            DELIVERED_BODY, str(sent), signature, KEY, max_age=None, now=NOW
        )

    def test_defaults_to_system_clock(self) -> None:
        """Without now, a timestamp from 2023 is refused as too old today."""
        signature = sign(DELIVERED_BODY, KEY, NOW)

        with pytest.raises(WebhookVerificationError, match="too old"):
            verify_signature(DELIVERED_BODY, str(NOW), signature, KEY)

    @pytest.mark.parametrize("timestamp", [None, ""])
    def test_rejects_missing_timestamp(self, timestamp: str | None) -> None:
        """An absent or empty timestamp header is reported as missing."""
        signature = sign(DELIVERED_BODY, KEY, NOW)

        with pytest.raises(
            WebhookVerificationError, match="X-CIO-Timestamp header is missing"
        ):
            verify_signature(DELIVERED_BODY, timestamp, signature, KEY, now=NOW)

    @pytest.mark.parametrize("signature", [None, ""])
    def test_rejects_missing_signature(self, signature: str | None) -> None:
        """An absent or empty signature header is reported as missing."""
        with pytest.raises(
            WebhookVerificationError, match="X-CIO-Signature header is missing"
        ):
            verify_signature(DELIVERED_BODY, str(NOW), signature, KEY, now=NOW)

    @pytest.mark.parametrize(
        "timestamp",
        [
            "soon",
            "1700000000.5",
            "-1700000000",
            "+1700000000",
            " 1700000000",
            "\u0661\u0667\u0660\u0660",
            "9" * 16,
        ],
    )
    def test_rejects_timestamp_that_is_not_whole_seconds(self, timestamp: str) -> None:
        """A timestamp that is not a plain run of ASCII digits is refused."""
        signature = sign(DELIVERED_BODY, KEY, timestamp)

        with pytest.raises(WebhookVerificationError, match="not a Unix time"):
            verify_signature(DELIVERED_BODY, timestamp, signature, KEY, now=NOW)

    @pytest.mark.parametrize("signature", ["é" * 64, "not hex", "v0="])
    def test_rejects_malformed_signature(self, signature: str) -> None:
        """A signature that is not a hex digest is refused, not crashed on."""
        with pytest.raises(WebhookVerificationError, match="does not match"):
            verify_signature(DELIVERED_BODY, str(NOW), signature, KEY, now=NOW)

    def test_message_holds_neither_key_nor_body(self) -> None:
        """A refusal names the failed check and never echoes the key or body."""
        signature = sign(DELIVERED_BODY, OTHER_KEY, NOW)

        with pytest.raises(WebhookVerificationError) as caught:
            verify_signature(DELIVERED_BODY, str(NOW), signature, KEY, now=NOW)

        text = str(caught.value)
        assert KEY not in text
        assert OTHER_KEY not in text
        assert signature not in text
        assert "ada@example.com" not in text

    def test_error_is_a_customerio_value_error(self) -> None:
        """A refusal can be caught as CustomerIOError or as ValueError."""
        with pytest.raises(WebhookVerificationError) as caught:
            verify_signature(DELIVERED_BODY, None, None, KEY)

        assert isinstance(caught.value, CustomerIOError)
        assert isinstance(caught.value, ValueError)

    @pytest.mark.parametrize("key", ["", b"", f"{KEY}\n", f" {KEY}"])
    def test_rejects_unusable_key(self, key: str | bytes) -> None:
        """An empty key, or one with stray whitespace, is a configuration error."""
        signature = sign(DELIVERED_BODY, KEY, NOW)

        with pytest.raises(ConfigurationError, match="signing_key"):
            verify_signature(DELIVERED_BODY, str(NOW), signature, key, now=NOW)

    @pytest.mark.parametrize("max_age", [0, -1, float("nan"), float("inf")])
    def test_rejects_unusable_max_age(self, max_age: float) -> None:
        """A replay window that is not a positive, finite number is refused."""
        signature = sign(DELIVERED_BODY, KEY, NOW)

        with pytest.raises(InvalidArgumentError, match="max_age"):
            verify_signature(
                DELIVERED_BODY, str(NOW), signature, KEY, max_age=max_age, now=NOW
            )

    def test_rejects_decoded_body(self) -> None:
        """A body passed as str, not the raw bytes, is a type error."""
        text: Any = DELIVERED_BODY.decode()
        signature = sign(DELIVERED_BODY, KEY, NOW)

        with pytest.raises(InvalidTypeError, match="raw request bytes"):
            verify_signature(text, str(NOW), signature, KEY, now=NOW)


class TestParseEvent:
    def test_reads_email_delivered_event(self) -> None:
        """A realistic email delivered event fills the typed fields."""
        event = parse_event(DELIVERED_BODY)

        assert event.event_id == "01HF4Z8J6W2V9Q3R5T7Y1B3N5M"
        assert event.object_type == ObjectType.EMAIL
        assert event.metric == "delivered"
        assert event.timestamp == 1_699_999_990
        assert event.data == WebhookData(
            customer_id="user-42",
            identifiers={
                "id": "user-42",
                "email": "ada@example.com",
                "cio_id": "a3000001",
            },
            delivery_id="RMehBAAAAXE7r_ONUGXly9DBGkpq1JS31w==",
            action_id=36,
            campaign_id=12,
            parent_action_id=35,
            journey_id="01GW20GXAAXBKZD8J96M8FNV3R",
            trigger_event_id="01HF4Z7Y0000000000000000AB",
            recipient="ada@example.com",
            extra={"subject": "Your receipt"},
        )
        assert event.raw == DELIVERED

    def test_keeps_unknown_object_type(self) -> None:
        """An object type added after this release parses and keeps its string."""
        body = event_body(object_type="carrier_pigeon", metric="landed")

        event = parse_event(body)

        assert event.object_type == "carrier_pigeon"
        assert event.object_type not in set(ObjectType)
        assert event.metric == "landed"

    def test_reads_customer_event(self) -> None:
        """A customer subscribed event parses, with email_address kept in extra."""
        document = {
            "event_id": "01E4C4CT6YDC7Y5M7FE1GWWPQJ",
            "object_type": "customer",
            "metric": "subscribed",
            "timestamp": 1_613_063_089,
            "data": {
                "customer_id": "42",
                "email_address": "test@example.com",
                "identifiers": {"id": "42", "email": "test@example.com"},
            },
        }

        event = parse_event(json.dumps(document).encode())

        assert event.object_type == ObjectType.CUSTOMER
        assert event.data.delivery_id is None
        assert event.data.extra == {"email_address": "test@example.com"}

    def test_leaves_out_null_identifiers(self) -> None:
        """An identifier Customer.io sends as null is left out of identifiers."""
        data = {"identifiers": {"id": None, "email": "ada@example.com", "cio_id": "a3"}}

        event = parse_event(event_body(data=data))

        assert event.data.identifiers == {"email": "ada@example.com", "cio_id": "a3"}

    def test_tolerates_ids_in_the_other_json_type(self) -> None:
        """Integer ids sent as digit strings, and string ids sent as integers, parse."""
        data = {"campaign_id": "12", "journey_id": 15, "transactional_message_id": 3}

        event = parse_event(event_body(data=data))

        assert event.data.campaign_id == 12
        assert event.data.journey_id == "15"
        assert event.data.transactional_message_id == 3

    def test_empty_data_parses(self) -> None:
        """An empty data object gives a WebhookData with every field unset."""
        event = parse_event(event_body(data={}))

        assert event.data == WebhookData()

    def test_event_is_read_only(self) -> None:
        """The event, its data and its raw mapping cannot be changed."""
        event = parse_event(DELIVERED_BODY)

        with pytest.raises(AttributeError):
            event.metric = "opened"  # type: ignore[misc]
        with pytest.raises(TypeError):
            event.raw["metric"] = "opened"  # type: ignore[index]
        with pytest.raises(TypeError):
            event.data.extra["subject"] = "changed"  # type: ignore[index]

    def test_event_is_hashable(self) -> None:
        """Two parses of one body are equal and collapse in a set."""
        events = {parse_event(DELIVERED_BODY), parse_event(DELIVERED_BODY)}

        assert len(events) == 1

    def test_repr_leaves_out_personal_data(self) -> None:
        """The repr shows ids and the metric but no address, subject or payload."""
        text = repr(parse_event(DELIVERED_BODY))

        assert "delivered" in text
        assert "ada@example.com" not in text
        assert "user-42" not in text
        assert "Your receipt" not in text

    @pytest.mark.parametrize("body", [b"", b"{", b"\xff\xfe\x00", b"[" * 100_000])
    def test_rejects_body_that_is_not_json(self, body: bytes) -> None:
        """A body that does not decode as JSON is a payload error on the body."""
        with pytest.raises(WebhookPayloadError, match="body: is not valid JSON"):
            parse_event(body)

    @pytest.mark.parametrize("body", [b"[]", b'"event"', b"null"])
    def test_rejects_body_that_is_not_an_object(self, body: bytes) -> None:
        """A JSON body that is not an object is a payload error on the body."""
        with pytest.raises(WebhookPayloadError, match="body: is not a JSON object"):
            parse_event(body)

    @pytest.mark.parametrize(
        "key", ["event_id", "object_type", "metric", "timestamp", "data"]
    )
    def test_rejects_missing_envelope_key(self, key: str) -> None:
        """An event without one of its five envelope keys names the missing key."""
        with pytest.raises(WebhookPayloadError, match=f"^{key}: is missing$") as caught:
            parse_event(event_body(**{key: ...}))

        assert caught.value.field == key

    @pytest.mark.parametrize(
        ("key", "value", "reason"),
        [
            ("event_id", 7, "is not a string"),
            ("metric", ["sent"], "is not a string"),
            ("timestamp", "1699999990", "is not an integer"),
            ("timestamp", True, "is not an integer"),
            ("data", [], "is not an object"),
        ],
    )
    def test_rejects_envelope_key_of_wrong_type(
        self, key: str, value: object, reason: str
    ) -> None:
        """An envelope key of the wrong JSON type names the key and the type."""
        with pytest.raises(WebhookPayloadError, match=f"^{key}: {reason}$"):
            parse_event(event_body(**{key: value}))

    @pytest.mark.parametrize(
        ("data", "field"),
        [
            ({"delivery_id": {"id": 1}}, "data.delivery_id"),
            ({"campaign_id": "twelve"}, "data.campaign_id"),
            ({"action_id": True}, "data.action_id"),
            ({"identifiers": ["user-42"]}, "data.identifiers"),
            ({"identifiers": {"email": ["a@example.com"]}}, "data.identifiers.email"),
        ],
    )
    def test_rejects_known_data_field_of_wrong_type(
        self, data: dict[str, Any], field: str
    ) -> None:
        """A known data field of an unusable type names the field, not the value."""
        with pytest.raises(WebhookPayloadError) as caught:
            parse_event(event_body(data=data))

        assert caught.value.field == field
        assert "example.com" not in str(caught.value)

    def test_payload_error_is_not_a_verification_error(self) -> None:
        """A payload error is a CustomerIOError and ValueError, but not a refusal."""
        with pytest.raises(WebhookPayloadError) as caught:
            parse_event(b"[]")

        assert isinstance(caught.value, CustomerIOError)
        assert isinstance(caught.value, ValueError)
        assert not isinstance(caught.value, WebhookVerificationError)


class TestModule:
    def test_all_is_sorted_and_complete(self) -> None:
        """__all__ is sorted as ruff sorts it and names every class and function."""
        defined_here = {
            name
            for name, value in vars(webhooks).items()
            if not name.startswith("_")
            and getattr(value, "__module__", None) == webhooks.__name__
        }

        assert webhooks.__all__ == sorted(webhooks.__all__, key=_isort_style)
        assert all(hasattr(webhooks, name) for name in webhooks.__all__)
        assert defined_here <= set(webhooks.__all__)


@pytest.fixture
async def aiohttp_receiver() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """
    Serve an aiohttp app that uses verify_aiohttp_request on 127.0.0.1.
    """

    async def receive(request: web.Request) -> web.Response:
        event = await verify_aiohttp_request(request, KEY)
        return web.json_response(
            {"object_type": event.object_type, "metric": event.metric}
        )

    app = web.Application()
    app.router.add_post("/cio", receive)

    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


class TestAiohttpHelper:
    async def test_accepts_signed_request(
        self, aiohttp_receiver: TestClient[web.Request, web.Application]
    ) -> None:
        """A correctly signed request reaches the handler as a parsed event."""
        headers = signed_headers(DELIVERED_BODY, at=_now())

        response = await aiohttp_receiver.post(
            "/cio", data=DELIVERED_BODY, headers=headers
        )

        assert response.status == 200
        assert await response.json() == {"object_type": "email", "metric": "delivered"}

    async def test_answers_401_on_bad_signature(
        self,
        aiohttp_receiver: TestClient[web.Request, web.Application],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A request signed with another key is answered 401 and logged without data."""
        headers = signed_headers(DELIVERED_BODY, key=OTHER_KEY, at=_now())

        with caplog.at_level(logging.WARNING, logger="cio_async.webhooks"):
            response = await aiohttp_receiver.post(
                "/cio", data=DELIVERED_BODY, headers=headers
            )

        assert response.status == 401
        assert "does not match" in await response.text()
        assert "refused with 401" in caplog.text
        assert "ada@example.com" not in caplog.text
        assert KEY not in caplog.text

    async def test_answers_401_without_headers(
        self, aiohttp_receiver: TestClient[web.Request, web.Application]
    ) -> None:
        """A request without the signature headers is answered 401."""
        response = await aiohttp_receiver.post("/cio", data=DELIVERED_BODY)

        assert response.status == 401
        assert "X-CIO-Timestamp header is missing" in await response.text()

    async def test_answers_401_on_stale_request(
        self, aiohttp_receiver: TestClient[web.Request, web.Application]
    ) -> None:
        """A correctly signed request older than five minutes is answered 401."""
        headers = signed_headers(DELIVERED_BODY, at=_now() - 3600)

        response = await aiohttp_receiver.post(
            "/cio", data=DELIVERED_BODY, headers=headers
        )

        assert response.status == 401
        assert "too old" in await response.text()

    async def test_answers_400_on_unreadable_payload(
        self, aiohttp_receiver: TestClient[web.Request, web.Application]
    ) -> None:
        """A correctly signed body that is not an event is answered 400."""
        body = b'{"metric": "sent"}'
        headers = signed_headers(body, at=_now())

        response = await aiohttp_receiver.post("/cio", data=body, headers=headers)

        assert response.status == 400
        assert "data: is missing" in await response.text()


@pytest.fixture
async def fastapi_receiver() -> AsyncIterator[str]:
    """
    Serve a FastAPI app that uses fastapi_dependency under uvicorn on 127.0.0.1.
    """
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    import uvicorn
    from fastapi import Depends, FastAPI

    verify_cio_webhook = fastapi_dependency(KEY)
    verified_event = Depends(verify_cio_webhook)
    app = FastAPI()

    @app.post("/cio")
    async def receive(event: WebhookEvent = verified_event) -> dict[str, str]:
        return {"object_type": event.object_type, "metric": event.metric}

    # A socket that listens before uvicorn starts queues the first connection, so
    # requests need not wait for a "started" flag.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))

    try:
        yield f"http://127.0.0.1:{port}/cio"
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=10)
        listener.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """
    Open an aiohttp client session for talking to a loopback server.
    """
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=10)
    ) as session:
        yield session


class TestFastAPIDependency:
    async def test_accepts_signed_request(
        self, fastapi_receiver: str, session: aiohttp.ClientSession
    ) -> None:
        """A correctly signed request reaches the route as a parsed event."""
        headers = signed_headers(DELIVERED_BODY, at=_now())

        async with session.post(
            fastapi_receiver, data=DELIVERED_BODY, headers=headers
        ) as r:
            assert r.status == 200
            assert await r.json() == {"object_type": "email", "metric": "delivered"}

    async def test_answers_401_on_bad_signature(
        self, fastapi_receiver: str, session: aiohttp.ClientSession
    ) -> None:
        """A tampered body is answered 401 with the failed check as the detail."""
        headers = signed_headers(DELIVERED_BODY, at=_now())
        tampered = DELIVERED_BODY.replace(b"delivered", b"bounced")

        async with session.post(fastapi_receiver, data=tampered, headers=headers) as r:
            assert r.status == 401
            assert "does not match" in (await r.json())["detail"]

    async def test_answers_400_on_unreadable_payload(
        self, fastapi_receiver: str, session: aiohttp.ClientSession
    ) -> None:
        """A correctly signed body that is not JSON is answered 400."""
        body = b"not json"
        headers = signed_headers(body, at=_now())

        async with session.post(fastapi_receiver, data=body, headers=headers) as r:
            assert r.status == 400
            assert (await r.json())["detail"] == "body: is not valid JSON"

    def test_checks_key_when_built(self) -> None:
        """An empty signing key fails when the dependency is built, not per request."""
        with pytest.raises(ConfigurationError, match="signing_key is empty"):
            fastapi_dependency("")

    def test_repr_hides_key(self) -> None:
        """The dependency's repr does not show the signing key."""
        assert KEY not in repr(fastapi_dependency(KEY))


def _isort_style(name: str) -> tuple[int, str]:
    """
    Order names as ruff sorts __all__: CONSTANTS, then Classes, then functions.
    """
    group = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return group, name


def _now() -> int:
    """
    Return the current Unix time in whole seconds, for requests checked live.
    """
    return int(time.time())


def test_an_int_timestamp_verifies_like_its_header_string() -> None:
    """
    verify_signature takes the timestamp as an int too, as sign() does.
    """
    from cio_async.webhooks import sign, verify_signature

    body = b'{"event_id":"e1"}'
    signature = sign(body, "key", 1_700_000_000)

    verify_signature(body, 1_700_000_000, signature, "key", now=1_700_000_010)
