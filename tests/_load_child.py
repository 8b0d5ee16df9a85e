"""
A process that runs a client under load, for the signal tests.

Usage::

    python _load_child.py URL SITE_ID API_KEY COUNT MODE

It queues COUNT events with ids ``evt-0`` ... ``evt-{COUNT-1}``, prints ``ready``
and waits. It reports on stdout, one JSON object a line: when the library logs
that it received a signal (``{"signal": ...}``), and at the end of ``aclose()``
(``{"closed": true, ...stats, "handled": n}``), before the re-raised signal
ends the process. MODE picks what else is installed:

``drain``
    Only the client's handlers.
``chain-loop``
    An application handler on the loop, installed before the client; it prints
    ``{"app_handler": ...}`` and lets the process end normally.
``chain-python``
    A plain Python handler installed before the loop starts; it prints the
    same line and exits with status 3.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from typing import Any

from cio_async import AsyncCustomerIO, BatchConfig, DeliveryFailure, Timeouts


def say(**fields: Any) -> None:
    """
    Print one JSON line to stdout at once.
    """
    print(json.dumps(fields), flush=True)


class _SignalLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("received "):
            say(signal=record.getMessage())


class ReportingClient(AsyncCustomerIO):
    """
    A client that reports its counters once ``aclose()`` has finished.
    """

    handled = 0
    reported = False

    async def aclose(self, timeout: float | None = None) -> None:
        await super().aclose(timeout)
        if not self.reported:
            self.reported = True
            say(closed=True, handled=self.handled, **self.stats().as_dict())


async def main(url: str, site_id: str, api_key: str, count: int, mode: str) -> None:
    stop = asyncio.Event()
    if mode == "chain-loop":

        def app_handler() -> None:
            say(app_handler="SIGTERM")
            stop.set()

        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, app_handler)

    client: ReportingClient

    def on_failure(failure: DeliveryFailure) -> None:
        client.handled += len(failure.operations)

    client = ReportingClient(
        site_id,
        api_key,
        base_url=url,
        batching=BatchConfig(
            max_batch_items=20, flush_interval=0.05, max_queue_size=count + 1
        ),
        timeouts=Timeouts(request=5.0, close=30.0),
        on_failure=on_failure,
        install_signal_handlers=True,
    )
    async with client:
        for number in range(count):
            await client.track("load-user", "load", {"n": number}, id=f"evt-{number}")
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    logger = logging.getLogger("cio_async.signals")
    logger.setLevel(logging.INFO)
    logger.addHandler(_SignalLines())

    # Started from a shell as a background job, a process (and so this child)
    # may inherit SIGINT ignored; a program run from a terminal has Python's
    # own handler, which is what the SIGINT test plays.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    url, site_id, api_key, count, mode = sys.argv[1:6]
    if mode == "chain-python":

        def python_handler(signum: int, frame: object) -> None:
            say(app_handler=signal.Signals(signum).name)
            sys.exit(3)

        signal.signal(signal.SIGTERM, python_handler)

    asyncio.run(main(url, site_id, api_key, int(count), mode))
