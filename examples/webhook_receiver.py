"""
Receive Customer.io reporting webhooks with aiohttp and log what kinds arrive.

Every request is checked against the webhook's signing key; the receiver logs
counts per object type and metric, never the payloads. Run it with cio_async
installed (or from a checkout with ``PYTHONPATH=.``)::

    export CUSTOMERIO_WEBHOOK_SIGNING_KEY=your-signing-key
    python examples/webhook_receiver.py               # 127.0.0.1:8081
    python examples/webhook_receiver.py --port 9000

Then point the reporting webhook at ``https://<your host>/webhooks/customerio``,
or send a correctly signed test request from another shell::

    BODY='{"event_id": "01HF4Z8J6W2V9Q3R5T7Y1B3N5M", "object_type": "email",
      "metric": "delivered", "timestamp": 1700000000,
      "data": {"delivery_id": "test-delivery", "identifiers": {"id": "42"}}}'
    TS=$(date +%s)
    SIG=$(python -c 'import os, sys; from cio_async.webhooks import sign; print(sign(
        sys.argv[1].encode(), os.environ["CUSTOMERIO_WEBHOOK_SIGNING_KEY"], sys.argv[2]
        ))' "$BODY" "$TS")
    curl -i http://127.0.0.1:8081/webhooks/customerio \\
        -H "X-CIO-Timestamp: $TS" -H "X-CIO-Signature: $SIG" \\
        -H "Content-Type: application/json" --data-raw "$BODY"

The receiver answers 204; change a byte of ``BODY`` after signing and it answers
401 instead.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import sys

from aiohttp import web

from cio_async.webhooks import verify_aiohttp_request

KEY_VARIABLE = "CUSTOMERIO_WEBHOOK_SIGNING_KEY"
PATH = "/webhooks/customerio"

log = logging.getLogger("webhook_receiver")


def build_app(signing_key: str) -> web.Application:
    """
    Build an app that verifies reporting webhooks and counts them by kind.
    """
    counts: collections.Counter[tuple[str, str]] = collections.Counter()

    async def receive(request: web.Request) -> web.Response:
        # Answers 401 or 400 by itself when the request does not verify or parse.
        event = await verify_aiohttp_request(request, signing_key)

        kind = (event.object_type, event.metric)
        counts[kind] += 1
        log.info("%s %s: %d received", event.object_type, event.metric, counts[kind])

        return web.Response(status=204)

    async def log_totals(app: web.Application) -> None:
        for (object_type, metric), count in sorted(counts.items()):
            log.info("total %s %s: %d", object_type, metric, count)

    app = web.Application()
    app.router.add_post(PATH, receive)
    app.on_shutdown.append(log_totals)

    return app


def main(argv: list[str] | None = None) -> int:
    """
    Serve the receiver until interrupted.
    """
    parser = argparse.ArgumentParser(description="Receive Customer.io webhooks.")
    parser.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    parser.add_argument("--port", type=int, default=8081, help="default: %(default)s")
    args = parser.parse_args(argv)

    signing_key = os.environ.get(KEY_VARIABLE, "")
    if not signing_key:
        message = f"set {KEY_VARIABLE} to the reporting webhook's signing key"
        print(message, file=sys.stderr)
        return 2

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log.info("listening on http://%s:%d%s", args.host, args.port, PATH)
    web.run_app(
        build_app(signing_key),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
    )

    return 0


if __name__ == "__main__":
    sys.exit(main())
