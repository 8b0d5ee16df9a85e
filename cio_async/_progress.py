"""
The progress line of ``cio-async send``: hand-written, no dependency.

On a terminal it is redrawn in place at most ten times a second; elsewhere
(``--progress`` into a file or a pipe) it is written as a new line once a
second.
"""

from __future__ import annotations

import time
from typing import IO

from cio_async import Stats

__all__ = ["Progress"]


class Progress:
    """
    A one-line progress display on standard error, redrawn at most every
    ``interval`` seconds: in place on a terminal, as new lines elsewhere.
    """

    def __init__(self, stream: IO[str], total_bytes: int | None, tty: bool) -> None:
        self._stream = stream
        self._total = total_bytes
        self._tty = tty
        self._interval = 0.1 if tty else 1.0
        self._started = time.monotonic()
        self._drawn_at = self._started
        self._width = 0

    def due(self) -> bool:
        """
        Whether the display is old enough to be drawn again.
        """
        return time.monotonic() - self._drawn_at >= self._interval

    def draw(self, lines: int, done_bytes: int, stats: Stats) -> None:
        now = time.monotonic()
        self._drawn_at = now

        text = self._render(now - self._started, lines, done_bytes, stats)
        if self._tty:
            padding = " " * max(0, self._width - len(text))
            self._width = len(text)
            self._stream.write(f"\r{text}{padding}")
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def finish(self) -> None:
        if self._tty and self._width:
            self._stream.write("\n")
            self._stream.flush()

    def _render(self, elapsed: float, lines: int, done: int, stats: Stats) -> str:
        rate = stats.accepted / elapsed if elapsed > 0 else 0.0
        parts = [f"{lines:,} lines"]
        if self._total:
            fraction = min(1.0, done / self._total)
            parts.append(f"{fraction:4.0%}")
            if 0 < fraction < 1:
                eta = elapsed * (1 - fraction) / fraction
                parts.append(f"ETA {_duration(eta)}")
        parts.append(f"{rate:,.0f} ops/s")
        parts.append(f"delivered {stats.delivered:,}")
        parts.append(f"failed {stats.failed:,}")
        pending = stats.queued + stats.in_flight
        if pending:
            parts.append(f"pending {pending:,}")

        return "  ".join(parts)


def _duration(seconds: float) -> str:
    whole = int(seconds + 0.5)
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
