"""
A lean counting stand-in for the Track API (and Segment's batch endpoint).

Run it as a separate process so that it never competes with the client for the
interpreter lock::

    python benchmarks/server.py --port 0      # prints "listening on <port>"

It speaks just enough HTTP/1.1 (keep-alive, ``Content-Length`` bodies) on
127.0.0.1 and answers every request with ``200 {}``, counting what arrived:

=====================================  =====================================
request                                counted as
=====================================  =====================================
``POST /api/v2/batch``                 its items (cio_async, the ceiling)
``POST /v1/batch``                     its items (segment-analytics-python)
``POST /api/v1/customers/{id}/events`` one item (customerio, async-customerio)
``PUT /api/v1/customers/{id}``         one identify
anything else                          an error, answered 404
=====================================  =====================================

Items of a batch are counted by scanning for ``"type":``, which every v2 item and
every Segment message carries once at its top level. A scan is about twenty times
faster than parsing (0.2 ms against 3.7 ms with orjson for 1,000 items), so the
server stays far from being the bottleneck; every ``--verify-every``-th batch is
also parsed, and a disagreement is counted as an error, so a payload whose data
holds a ``"type"`` key cannot inflate the counts unnoticed.

Control requests under ``/_bench/`` are answered at once, never delayed or held:

* ``GET /_bench/counts``: the counters as JSON;
* ``POST /_bench/reset``: zero the counters;
* ``POST /_bench/config?latency_ms=20&paused=0``: added latency per answer, and
  whether answers are held back (``paused=1``) until ``paused=0``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is optional
    _loads: Callable[[bytes], Any] = json.loads
else:
    _loads = orjson.loads

_TYPE_KEY = b'"type":'
# The server stops by itself after this long, even if nobody stops it.
MAX_LIFETIME = 3600.0
_MAX_HEAD = 64 * 1024


def _answer(status: int, reason: str, body: bytes, *, close: bool = False) -> bytes:
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    if close:
        head += "Connection: close\r\n"

    return head.encode("ascii") + b"\r\n" + body


_OK = _answer(200, "OK", b"{}")
_SEGMENT_OK = _answer(200, "OK", b'{"success":true}')
_NOT_FOUND = _answer(404, "Not Found", b'{"error":"not found"}')
_NO_LENGTH = _answer(411, "Length Required", b'{"error":"length"}', close=True)


class State:
    """
    Counters and settings shared by every connection.
    """

    def __init__(self, verify_every: int) -> None:
        self.verify_every = verify_every
        self.latency = 0.0
        self.paused = False
        self.held: list[tuple[asyncio.Transport, bytes, bool]] = []
        self.reset()

    def reset(self) -> None:
        self.items = 0
        self.identifies = 0
        self.requests = 0
        self.batches = 0
        self.bytes = 0
        self.errors = 0
        self.max_batch_items = 0

    def counts(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "identifies": self.identifies,
            "requests": self.requests,
            "batches": self.batches,
            "bytes": self.bytes,
            "errors": self.errors,
            "max_batch_items": self.max_batch_items,
            "latency_ms": self.latency * 1000,
            "paused": self.paused,
        }

    def count_batch(self, body: bytes) -> None:
        items = body.count(_TYPE_KEY)
        self.batches += 1
        if self.batches % self.verify_every == 0:
            try:
                parsed = len(_loads(body)["batch"])
            except (ValueError, KeyError, TypeError):
                parsed = -1
            if parsed != items:
                self.errors += 1
        self.items += items
        self.max_batch_items = max(self.max_batch_items, items)

    def configure(self, query: str) -> None:
        options = parse_qs(query)
        if "latency_ms" in options:
            self.latency = float(options["latency_ms"][0]) / 1000
        if "paused" in options:
            self.paused = options["paused"][0] == "1"
            if not self.paused:
                held, self.held = self.held, []
                for transport, answer, close in held:
                    _write(transport, answer, close)


def _write(transport: asyncio.Transport, answer: bytes, close: bool) -> None:
    if transport.is_closing():
        return
    transport.write(answer)
    if close:
        transport.close()


class Connection(asyncio.Protocol):
    """
    One keep-alive connection: parse requests, count them, answer in order.
    """

    def __init__(self, state: State) -> None:
        self._state = state
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        # While a body is being read: (method, target, length, close).
        self._pending: tuple[str, str, int, bool] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._transport is not None and not self._transport.is_closing():
            if self._pending is None and not self._read_head():
                return
            assert self._pending is not None
            method, target, length, close = self._pending
            if len(self._buffer) < length:
                return

            body = bytes(self._buffer[:length])
            del self._buffer[:length]
            self._pending = None
            self._handle(method, target, body, close)

    def _read_head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_HEAD:
                self._state.errors += 1
                _write(self._transport_or_fail(), _NO_LENGTH, True)
            return False

        head = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 4]
        request_line, *header_lines = head.split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        length = -1
        close = False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection":
                close = value.strip().lower() == "close"
            elif name == "transfer-encoding":
                length = -1
                break

        if length < 0 and method in ("POST", "PUT", "PATCH"):
            # Every client measured sends Content-Length; anything else is a
            # surprise worth failing loudly on.
            self._state.errors += 1
            _write(self._transport_or_fail(), _NO_LENGTH, True)
            return False
        self._pending = (method, target, max(length, 0), close)
        return True

    def _transport_or_fail(self) -> asyncio.Transport:
        assert self._transport is not None
        return self._transport

    def _handle(self, method: str, target: str, body: bytes, close: bool) -> None:
        state = self._state
        transport = self._transport_or_fail()
        path, _, query = target.partition("?")
        if path.startswith("/_bench/"):
            _write(transport, self._control(method, path, query), close)
            return

        state.requests += 1
        state.bytes += len(body)
        answer = _OK
        if method == "POST" and path == "/api/v2/batch":
            state.count_batch(body)
        elif method == "POST" and path == "/v1/batch":
            state.count_batch(body)
            answer = _SEGMENT_OK
        elif method == "POST" and path.startswith("/api/v1/customers/"):
            state.items += 1 if path.endswith("/events") else 0
        elif method == "PUT" and path.startswith("/api/v1/customers/"):
            state.identifies += 1
        else:
            state.errors += 1
            answer = _NOT_FOUND

        if state.paused:
            state.held.append((transport, answer, close))
        elif state.latency > 0:
            loop = asyncio.get_running_loop()
            loop.call_later(state.latency, _write, transport, answer, close)
        else:
            _write(transport, answer, close)

    def _control(self, method: str, path: str, query: str) -> bytes:
        state = self._state
        if method == "POST" and path == "/_bench/reset":
            state.reset()
        elif method == "POST" and path == "/_bench/config":
            state.configure(query)
        elif not (method == "GET" and path == "/_bench/counts"):
            return _NOT_FOUND

        return _answer(200, "OK", json.dumps(state.counts()).encode())


async def serve(port: int, verify_every: int, lifetime: float) -> None:
    """
    Serve on 127.0.0.1 until SIGTERM, SIGINT or ``lifetime`` seconds.
    """
    loop = asyncio.get_running_loop()
    state = State(verify_every)
    server = await loop.create_server(
        lambda: Connection(state), "127.0.0.1", port, backlog=1024
    )
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    bound = server.sockets[0].getsockname()[1]
    print(f"listening on {bound}", flush=True)
    async with server:
        try:
            await asyncio.wait_for(stop.wait(), lifetime)
        except asyncio.TimeoutError:
            print("lifetime reached; stopping", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free one")
    parser.add_argument("--verify-every", type=int, default=16)
    parser.add_argument("--lifetime", type=float, default=MAX_LIFETIME)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.verify_every, args.lifetime))


if __name__ == "__main__":
    main()
