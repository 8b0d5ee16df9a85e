"""
One client per event loop, built on first use, safe across forks and test loops.

A web app wants one :class:`cio_async.AsyncCustomerIO` that every handler shares.
But a client belongs to the event loop it first ran in, test runners start a new
loop for every test, and pre-forking servers copy the parent's memory into each
worker. :class:`SharedClient` hands out the running loop's client and keeps
those lifetimes straight:

- The first :meth:`SharedClient.get` in a loop builds the client with the
  factory (by default from the environment), so a bad configuration fails
  there, at startup, with the variable's name.
- :meth:`SharedClient.aclose` drains and closes the running loop's client; the
  next ``get()`` builds a new one.
- A loop that shuts down with its client still open (a test that never closed
  it) closes the client on the way out, so no HTTP session outlives its loop.
  Operations still pending then cannot be sent any more (the loop cancelled
  the client's senders): they are failed, and ERROR lines say how many.
- A forked child never touches the clients it inherited: it does not send their
  queued operations (the parent does) or close their connections (they are the
  parent's too). Its first ``get()`` builds a client of its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Callable
from typing import Any

from cio_async import AsyncCustomerIO, ClientClosedError, ConfigurationError

__all__ = ["ClientFactory", "SharedClient", "client_from_env"]

log = logging.getLogger("cio_async.integrations")

ClientFactory = Callable[[], AsyncCustomerIO]

# Every SharedClient, so a forked child can make each forget its parent's clients.
_instances: weakref.WeakSet[SharedClient] = weakref.WeakSet()
# What a forked child inherited: kept referenced so that it is never finalized
# (which would warn, or touch the parent's sockets), and never used.
_inherited: list[object] = []
# The loop holds its tasks only weakly; these must live until their loop ends.
_guardians: set[asyncio.Task[None]] = set()


def client_from_env(**kwargs: Any) -> AsyncCustomerIO:
    """
    Build a client from the environment, as the integrations do by default.

    Reads what :meth:`cio_async.AsyncCustomerIO.from_env` reads
    (``CUSTOMERIO_SITE_ID``, ``CUSTOMERIO_TRACK_API_KEY``, ``CUSTOMERIO_REGION``)
    and also ``CUSTOMERIO_TRACK_URL``, an optional Track host root that replaces
    the region's (a proxy, or ``cio-async fake-server``).

    Args:
        **kwargs: Passed on to the constructor; an explicit ``base_url`` wins
            over ``CUSTOMERIO_TRACK_URL``.

    Raises:
        cio_async.ConfigurationError: A variable is missing or invalid; the
            message names it.
    """
    url = os.environ.get("CUSTOMERIO_TRACK_URL", "").strip()
    if url and kwargs.get("base_url") is None:
        kwargs["base_url"] = url

    return AsyncCustomerIO.from_env(**kwargs)


class _Bound:
    """
    One loop's client and the task that closes it if the loop ends first.
    """

    __slots__ = ("client", "closed", "guardian", "released", "shut_down")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, client: AsyncCustomerIO
    ) -> None:
        self.client = client
        self.released: asyncio.Future[None] = loop.create_future()
        self.guardian: asyncio.Task[None] | None = None
        self.closed = False
        self.shut_down = False


class SharedClient:
    """
    Hands out one :class:`cio_async.AsyncCustomerIO` per running event loop.

    Make one at module level of your app and call :meth:`get` wherever a client
    is needed; the FastAPI and aiohttp integrations take one and close it at
    shutdown::

        cio = SharedClient()  # from CUSTOMERIO_* variables on first use

        async def on_signup(user_id: str) -> None:
            await cio.get().track(user_id, "signed_up")

    Args:
        factory: Builds a client; called once per loop, inside it. Defaults to
            :func:`client_from_env`. Use ``functools.partial(client_from_env,
            on_failure=...)`` to pass settings.

    Raises:
        TypeError: ``factory`` is not callable.
    """

    def __init__(self, factory: ClientFactory = client_from_env) -> None:
        # Callers without a type checker may pass anything.
        given: object = factory
        if not callable(given):
            message = "factory must be a callable that returns an AsyncCustomerIO"
            raise TypeError(message)

        self._factory = factory
        self._bound: dict[asyncio.AbstractEventLoop, _Bound] = {}
        _instances.add(self)

    def __repr__(self) -> str:
        open_clients = sum(not bound.closed for bound in self._bound.values())
        return f"<SharedClient open={open_clients}>"

    def get(self) -> AsyncCustomerIO:
        """
        The running loop's client, built on first use.

        Returns:
            The client of the running loop.

        Raises:
            cio_async.ConfigurationError: The factory found the configuration
                invalid. Nothing is remembered: fix it and call again.
            cio_async.ClientClosedError: The running loop is shutting down and
                its client was closed on the way out.
            RuntimeError: No event loop is running.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            message = "SharedClient.get() needs a running event loop"
            raise RuntimeError(message) from None

        bound = self._bound.get(loop)
        if bound is not None and not bound.closed:
            return bound.client
        if bound is not None and bound.shut_down:
            message = (
                "the event loop is shutting down and its shared client was closed; "
                "track from the app's shutdown before the client is closed"
            )
            raise ClientClosedError(message)

        self._forget_ended_loops()
        made: object = self._factory()
        if not isinstance(made, AsyncCustomerIO):
            message = (
                f"the factory returned {type(made).__name__}, not an AsyncCustomerIO"
            )
            raise TypeError(message)
        client = made
        self._bind(loop, client)
        log.debug("shared client built for a new event loop")

        return client

    async def aclose(self, timeout: float | None = None) -> None:
        """
        Drain and close the running loop's client, if it has one. Idempotent.

        The next :meth:`get` in this loop builds a new client.

        Args:
            timeout: Seconds to drain, as in :meth:`cio_async.AsyncCustomerIO.aclose`.
        """
        bound = self._bound.pop(asyncio.get_running_loop(), None)
        if bound is None or bound.closed:
            return

        bound.closed = True
        if not bound.released.done():
            bound.released.set_result(None)

        await bound.client.aclose(timeout)

    def reset(self) -> None:
        """
        Forget every client, so that the next :meth:`get` builds a new one.

        For tests that change the environment while a loop lives on. It closes
        nothing: ``await aclose()`` first to drain now; a client forgotten while
        open is still closed when its loop shuts down.
        """
        self._bound.clear()

    def _bind(self, loop: asyncio.AbstractEventLoop, client: AsyncCustomerIO) -> None:
        bound = _Bound(loop, client)
        guardian = loop.create_task(_guard(bound), name="cio_async.shared_client")
        bound.guardian = guardian
        _guardians.add(guardian)
        guardian.add_done_callback(_guardians.discard)
        self._bound[loop] = bound

    def _forget_ended_loops(self) -> None:
        for loop, bound in list(self._bound.items()):
            if not loop.is_closed():
                continue
            del self._bound[loop]
            if bound.closed:
                continue

            # The loop was closed without cancelling its tasks (asyncio.run and
            # every framework runner do cancel them), so nothing closed this
            # client and nothing ever can: its session is bound to a dead loop.
            if bound.guardian is not None:
                _guardians.discard(bound.guardian)
            stats = bound.client.stats()
            log.error(
                "an event loop was closed with its shared client open; %d "
                "operations were never sent. Close it before the loop ends: "
                "await SharedClient.aclose()",
                stats.queued + stats.in_flight,
            )

    def _forget_after_fork(self) -> None:
        _inherited.extend(self._bound.values())
        self._bound.clear()


