"""
FastAPI and Starlette: open the client at startup, drain it at shutdown.

::

    from fastapi import FastAPI
    from cio_async.integrations import SharedClient
    from cio_async.integrations.fastapi import CustomerIO, lifespan

    app = FastAPI(lifespan=lifespan(SharedClient()))

    @app.post("/signup/{user_id}", status_code=204)
    async def signup(user_id: str, cio: CustomerIO) -> None:
        await cio.track(user_id, "signed_up")

:func:`lifespan` builds the client when the server starts (a missing or bad
``CUSTOMERIO_*`` variable stops the start-up, naming the variable), and on
shutdown (uvicorn's SIGTERM included) waits until every accepted operation is
delivered or handed to ``on_failure``. It wraps the app's own lifespan, if any,
so the client is open for all of the app's start-up and shutdown code.

Handlers get the client with the :data:`CustomerIO` annotation or the
:func:`get_client` dependency. Needs FastAPI; plain Starlette apps can use
``lifespan`` and ``await get_client(request)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, TypeVar, overload

from fastapi import Depends
from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from cio_async import AsyncCustomerIO

from ._shared import SharedClient, check_account

__all__ = ["STATE_KEY", "CustomerIO", "get_client", "lifespan"]

#: The attribute of ``app.state`` that holds the app's :class:`SharedClient`.
STATE_KEY = "cio_async"

_App = TypeVar("_App", bound=Starlette)
_State = TypeVar("_State")


@overload
def lifespan(
    shared: SharedClient | None = None,
    *,
    wrap: None = None,
    close_timeout: float | None = None,
    check: bool = False,
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]: ...


@overload
def lifespan(
    shared: SharedClient | None = None,
    *,
    wrap: Callable[[_App], AbstractAsyncContextManager[_State]],
    close_timeout: float | None = None,
    check: bool = False,
) -> Callable[[_App], AbstractAsyncContextManager[_State]]: ...


def lifespan(
    shared: SharedClient | None = None,
    *,
    wrap: Callable[[Any], AbstractAsyncContextManager[Any]] | None = None,
    close_timeout: float | None = None,
    check: bool = False,
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    """
    A lifespan that opens the Customer.io client on startup and drains it on
    shutdown, around the app's own lifespan.

    Pass it as ``FastAPI(lifespan=...)`` or ``Starlette(lifespan=...)``.

    Args:
        shared: Where the client comes from; a new :class:`SharedClient` built
            from the environment by default. Pass your own to reach the same
            client outside handlers (background jobs, other hooks).
        wrap: The app's own lifespan. It runs inside ours, so the client is
            open during all of its start-up and shutdown; whatever state it
            yields is passed on.
        close_timeout: Seconds to drain at shutdown; the client's
            ``Timeouts.close`` by default. What is still pending then goes to
            ``on_failure`` as ``shutdown_timeout``.
        check: Also ask Customer.io at start-up whether the credentials work
            and the region is right (one request), and refuse to start if not.

    Returns:
        A lifespan function.

    Raises:
        cio_async.ConfigurationError: At start-up, the configuration is invalid
            (or, with ``check``, the account lives in another region).
        cio_async.AuthenticationError: At start-up with ``check``, the
            credentials were refused.
    """
    holder = SharedClient() if shared is None else shared

    @asynccontextmanager
    async def run(app: Any) -> AsyncIterator[Any]:
        client = holder.get()
        try:
            if check:
                await check_account(client)
            setattr(app.state, STATE_KEY, holder)

            if wrap is None:
                yield None
            else:
                async with wrap(app) as state:
                    yield state
        finally:
            await holder.aclose(close_timeout)

    return run


async def get_client(connection: HTTPConnection) -> AsyncCustomerIO:
    """
    A dependency that gives a handler the app's client.

    Async on purpose: FastAPI runs plain ``def`` dependencies in a worker
    thread, where no event loop runs.

    Raises:
        RuntimeError: The app was not started with :func:`lifespan`.
    """
    holder = getattr(connection.app.state, STATE_KEY, None)
    if not isinstance(holder, SharedClient):
        message = (
            "this app has no Customer.io client: create it with "
            "lifespan=cio_async.integrations.fastapi.lifespan(...)"
        )
        raise RuntimeError(message)

    return holder.get()


#: Annotate a handler parameter with this to receive the app's client.
CustomerIO = Annotated[AsyncCustomerIO, Depends(get_client)]
