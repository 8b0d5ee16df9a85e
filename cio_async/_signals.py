"""
Drain on SIGTERM and SIGINT, then let the signal do what it would have done.

The handler is installed through ``loop.add_signal_handler``, so it runs inside
the loop, not between two bytecodes of whatever was running. On the first signal
it runs the drain, puts back whatever handler was there before (a Python handler,
another loop handler, or the default) and sends the same signal again, so the
process ends, or the framework reacts, exactly as without us. A second signal
during the drain meets the restored handler and takes effect at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

log = logging.getLogger("cio_async.signals")

DEFAULT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class SignalDrain:
    """
    Runs ``drain`` on the first of ``signals``, then re-raises that signal.
    """

    def __init__(
        self,
        drain: Callable[[], Awaitable[None]],
        signals: Iterable[signal.Signals] = DEFAULT_SIGNALS,
    ) -> None:
        self._drain = drain
        self._signals = tuple(signals)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[signal.Signals, tuple[Any, asyncio.Handle | None]] = {}
        self._task: asyncio.Task[None] | None = None
        # What came before us, kept after uninstall() for handlers above us.
        self._retired: dict[signal.Signals, tuple[Any, asyncio.Handle | None]] = {}

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    def install(self) -> None:
        """
        Install the handlers on the running loop (Unix only; a no-op elsewhere).
        """
        if self._previous:
            return
        loop = asyncio.get_running_loop()
        self._loop = loop

        for sig in self._signals:
            # asyncio keeps its own handlers in a private table; reading it is
            # the only way to chain to one another library installed.
            loop_handlers: dict[int, asyncio.Handle] = getattr(
                loop, "_signal_handlers", {}
            )
            previous = (signal.getsignal(sig), loop_handlers.get(sig))
            if previous[0] is signal.SIG_IGN and previous[1] is None:
                # The process was told to ignore this signal (``nohup``, a
                # background job): draining on it would stop a client that
                # nobody asked to stop.
                continue
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                # Windows event loops, or not in the main thread: frameworks
                # that own signals there must call aclose() themselves.
                log.debug("cannot install a handler for %s here", sig.name)
                continue
            self._previous[sig] = previous
        log.debug("signal handlers installed: %d", len(self._previous))

    def uninstall(self) -> None:
        """
        Put back the handlers that were there before. Idempotent.

        Only a handler that is still ours is removed: if another was installed
        on top of it (a second client, a framework), that one stays, and when it
        is removed in turn it skips past us to what came before.
        """
        loop = self._loop
        if loop is None:
            return
        previous, self._previous = self._previous, {}
        self._retired.update(previous)
        loop_handlers: dict[int, asyncio.Handle] = getattr(loop, "_signal_handlers", {})
        for sig, (python_handler, loop_handle) in previous.items():
            if loop.is_closed():
                break
            current = loop_handlers.get(sig)
            if current is None or _callback(current) != self._on_signal:
                continue
            loop.remove_signal_handler(sig)
            python_handler, loop_handle = _skip_retired(
                sig, python_handler, loop_handle
            )
            if loop_handle is not None and not loop_handle.cancelled():
                loop.add_signal_handler(sig, _callback(loop_handle), *loop_handle._args)
            elif python_handler is not None:
                signal.signal(sig, python_handler)

    def _on_signal(self, sig: signal.Signals) -> None:
        if self._task is not None:
            return
        # Put the previous handlers back before draining, so that a second
        # signal during the drain takes effect at once.
        self.uninstall()
        log.info("received %s: draining before exit", sig.name)
        assert self._loop is not None
        self._task = self._loop.create_task(self._drain_then_resend(sig))

    async def _drain_then_resend(self, sig: signal.Signals) -> None:
        try:
            await self._drain()
        except Exception:
            log.exception("draining on %s failed", sig.name)
        finally:
            self.uninstall()
            log.debug("re-sending %s", sig.name)
            os.kill(os.getpid(), sig)


def _callback(handle: asyncio.Handle) -> Any:
    # asyncio.Handle keeps its callback privately; no public accessor exists.
    return handle._callback  # type: ignore[attr-defined]


def _skip_retired(
    sig: signal.Signals, python_handler: Any, loop_handle: asyncio.Handle | None
) -> tuple[Any, asyncio.Handle | None]:
    """
    Follow the chain past handlers of drains that were uninstalled meanwhile.
    """
    while loop_handle is not None:
        owner = getattr(_callback(loop_handle), "__self__", None)
        if not isinstance(owner, SignalDrain) or owner.installed:
            break
        python_handler, loop_handle = owner._retired.get(sig, (python_handler, None))
    return python_handler, loop_handle
