"""
Tests for cio_async._batcher, end to end over loopback HTTP against the fake.

Every test drives a real ``AsyncCustomerIO`` into ``FakeCustomerIO``; what the
server received is read from ``fake.requests`` (bodies and arrival times) and
``fake.events()`` (stored events after dedupe by id).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gc
import itertools
import json
import logging
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cio_async import (
    AsyncCustomerIO,
    ClientClosedError,
    DeliveryError,
    DeliveryFailure,
    FailureReason,
    FlushTimeoutError,
    Operation,
    PayloadTooLargeError,
    QueueFullError,
    Stats,
)
from cio_async._batcher import Batcher
from cio_async.testing import (
    Delay,
    Drip,
    FakeCustomerIO,
    NeverAnswer,
    RecordedRequest,
    Respond,
    StoreThenReset,
)

MakeClient = Callable[..., AsyncCustomerIO]
BATCH = "/api/v2/batch"


# -- helpers -------------------------------------------------------------------


def batches(fake: FakeCustomerIO) -> list[RecordedRequest]:
    return fake.requests_to(BATCH)


def items(record: RecordedRequest) -> list[dict[str, Any]]:
    return list(record.json()["batch"])


def item_ids(record: RecordedRequest) -> list[str]:
    return [item["id"] for item in items(record)]


def stored_ids(fake: FakeCustomerIO) -> list[str]:
    # An event stored without an id would show up as "None" and fail the test.
    return [str(event.id) for event in fake.events()]


def failed_ops(failures: list[DeliveryFailure]) -> list[Operation]:
    return [op for failure in failures for op in failure.operations]


def op_id(op: Operation) -> str:
    return str(op.payload()["id"])


def encoded(item: object) -> bytes:
    """
    An item's bytes as the client sends them: compact UTF-8 JSON.
    """
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()


async def track_many(
    client: AsyncCustomerIO, count: int, *, prefix: str = "e"
) -> list[str]:
    """
    Track ``count`` events with ids ``{prefix}-0`` ...; return the ids.

    A call that finds room in the queue does not yield, so the senders take
    nothing until the test next awaits something else.
    """
    ids = [f"{prefix}-{n}" for n in range(count)]
    for n, event_id in enumerate(ids):
        await client.track("user-1", "clicked", {"n": n}, id=event_id)
    return ids


def holds(stats: Stats) -> bool:
    """
    Whether ``accepted == delivered + failed + queued + in_flight``, none negative.
    """
    return (
        stats.accepted
        == stats.delivered + stats.failed + stats.queued + stats.in_flight
        and stats.queued >= 0
        and stats.in_flight >= 0
    )


# -- the queue -----------------------------------------------------------------


class TestQueue:
    async def test_raise_policy_refuses_at_the_call(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        With ``queue_full="raise"`` a call finding the queue full raises QueueFullError.
        """
        client = make_client(batching={"max_queue_size": 5, "queue_full": "raise"})
        ids = await track_many(client, 5)

        with pytest.raises(QueueFullError):
            await client.track("user-1", "clicked", id="one-too-many")
        await client.flush(timeout=5)

        assert client.stats().accepted == 5
        assert sorted(stored_ids(fake)) == sorted(ids)

    async def test_wait_policy_times_out_into_the_failure_handler(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        With ``queue_full="wait"`` a call finding no room in time fails as queue_full.
        """
        client = make_client(
            batching={
                "max_queue_size": 2,
                "enqueue_timeout": 0.2,
                "max_batch_items": 1,
                "max_concurrent_requests": 1,
            }
        )
        fake.pause()

        # e-0 goes out and hangs, e-1 and e-2 fill the queue, the next finds none.
        ids = await track_many(client, 3)
        await fake.wait_for(lambda f: len(f.requests) == 1)
        await client.track("user-1", "clicked", id="no-room")
        stats = client.stats()
        fake.resume()
        await client.flush(timeout=5)

        assert stats.failed_by_reason == {"queue_full": 1}
        assert [op_id(op) for op in failed_ops(failures)] == ["no-room"]
        assert failures[0].reason is FailureReason.QUEUE_FULL
        assert client.stats().accepted == 4
        assert client.stats().delivered == 3
        assert sorted(stored_ids(fake)) == sorted(ids)

    async def test_waiting_callers_are_admitted_in_order(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        Callers waiting for room get in oldest first as the queue drains.
        """
        client = make_client(
            batching={
                "max_queue_size": 2,
                "enqueue_timeout": 10.0,
                "max_batch_items": 1,
                "max_concurrent_requests": 1,
            }
        )
        fake.pause()

        first = await track_many(client, 3)  # one hangs in flight, two queued
        await fake.wait_for(lambda f: len(f.requests) == 1)
        waiting = [f"w-{n}" for n in range(5)]
        callers = [
            asyncio.create_task(client.track("user-1", "clicked", id=event_id))
            for event_id in waiting
        ]
        await asyncio.sleep(0)  # each caller starts, finds no room and waits
        fake.resume()
        await asyncio.wait_for(asyncio.gather(*callers), 5)
        await client.flush(timeout=5)

        assert [i for r in batches(fake) for i in item_ids(r)] == first + waiting
        assert client.stats().delivered == 8


# -- how batches are cut ---------------------------------------------------------


class TestBatching:
    async def test_batches_close_on_exact_bytes(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        Bodies stay within ``max_batch_bytes`` counted in UTF-8 bytes, each filled to
        within one item of it.
        """
        limit = 33_000
        client = make_client(
            batching={"max_batch_bytes": limit, "max_concurrent_requests": 1}
        )
        # Each of these characters costs more than one byte on the wire: an
        # emoji is 4 bytes of UTF-8, a quote, backslash or newline 2 escaped,
        # a control character 6 ("\u0001").
        # Small items, so that a count off by a byte per item would show.
        ids = []
        for n in range(1_200):
            text = "😀" * (n % 13) + '"\\\n\x01' * (n % 5) + "x" * (n % 17)
            ids.append(f"e-{n}")
            await client.track("user-1", "typed", {"text": text}, id=ids[-1])

        await client.flush(timeout=10)

        records = batches(fake)
        assert len(records) >= 5
        for record in records:
            rebuilt = b'{"batch":[' + b",".join(map(encoded, items(record))) + b"]}"
            assert rebuilt == record.body
            assert len(record.body) <= limit
        for record, following in itertools.pairwise(records):
            next_item = encoded(items(following)[0])
            assert len(record.body) + 1 + len(next_item) > limit
        assert [i for r in records for i in item_ids(r)] == ids
        assert len(fake.events()) == 1_200

    async def test_batches_close_on_max_batch_items(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        No batch carries more than ``max_batch_items`` operations.
        """
        client = make_client(
            batching={"max_batch_items": 10, "max_concurrent_requests": 1}
        )

        ids = await track_many(client, 25)
        await client.flush(timeout=5)

        assert [len(items(r)) for r in batches(fake)] == [10, 10, 5]
        assert [i for r in batches(fake) for i in item_ids(r)] == ids

    async def test_batches_close_on_flush_interval(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        An idle sender waits ``flush_interval`` for company, then sends a part batch.
        """
        client = make_client(batching={"flush_interval": 0.3})
        await client.track("user-1", "warm-up", id="warm-up")
        await client.flush(timeout=5)  # the sender is now idle on an empty queue

        started = time.monotonic()
        ids = await track_many(client, 3)
        await fake.wait_for(lambda f: len(batches(f)) == 2)

        record = batches(fake)[1]
        assert item_ids(record) == ids
        assert record.arrived_at - started >= 0.3 * 0.95

    async def test_identify_over_32kb_is_refused_at_the_call(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        A 40 KB identify (v2 items are at most 32 KB and identify has no v1 route
        here) raises PayloadTooLargeError; the normal calls beside it are delivered.
        """
        client = make_client()
        attributes = {f"field_{n}": "v" * 1000 for n in range(40)}

        before = await track_many(client, 5, prefix="before")
        with pytest.raises(PayloadTooLargeError) as raised:
            await client.identify("user-1", attributes)
        after = await track_many(client, 5, prefix="after")
        await asyncio.wait_for(client.flush(), 5)

        assert raised.value.size > 40_000
        assert raised.value.limit == 32_768
        assert client.stats().accepted == 10
        assert sorted(stored_ids(fake)) == sorted(before + after)

    async def test_event_data_over_100000_bytes_is_refused_at_the_call(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        An event whose data is over 100,000 bytes (too big even for Track v1)
        raises PayloadTooLargeError; the normal events beside it are delivered.
        """
        client = make_client()

        before = await track_many(client, 5, prefix="before")
        with pytest.raises(PayloadTooLargeError) as raised:
            await client.track("user-1", "huge", {"blob": "x" * 100_001})
        after = await track_many(client, 5, prefix="after")
        await asyncio.wait_for(client.flush(), 5)

        assert raised.value.limit == 100_000
        assert client.stats().accepted == 10
        assert sorted(stored_ids(fake)) == sorted(before + after)

    async def test_event_of_40kb_goes_through_track_v1(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        A 40 KB event is too large for a v2 item, so it travels alone over Track v1.
        """
        client = make_client()

        normal = await track_many(client, 5)
        await client.track("user-1", "big", {"blob": "x" * 40_000}, id="big-1")
        await asyncio.wait_for(client.flush(), 5)

        [v1] = fake.requests_to("/api/v1/customers/{identifier}/events")
        assert v1.json()["id"] == "big-1"
        assert all(len(r.body) < 32_768 for r in batches(fake))
        assert sorted(stored_ids(fake)) == sorted([*normal, "big-1"])

    async def test_max_concurrent_requests_is_respected(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        No more than ``max_concurrent_requests`` requests are open at the server.
        """
        client = make_client(
            batching={"max_batch_items": 1, "max_concurrent_requests": 3}
        )
        fake.script(*[Delay(0.05)] * 24)
        open_counts: list[int] = []

        def sample(f: FakeCustomerIO) -> bool:
            open_counts.append(sum(1 for r in f.requests if r.status is None))
            return f.counts.items_accepted == 24

        await track_many(client, 24)
        await fake.wait_for(sample, timeout=10)

        assert max(open_counts) == 3

    async def test_max_requests_per_second_spaces_requests(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        A cap of 20 requests per second starts requests about 50 ms apart.
        """
        client = make_client(
            batching={"max_batch_items": 1, "max_requests_per_second": 20}
        )

        await track_many(client, 10)
        await client.flush(timeout=10)

        arrivals = [r.arrived_at for r in batches(fake)]
        gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
        assert len(arrivals) == 10
        assert min(gaps) >= 0.03
        assert arrivals[-1] - arrivals[0] >= 9 * 0.05 * 0.95


# -- retries -------------------------------------------------------------------


class TestRetry:
    async def test_503_503_200_sends_identical_bodies_and_delivers_once(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        After 503, 503, 200 the server got three identical bodies and stored each
        event once.
        """
        client = make_client()
        fake.script(Respond(503), Respond(503))

        ids = await track_many(client, 3)
        await client.flush(timeout=5)

        first, second, third = batches(fake)
        assert first.body == second.body == third.body
        assert [first.status, second.status, third.status] == [503, 503, 200]
        assert stored_ids(fake) == ids
        assert client.stats().delivered == 3
        assert client.stats().retries == 2
        assert failures == []

    @pytest.mark.parametrize("form", ["seconds", "http-date"])
    async def test_retry_after_holds_every_sender(
        self, fake: FakeCustomerIO, make_client: MakeClient, form: str
    ) -> None:
        """
        After a 429 with ``Retry-After`` while 4 senders are busy, no request
        arrives until the time it named has passed.
        """
        client = make_client(
            batching={"max_batch_items": 5, "max_concurrent_requests": 4}
        )
        if form == "seconds":
            retry_after, window = "2", 2.0
        else:
            # HTTP-dates have whole seconds: 3 s ahead leaves between 2 and 3.
            retry_after = email.utils.formatdate(time.time() + 3, usegmt=True)
            window = 2.0
        # Three requests are held 0.3 s; the fourth, arriving while they are
        # in flight, gets the 429. The three senders are then free long before
        # the window ends, with batches still queued.
        fake.script(
            Delay(0.3),
            Delay(0.3),
            Delay(0.3),
            Respond(429, headers={"Retry-After": retry_after}),
        )

        ids = await track_many(client, 60)
        await client.flush(timeout=20)

        records = batches(fake)
        [limited] = [r for r in records if r.status == 429]
        inside = [
            r
            for r in records
            if limited.arrived_at < r.arrived_at < limited.arrived_at + window - 0.05
        ]
        assert records.index(limited) == 3
        assert inside == []
        assert len(records) == 60 // 5 + 1
        assert sorted(stored_ids(fake)) == sorted(ids)

    async def test_stored_then_reset_resends_identical_bytes(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        When the server stores a batch and then resets, the resend carries the same
        ids in identical bytes, and deduped by id each event is held once.
        """
        client = make_client()
        fake.script(StoreThenReset())

        ids = await track_many(client, 10)
        await client.flush(timeout=5)

        first, second = batches(fake)
        assert first.status is None
        assert second.body == first.body
        assert item_ids(first) == ids
        assert stored_ids(fake) == ids
        assert fake.counts.duplicate_events == 10
        assert client.stats().delivered == 10

    async def test_request_timeout_is_total(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """
        A server dripping its answer byte by byte costs one request timeout, not
        one per byte.
        """
        # The 2-byte answer "{}" takes 0.8 s in all, each byte within 0.5 s:
        # only a timeout on the whole request ends it at 0.5 s.
        client = make_client(timeouts={"request": 0.5})
        fake.script(Drip(interval=0.4))
        caplog.set_level(logging.WARNING, logger="cio_async")

        ids = await track_many(client, 1)
        await client.flush(timeout=5)

        first, second = batches(fake)
        assert 0.45 <= second.arrived_at - first.arrived_at < 0.8
        assert client.stats().retries == 1
        assert "RequestTimeoutError" in caplog.text
        assert stored_ids(fake) == ids

    async def test_retries_exhausted_fails_with_the_last_status(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        When every attempt gets 5xx the batch fails as retries_exhausted.
        """
        client = make_client(retry={"max_attempts": 3})
        fake.script(Respond(500), Respond(502), Respond(503))

        ids = await track_many(client, 4)
        await client.flush(timeout=5)

        [failure] = failures
        assert failure.reason is FailureReason.RETRIES_EXHAUSTED
        assert failure.status == 503
        assert failure.attempts == 3
        assert [op_id(op) for op in failure.operations] == ids
        assert len(batches(fake)) == 3
        assert fake.events() == []

    @pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
    async def test_retryable_statuses_are_retried(
        self, fake: FakeCustomerIO, make_client: MakeClient, status: int
    ) -> None:
        """
        408, 429 (without Retry-After) and 5xx are retried until delivered.
        """
        client = make_client()
        fake.script(Respond(status))

        ids = await track_many(client, 2)
        await client.flush(timeout=5)

        assert [r.status for r in batches(fake)] == [status, 200]
        assert stored_ids(fake) == ids

    @pytest.mark.parametrize("status", [404, 409, 422])
    async def test_other_client_errors_fail_at_once(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
        status: int,
    ) -> None:
        """
        A 4xx that retrying cannot fix fails the batch as client_error, unretried.
        """
        client = make_client()
        fake.script(Respond(status, body={"meta": {"error": "no such thing"}}))

        await track_many(client, 2)
        await client.flush(timeout=5)

        [failure] = failures
        assert failure.reason is FailureReason.CLIENT_ERROR
        assert failure.status == status
        assert failure.message == "no such thing"
        assert len(batches(fake)) == 1

    async def test_unreachable_server_fails_as_retries_exhausted(
        self, make_client: MakeClient, failures: list[DeliveryFailure]
    ) -> None:
        """
        With nothing listening, the batch fails after ``max_attempts`` attempts.
        """
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        client = make_client(
            base_url=f"http://127.0.0.1:{port}", retry={"max_attempts": 3}
        )

        await track_many(client, 2)
        await client.flush(timeout=10)

        [failure] = failures
        assert failure.reason is FailureReason.RETRIES_EXHAUSTED
        assert failure.status is None
        assert failure.attempts == 3
        assert client.stats().requests == 3


# -- what answers mean -----------------------------------------------------------


class TestAnswers:
    async def test_207_fails_the_named_items_only(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        A 207 naming 2 of 50 items: 48 delivered, 2 failed with the server's
        reasons, nothing resent.
        """
        client = make_client()
        errors = [
            {"batch_index": 7, "reason": "invalid", "field": "name", "message": "m7"},
            {"batch_index": 31, "reason": "required", "field": "id", "message": "m31"},
        ]
        fake.script(Respond(207, body={"errors": errors}))

        ids = await track_many(client, 50)
        await client.flush(timeout=5)

        assert len(batches(fake)) == 1
        assert sorted(op_id(op) for op in failed_ops(failures)) == ["e-31", "e-7"]
        assert {f.reason for f in failures} == {FailureReason.REJECTED}
        assert {f.status for f in failures} == {207}
        assert sorted(f.message or "" for f in failures) == [
            "invalid: name: m7",
            "required: id: m31",
        ]
        assert stored_ids(fake) == [i for i in ids if i not in ("e-7", "e-31")]
        assert client.stats().delivered == 48
        assert client.stats().failed == 2

    async def test_400_fails_the_whole_batch_with_the_server_message(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        A 400 fails every item of the batch as rejected, with the server's message.
        """
        client = make_client()
        error = {"reason": "invalid", "field": "batch", "message": "cannot parse"}
        fake.script(Respond(400, body={"errors": [error]}))

        ids = await track_many(client, 6)
        await client.flush(timeout=5)

        [failure] = failures
        assert failure.reason is FailureReason.REJECTED
        assert failure.status == 400
        assert failure.message is not None
        assert "cannot parse" in failure.message
        assert [op_id(op) for op in failure.operations] == ids
        assert len(batches(fake)) == 1

    async def test_401_fails_unauthorized_with_one_error_line(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """
        Refused credentials fail every batch as unauthorized, not retried, with
        exactly one ERROR log line that names no key.
        """
        client = make_client(api_key="not-the-key", batching={"max_batch_items": 1})
        caplog.set_level(logging.DEBUG, logger="cio_async")

        await track_many(client, 8)
        await client.flush(timeout=5)

        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1
        assert "401" in errors[0].getMessage()
        assert "not-the-key" not in caplog.text
        assert len(failed_ops(failures)) == 8
        assert {f.reason for f in failures} == {FailureReason.UNAUTHORIZED}
        assert len(batches(fake)) == 8

    async def test_413_splits_in_halves_and_fails_a_lone_item_as_too_large(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        A 413 halves the batch until parts fit; an item too large alone fails as
        too_large; the splitting ends.
        """
        client = make_client()
        fake.faults.max_body_bytes = 2_600

        ids = [f"e-{n}" for n in range(9)]
        for n, event_id in enumerate(ids):
            size = 3_000 if n == 4 else 900
            await client.track("user-1", "clicked", {"pad": "x" * size}, id=event_id)
        await client.flush(timeout=10)

        [failure] = failures
        sizes = [len(items(r)) for r in batches(fake)]
        assert failure.reason is FailureReason.TOO_LARGE
        assert failure.status == 413
        assert [op_id(op) for op in failure.operations] == ["e-4"]
        assert sizes[0] == 9
        assert len(sizes) <= 2 * 9 - 1  # a binary split of 9 has at most 17 parts
        assert sorted(stored_ids(fake)) == sorted(i for i in ids if i != "e-4")
        assert client.stats().delivered == 8


# -- the failure handler ---------------------------------------------------------


class TestFailureHandler:
    async def test_sync_handler_gets_each_failure(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        A plain function as ``on_failure`` is called once per failed batch.
        """
        seen: list[DeliveryFailure] = []
        client = make_client(on_failure=seen.append, batching={"max_batch_items": 2})
        fake.script(Respond(400), Respond(400))

        ids = await track_many(client, 4)
        await client.flush(timeout=5)

        assert [[op_id(op) for op in f.operations] for f in seen] == [
            ids[:2],
            ids[2:],
        ]

    async def test_async_handler_is_awaited_before_flush_returns(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        A coroutine handler is awaited, and ``flush()`` waits until it has finished.
        """
        started = asyncio.Event()
        release = asyncio.Event()
        finished: list[DeliveryFailure] = []

        async def on_failure(failure: DeliveryFailure) -> None:
            started.set()
            await release.wait()
            finished.append(failure)

        client = make_client(on_failure=on_failure)
        fake.script(Respond(400))

        await track_many(client, 1)
        flushing = asyncio.create_task(client.flush(timeout=10))
        await asyncio.wait_for(started.wait(), 5)
        done_while_handling = flushing.done()
        release.set()
        await asyncio.wait_for(flushing, 5)

        assert not done_while_handling
        assert len(finished) == 1

    async def test_handler_exception_is_logged_and_batching_goes_on(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """
        An exception from the handler is logged; later batches and failures go on.
        """
        calls: list[DeliveryFailure] = []

        def on_failure(failure: DeliveryFailure) -> None:
            calls.append(failure)
            raise RuntimeError("handler bug")

        client = make_client(on_failure=on_failure)
        fake.script(Respond(400))
        caplog.set_level(logging.ERROR, logger="cio_async")

        await track_many(client, 2, prefix="first")
        await client.flush(timeout=5)
        fake.script(Respond(400))
        await track_many(client, 2, prefix="second")
        await client.flush(timeout=5)
        later = await track_many(client, 3, prefix="later")
        await client.flush(timeout=5)

        assert len(calls) == 2
        assert "the failure handler raised" in caplog.text
        assert "handler bug" in caplog.text
        assert stored_ids(fake) == later

    async def test_flush_and_aclose_inside_the_handler_do_not_deadlock(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        The handler may call ``flush()`` and then ``aclose()`` and both return.
        """
        steps: list[str] = []
        client: AsyncCustomerIO

        async def on_failure(failure: DeliveryFailure) -> None:
            await client.flush()
            steps.append("flushed")
            await client.aclose()
            steps.append("closed")

        client = make_client(on_failure=on_failure)
        fake.script(Respond(400))

        await track_many(client, 3)
        await asyncio.wait_for(client.flush(), 5)

        assert steps == ["flushed", "closed"]
        with pytest.raises(ClientClosedError):
            await client.track("user-1", "too-late")

    async def test_aclose_gives_up_on_a_hung_handler(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """
        ``aclose()`` does not wait forever for a handler that never returns.
        """
        entered = asyncio.Event()

        async def on_failure(failure: DeliveryFailure) -> None:
            entered.set()
            await asyncio.Event().wait()

        client = make_client(on_failure=on_failure)
        fake.script(Respond(400))
        caplog.set_level(logging.ERROR, logger="cio_async")

        await track_many(client, 1)
        await asyncio.wait_for(entered.wait(), 5)
        await asyncio.wait_for(client.aclose(timeout=0.2), 5)

        assert "the failure handler did not finish" in caplog.text

    async def test_dead_letter_file_replays(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        tmp_path: Path,
    ) -> None:
        """
        Failed operations land in the dead-letter file as NDJSON that ``replay()``
        sends again successfully.
        """
        path = tmp_path / "dead.ndjson"
        client = make_client(dead_letter_path=path)
        fake.script(Respond(400, body={"errors": [{"message": "not today"}]}))

        ids = await track_many(client, 3)
        await client.identify("user-1", {"plan": "pro"})
        await client.flush(timeout=5)
        records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
        for record in records:
            await client.replay(record)
        await client.flush(timeout=5)

        assert [r["failure"]["reason"] for r in records] == ["rejected"] * 4
        assert records[0]["failure"]["message"] == "not today"
        assert stored_ids(fake) == ids
        person = fake.person(id="user-1")
        assert person is not None
        assert person.attributes["plan"] == "pro"

    async def test_unwritable_dead_letter_file_is_logged_and_handler_still_called(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """
        If the dead-letter file cannot be written, that is logged and the handler
        still gets the failure.
        """
        client = make_client(dead_letter_path=tmp_path)  # a directory
        fake.script(Respond(400))
        caplog.set_level(logging.ERROR, logger="cio_async")

        ids = await track_many(client, 2)
        await client.flush(timeout=5)

        assert "cannot write 2 failed operations" in caplog.text
        assert [op_id(op) for op in failed_ops(failures)] == ids

    async def test_wait_true_returns_after_delivery(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        ``track(wait=True)`` returns once the server has the event.
        """
        client = make_client(batching={"flush_interval": 0.2})

        await asyncio.wait_for(
            client.track("user-1", "paid", id="paid-1", wait=True), 5
        )

        assert stored_ids(fake) == ["paid-1"]

    async def test_wait_true_raises_delivery_error_on_failure(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        ``track(wait=True)`` raises DeliveryError carrying the failure when it fails.
        """
        client = make_client()
        fake.script(Respond(400))

        with pytest.raises(DeliveryError) as raised:
            await asyncio.wait_for(
                client.track("user-1", "paid", id="paid-1", wait=True), 5
            )

        assert raised.value.failure.reason is FailureReason.REJECTED
        assert raised.value.failure.status == 400
        assert fake.events() == []

    async def test_wait_true_raises_when_aclose_gives_up(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        A caller waiting with ``wait=True`` gets DeliveryError when ``aclose()``
        fails its operation as shutdown_timeout.
        """
        client = make_client()
        fake.pause()

        caller = asyncio.create_task(
            client.track("user-1", "paid", id="paid-1", wait=True)
        )
        await fake.wait_for(lambda f: len(f.requests) == 1)
        await asyncio.wait_for(client.aclose(timeout=0.2), 5)

        with pytest.raises(DeliveryError) as raised:
            await asyncio.wait_for(caller, 2)
        assert raised.value.failure.reason is FailureReason.SHUTDOWN_TIMEOUT


# -- accounting ------------------------------------------------------------------


class TestAccounting:
    async def test_queued_and_in_flight_are_counted_apart(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        While a batch hangs, its items count as in flight and the rest as queued.
        """
        client = make_client(
            batching={"max_batch_items": 5, "max_concurrent_requests": 1}
        )
        fake.pause()

        await track_many(client, 12)
        await fake.wait_for(lambda f: len(f.requests) == 1)
        during = client.stats()
        fake.resume()
        await client.flush(timeout=5)
        after = client.stats()

        assert (during.accepted, during.in_flight, during.queued) == (12, 5, 7)
        assert (during.delivered, during.failed) == (0, 0)
        assert (after.delivered, after.queued, after.in_flight) == (12, 0, 0)
        assert holds(during)
        assert holds(after)

    async def test_a_caller_cancelled_while_waiting_for_room_is_not_counted(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        A call cancelled before its operation got into the queue leaves no trace.
        """
        client = make_client(
            batching={
                "max_queue_size": 1,
                "enqueue_timeout": 30.0,
                "max_batch_items": 1,
                "max_concurrent_requests": 1,
            }
        )
        fake.pause()

        ids = await track_many(client, 2)  # one hangs in flight, one queued
        await fake.wait_for(lambda f: len(f.requests) == 1)
        caller = asyncio.create_task(client.track("user-1", "clicked", id="gone"))
        await asyncio.sleep(0)  # it starts and waits for room
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        during = client.stats()
        fake.resume()
        await client.flush(timeout=5)

        assert (during.accepted, during.queued, during.in_flight) == (2, 1, 1)
        assert client.stats().delivered == 2
        assert stored_ids(fake) == ids

    async def test_counts_add_up_across_outcomes(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        Delivered, failed by reason, requests and retries match what happened.
        """
        client = make_client(
            batching={"max_batch_items": 5, "max_concurrent_requests": 1}
        )
        partial = {"errors": [{"batch_index": 0, "reason": "invalid"}]}
        fake.script(Respond(503), Respond(400), Respond(207, body=partial))

        await track_many(client, 20)
        await client.flush(timeout=5)
        stats = client.stats()

        assert stats.accepted == 20
        assert stats.failed_by_reason == {"rejected": 6}
        assert stats.failed == len(failed_ops(failures)) == 6
        assert stats.delivered == len(fake.events()) == 14
        assert stats.requests == len(batches(fake)) == 5
        assert stats.retries == 1
        assert holds(stats)
        assert stats.as_dict()["failed_by_reason"] == {"rejected": 6}

    @pytest.mark.parametrize("method", ["_deliver", "_collect"])
    async def test_background_crash_fails_everything_as_internal_error(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
        method: str,
    ) -> None:
        """
        If the background task crashes, every pending operation goes to the handler
        as internal_error, ``flush()`` returns, and later calls raise.
        """

        async def crash(self: Batcher, *args: object) -> None:
            raise RuntimeError("bug in the batcher")

        monkeypatch.setattr(Batcher, method, crash)
        client = make_client(batching={"max_batch_items": 3})
        caplog.set_level(logging.ERROR, logger="cio_async")

        ids = await track_many(client, 10)
        await asyncio.wait_for(client.flush(), 5)

        assert sorted(op_id(op) for op in failed_ops(failures)) == sorted(ids)
        assert {f.reason for f in failures} == {FailureReason.INTERNAL_ERROR}
        assert client.stats().failed_by_reason == {"internal_error": 10}
        assert "crashed" in caplog.text
        with pytest.raises(ClientClosedError):
            await client.track("user-1", "after-crash")


# -- flush and close -------------------------------------------------------------


class TestFlushAndClose:
    async def test_flush_timeout_against_a_silent_server(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        ``flush(timeout=1)`` against a server that never answers raises
        FlushTimeoutError with ``pending`` after about 1 s, and sending goes on.
        """
        client = make_client(timeouts={"request": 2.5})
        fake.script(NeverAnswer())

        ids = await track_many(client, 2)
        started = time.monotonic()
        with pytest.raises(FlushTimeoutError) as raised:
            await client.flush(timeout=1)
        elapsed = time.monotonic() - started
        await client.flush(timeout=10)

        assert 0.9 <= elapsed <= 3.0
        assert raised.value.pending == 2
        assert isinstance(raised.value, TimeoutError)
        assert stored_ids(fake) == ids
        assert client.stats().retries == 1

    async def test_flush_waits_only_for_what_came_before(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        ``flush()`` returns once earlier operations settle, though later ones hang.
        """
        client = make_client(batching={"max_concurrent_requests": 2})
        before = await track_many(client, 3, prefix="before")
        flushing = asyncio.create_task(client.flush(timeout=10))
        await fake.wait_for(lambda f: len(f.requests) == 1)
        fake.pause()  # the first request is past the hold, the next ones hang

        await track_many(client, 3, prefix="after")
        await asyncio.wait_for(flushing, 5)
        pending = client.stats().in_flight + client.stats().queued
        fake.resume()

        assert stored_ids(fake) == before
        assert pending == 3

    async def test_flush_sends_a_part_batch_without_waiting_the_interval(
        self, fake: FakeCustomerIO, make_client: MakeClient
    ) -> None:
        """
        ``flush()`` ends a batch's wait for company: a 30 s interval is not waited.
        """
        client = make_client(batching={"flush_interval": 30.0})
        await client.track("user-1", "warm-up", id="warm-up")
        await client.flush(timeout=5)  # the sender is now idle on an empty queue

        ids = await track_many(client, 3)
        await asyncio.sleep(0)  # let the sender take them and start waiting
        await client.flush(timeout=5)

        assert item_ids(batches(fake)[1]) == ids

    async def test_flush_of_an_unused_client_returns(
        self, make_client: MakeClient
    ) -> None:
        """
        ``flush()`` on a client that never sent anything returns at once.
        """
        client = make_client()

        await asyncio.wait_for(client.flush(), 1)

        assert client.stats().accepted == 0

    async def test_aclose_delivers_everything_pending(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        ``aclose()`` drains the queue before closing.
        """
        client = make_client(batching={"max_batch_items": 7})

        ids = await track_many(client, 100)
        await asyncio.wait_for(client.aclose(), 10)

        assert sorted(stored_ids(fake)) == sorted(ids)
        assert failures == []

    async def test_aclose_timeout_hands_leftovers_to_the_handler(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        ``aclose(timeout)`` against a hung server hands what is left to the handler
        as shutdown_timeout; later calls raise; ``aclose()`` again is a no-op.
        """
        client = make_client(batching={"max_batch_items": 2})
        fake.pause()

        ids = await track_many(client, 20)
        await fake.wait_for(lambda f: len(f.requests) == 4)
        started = time.monotonic()
        await asyncio.wait_for(client.aclose(timeout=0.5), 5)
        elapsed = time.monotonic() - started
        await asyncio.wait_for(client.aclose(), 1)

        assert 0.45 <= elapsed <= 3.0
        assert sorted(op_id(op) for op in failed_ops(failures)) == sorted(ids)
        assert {f.reason for f in failures} == {FailureReason.SHUTDOWN_TIMEOUT}
        stats = client.stats()
        assert (stats.failed, stats.queued, stats.in_flight) == (20, 0, 0)
        with pytest.raises(ClientClosedError):
            await client.track("user-1", "too-late")
        with pytest.raises(ClientClosedError):
            await client.identify("user-1", {"plan": "pro"})

    async def test_aclose_releases_a_waiting_flush(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        A ``flush()`` without timeout waiting on a hung server returns once
        ``aclose(timeout)`` has failed what was pending.
        """
        client = make_client()
        fake.pause()

        await track_many(client, 3)
        flushing = asyncio.create_task(client.flush())
        await fake.wait_for(lambda f: len(f.requests) == 1)
        await asyncio.wait_for(client.aclose(timeout=0.3), 5)
        await asyncio.wait_for(flushing, 2)

        assert len(failed_ops(failures)) == 3
        assert {f.reason for f in failures} == {FailureReason.SHUTDOWN_TIMEOUT}

    async def test_calls_waiting_for_room_fail_at_close(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
    ) -> None:
        """
        A call waiting for room when ``aclose()`` gives up fails as shutdown_timeout.
        """
        client = make_client(
            batching={
                "max_queue_size": 1,
                "enqueue_timeout": 30.0,
                "max_batch_items": 1,
                "max_concurrent_requests": 1,
            }
        )
        fake.pause()

        await track_many(client, 2)
        await fake.wait_for(lambda f: len(f.requests) == 1)
        waiting = asyncio.create_task(client.track("user-1", "late", id="waiting"))
        await asyncio.wait_for(client.aclose(timeout=0.3), 5)
        await asyncio.wait_for(waiting, 5)

        reasons = Counter(f.reason for f in failures for _ in f.operations)
        assert reasons == {FailureReason.SHUTDOWN_TIMEOUT: 3}
        assert "waiting" in {op_id(op) for op in failed_ops(failures)}
        assert holds(client.stats())


# -- chaos and load --------------------------------------------------------------


class TestChaos:
    @pytest.mark.slow
    @pytest.mark.parametrize(
        ("total", "attempts"),
        [(20_000, 12), (10_000, 2)],
        ids=["generous-retries", "stingy-retries"],
    )
    async def test_chaos_accounted_exactly(
        self,
        fake: FakeCustomerIO,
        make_client: MakeClient,
        failures: list[DeliveryFailure],
        total: int,
        attempts: int,
    ) -> None:
        """
        Under 20% 5xx, 5% 429, 5% resets and 2% silence, every event ends delivered
        or failed with a reason, none stored twice, the counts exact throughout.
        """
        client = make_client(
            batching={
                "max_batch_items": 100,
                "max_queue_size": total,
                "max_concurrent_requests": 4,
            },
            retry={"max_attempts": attempts, "max_delay": 0.2, "deadline": 60.0},
            timeouts={"request": 0.5},
        )
        fake.faults.chaos(
            error_5xx=0.20, rate_limited=0.05, reset=0.05, no_answer=0.02, seed=7
        )
        samples: list[Stats] = []
        problems: list[str] = []

        def sample(f: FakeCustomerIO) -> bool:
            # Runs at every request arrival and answer at the fake.
            stats = client.stats()
            if not holds(stats):
                problems.append(f"accounting broken: {stats}")
            if samples:
                last = samples[-1]
                for name in ("accepted", "delivered", "failed", "requests"):
                    if getattr(stats, name) < getattr(last, name):
                        problems.append(f"{name} went down: {last} -> {stats}")
            if len(f.events()) < stats.delivered:
                problems.append(f"delivered ahead of the server: {stats}")
            if f.counts.requests > stats.requests:
                problems.append(f"server saw more requests than made: {stats}")
            samples.append(stats)
            return False

        watcher = asyncio.create_task(fake.wait_for(sample, timeout=120))
        started = time.monotonic()
        ids = []
        for n in range(total):
            ids.append(f"chaos-{n}")
            await client.track(f"user-{n % 97}", "chaos", {"n": n}, id=ids[-1])
            if n % 500 == 0:
                await asyncio.sleep(0)  # let senders run while producing
        await client.flush(timeout=120)
        seconds = time.monotonic() - started
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        stats = client.stats()

        stored = stored_ids(fake)
        failed = [op_id(op) for op in failed_ops(failures)]
        # A request that got no answer may have been stored (StoreThenReset):
        # its items may be both failed and on the server, at least once.
        unanswered = {i for r in batches(fake) if r.status is None for i in item_ids(r)}
        print(
            f"\nchaos ({attempts} attempts): {total} events in {seconds:.1f} s: "
            f"delivered {stats.delivered}, failed {stats.failed} "
            f"{dict(stats.failed_by_reason)}, requests {stats.requests}, "
            f"retries {stats.retries}, server requests {fake.counts.requests}, "
            f"duplicates dropped {fake.counts.duplicate_events}, "
            f"failed yet stored {len(set(stored) & set(failed))}, "
            f"samples {len(samples)}"
        )
        assert problems == []
        assert len(samples) > stats.requests / 3
        assert stats.accepted == total
        assert stats.queued == stats.in_flight == 0
        assert stats.delivered + stats.failed == total
        assert stats.delivered + len(failed) == total
        assert sum(stats.failed_by_reason.values()) == stats.failed
        assert set(stats.failed_by_reason) <= {"retries_exhausted"}
        assert all(f.message for f in failures)
        assert len(stored) == len(set(stored))
        assert len(failed) == len(set(failed))
        assert set(stored) | set(failed) == set(ids)
        assert set(stored) & set(failed) <= unanswered
        assert stats.retries > 0
        if attempts == 2:
            assert stats.failed > 0
        else:  # stored-then-reset batches were resent and deduped
            assert fake.counts.duplicate_events > 0

    @pytest.mark.slow
    async def test_event_loop_stalls_stay_small(self) -> None:
        """
        Sending 50,000 events never holds the loop from a 1 ms heartbeat for long
        (sanity: under 200 ms of this process's own work); the fake runs in another
        process so that only the client is measured.
        """
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _FAKE_SERVER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert server.stdin is not None
        assert server.stdout is not None
        try:
            url, site_id, api_key = json.loads(
                await asyncio.wait_for(server.stdout.readline(), 20)
            )
            stalls: list[float] = []
            busy: list[float] = []
            stop = asyncio.Event()

            async def heartbeat() -> None:
                # The wall-clock lag of each beat, and the CPU time this process
                # spent meanwhile: a loaded machine that takes the CPU away adds
                # to the first only.
                while not stop.is_set():
                    before, cpu_before = time.monotonic(), time.process_time()
                    await asyncio.sleep(0.001)
                    stalls.append(time.monotonic() - before - 0.001)
                    busy.append(time.process_time() - cpu_before)

            # The test session's own objects would make every full garbage
            # collection slow; freeze them so that only the client's count.
            gc.collect()
            gc.freeze()
            beating = asyncio.create_task(heartbeat())
            started = time.monotonic()
            try:
                async with AsyncCustomerIO(site_id, api_key, base_url=url) as client:
                    for n in range(50_000):
                        await client.track(f"user-{n % 101}", "load", {"n": n})
                        if n % 100 == 0:
                            await asyncio.sleep(0)  # a producer that yields
                    await client.flush(timeout=60)
                    stats = client.stats()
            finally:
                gc.unfreeze()
            seconds = time.monotonic() - started
            stop.set()
            await beating

            server.stdin.close()
            counts = json.loads(await asyncio.wait_for(server.stdout.readline(), 20))
        finally:
            if server.returncode is None:
                server.kill()
            await server.wait()

        print(
            f"\nstall: 50000 events in {seconds:.1f} s, {stats.requests} requests; "
            f"largest stall {max(stalls) * 1000:.1f} ms "
            f"({max(busy) * 1000:.1f} ms of it busy), "
            f"p99 {sorted(stalls)[int(len(stalls) * 0.99)] * 1000:.1f} ms "
            f"over {len(stalls)} beats"
        )
        assert stats.delivered == 50_000
        assert counts["items_accepted"] == 50_000
        assert max(busy) < 0.2


# A fake Customer.io in its own process: prints [url, site_id, api_key], serves
# until stdin closes, then prints its counts.
_FAKE_SERVER = """
import asyncio, json, sys
from cio_async.testing import FakeCustomerIO

async def main():
    async with FakeCustomerIO(record_bodies=False) as fake:
        print(json.dumps([fake.url, fake.site_id, fake.api_key]), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)
        print(json.dumps({"items_accepted": fake.counts.items_accepted}), flush=True)

asyncio.run(main())
"""
