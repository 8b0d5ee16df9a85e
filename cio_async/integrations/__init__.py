"""
Glue between cio_async and web frameworks, built on the public API only.

- :class:`SharedClient`: one client per event loop, built from the environment
  on first use; safe across forked workers and per-test event loops.
- :mod:`cio_async.integrations.fastapi`: a lifespan that opens and drains the
  client, and a dependency that hands it to handlers (needs FastAPI).
- :mod:`cio_async.integrations.aiohttp`: ``setup(app)`` through ``cleanup_ctx``
  and a typed ``web.AppKey`` for handlers.

The framework modules import their framework; this package imports none.
"""

from __future__ import annotations

from ._shared import ClientFactory as ClientFactory
from ._shared import SharedClient as SharedClient
from ._shared import client_from_env as client_from_env

__all__ = ["ClientFactory", "SharedClient", "client_from_env"]
