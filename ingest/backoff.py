"""Capped exponential backoff with full jitter, the one retry delay of every loop.

The ceiling of attempt ``n`` (counting from 0) is ``min(cap, base * 2**n)``; the delay is
drawn uniformly from ``[0, ceiling]``, so it never exceeds the cap and clients that failed
together do not retry together. The random source is injectable: a seeded
``random.Random(seed).random`` makes the delays reproducible in tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable

Random = Callable[[], float]  # a draw from [0, 1)


class Backoff:
    def __init__(self, base_s: float, cap_s: float, *, rand: Random = random.random) -> None:
        if not 0 < base_s <= cap_s:
            raise ValueError(f"backoff needs 0 < base <= cap, got base {base_s}, cap {cap_s}")
        self.base_s = base_s
        self.cap_s = cap_s
        self._rand = rand
        # First attempt whose ceiling is the cap; computed once so the ceiling never
        # raises OverflowError on a long outage (2.0 ** 1100 does).
        n, ceiling = 0, base_s
        while ceiling < cap_s:
            n, ceiling = n + 1, ceiling * 2
        self._capped_from = n
        self.attempt = 0

    def ceiling(self, attempt: int) -> float:
        """The largest delay attempt ``attempt`` (0-based) may wait."""
        if attempt >= self._capped_from:
            return self.cap_s
        return self.base_s * 2.0 ** max(attempt, 0)

    def delay(self, attempt: int) -> float:
        """A delay for attempt ``attempt``: uniform in [0, ceiling(attempt)]."""
        ceiling = self.ceiling(attempt)
        return min(max(self._rand(), 0.0) * ceiling, ceiling)

    def next(self) -> float:
        """The delay before the next retry of a streak of failures."""
        d = self.delay(self.attempt)
        self.attempt += 1
        return d

    def reset(self) -> None:
        """A success ends the streak: the next failure starts from ``base_s`` again."""
        self.attempt = 0
