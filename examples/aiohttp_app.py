"""
An aiohttp.web app that reports sign-ups and orders to Customer.io.

``setup(app)`` opens one client with the app and drains it at cleanup, which
``web.run_app`` reaches on SIGTERM and Ctrl-C too, so nothing tracked is lost.
Try it against the fake Customer.io, from a checkout (``PYTHONPATH=.``) or with
cio_async installed::

    cio-async fake-server --port 8080        # in another shell
    export CUSTOMERIO_SITE_ID=fake-site-id CUSTOMERIO_TRACK_API_KEY=fake-track-api-key
    export CUSTOMERIO_TRACK_URL=http://127.0.0.1:8080
    python examples/aiohttp_app.py --port 8000

    curl -X POST http://127.0.0.1:8000/users/u1/signup \\
        -H 'Content-Type: application/json' -d '{"email": "ada@example.com"}'
    curl -X POST http://127.0.0.1:8000/users/u1/orders \\
        -H 'Content-Type: application/json' -d '{"total": 42.5, "currency": "EUR"}'

Without ``CUSTOMERIO_TRACK_URL`` it sends to Customer.io itself (set
``CUSTOMERIO_REGION=eu`` for an EU account).
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys

from aiohttp import web

from cio_async import DeliveryFailure
from cio_async.integrations import SharedClient, client_from_env
from cio_async.integrations.aiohttp import CLIENT_KEY, setup

log = logging.getLogger("aiohttp_app")


def log_failure(failure: DeliveryFailure) -> None:
    """
    Log operations that could not be delivered: counts and reasons, no data.
    """
    log.error(
        "%d operations not delivered: %s", len(failure.operations), failure.reason
    )


async def _json_object(request: web.Request) -> dict[str, object]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


async def signup(request: web.Request) -> web.Response:
    """
    Create the person and record the sign-up.
    """
    body = await _json_object(request)
    email, plan = body.get("email"), body.get("plan", "free")
    if not isinstance(email, str) or not isinstance(plan, str):
        raise web.HTTPBadRequest(text="email and plan must be strings")

    cio = request.config_dict[CLIENT_KEY]
    user_id = request.match_info["user_id"]
    await cio.identify(user_id, {"email": email, "plan": plan})
    await cio.track(user_id, "signed_up", {"plan": plan})

    return web.Response(status=204)


async def order(request: web.Request) -> web.Response:
    """
    Record a completed order.
    """
    body = await _json_object(request)
    total, currency = body.get("total"), body.get("currency", "EUR")
    if not isinstance(total, (int, float)) or not isinstance(currency, str):
        raise web.HTTPBadRequest(text="total must be a number, currency a string")

    cio = request.config_dict[CLIENT_KEY]
    await cio.track(
        request.match_info["user_id"],
        "order_completed",
        {"total": total, "currency": currency},
    )

    return web.Response(status=204)


def build_app() -> web.Application:
    """
    Build the app; the client comes from the CUSTOMERIO_* variables at startup.
    """
    app = web.Application()
    # First, so that cleanup_ctx entries added later can still track.
    setup(app, SharedClient(functools.partial(client_from_env, on_failure=log_failure)))
    app.router.add_post("/users/{user_id}/signup", signup)
    app.router.add_post("/users/{user_id}/orders", order)

    return app


def main(argv: list[str] | None = None) -> int:
    """
    Serve the app until SIGTERM or Ctrl-C, then drain the client.
    """
    parser = argparse.ArgumentParser(description="Serve the aiohttp example.")
    parser.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    parser.add_argument("--port", type=int, default=8000, help="default: %(default)s")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    web.run_app(build_app(), host=args.host, port=args.port, access_log=None)

    return 0


if __name__ == "__main__":
    sys.exit(main())
