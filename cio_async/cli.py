"""
The ``cio-async`` command: ``demo``, ``send``, ``check`` and ``fake-server``.

Uses only the public API and :mod:`cio_async.testing`, which proves they are
enough to build tools on. How a line of ``send`` becomes a call lives in
:mod:`cio_async._lines`, its progress line in :mod:`cio_async._progress`.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import random
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from cio_async import (
    AsyncCustomerIO,
    BatchConfig,
    ClientClosedError,
    ConfigurationError,
    CustomerIOError,
    DeliveryFailure,
    Stats,
)
from cio_async._lines import EXAMPLES, FORMATS, send_line
from cio_async._progress import Progress

if TYPE_CHECKING:
    from cio_async.testing import FakeCustomerIO

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

_CREDENTIALS = (
    "Credentials come from CUSTOMERIO_SITE_ID and CUSTOMERIO_TRACK_API_KEY, the "
    "region from CUSTOMERIO_REGION (us or eu, default us), and CUSTOMERIO_TRACK_URL "
    "(or --base-url) replaces the region's Track host, for a proxy or "
    "'cio-async fake-server'."
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
    except (ConfigurationError, _UsageError) as error:
        print(f"cio-async: {error}", file=sys.stderr)
        return 2
    except CustomerIOError as error:
        print(f"cio-async: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


class _UsageError(Exception):
    """
    The command line asks for something that cannot be done; exit 2.
    """


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cio-async",
        description="Send data to Customer.io, or try the SDK against a fake server.",
        epilog="Run 'cio-async COMMAND --help' for the options of each command.",
    )
    commands = parser.add_subparsers(title="commands")
    _add_demo(commands)
    _add_send(commands)
    _add_check(commands)
    _add_fake_server(commands)

    return parser


_Commands = Any  # argparse's subparsers action has no public type


def _count(text: str) -> int:
    """
    An argparse type: a whole number, 0 or more.
    """
    return _at_least(text, 0)


def _positive(text: str) -> int:
    """
    An argparse type: a whole number, 1 or more.
    """
    return _at_least(text, 1)


def _at_least(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        message = f"{text!r} is not a whole number"
        raise argparse.ArgumentTypeError(message) from None
    if value < least:
        message = f"must be {least} or more, not {value}"
        raise argparse.ArgumentTypeError(message)

    return value


def _add_demo(commands: _Commands) -> None:
    demo = commands.add_parser(
        "demo",
        help="run a realistic workload against an embedded fake Customer.io",
        description=(
            "Start the embedded fake Customer.io on 127.0.0.1, identify PEOPLE people "
            "and track EVENTS events through AsyncCustomerIO, flush, and compare "
            "what the client reports with what the fake received. Exits 1 on any "
            "difference, 2 on a usage error. Needs no credentials and no network."
        ),
    )
    demo.add_argument(
        "--people", type=_count, default=5_000, help="0 or more (default 5,000)"
    )
    demo.add_argument(
        "--events",
        type=_count,
        default=50_000,
        help="0 or more (default 50,000); more than 0 needs --people of 1 or more",
    )
    demo.add_argument(
        "--producers",
        type=_positive,
        default=20,
        help="concurrent callers, 1 or more (default 20)",
    )
    demo.add_argument("--seed", type=int, default=7, help="workload random seed")
    demo.set_defaults(run=_demo)


def _add_send(commands: _Commands) -> None:
    formats = "\n".join(
        f"  {action} -> {method}()\n      {fields}"
        for action, fields, method in FORMATS
    )
    examples = "\n".join(f"  {line}" for line in EXAMPLES)
    send = commands.add_parser(
        "send",
        help="send operations from an NDJSON file, or resume a dead-letter file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Send one operation per line of FILE ('-' for standard input), then wait\n"
            "until each is delivered or failed and print a summary. Bad lines are\n"
            "reported on standard error by number and skipped; lines of a dead-letter\n"
            "file are replayed as they were. Exits 0 when everything was delivered,\n"
            "1 when a line was bad or an operation failed, 2 on a usage error (such\n"
            "as a FILE that cannot be read).\n\n" + _wrap(_CREDENTIALS)
        ),
        epilog=(
            "line formats:\n"
            "One JSON object per line; 'action' names the call. PERSON is exactly\n"
            "one of id, email, phone or cio_id (a merge side: id, email or\n"
            "cio_id). OBJECT is {object_type_id, object_id, [attributes]}; PEOPLE\n"
            "is an id, or {PERSON, [attributes]}. Timestamps are unix seconds or\n"
            "ISO 8601 text; data and attributes are objects; update_only is true\n"
            "or false. Fields in brackets are optional; each means what the client\n"
            "method's argument means. A field an action does not list makes the\n"
            "line bad.\n"
            'Lines of a dead-letter file ({"item": ...} or {"request": ...}) are\n'
            "replayed as they are.\n\n"
            f"{formats}\n\n"
            f"example lines:\n{examples}\n\n"
            "examples:\n"
            "  cio-async send events.ndjson --dead-letter failed.ndjson\n"
            "  cio-async send --resume failed.ndjson\n"
            "  gunzip -c export.ndjson.gz | cio-async send - --progress"
        ),
    )
    send.add_argument("file", nargs="?", help="NDJSON file, or - for standard input")
    send.add_argument(
        "--resume",
        metavar="DEADLETTER",
        help=(
            "send a dead-letter file again: it is moved to DEADLETTER.replaying, "
            "replayed, and what fails again is written to a new DEADLETTER"
        ),
    )
    send.add_argument(
        "--dead-letter",
        metavar="PATH",
        help="append operations that fail to PATH, for 'send --resume PATH'",
    )
    send.add_argument(
        "--base-url",
        default=os.environ.get("CUSTOMERIO_TRACK_URL") or None,
        help="send to this Track host root (default: $CUSTOMERIO_TRACK_URL)",
    )
    progress = send.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help=(
            "show progress on standard error even when it is not a terminal "
            "(one line a second)"
        ),
    )
    progress.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="show no progress, even on a terminal",
    )
    send.set_defaults(run=_send)


def _add_check(commands: _Commands) -> None:
    check = commands.add_parser(
        "check",
        help="verify credentials and region",
        description=(
            "Ask Customer.io which region the credentials belong to "
            "(GET /api/v1/accounts/region) and say whether CUSTOMERIO_REGION "
            "matches. Exits 0 when both are right, 1 when not. " + _CREDENTIALS
        ),
    )
    check.add_argument(
        "--base-url",
        default=os.environ.get("CUSTOMERIO_TRACK_URL") or None,
        help="ask this Track host root (default: $CUSTOMERIO_TRACK_URL)",
    )
    check.set_defaults(run=_check)


def _add_fake_server(commands: _Commands) -> None:
    fake = commands.add_parser(
        "fake-server",
        help="run the fake Customer.io until interrupted",
        description=(
            "Serve the fake Customer.io Track and App APIs on a loopback address "
            "for local development, until SIGINT or SIGTERM. Prints, as shell "
            "lines to paste, its URL and 'export CUSTOMERIO_...' lines that point "
            "AsyncCustomerIO.from_env() and AsyncAPIClient.from_env() at it, then "
            "a summary of what it received when it stops. Exits 2 when the port "
            "is in use. Faults are off unless asked for; the --chaos-* rates add "
            "up to at most 1 and each request draws at most one fault."
        ),
    )
    fake.add_argument("--host", default="127.0.0.1", help="loopback address")
    fake.add_argument(
        "--port", type=int, default=8080, help="default 8080; 0 picks a free one"
    )
    fake.add_argument("--site-id", default="fake-site-id", help="accepted site id")
    fake.add_argument(
        "--api-key", default="fake-track-api-key", help="accepted Track API key"
    )
    fake.add_argument(
        "--region",
        choices=("us", "eu"),
        default="us",
        help="what /api/v1/accounts/region answers (default us)",
    )
    faults = fake.add_argument_group("faults")
    faults.add_argument(
        "--latency", type=float, metavar="SECONDS", help="seconds added to every answer"
    )
    faults.add_argument(
        "--chaos-5xx",
        type=float,
        default=0.0,
        metavar="RATE",
        help="share of requests answered 500, 502, 503 or 504",
    )
    faults.add_argument(
        "--chaos-429",
        type=float,
        default=0.0,
        metavar="RATE",
        help="share answered 429 with Retry-After 0 or 1",
    )
    faults.add_argument(
        "--chaos-reset",
        type=float,
        default=0.0,
        metavar="RATE",
        help=(
            "share whose connection is reset, half of them after the request "
            "was applied"
        ),
    )
    faults.add_argument(
        "--chaos-no-answer",
        type=float,
        default=0.0,
        metavar="RATE",
        help="share held without an answer until the server stops",
    )
    faults.add_argument(
        "--max-body-bytes",
        type=_positive,
        metavar="N",
        help="answer 413 to request bodies longer than N bytes",
    )
    faults.add_argument(
        "--close-idle-after",
        type=float,
        metavar="SECONDS",
        help="close keep-alive connections idle this long, as load balancers do",
    )
    faults.add_argument(
        "--seed", type=int, help="seed of the chaos draws, for repeatable runs"
    )
    fake.set_defaults(run=_fake_server)


def _wrap(text: str, width: int = 78) -> str:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)

    return "\n".join(lines)


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
    from cio_async.testing import FakeCustomerIO

    if args.events and not args.people:
        message = "--events needs --people of 1 or more: events are tracked on people"
        raise _UsageError(message)
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


def _send_source(args: argparse.Namespace) -> tuple[str, str | None, Path | None]:
    """
    Which file to read, where failures go, and the file to remove on success.
    """
    if args.resume is None:
        if args.file is None:
            message = "send needs FILE, or --resume DEADLETTER"
            raise _UsageError(message)
        return args.file, args.dead_letter, None

    if args.file is not None or args.dead_letter is not None:
        message = "--resume takes no FILE and no --dead-letter: it reuses DEADLETTER"
        raise _UsageError(message)
    dead_letter = Path(args.resume)
    aside = dead_letter.with_name(dead_letter.name + ".replaying")
    if aside.exists():
        message = (
            f"{aside} is left from an interrupted --resume; send it first with "
            f"'cio-async send {aside} --dead-letter {dead_letter}', then remove it"
        )
        raise _UsageError(message)
    if not dead_letter.exists():
        message = f"{dead_letter} does not exist: nothing to resume"
        raise _UsageError(message)
    _open(str(dead_letter)).close()

    dead_letter.rename(aside)
    return str(aside), str(dead_letter), aside


async def _send(args: argparse.Namespace) -> int:
    source, dead_letter, aside = _send_source(args)
    bad: list[tuple[int, str]] = []
    # Reading a local file line by line blocks for microseconds at a time.
    stream = _open(source)
    total = _size(stream)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    progress = Progress(sys.stderr, total, tty=sys.stderr.isatty()) if show else None

    lines = done = 0
    started = time.perf_counter()
    try:
        async with _client_from_env(
            args,
            dead_letter_path=dead_letter,
            batching=BatchConfig(queue_full="wait", enqueue_timeout=60.0),
        ) as cio:
            for lines, raw in enumerate(stream, start=1):
                done += len(raw)
                if raw.strip():
                    try:
                        await send_line(cio, raw)
                    except ClientClosedError:
                        raise
                    except Exception as error:  # a bad line never stops the run
                        bad.append((lines, _describe(error)))
                if progress is not None and progress.due():
                    progress.draw(lines, done, cio.stats())

            ticker = (
                None
                if progress is None
                else asyncio.create_task(_tick(progress, cio, lines, done))
            )
            try:
                await cio.flush()
            finally:
                if ticker is not None:
                    ticker.cancel()
            stats = cio.stats()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    elapsed = time.perf_counter() - started

    if progress is not None:
        progress.draw(lines, done, stats)
        progress.finish()
    for number, why in bad:
        print(f"line {number}: {why}", file=sys.stderr)
    _summary(stats, elapsed, bad, dead_letter)
    if aside is not None and not bad:
        aside.unlink()
    elif aside is not None:
        print(f"{aside} is kept because of its bad lines", file=sys.stderr)

    return 0 if not bad and not stats.failed else 1


def _open(source: str) -> IO[bytes]:
    """
    Open FILE for reading, or standard input for ``-``.

    Raises:
        _UsageError: The file is missing, a directory, or not readable.
    """
    if source == "-":
        return sys.stdin.buffer
    try:
        return open(source, "rb")
    except OSError as error:
        message = f"cannot read {source}: {error.strerror or error}"
        raise _UsageError(message) from None


def _size(stream: IO[bytes]) -> int | None:
    try:
        size = os.fstat(stream.fileno()).st_size
    except (OSError, ValueError):
        return None
    return size or None


async def _tick(
    progress: Progress, cio: AsyncCustomerIO, lines: int, done: int
) -> None:
    while True:
        if progress.due():
            progress.draw(lines, done, cio.stats())
        await asyncio.sleep(0.1)


def _summary(
    stats: Stats, elapsed: float, bad: list[tuple[int, str]], dead_letter: str | None
) -> None:
    rate = stats.accepted / elapsed if elapsed > 0 else 0.0
    listed = f" ({', '.join(str(n) for n, _ in bad[:20])})" if bad else ""
    print(
        f"sent {stats.accepted:,} operations in {elapsed:.2f} s ({rate:,.0f}/s): "
        f"{stats.delivered:,} delivered, {stats.failed:,} failed, "
        f"{len(bad):,} bad lines{listed}"
    )
    print(f"  {stats.requests:,} requests, {stats.retries:,} of them retries")
    for reason, count in sorted(stats.failed_by_reason.items()):
        print(f"  failed {reason}: {count:,}")
    if stats.failed and dead_letter is not None:
        print(
            f"failed operations are in {dead_letter}; "
            f"send them again with: cio-async send --resume {dead_letter}"
        )


def _describe(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing field {error}"
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON ({error.msg})"
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, (CustomerIOError, ValueError, TypeError)):
        return str(error)
    return f"unexpected {type(error).__name__}: {error}"


def _client_from_env(args: argparse.Namespace, **kwargs: Any) -> AsyncCustomerIO:
    if args.base_url:
        kwargs["base_url"] = args.base_url
    return AsyncCustomerIO.from_env(**kwargs)


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
    from cio_async.testing import FakeCustomerIO

    try:
        fake = FakeCustomerIO(
            site_id=args.site_id,
            api_key=args.api_key,
            host=args.host,
            port=args.port,
            region=args.region,
            record_bodies=False,
        )
        _apply_faults(fake, args)
    except ValueError as error:
        raise _UsageError(str(error)) from None

    try:
        await fake.start()
    except OSError as error:
        raise _UsageError(_cannot_listen(fake, args.port, error)) from None

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        print(f"# fake Customer.io listening on {fake.url}", flush=True)
        for name, value in (
            ("CUSTOMERIO_SITE_ID", fake.site_id),
            ("CUSTOMERIO_TRACK_API_KEY", fake.api_key),
            ("CUSTOMERIO_TRACK_URL", fake.url),
            ("CUSTOMERIO_APP_API_KEY", fake.app_api_key),
            ("CUSTOMERIO_APP_URL", fake.url),
        ):
            print(f"export {name}={shlex.quote(value)}", flush=True)
        chaos = fake.faults.active_chaos
        if chaos is not None or fake.faults.latency or fake.faults.max_body_bytes:
            print(f"# faults: {_describe_faults(fake)}", flush=True)
        await stop.wait()
        counts = fake.counts
    finally:
        await fake.aclose()
    print(
        f"stopped after {counts.requests:,} requests: {counts.batches:,} batches, "
        f"{counts.items_accepted:,} items accepted, "
        f"{counts.items_rejected:,} rejected, "
        f"{counts.duplicate_events:,} duplicate events",
        file=sys.stderr,
    )
    return 0


def _cannot_listen(fake: FakeCustomerIO, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {fake.host} is in use; "
            "choose another with --port, or --port 0 for a free one"
        )
    return f"cannot listen on port {port} of {fake.host}: {error.strerror or error}"


def _apply_faults(fake: FakeCustomerIO, args: argparse.Namespace) -> None:
    """
    Set the fake's fault knobs from the options.

    Raises:
        ValueError: A value is out of range; the message names the setting.
    """
    faults = fake.faults
    if args.latency is not None:
        faults.latency = args.latency
    if args.max_body_bytes is not None:
        faults.max_body_bytes = args.max_body_bytes
    if args.close_idle_after is not None:
        faults.close_idle_after = args.close_idle_after
    rates = (args.chaos_5xx, args.chaos_429, args.chaos_reset, args.chaos_no_answer)
    if any(rates):
        faults.chaos(
            error_5xx=args.chaos_5xx,
            rate_limited=args.chaos_429,
            reset=args.chaos_reset,
            no_answer=args.chaos_no_answer,
            seed=args.seed,
        )


def _describe_faults(fake: FakeCustomerIO) -> str:
    faults = fake.faults
    parts = []
    if faults.latency:
        parts.append(f"latency {faults.latency:g} s")
    if faults.max_body_bytes:
        parts.append(f"413 over {faults.max_body_bytes:,} bytes")
    chaos = faults.active_chaos
    if chaos is not None:
        for name, rate in (
            ("5xx", chaos.error_5xx),
            ("429", chaos.rate_limited),
            ("reset", chaos.reset),
            ("no answer", chaos.no_answer),
        ):
            if rate:
                parts.append(f"{name} {rate:.0%}")
        if chaos.seed is not None:
            parts.append(f"seed {chaos.seed}")

    return ", ".join(parts)


if __name__ == "__main__":  # pragma: no cover - exercised via the console script
    sys.exit(main())
