"""Time for the sender: a monotonic timer and how it waits, replaceable in tests.

Not the wall clock (``newsletter.clock``): pauses and rate windows need a time that
never jumps."""

from __future__ import annotations

import queue
import time
from typing import Protocol, TypeVar

T = TypeVar("T")

# Waiting in slices keeps Ctrl-C responsive where a blocked lock is not interruptible.
_SLICE = 0.5


class Timer(Protocol):
    def now(self) -> float: ...

    def wait(self, events: queue.SimpleQueue[T], seconds: float) -> T | None:
        """The next event, or None once ``seconds`` have passed without one."""
        ...


class SystemTimer:
    def now(self) -> float:
        return time.monotonic()

    def wait(self, events: queue.SimpleQueue[T], seconds: float) -> T | None:
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                return events.get(timeout=min(left, _SLICE))
            except queue.Empty:
                continue
