"""A clock a test moves by hand, for stores whose time must be controlled."""

from __future__ import annotations

import threading


class ManualClock:
    """Time that passes only when :meth:`advance` is called (thread-safe)."""

    def __init__(self, start: float = 0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"time only moves forward; got advance({seconds})")
        with self._lock:
            self._now += seconds
