"""
Subprocess helpers shared by the integration, CLI and example tests.

Everything waits on a condition (a line of output, the process's exit) with a
timeout; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """
    A TCP port on 127.0.0.1 that was free a moment ago.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """
    This process's environment, unbuffered, with the repository importable.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CUSTOMERIO_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(ROOT), env.get("PYTHONPATH", "")) if part
    )
    env.update(extra or {})
    return env


async def run(
    *args: str,
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
    stdin: bytes | None = None,
    timeout: float = 60.0,
) -> tuple[int, str, str]:
    """
    Run ``python ARGS`` to its end; return the exit code, stdout and stderr.
    """
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=cwd,
        env=environment(env),
        stdin=asyncio.subprocess.PIPE if stdin is not None else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


class Server:
    """
    A long-running ``python ARGS`` whose output is collected as it comes.
    """

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        assert process.stdout is not None
        assert process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(process.stdout)),
            asyncio.create_task(self._read(process.stderr)),
        ]

    @classmethod
    async def start(
        cls, *args: str, env: Mapping[str, str] | None = None, cwd: Path = ROOT
    ) -> Server:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *args,
            cwd=cwd,
            env=environment(env),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            async with self._changed:
                self.lines.append(raw.decode(errors="replace"))
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def wait_for_output(self, text: str, timeout: float = 30.0) -> None:
        """
        Wait until ``text`` appears in the output; fail if the process ends first.
        """

        def seen() -> bool:
            return text in self.output or all(r.done() for r in self._readers)

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(seen), timeout)
        assert text in self.output, f"{text!r} never appeared:\n{self.output}"

    async def stop(self, sig: int, timeout: float = 30.0) -> int:
        """
        Send ``sig`` and wait for the process to end; return its exit code.
        """
        self.process.send_signal(sig)
        return await self.wait(timeout)

    async def wait(self, timeout: float = 30.0) -> int:
        code = await asyncio.wait_for(self.process.wait(), timeout)
        await asyncio.wait_for(asyncio.gather(*self._readers), timeout)
        return code

    async def kill(self) -> None:
        """
        Make sure the process is gone (for ``finally`` blocks).
        """
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        for reader in self._readers:
            reader.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
