"""
The micro figures of cio_async, each in a process of its own.

``run.py`` starts one of these per figure and round; each prints one JSON line::

    python benchmarks/micro.py track-cost --port 8123
    python benchmarks/micro.py rss --port 8123
    python benchmarks/micro.py stall --port 8123
    python benchmarks/micro.py capacity --url http://127.0.0.1:8123
    python benchmarks/micro.py serve-fake        # FakeCustomerIO, for capacity

``track-cost``
    The time of one ``await cio.track()`` with the senders idle: the server is
    paused, so the senders sit on their first requests, and the timed loop never
    yields to the event loop, so they cannot run in between. Each call is timed
    alone with ``perf_counter_ns``; the cost of reading the clock twice (its
    median over as many empty pairs) is taken off. Next to it, the same for a
    bare ``asyncio.Queue.put_nowait(dict)``.

``rss``
    The growth of the resident set while ``RSS_EVENTS`` events are queued (the
    server paused, the queue big enough for all), divided by the events. The
    peak is read from ``VmHWM`` after resetting it through
    ``/proc/self/clear_refs``; where that is refused, the current ``VmRSS``.

``stall``
    The longest an event loop could not run a 1 ms heartbeat while one producer
    sends ``STALL_EVENTS`` events through the client and the server answers at
    once. The producer yields after every ``STALL_SLICE`` calls, as a server
    handling requests would, so that the stalls are the client's (and the
    garbage collector's), not a producer that never lets go. Garbage
    collections are timed alongside. ``stall-frozen`` is the same after
    ``gc.freeze()`` (what an application may do once started), so that a full
    collection walks only what was made since.

``capacity``
    How many items per second a server absorbs from the ceiling client
    (pre-built 500-item bodies, 4 in flight), counted by the client: the check
    that the server, not the client, is never the bottleneck.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import itertools
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import contestants
from contestants import EVENT_NAME, Control, make_events, v2_item

TRACK_COST_CALLS = 100_000
RSS_EVENTS = 100_000
STALL_EVENTS = 50_000
STALL_SLICE = 10
HEARTBEAT = 0.001
CAPACITY_ITEMS = 400_000
# Events sent before a figure is taken: the senders start, connections open.
WARMUP = 2_000


def _client(port: int, queue_size: int = 10_000) -> Any:
    from cio_async import AsyncCustomerIO, BatchConfig

    batching = BatchConfig(max_requests_per_second=None, max_queue_size=queue_size)
    return AsyncCustomerIO(
        "bench-site",
        "bench-key",
        base_url=f"http://127.0.0.1:{port}",
        batching=batching,
    )


def _percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, int(fraction * len(sorted_values)))
    return sorted_values[index]


def _clock_overhead(count: int) -> float:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(count):
        start = clock()
        samples.append(clock() - start)

    return statistics.median(samples)


async def _paused_client(port: int, queue_size: int) -> tuple[Any, Control]:
    """
    A client whose senders are all waiting: on requests the server holds, or on
    an empty queue.
    """
    control = Control(port)
    control.configure(latency_ms=0, paused=True)
    cio = _client(port, queue_size)
    await cio.__aenter__()
    for person, data in make_events(WARMUP):
        await cio.track(person, EVENT_NAME, data)
    await asyncio.sleep(0.2)

    return cio, control


async def _release(cio: Any, control: Control) -> None:
    control.configure(paused=False)
    await cio.flush(timeout=60)
    await cio.aclose()


async def track_cost(port: int) -> dict[str, Any]:
    events = make_events()
    pool = len(events)
    cio, control = await _paused_client(port, TRACK_COST_CALLS + WARMUP)
    clock = time.perf_counter_ns
    overhead = _clock_overhead(TRACK_COST_CALLS)

    track = cio.track
    calls: list[int] = []
    for i in range(TRACK_COST_CALLS):
        person, data = events[i % pool]
        start = clock()
        await track(person, EVENT_NAME, data)
        calls.append(clock() - start)
    await _release(cio, control)

    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    put = queue.put_nowait
    puts: list[int] = []
    for i in range(TRACK_COST_CALLS):
        _, data = events[i % pool]
        start = clock()
        put(data)
        puts.append(clock() - start)

    def summary(samples: list[int]) -> dict[str, float]:
        ordered = sorted(max(0.0, s - overhead) / 1000 for s in samples)
        return {
            "median_us": statistics.median(ordered),
            "p99_us": _percentile(ordered, 0.99),
        }

    return {
        "track": summary(calls),
        "put_nowait": summary(puts),
        "clock_overhead_ns": overhead,
        "calls": TRACK_COST_CALLS,
        "encoder": contestants.cio_encoder(),
    }


def _memory_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    message = f"/proc/self/status has no {field}"
    raise RuntimeError(message)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def rss(port: int) -> dict[str, Any]:
    from cio_async._ulid import new_ulid
    from cio_async._values import encode

    events = make_events()
    pool = len(events)
    cio, control = await _paused_client(port, RSS_EVENTS + WARMUP)
    gc.collect()
    peak_readable = _reset_peak()
    before = _memory_kib("VmRSS")

    for i in range(RSS_EVENTS):
        person, data = events[i % pool]
        await cio.track(person, EVENT_NAME, data)
    # Let idle senders take their batches, as they would, before reading.
    await asyncio.sleep(0.2)
    after = _memory_kib("VmHWM" if peak_readable else "VmRSS")
    queued = cio.stats().queued + cio.stats().in_flight
    await _release(cio, control)

    item_bytes = statistics.fmean(
        len(encode(v2_item(person, data, new_ulid()))) for person, data in events
    )
    data_bytes = statistics.fmean(len(encode(data)) for _, data in events)
    growth = (after - before) * 1024
    return {
        "events": RSS_EVENTS,
        "held": queued,
        "growth_bytes": growth,
        "growth_mib": growth / 2**20,
        "bytes_per_event": growth / RSS_EVENTS,
        "item_json_bytes": item_bytes,
        "data_json_bytes": data_bytes,
        "peak": peak_readable,
    }


async def stall(port: int, freeze: bool = False) -> dict[str, Any]:
    events = make_events()
    pool = len(events)
    control = Control(port)
    control.configure(latency_ms=0, paused=False)
    lags: list[float] = []
    running = True

    async def heartbeat() -> None:
        clock = time.perf_counter
        while running:
            start = clock()
            await asyncio.sleep(HEARTBEAT)
            lags.append(clock() - start - HEARTBEAT)

    # Collections are timed too, to tell their pauses from the client's own.
    collections: list[tuple[float, int]] = []
    collection_started = 0.0

    def on_collection(phase: str, info: dict[str, int]) -> None:
        nonlocal collection_started
        if phase == "start":
            collection_started = time.perf_counter()
        else:
            elapsed = time.perf_counter() - collection_started
            collections.append((elapsed, info["generation"]))

    async with _client(port) as cio:
        for person, data in events[:WARMUP]:
            await cio.track(person, EVENT_NAME, data)
        await cio.flush()
        if freeze:
            gc.freeze()

        gc.callbacks.append(on_collection)
        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0.01)
        slices: list[float] = []
        started = time.perf_counter()
        for first in range(0, STALL_EVENTS, STALL_SLICE):
            slice_start = time.perf_counter()
            for i in range(first, first + STALL_SLICE):
                person, data = events[i % pool]
                await cio.track(person, EVENT_NAME, data)
            slices.append(time.perf_counter() - slice_start)
            await asyncio.sleep(0)
        await cio.flush()
        seconds = time.perf_counter() - started
        running = False
        await beat
        gc.callbacks.remove(on_collection)

    ordered = sorted(lags)
    return {
        "events": STALL_EVENTS,
        "seconds": seconds,
        "beats": len(lags),
        "max_ms": ordered[-1] * 1000,
        "p99_ms": _percentile(ordered, 0.99) * 1000,
        "median_ms": statistics.median(ordered) * 1000,
        "slice_max_ms": max(slices) * 1000,
        "slice_median_ms": statistics.median(slices) * 1000,
        "collections": len(collections),
        "collection_max_ms": max(collections, default=(0.0, 0))[0] * 1000,
        "full_collections": sum(1 for _, generation in collections if generation == 2),
        "frozen": freeze,
    }


async def capacity(url: str, site_id: str, api_key: str) -> dict[str, Any]:
    items = contestants.encoded_items(make_events(), contestants.CEILING_POOL)
    bodies = list(contestants.batch_bodies(items))
    posts = CAPACITY_ITEMS // contestants.CEILING_BATCH
    credentials = base64.b64encode(f"{site_id}:{api_key}".encode()).decode()

    async with contestants.ceiling_session(f"Basic {credentials}") as session:
        await contestants.post_bodies(url, iter(bodies[:4]), session)
        started = time.perf_counter()
        await contestants.post_bodies(
            url, itertools.islice(itertools.cycle(bodies), posts), session
        )
        seconds = time.perf_counter() - started

    sent = posts * contestants.CEILING_BATCH
    return {"items": sent, "seconds": seconds, "rate": sent / seconds}


async def serve_fake() -> None:
    """
    Serve FakeCustomerIO (bodies not recorded) until stdin closes.
    """
    from cio_async.testing import FakeCustomerIO

    loop = asyncio.get_running_loop()
    async with FakeCustomerIO(record_bodies=False) as fake:
        print(f"listening on {fake.url.rsplit(':', 1)[1]}", flush=True)
        print(
            json.dumps({"site_id": fake.site_id, "api_key": fake.api_key}), flush=True
        )
        await loop.run_in_executor(None, sys.stdin.read)


def main() -> None:
    parser = argparse.ArgumentParser(description="One micro figure of cio_async.")
    parser.add_argument(
        "figure",
        choices=[
            "track-cost",
            "rss",
            "stall",
            "stall-frozen",
            "capacity",
            "serve-fake",
        ],
    )
    parser.add_argument("--port", type=int)
    parser.add_argument("--url")
    parser.add_argument("--site-id", default="bench-site")
    parser.add_argument("--api-key", default="bench-key")
    args = parser.parse_args()

    if args.figure == "serve-fake":
        asyncio.run(serve_fake())
        return
    if args.figure == "capacity":
        result = asyncio.run(capacity(args.url, args.site_id, args.api_key))
    elif args.figure == "stall-frozen":
        result = asyncio.run(stall(args.port, freeze=True))
    else:
        figure = {"track-cost": track_cost, "rss": rss, "stall": stall}[args.figure]
        result = asyncio.run(figure(args.port))
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
