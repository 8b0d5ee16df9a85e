"""
The ``cio-async`` command: ``demo``, ``send``, ``check`` and ``fake-server``.

Uses only the public API and :mod:`cio_async.testing`, which proves they are
enough to build tools on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from . import (
    AsyncCustomerIO,
    BatchConfig,
    ConfigurationError,
    CustomerIOError,
    DeliveryFailure,
)

_EVENT_NAMES = (
    "page_viewed",
    "product_viewed",
    "added_to_cart",
    "checkout_started",
    "order_completed",
    "subscription_renewed",
    "support_ticket_opened",
    "email_link_clicked",
)


def main(argv: Sequence[str] | None = None) -> int:
    """
    Entry point of the ``cio-async`` console script.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2

    try:
        code: int = asyncio.run(args.run(args))
    except ConfigurationError as error:
        print(f"cio-async: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cio-async",
        description="Send data to Customer.io, or try the SDK against a fake server.",
    )
    commands = parser.add_subparsers(title="commands")

    demo = commands.add_parser(
        "demo",
        help="run a realistic workload against an embedded fake Customer.io",
        description=(
            "Start the embedded fake Customer.io on 127.0.0.1, identify PEOPLE people "
            "and track EVENTS events through AsyncCustomerIO, flush, and compare "
            "what the client reports with what the fake received. Exits 1 on any "
            "difference. Needs no credentials and no network."
        ),
    )
    demo.add_argument("--people", type=int, default=5_000, help="default 5,000")
    demo.add_argument("--events", type=int, default=50_000, help="default 50,000")
    demo.add_argument("--producers", type=int, default=20, help="concurrent callers")
    demo.add_argument("--seed", type=int, default=7, help="workload random seed")
    demo.set_defaults(run=_demo)

    send = commands.add_parser(
        "send",
        help="send operations from an NDJSON file",
        description=(
            "Send one operation per line of FILE ('-' for stdin). Lines look like "
            '{"action": "identify", "id": "u1", "attributes": {...}} or '
            '{"action": "event", "id": "u1", "name": "...", "data": {...}}; '
            "lines of a dead-letter file are replayed as they were. Bad lines are "
            "reported with their number and skipped. Credentials come from "
            "CUSTOMERIO_SITE_ID, CUSTOMERIO_TRACK_API_KEY and CUSTOMERIO_REGION."
        ),
    )
    send.add_argument("file", help="NDJSON file, or - for standard input")
    send.add_argument("--base-url", help="send to this Track host instead")
    send.add_argument(
        "--dead-letter",
        metavar="PATH",
        help="append operations that fail to PATH, for a later replay",
    )
    send.set_defaults(run=_send)

    check = commands.add_parser(
        "check",
        help="verify credentials and region",
        description=(
            "Ask Customer.io which region the credentials belong to "
            "(GET /api/v1/accounts/region) and say whether CUSTOMERIO_REGION matches."
        ),
    )
    check.add_argument("--base-url", help="ask this Track host instead")
    check.set_defaults(run=_check)

    fake = commands.add_parser(
        "fake-server",
        help="run the fake Customer.io until interrupted",
        description=(
            "Serve the fake Customer.io Track API on 127.0.0.1 for local development; "
            "prints its URL and credentials."
        ),
    )
    fake.add_argument("--host", default="127.0.0.1", help="loopback address")
    fake.add_argument(
        "--port", type=int, default=8080, help="default 8080; 0 picks one"
    )
    fake.set_defaults(run=_fake_server)

    return parser


# -- demo ---------------------------------------------------------------------


def _person_attributes(rng: random.Random, index: int) -> dict[str, Any]:
    plans = ("free", "starter", "pro", "enterprise")
    return {
        "email": f"person{index}@example.com",
        "first_name": rng.choice(("Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken")),
        "plan": rng.choice(plans),
        "seats": rng.randint(1, 250),
        "lifetime_value": round(rng.uniform(0, 10_000), 2),
        "is_trial": rng.random() < 0.2,
        "created_at": 1_700_000_000 + rng.randint(0, 30_000_000),
        "tags": rng.sample(["beta", "vip", "churn-risk", "newsletter", "mobile"], 2),
    }


def _event_data(rng: random.Random, name: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {
            "sku": f"SKU-{rng.randint(1000, 9999)}",
            "qty": rng.randint(1, 4),
            "price": round(rng.uniform(2, 200), 2),
        }
        for _ in range(rng.randint(1, 3))
    ]
    return {
        "name": name,
        "session": {
            "source": rng.choice(("web", "ios", "android")),
            "ref": "ünïcødé ✓",
        },
        "items": items,
        "total": round(sum(i["qty"] * i["price"] for i in items), 2),
        "currency": rng.choice(("EUR", "USD", "GBP")),
        "coupon": None if rng.random() < 0.7 else "WELCOME10",
    }