async def _guard(bound: _Bound) -> None:
    """
    Wait until the client is closed normally; close it if the loop ends first.
    """
    try:
        await bound.released
    except asyncio.CancelledError:
        if not bound.closed:
            bound.closed = True
            bound.shut_down = True
            # A task of its own: this one is being cancelled, and the close
            # must run to its end while the loop finishes shutting down.
            closing = asyncio.get_running_loop().create_task(
                _close_at_shutdown(bound.client)
            )
            _guardians.add(closing)
            closing.add_done_callback(_guardians.discard)
            await asyncio.shield(closing)
        raise


async def _close_at_shutdown(client: AsyncCustomerIO) -> None:
    # Every other task of the loop, the client's senders included, was cancelled
    # with this one: whatever is still pending can no longer be sent.
    stats = client.stats()
    pending = stats.queued + stats.in_flight
    if pending:
        log.error(
            "the event loop is ending with its shared client open; %d operations "
            "not sent yet are failed. Close it from the app's shutdown: "
            "await SharedClient.aclose()",
            pending,
        )
    else:
        log.debug("the event loop is ending; closing its shared client")

    await client.aclose(timeout=0.0)


def _forget_inherited_clients() -> None:
    """
    In a forked child: leave the parent's clients alone and build new ones.
    """
    for shared in list(_instances):
        shared._forget_after_fork()
    _inherited.extend(_guardians)
    _guardians.clear()


async def check_account(client: AsyncCustomerIO) -> None:
    """
    Ask Customer.io whether the credentials work and the region is right.

    Raises:
        cio_async.AuthenticationError: The credentials were refused.
        cio_async.ConfigurationError: The account lives in another region.
    """
    found = await client.account_region()
    if found.region is not client.region:
        message = (
            f"the client is set to region {client.region.value} but the account "
            f"is in {found.region.value}: set CUSTOMERIO_REGION={found.region.value}"
        )
        raise ConfigurationError(message)


if hasattr(os, "register_at_fork"):  # pragma: no branch - absent on Windows only
    os.register_at_fork(after_in_child=_forget_inherited_clients)
