"""
A FastAPI app that reports sign-ups and orders to Customer.io.

One client serves every request; it is built when the server starts and drained
when it stops (SIGTERM or Ctrl-C included), so nothing tracked is lost. Try it
against the fake Customer.io, from a checkout (``PYTHONPATH=.``) or with
cio_async installed::

    cio-async fake-server --port 8080        # in another shell
    export CUSTOMERIO_SITE_ID=fake-site-id CUSTOMERIO_TRACK_API_KEY=fake-track-api-key
    export CUSTOMERIO_TRACK_URL=http://127.0.0.1:8080
    python -m uvicorn examples.fastapi_app:app --port 8000
    # or: python examples/fastapi_app.py --port 8000

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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel

from cio_async import DeliveryFailure
from cio_async.integrations import SharedClient, client_from_env
from cio_async.integrations.fastapi import CustomerIO, lifespan

log = logging.getLogger("fastapi_app")


def log_failure(failure: DeliveryFailure) -> None:
    """
    Log operations that could not be delivered: counts and reasons, no data.
    """
    log.error(
        "%d operations not delivered: %s", len(failure.operations), failure.reason
    )


# Built per event loop on first use; the lifespan below opens and drains it.
cio = SharedClient(functools.partial(client_from_env, on_failure=log_failure))


@asynccontextmanager
async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """
    The app's own start-up and shutdown; the client is open during both.
    """
    log.info("started")
    yield
    log.info("stopping; the Customer.io client drains after this")


app = FastAPI(lifespan=lifespan(cio, wrap=app_lifespan))


class Signup(BaseModel):
    email: str
    plan: str = "free"


class Order(BaseModel):
    total: float
    currency: str = "EUR"


@app.post("/users/{user_id}/signup", status_code=204)
async def signup(user_id: str, body: Signup, customerio: CustomerIO) -> None:
    """
    Create the person and record the sign-up.
    """
    await customerio.identify(user_id, {"email": body.email, "plan": body.plan})
    await customerio.track(user_id, "signed_up", {"plan": body.plan})


@app.post("/users/{user_id}/orders", status_code=204)
async def order(user_id: str, body: Order, customerio: CustomerIO) -> None:
    """
    Record a completed order.
    """
    await customerio.track(
        user_id, "order_completed", {"total": body.total, "currency": body.currency}
    )


@app.get("/stats")
async def stats(customerio: CustomerIO) -> dict[str, object]:
    """
    The client's counters, for a look from outside.
    """
    return customerio.stats().as_dict()


def main(argv: list[str] | None = None) -> None:
    """
    Serve the app with uvicorn until interrupted.
    """
    import uvicorn

    parser = argparse.ArgumentParser(description="Serve the FastAPI example.")
    parser.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    parser.add_argument("--port", type=int, default=8000, help="default: %(default)s")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