async def _demo(args: argparse.Namespace) -> int:
    from .testing import FakeCustomerIO

    failures: list[DeliveryFailure] = []
    people = [f"user-{i}" for i in range(args.people)]

    async with FakeCustomerIO() as fake:
        print(f"fake Customer.io at {fake.url}")
        started = time.perf_counter()
        async with AsyncCustomerIO(
            fake.site_id,
            fake.api_key,
            base_url=fake.url,
            on_failure=failures.append,
        ) as cio:

            async def produce(worker: int) -> None:
                local = random.Random(args.seed * 1000 + worker)
                for i in range(worker, args.people, args.producers):
                    await cio.identify(people[i], _person_attributes(local, i))
                for _ in range(worker, args.events, args.producers):
                    name = local.choice(_EVENT_NAMES)
                    await cio.track(
                        local.choice(people), name, _event_data(local, name)
                    )

            await asyncio.gather(*(produce(w) for w in range(args.producers)))
            await cio.flush()
            stats = cio.stats()
        elapsed = time.perf_counter() - started
        received = fake.counts.items_accepted

    rate = stats.accepted / elapsed if elapsed else 0.0
    print(f"accepted   {stats.accepted:>9,}")
    print(f"delivered  {stats.delivered:>9,}  (the fake counted {received:,})")
    print(f"failed     {stats.failed:>9,}")
    print(f"requests   {stats.requests:>9,}  ({stats.retries} retries)")
    print(f"seconds    {elapsed:>9.2f}")
    print(f"ops/second {rate:>9,.0f}")

    ok = stats.delivered == received == stats.accepted and stats.failed == 0
    if not ok:
        print("MISMATCH: the client and the fake disagree", file=sys.stderr)
    return 0 if ok else 1


# -- send ---------------------------------------------------------------------


def _client_from_env(args: argparse.Namespace, **kwargs: Any) -> AsyncCustomerIO:
    if args.base_url:
        kwargs["base_url"] = args.base_url
    return AsyncCustomerIO.from_env(**kwargs)


async def _send(args: argparse.Namespace) -> int:
    failures: list[DeliveryFailure] = []
    bad: list[tuple[int, str]] = []
    # Reading a local file line by line blocks for microseconds at a time.
    stream: TextIO = (
        sys.stdin
        if args.file == "-"
        else open(args.file, encoding="utf-8")  # noqa: ASYNC230, SIM115
    )

    started = time.perf_counter()
    try:
        async with _client_from_env(
            args,
            on_failure=failures.append,
            dead_letter_path=args.dead_letter,
            batching=BatchConfig(queue_full="wait", enqueue_timeout=60.0),
        ) as cio:
            for number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    await _send_line(cio, line)
                except (ValueError, TypeError, KeyError, CustomerIOError) as error:
                    bad.append((number, _describe(error)))
            await cio.flush()
            stats = cio.stats()
    finally:
        if stream is not sys.stdin:
            stream.close()
    elapsed = time.perf_counter() - started

    for number, why in bad:
        print(f"line {number}: {why}", file=sys.stderr)
    print(
        f"sent {stats.accepted:,} operations in {elapsed:.2f} s: "
        f"{stats.delivered:,} delivered, {stats.failed:,} failed, "
        f"{len(bad):,} bad lines"
        + (f" ({', '.join(str(n) for n, _ in bad[:20])})" if bad else "")
    )
    for reason, count in sorted(stats.failed_by_reason.items()):
        print(f"  failed {reason}: {count:,}")
    return 0 if not bad and not stats.failed else 1


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing field {error}"
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON ({error.msg})"
    return str(error)


async def _send_line(cio: AsyncCustomerIO, line: str) -> None:
    record = json.loads(line)
    if not isinstance(record, dict):
        message = "a line must be a JSON object"
        raise ValueError(message)
    if "item" in record or "request" in record:
        await cio.replay(record)
        return

    action = record.get("action")
    person = record["id"]
    if action == "identify":
        await cio.identify(person, record.get("attributes") or {})
    elif action == "event":
        await cio.track(person, record["name"], record.get("data"))
    else:
        message = f"unknown action {action!r}"
        raise ValueError(message)


# -- check --------------------------------------------------------------------


async def _check(args: argparse.Namespace) -> int:
    async with _client_from_env(args) as cio:
        try:
            found = await cio.account_region()
        except CustomerIOError as error:
            print(f"check failed: {error}", file=sys.stderr)
            return 1

    print(f"credentials accepted; the account is in region {found.region.value}")
    if found.region is not cio.region:
        print(
            f"CUSTOMERIO_REGION is {cio.region.value} but the account is in "
            f"{found.region.value}: set CUSTOMERIO_REGION={found.region.value}",
            file=sys.stderr,
        )
        return 1
    return 0


# -- fake-server --------------------------------------------------------------


async def _fake_server(args: argparse.Namespace) -> int:
    from .testing import FakeCustomerIO

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with FakeCustomerIO(host=args.host, port=args.port) as fake:
        print(f"fake Customer.io listening on {fake.url}", flush=True)
        print(f"  CUSTOMERIO_SITE_ID={fake.site_id}", flush=True)
        print(f"  CUSTOMERIO_TRACK_API_KEY={fake.api_key}", flush=True)
        await stop.wait()
        counts = fake.counts
    print(f"stopped after {counts.requests} requests", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised via the console script
    sys.exit(main())
