"""
aiohttp.web: open the client at startup, drain it at cleanup.

::

    from aiohttp import web
    from cio_async.integrations.aiohttp import CLIENT_KEY, setup

    async def signup(request: web.Request) -> web.Response:
        cio = request.config_dict[CLIENT_KEY]
        await cio.track(request.match_info["user_id"], "signed_up")
        return web.Response(status=204)

    app = web.Application()
    setup(app)
    app.router.add_post("/signup/{user_id}", signup)
    web.run_app(app)

:func:`setup` adds a ``cleanup_ctx`` entry: at startup it builds the client (a
missing or bad ``CUSTOMERIO_*`` variable stops the start-up, naming the
variable) and stores it under :data:`CLIENT_KEY`; at cleanup, after the server
stopped taking requests (``web.run_app`` on SIGTERM or SIGINT included), it
waits until every accepted operation is delivered or handed to ``on_failure``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from cio_async import AsyncCustomerIO

from ._shared import SharedClient, check_account

__all__ = ["CLIENT_KEY", "setup"]

#: Where the app keeps its client: ``request.config_dict[CLIENT_KEY]``.
CLIENT_KEY = web.AppKey("cio_async_client", AsyncCustomerIO)


def setup(
    app: web.Application,
    shared: SharedClient | None = None,
    *,
    close_timeout: float | None = None,
    check: bool = False,
) -> SharedClient:
    """
    Open the Customer.io client with the app and drain it at cleanup.

    Call it before adding your own ``cleanup_ctx`` entries: they are then
    entered after the client opened and left before it closes, so they can
    still track. ``on_startup`` and ``on_shutdown`` hooks see it open too;
    ``on_cleanup`` hooks run after it closed.

    Args:
        app: The application; sub-applications reach the client through
            ``request.config_dict``.
        shared: Where the client comes from; a new :class:`SharedClient` built
            from the environment by default.
        close_timeout: Seconds to drain at cleanup; the client's
            ``Timeouts.close`` by default.
        check: Also ask Customer.io at startup whether the credentials work and
            the region is right (one request), and refuse to start if not.

    Returns:
        The :class:`SharedClient` the app uses, to reach the client outside
        handlers.

    Raises:
        cio_async.ConfigurationError: At startup, the configuration is invalid
            (or, with ``check``, the account lives in another region).
        cio_async.AuthenticationError: At startup with ``check``, the
            credentials were refused.
    """
    holder = SharedClient() if shared is None else shared

    async def customerio_client(app: web.Application) -> AsyncIterator[None]:
        client = holder.get()
        try:
            if check:
                await check_account(client)
            app[CLIENT_KEY] = client

            yield
        finally:
            await holder.aclose(close_timeout)

    app.cleanup_ctx.append(customerio_client)

    return holder
