"""
Tests for signal handling: a real child process drains on SIGTERM, then dies of it.

The fake Customer.io runs in the test process; the child (``_load_child.py``)
gets its URL and credentials on the command line and reports on stdout.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cio_async.testing import FakeCustomerIO

CHILD = Path(__file__).with_name("_load_child.py")

pytestmark = pytest.mark.slow


class Child:
    """
    A running ``_load_child.py``: its stdout lines as they come, stderr kept.

    Use as ``async with await Child.start(...) as child:``; leaving the block
    kills a child still running and reaps it.
    """

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        assert process.stderr is not None
        self.process = process
        self.lines: list[dict[str, Any]] = []
        self._stdout: asyncio.Queue[str | None] = asyncio.Queue()
        self._stderr: list[bytes] = []
        self._readers = [
            asyncio.create_task(self._read_lines(process.stdout)),
            asyncio.create_task(self._read_all(process.stderr)),
        ]

    @classmethod
    async def start(cls, fake: FakeCustomerIO, count: int, mode: str) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CHILD),
            fake.url,
            fake.site_id,
            fake.api_key,
            str(count),
            mode,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def __aenter__(self) -> Child:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        await asyncio.gather(*self._readers)

    async def _read_lines(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            text = raw.decode().strip()
            if text.startswith("{"):
                self.lines.append(json.loads(text))
            await self._stdout.put(text)
        await self._stdout.put(None)

    async def _read_all(self, stream: asyncio.StreamReader) -> None:
        self._stderr.append(await stream.read())

    @property
    def stderr(self) -> str:
        return b"".join(self._stderr).decode()

    async def line(self, timeout: float = 20.0) -> str:
        """
        The next line of stdout.
        """
        text = await asyncio.wait_for(self._stdout.get(), timeout)
        assert text is not None, f"the child closed stdout early: {self.stderr}"
        return text

    async def report(self, key: str, timeout: float = 20.0) -> dict[str, Any]:
        """
        Read lines until a JSON one has ``key``, and return it.
        """
        while True:
            text = await self.line(timeout)
            if text.startswith("{") and key in json.loads(text):
                return self.first(key)

    async def finish(self, timeout: float = 30.0) -> int:
        """
        Wait for the child to exit and for its output; return the exit status.
        """
        try:
            returncode = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            await asyncio.gather(*self._readers)
            message = (
                f"the child did not exit within {timeout} s; it printed "
                f"{self.lines} and on stderr {self.stderr[-3000:]!r}"
            )
            raise AssertionError(message) from None
        await asyncio.gather(*self._readers)
        return returncode

    def first(self, key: str) -> dict[str, Any]:
        return next(fields for fields in self.lines if key in fields)


def stored_ids(fake: FakeCustomerIO) -> list[str]:
    return [str(event.id) for event in fake.events()]


class TestSignals:
    async def test_sigterm_drains_everything_accepted_then_dies_of_sigterm(
        self, fake: FakeCustomerIO
    ) -> None:
        """
        On SIGTERM under load the child delivers all it accepted, then exits -15.
        """
        count = 3_000
        # A slow server, so that most events are still queued at the signal.
        fake.faults.latency = 0.02
        async with await Child.start(fake, count, "drain") as child:
            assert await child.line() == "ready"
            stored_at_signal = len(fake.events())
            child.process.send_signal(signal.SIGTERM)
            returncode = await child.finish()

        report = child.first("closed")
        ids = stored_ids(fake)
        assert returncode == -signal.SIGTERM, child.stderr
        assert stored_at_signal < count
        assert report["accepted"] == count
        assert report["queued"] == report["in_flight"] == 0
        assert report["delivered"] + report["failed"] == count
        assert report["handled"] == report["failed"] == 0
        assert len(ids) == len(set(ids)) == count
        assert set(ids) == {f"evt-{n}" for n in range(count)}

    async def test_sigint_drains_then_interrupts_like_ctrl_c(
        self, fake: FakeCustomerIO
    ) -> None:
        """
        On SIGINT the child drains, then asyncio.run's own handler interrupts it.
        """
        async with await Child.start(fake, 500, "drain") as child:
            assert await child.line() == "ready"
            child.process.send_signal(signal.SIGINT)
            returncode = await child.finish()

        assert returncode == -signal.SIGINT, child.stderr
        assert child.first("closed")["delivered"] == 500
        assert len(set(stored_ids(fake))) == 500

    async def test_second_sigterm_during_drain_takes_effect_at_once(
        self, fake: FakeCustomerIO
    ) -> None:
        """
        A second SIGTERM while the drain waits on a hung server ends the child now.
        """
        fake.pause()
        async with await Child.start(fake, 50, "drain") as child:
            assert await child.line() == "ready"
            child.process.send_signal(signal.SIGTERM)
            await child.report("signal")
            started = time.monotonic()
            child.process.send_signal(signal.SIGTERM)
            # The drain alone would wait for its 30 s close timeout.
            returncode = await child.finish(timeout=10.0)
            elapsed = time.monotonic() - started

        assert returncode == -signal.SIGTERM, child.stderr
        assert elapsed < 5.0
        assert not any("closed" in fields for fields in child.lines)

    async def test_drain_then_chains_to_the_loop_handler_installed_before(
        self, fake: FakeCustomerIO
    ) -> None:
        """
        After draining, the signal reaches the application's own loop handler.
        """
        async with await Child.start(fake, 200, "chain-loop") as child:
            assert await child.line() == "ready"
            child.process.send_signal(signal.SIGTERM)
            returncode = await child.finish()

        keys = [next(iter(fields)) for fields in child.lines]
        assert returncode == 0, child.stderr
        assert keys.index("closed") < keys.index("app_handler")
        assert child.first("closed")["delivered"] == 200
        assert len(fake.events()) == 200

    async def test_drain_then_chains_to_the_python_handler_installed_before(
        self, fake: FakeCustomerIO
    ) -> None:
        """
        After draining, the signal reaches a plain ``signal.signal`` handler.
        """
        async with await Child.start(fake, 200, "chain-python") as child:
            assert await child.line() == "ready"
            child.process.send_signal(signal.SIGTERM)
            returncode = await child.finish()

        keys = [next(iter(fields)) for fields in child.lines]
        assert returncode == 3, child.stderr
        assert keys.index("closed") < keys.index("app_handler")
        assert child.first("closed")["delivered"] == 200
        assert len(fake.events()) == 200


async def test_an_ignored_signal_is_left_ignored() -> None:
    """
    A signal the process was told to ignore gets no drain handler of ours.
    """
    import signal as signals

    from cio_async._signals import SignalDrain

    previous = signals.signal(signals.SIGUSR1, signals.SIG_IGN)
    try:
        drain = SignalDrain(_never_called, [signals.SIGUSR1])
        drain.install()

        assert not drain.installed
        assert signals.getsignal(signals.SIGUSR1) is signals.SIG_IGN
    finally:
        signals.signal(signals.SIGUSR1, previous)


async def _never_called() -> None:
    raise AssertionError("drained on an ignored signal")
