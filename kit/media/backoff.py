"""Restart delays: 2 s, then x1.5 each time, with jitter, capped."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    def __init__(
        self,
        first: float = 2.0,
        factor: float = 1.5,
        cap: float = 30.0,
        jitter: float = 0.2,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.first, self.factor, self.cap, self.jitter = first, factor, cap, jitter
        self._rand = rand
        self._next = first

    def next(self) -> float:
        """The delay before the next restart; each call grows the one after it."""
        base = self._next
        self._next = min(self.cap, self._next * self.factor)
        # Jitter spreads restarts of many kits after a shared outage.
        return min(self.cap, base * (1 + self.jitter * (2 * self._rand() - 1)))

    def reset(self) -> None:
        self._next = self.first
