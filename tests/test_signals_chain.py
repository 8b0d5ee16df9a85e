"""
Signal handlers of several clients chain: closing one never removes another's,
and the last one out restores what was there first.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import pytest

from cio_async._signals import SignalDrain

SIG = signal.SIGUSR1


@pytest.fixture
async def seen() -> AsyncIterator[asyncio.Event]:
    """
    Set when the Python-level handler that was there first receives SIG.
    """
    loop = asyncio.get_running_loop()
    event = asyncio.Event()
    previous = signal.signal(
        SIG, lambda signum, frame: loop.call_soon_threadsafe(event.set)
    )
    yield event
    signal.signal(SIG, previous)


async def test_closing_first_client_keeps_second_clients_handler(
    seen: asyncio.Event,
) -> None:
    """
    Two clients with install_signal_handlers=True, the first closed first: the
    second is still open and must still drain on the signal.
    """
    drained: list[str] = []

    async def drain_a() -> None:
        drained.append("a")

    async def drain_b() -> None:
        drained.append("b")

    a = SignalDrain(drain_a, signals=(SIG,))
    b = SignalDrain(drain_b, signals=(SIG,))
    a.install()
    b.install()
    try:
        a.uninstall()  # client A closes; client B is still running
        os.kill(os.getpid(), SIG)
        await asyncio.wait_for(seen.wait(), 3)
        assert "b" in drained, "the still-open client B no longer drains on the signal"
    finally:
        b.uninstall()
        a.uninstall()
        asyncio.get_running_loop().remove_signal_handler(SIG)
        signal.signal(SIG, signal.SIG_DFL)


async def test_closing_clients_in_creation_order_restores_the_handler(
    seen: asyncio.Event,
) -> None:
    """
    After both clients are closed (A then B), the signal must reach the handler
    that was there before either, not a stale handler of closed client A.
    """

    async def drain() -> None:
        return None

    a = SignalDrain(drain, signals=(SIG,))
    b = SignalDrain(drain, signals=(SIG,))
    a.install()
    b.install()
    a.uninstall()
    b.uninstall()
    loop = asyncio.get_running_loop()
    try:
        assert SIG not in getattr(loop, "_signal_handlers", {}), (
            "a closed client's handler is still installed on the loop"
        )
        os.kill(os.getpid(), SIG)
        await asyncio.wait_for(seen.wait(), 3)
    finally:
        loop.remove_signal_handler(SIG)
