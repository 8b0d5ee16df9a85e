"""
Publish a client's counters in Prometheus text format, without prometheus_client.

Every ``--interval`` seconds the snapshot from ``cio.stats()`` is written to a
file, atomically, in the text exposition format: point node_exporter's textfile
collector at the directory (``--collector.textfile.directory``), or serve the
file however you like. Meanwhile a small workload tracks events, so the numbers
move. Try it against the fake Customer.io, from a checkout (``PYTHONPATH=.``)
or with cio_async installed::

    cio-async fake-server --port 8080        # in another shell
    export CUSTOMERIO_SITE_ID=fake-site-id CUSTOMERIO_TRACK_API_KEY=fake-track-api-key
    export CUSTOMERIO_TRACK_URL=http://127.0.0.1:8080
    python examples/metrics_export.py --textfile cio_async.prom --seconds 5
    cat cio_async.prom

The same ``render()`` serves a ``/metrics`` endpoint just as well.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path

from cio_async import AsyncCustomerIO, Stats

PREFIX = "cio_async"

# (name in Stats.as_dict(), metric name, type, help)
_METRICS = (
    ("accepted", "operations_accepted_total", "counter", "Operations accepted."),
    ("delivered", "operations_delivered_total", "counter", "Operations delivered."),
    ("queued", "operations_queued", "gauge", "Operations waiting for a sender."),
    ("in_flight", "operations_in_flight", "gauge", "Operations in open requests."),
    ("requests", "requests_total", "counter", "HTTP requests, retries included."),
    ("retries", "retries_total", "counter", "HTTP requests that were retries."),
)


def render(stats: Stats, labels: dict[str, str] | None = None) -> str:
    """
    The counters in Prometheus text exposition format.

    Args:
        stats: A snapshot from ``AsyncCustomerIO.stats()``.
        labels: Labels added to every sample, such as ``{"client": "track"}``.
    """
    values = stats.as_dict()
    lines: list[str] = []

    for key, name, kind, help_text in _METRICS:
        lines += [
            f"# HELP {PREFIX}_{name} {help_text}",
            f"# TYPE {PREFIX}_{name} {kind}",
            f"{PREFIX}_{name}{_labels(labels)} {values[key]}",
        ]

    name = f"{PREFIX}_operations_failed_total"
    lines += [
        f"# HELP {name} Operations handed to the failure handler, by reason.",
        f"# TYPE {name} counter",
    ]
    by_reason = values["failed_by_reason"] or {}
    for reason, count in sorted(by_reason.items()):
        lines.append(f"{name}{_labels({**(labels or {}), 'reason': reason})} {count}")
    if not by_reason:
        lines.append(f"{name}{_labels(labels)} 0")

    return "\n".join(lines) + "\n"


def _labels(labels: dict[str, str] | None) -> str:
    if not labels:
        return ""
    escaped = (
        (key, value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
        for key, value in sorted(labels.items())
    )
    return "{" + ",".join(f'{key}="{value}"' for key, value in escaped) + "}"


def write_atomically(path: Path, text: str) -> None:
    """
    Replace ``path`` with ``text`` so that a reader never sees half a file.
    """
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


async def publish_periodically(
    cio: AsyncCustomerIO, path: Path, interval: float
) -> None:
    """
    Write the client's counters to ``path`` every ``interval`` seconds, forever.
    """
    while True:
        await asyncio.to_thread(write_atomically, path, render(cio.stats()))
        await asyncio.sleep(interval)


async def main(argv: list[str] | None = None) -> int:
    """
    Track events for a while, publishing the counters; write them once more at the end.
    """
    parser = argparse.ArgumentParser(description="Publish cio.stats() for Prometheus.")
    parser.add_argument("--textfile", type=Path, default=Path("cio_async.prom"))
    parser.add_argument("--interval", type=float, default=1.0, help="seconds")
    parser.add_argument("--seconds", type=float, default=5.0, help="workload length")
    parser.add_argument("--rate", type=float, default=200.0, help="events a second")
    args = parser.parse_args(argv)

    async with AsyncCustomerIO.from_env(
        base_url=os.environ.get("CUSTOMERIO_TRACK_URL") or None
    ) as cio:
        publisher = asyncio.create_task(
            publish_periodically(cio, args.textfile, args.interval)
        )
        try:
            loop = asyncio.get_running_loop()
            end = loop.time() + args.seconds
            number = 0
            while loop.time() < end:
                await cio.track(f"user-{number % 50}", "page_viewed", {"n": number})
                number += 1
                await asyncio.sleep(1 / args.rate)
            await cio.flush()
        finally:
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher

    write_atomically(args.textfile, render(cio.stats()))
    print(args.textfile.read_text(encoding="utf-8"), end="")

    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
