"""
One throughput measurement of one contestant, run in a process of its own.

``run.py`` starts this once per measurement, so that no contestant inherits
another's threads, connections, garbage or heap::

    python benchmarks/contestants.py cio --port 8123 --n 100000 --latency-ms 0

It sets the counting server's latency, warms the contestant up (a few events,
delivered), zeroes the server's counters, then times ``n`` events from the first
call until the contestant says everything was handed over (``flush()``, the last
answer, or ``queue.join()``), reads what the server counted and prints one JSON
line: ``{"seconds", "delivered", "dropped", "requests", "errors", ...}``.

Every contestant sends the same events: a pool of ``POOL`` distinct event dicts
(nested data, about 300 bytes as a v2 item), built before the clock starts, the
way an application holds its data before it calls the SDK.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import itertools
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp

POOL = 1000
EVENT_NAME = "order_completed"
WARMUP_EVENTS = 20
CONCURRENCY = 50
# Seconds any one measurement may take before it is abandoned.
MEASUREMENT_TIMEOUT = 120.0

Event = tuple[str, dict[str, Any]]


# -- the events ---------------------------------------------------------------------


def make_events(count: int = POOL) -> list[Event]:
    """
    Distinct, typical events: a person id and nested data.

    As a Track API v2 item (with identifiers, name, ULID and timestamp) each
    encodes to about 300 bytes.
    """
    events = []
    for k in range(count):
        data = {
            "order_id": f"A-{100_000 + k}",
            "total": round(10 + k * 0.37, 2),
            "currency": "EUR",
            "items": [
                {"sku": f"X{k % 97}", "qty": 1 + k % 3, "price": 9.99},
                {"sku": f"Y{k % 89}", "qty": 1, "price": 23.5},
            ],
            "shipping": {"method": "express", "country": "DE"},
        }
        events.append((f"user-{k % 500:05d}", data))

    return events


def v2_item(person: str, data: dict[str, Any], event_id: str) -> dict[str, Any]:
    """
    The Track API v2 batch item for one event, as cio_async builds it.
    """
    return {
        "type": "person",
        "identifiers": {"id": person},
        "action": "event",
        "name": EVENT_NAME,
        "id": event_id,
        "timestamp": int(time.time()),
        "attributes": data,
    }


def cio_encoder() -> str:
    """
    Which JSON encoder cio_async chose at import (its private seam, ``_dumps``).
    """
    from cio_async import _values

    chosen = getattr(_values, "_dumps", None)
    if chosen is None:
        return "unknown"
    if chosen is getattr(_values, "_stdlib_dumps", None):
        return "stdlib json"
    name = getattr(chosen, "__name__", repr(chosen))
    return "orjson" if "orjson" in name else name


# -- the counting server's control endpoint -------------------------------------------


class Control:
    """
    Talks to the counting server's ``/_bench/`` endpoint (blocking, tiny).
    """

    def __init__(self, port: int) -> None:
        self.port = port

    def _call(self, method: str, path: str) -> dict[str, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=b"" if method == "POST" else None)
            answer = connection.getresponse()
            body = answer.read()
        finally:
            connection.close()
        if answer.status != 200:
            message = f"control {path} answered {answer.status}"
            raise RuntimeError(message)

        result: dict[str, Any] = json.loads(body)
        return result

    def counts(self) -> dict[str, Any]:
        return self._call("GET", "/_bench/counts")

    def reset(self) -> dict[str, Any]:
        return self._call("POST", "/_bench/reset")

    def configure(
        self, *, latency_ms: float | None = None, paused: bool | None = None
    ) -> None:
        query = []
        if latency_ms is not None:
            query.append(f"latency_ms={latency_ms:g}")
        if paused is not None:
            query.append(f"paused={int(paused)}")
        self._call("POST", "/_bench/config?" + "&".join(query))


# -- contestants ----------------------------------------------------------------------
#
# Each takes (url, events, n, start), warms up, calls start() (which zeroes the
# server's counters and starts the clock), sends n events, and returns a dict with
# "stopped", the clock when everything was handed over, plus facts for the report.
# Each imports its SDK itself, so that a process loads only the one it measures.

Timed = Callable[[], None]


async def _workers(count: int, n: int, work: Callable[[int], Awaitable[None]]) -> None:
    """
    Run ``work(i)`` for i in range(n) from ``count`` coroutines sharing the range.
    """
    indices = iter(range(n))

    async def worker() -> None:
        for i in indices:
            await work(i)

    await asyncio.gather(*(worker() for _ in range(count)))


def cio_batching() -> Any:
    """
    The client settings measured: defaults, except the request rate cap.

    The default cap (100 requests/s) is a fair-use courtesy to Customer.io, not
    a limit of the client, and would make every figure a measure of the cap.
    """
    from cio_async import BatchConfig

    return BatchConfig(max_requests_per_second=None)


async def run_cio(
    url: str, events: list[Event], n: int, start: Timed, concurrency: int
) -> dict[str, Any]:
    from cio_async import AsyncCustomerIO

    async with AsyncCustomerIO(
        "bench-site", "bench-key", base_url=url, batching=cio_batching()
    ) as cio:
        for person, data in events[:WARMUP_EVENTS]:
            await cio.track(person, EVENT_NAME, data)
        await cio.flush()

        start()
        pool = len(events)
        if concurrency == 1:
            for i in range(n):
                person, data = events[i % pool]
                await cio.track(person, EVENT_NAME, data)
        else:

            async def one(i: int) -> None:
                person, data = events[i % pool]
                await cio.track(person, EVENT_NAME, data)

            await _workers(concurrency, n, one)
        await cio.flush()
        stopped = time.perf_counter()
        stats = cio.stats()

    return {"stopped": stopped, "failed": stats.failed, "encoder": cio_encoder()}


async def run_cio_1(
    url: str, events: list[Event], n: int, start: Timed
) -> dict[str, Any]:
    return await run_cio(url, events, n, start, 1)


async def run_cio_50(
    url: str, events: list[Event], n: int, start: Timed
) -> dict[str, Any]:
    return await run_cio(url, events, n, start, CONCURRENCY)


CEILING_BATCH = 500
CEILING_IN_FLIGHT = 4
# Distinct items the pre-built ceiling cycles through: 100 bodies, about 17 MB.
CEILING_POOL = 50_000
BENCH_AUTHORIZATION = "Basic " + base64.b64encode(b"bench-site:bench-key").decode()


def ceiling_session(authorization: str = BENCH_AUTHORIZATION) -> aiohttp.ClientSession:
    """
    The hand-written client's session: ``CEILING_IN_FLIGHT`` connections.
    """
    connector = aiohttp.TCPConnector(limit=CEILING_IN_FLIGHT)
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    return aiohttp.ClientSession(connector=connector, headers=headers)


async def post_bodies(
    url: str, bodies: Iterator[bytes], session: aiohttp.ClientSession
) -> None:
    """
    Post every body to ``/api/v2/batch``, ``CEILING_IN_FLIGHT`` at a time.
    """

    async def worker() -> None:
        for body in bodies:
            async with session.post(url + "/api/v2/batch", data=body) as answer:
                await answer.read()
                if answer.status != 200:
                    message = f"the server answered {answer.status}"
                    raise RuntimeError(message)

    await asyncio.gather(*(worker() for _ in range(CEILING_IN_FLIGHT)))


def batch_bodies(items: Iterator[bytes]) -> Iterator[bytes]:
    """
    Join encoded items into v2 batch bodies of ``CEILING_BATCH`` items.
    """
    batch: list[bytes] = []
    for item in items:
        batch.append(item)
        if len(batch) == CEILING_BATCH:
            yield b'{"batch":[' + b",".join(batch) + b"]}"
            batch = []
    if batch:
        yield b'{"batch":[' + b",".join(batch) + b"]}"


def plain_dumps() -> Callable[[Any], bytes]:
    """
    The encoder a hand-written client would call: the library cio_async uses,
    without cio_async's checks around it.
    """
    if cio_encoder() == "orjson":
        import orjson

        return orjson.dumps
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    return lambda value: encoder.encode(value).encode()


def encoded_items(events: list[Event], n: int) -> Iterator[bytes]:
    """
    ``n`` v2 items, built and encoded one at a time (ids are cio_async's ULIDs).
    """
    from cio_async._ulid import new_ulid

    dumps = plain_dumps()
    pool = len(events)
    for i in range(n):
        person, data = events[i % pool]
        yield dumps(v2_item(person, data, new_ulid()))


async def run_ceiling(
    url: str, events: list[Event], n: int, start: Timed
) -> dict[str, Any]:
    """
    The floor of client work: v2 bodies built before the clock, 4 in flight.

    ``n`` is rounded up to whole batches; the bodies of ``CEILING_POOL`` distinct
    items are posted again and again.
    """
    bodies = list(batch_bodies(encoded_items(events, min(n, CEILING_POOL))))
    posts = -(-n // CEILING_BATCH)
    async with ceiling_session() as session:
        await post_bodies(url, iter(bodies[:CEILING_IN_FLIGHT]), session)

        start()
        await post_bodies(
            url, itertools.islice(itertools.cycle(bodies), posts), session
        )
        stopped = time.perf_counter()

    return {"stopped": stopped, "encoder": cio_encoder()}


async def run_ceiling_encode(
    url: str, events: list[Event], n: int, start: Timed
) -> dict[str, Any]:
    """
    The same, but each item is built and encoded while the clock runs.
    """
    async with ceiling_session() as session:
        warmup = batch_bodies(encoded_items(events, WARMUP_EVENTS))
        await post_bodies(url, warmup, session)

        start()
        await post_bodies(url, batch_bodies(encoded_items(events, n)), session)
        stopped = time.perf_counter()

    return {"stopped": stopped, "encoder": cio_encoder()}


async def run_async_customerio(
    url: str, events: list[Event], n: int, start: Timed, concurrency: int
) -> dict[str, Any]:
    from async_customerio import AsyncCustomerIO as Upstream

    class LocalClient(Upstream):  # type: ignore[misc]
        # It always builds https:// URLs; the server here speaks plain HTTP.
        @staticmethod
        def setup_base_url(host: str, port: int, prefix: str) -> str:
            return f"http://{host}:{port}/{prefix.strip('/')}"

    host, port = url.removeprefix("http://").split(":")
    client = LocalClient("bench-site", "bench-key", host=host, port=int(port))
    pool = len(events)

    async def one(i: int) -> None:
        person, data = events[i % pool]
        await client.track(person, EVENT_NAME, **data)

    try:
        for i in range(WARMUP_EVENTS):
            await one(i)

        start()
        await _workers(concurrency, n, one)
        stopped = time.perf_counter()
    finally:
        await client.close()

    return {"stopped": stopped}


async def run_async_customerio_1(
    url: str, events: list[Event], n: int, start: Timed
) -> dict[str, Any]:
    return await run_async_customerio(url, events, n, start, 1)


async def run_async_customerio_50(
    url: str, events: list[Event], n: int, start: Timed
) -> dict[str, Any]:
    return await run_async_customerio(url, events, n, start, CONCURRENCY)


def run_customerio(
    url: str, events: list[Event], n: int, start: Timed
) -> dict[str, Any]:
    """
    The official SDK: blocking, one request per event, from one thread.
    """
    from customerio import CustomerIO

    class LocalClient(CustomerIO):  # type: ignore[misc]
        # It always builds https:// URLs and mounts its retrying keep-alive
        # adapter for https:// only; give plain HTTP both.
        def setup_base_url(self) -> None:
            prefix = self.url_prefix.strip("/")
            self.base_url = f"http://{self.host}:{self.port}/{prefix}"

        def _build_session(self) -> Any:
            session = super()._build_session()
            session.mount("http://", session.get_adapter("https://x"))
            return session

    host, port = url.removeprefix("http://").split(":")
    client = LocalClient("bench-site", "bench-key", host=host, port=int(port))
    pool = len(events)
    try:
        for person, data in events[:WARMUP_EVENTS]:
            client.track(person, EVENT_NAME, data)

        start()
        for i in range(n):
            person, data = events[i % pool]
            client.track(person, EVENT_NAME, data)
        stopped = time.perf_counter()
    finally:
        client.close()

    return {"stopped": stopped}


def run_segment(url: str, events: list[Event], n: int, start: Timed) -> dict[str, Any]:
    """
    Segment's SDK with its defaults: one consumer thread, 100 per batch, a
    10,000-message queue that drops what does not fit.
    """
    from segment.analytics import Client  # type: ignore[import-untyped]

    # It logs a warning for every dropped message; with no logging set up that
    # is a line on stderr each. Drops are counted from track()'s result instead.
    logging.getLogger("segment").setLevel(logging.ERROR)
    client = Client(write_key="bench-write-key", host=url)
    pool = len(events)
    dropped = 0
    try:
        for person, data in events[:WARMUP_EVENTS]:
            client.track(user_id=person, event=EVENT_NAME, properties=data)
        client.flush()

        start()
        for i in range(n):
            person, data = events[i % pool]
            accepted, _ = client.track(
                user_id=person, event=EVENT_NAME, properties=data
            )
            dropped += not accepted
        client.flush()
        stopped = time.perf_counter()
    finally:
        client.shutdown()

    return {"stopped": stopped, "dropped": dropped}


Runner = Callable[[str, list[Event], int, Timed], Any]

CONTESTANTS: dict[str, Runner] = {
    "cio": run_cio_1,
    "cio-50": run_cio_50,
    "ceiling": run_ceiling,
    "ceiling-encode": run_ceiling_encode,
    "segment": run_segment,
    "customerio": run_customerio,
    "async-customerio": run_async_customerio_1,
    "async-customerio-50": run_async_customerio_50,
}


def measure(name: str, port: int, n: int, latency_ms: float) -> dict[str, Any]:
    """
    Run one measurement and return what the report needs.
    """
    control = Control(port)
    control.configure(latency_ms=latency_ms, paused=False)
    url = f"http://127.0.0.1:{port}"
    events = make_events()
    started = 0.0

    def start() -> None:
        nonlocal started
        control.reset()
        started = time.perf_counter()

    result = CONTESTANTS[name](url, events, n, start)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    counts = control.counts()

    seconds = result.pop("stopped") - started
    return {
        "contestant": name,
        "n": n,
        "latency_ms": latency_ms,
        "seconds": seconds,
        "delivered": counts["items"],
        "rate": counts["items"] / seconds,
        "dropped": result.pop("dropped", 0),
        "requests": counts["requests"],
        "max_batch_items": counts["max_batch_items"],
        "errors": counts["errors"],
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="One throughput measurement.")
    parser.add_argument("contestant", choices=sorted(CONTESTANTS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()

    result = measure(args.contestant, args.port, args.n, args.latency_ms)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
