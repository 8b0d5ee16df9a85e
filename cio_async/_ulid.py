"""
Event ids: ULIDs, made without a dependency.

A ULID is 26 Crockford base32 symbols: 48 bits of milliseconds, then 80 random
bits. Customer.io drops an event whose ``id`` it has seen, so every event gets one
at the call and a retry resends the same id. Ids made in one process sort in the
order they were made: within a millisecond the random part counts up.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Maps a byte to the symbol of its low five bits. 256 is a multiple of 32, so
# random bytes give every symbol the same chance.
_BYTE_TO_SYMBOL = _CROCKFORD.encode("ascii") * 8
_NEXT_SYMBOL = dict(itertools.pairwise(_CROCKFORD))  # Z is last: it carries
# Two symbols per entry: ten bits at a time halves the lookups for the time part.
_SYMBOL_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_RANDOM_SYMBOLS = 16  # 80 bits
_RANDOM_CHUNK = 4096  # bytes drawn from the OS at once: 256 ids per system call


class _UlidSource:
    """
    Makes ULIDs that sort in the order they were made within this process.
    """

    __slots__ = (
        "_head",
        "_head_ms",
        "_lock",
        "_ms",
        "_offset",
        "_prefix",
        "_random",
        "_symbols",
    )

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        """
        Forget all state; a forked child must not repeat its parent's random bits.
        """
        self._lock = threading.Lock()
        self._ms = -1
        self._head_ms = -1
        self._head = ""
        self._prefix = ""
        self._random = ""
        self._symbols = ""
        self._offset = _RANDOM_CHUNK

    def new(self) -> str:
        """
        Make the next ULID.
        """
        ms = time.time_ns() // 1_000_000
        with self._lock:
            if ms <= self._ms:
                # Same millisecond, or the clock stepped back: count up from the
                # last id so the order still holds.
                following = _increment(self._random)
                if following is not None:
                    self._random = following
                    return self._prefix + following
                ms = self._ms + 1  # 2**80 ids in one millisecond: borrow the next

            # The first six symbols change only every 17 minutes: keep them.
            if ms >> 20 != self._head_ms:
                self._head_ms = ms >> 20
                self._head = _encode_head(ms)
            pairs = _SYMBOL_PAIRS
            self._prefix = self._head + pairs[(ms >> 10) & 1023] + pairs[ms & 1023]
            self._ms = ms

            offset = self._offset
            if offset >= _RANDOM_CHUNK:
                raw = os.urandom(_RANDOM_CHUNK)
                self._symbols = raw.translate(_BYTE_TO_SYMBOL).decode("ascii")
                offset = 0
            self._offset = offset + _RANDOM_SYMBOLS
            self._random = self._symbols[offset : offset + _RANDOM_SYMBOLS]

            return self._prefix + self._random


def _encode_head(ms: int) -> str:
    """
    Write the top 28 bits of a 48-bit millisecond time as a ULID's first 6 symbols.
    """
    pairs = _SYMBOL_PAIRS
    return pairs[ms >> 40] + pairs[(ms >> 30) & 1023] + pairs[(ms >> 20) & 1023]


def _increment(symbols: str) -> str | None:
    """
    Add one to a base32 number written in symbols, or None if it would overflow.
    """
    last = symbols[-1]
    if last != "Z":
        return symbols[:-1] + _NEXT_SYMBOL[last]

    kept = symbols.rstrip("Z")
    if not kept:
        return None
    carried = len(symbols) - len(kept)
    return kept[:-1] + _NEXT_SYMBOL[kept[-1]] + "0" * carried


_ULIDS = _UlidSource()
if hasattr(os, "register_at_fork"):  # pragma: no branch - absent only on Windows
    os.register_at_fork(after_in_child=_ULIDS._reset)


def new_ulid() -> str:
    """
    Make a new ULID to use as an event id, which Customer.io uses to drop repeats.

    Returns:
        26 Crockford base32 symbols: 48 bits of unix milliseconds, then 80 random
        bits. Ids made in one process sort in the order they were made, even within
        one millisecond or when the clock steps back.
    """
    return _ULIDS.new()
