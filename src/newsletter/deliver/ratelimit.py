"""The global rate limit: at most N messages in any window, for every window at once.

Times are plain floats from the caller's clock, so the limiter is a pure piece of
bookkeeping that tests drive without sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from newsletter.settings import RateWindow


class SendRateLimiter:
    """Sliding windows over the start times of the last messages (``30/min, 500/h``)."""

    def __init__(self, windows: Sequence[RateWindow]) -> None:
        self._windows = tuple(windows)
        # Only the last ``count`` starts matter to a window, so each log is bounded.
        self._starts = tuple(deque[float](maxlen=w.count) for w in self._windows)

    def delay(self, now: float) -> float:
        """Seconds to wait before one more message may start (0: it may start now)."""
        wait = 0.0
        for window, starts in zip(self._windows, self._starts, strict=True):
            if len(starts) == window.count:
                wait = max(wait, starts[0] + window.seconds - now)
        return wait

    def record(self, now: float) -> None:
        """A message starts now."""
        for starts in self._starts:
            starts.append(now)


def minimum_duration(windows: Sequence[RateWindow], messages: int) -> float:
    """The shortest time ``messages`` can take at this rate (for the summary before a send)."""
    if messages <= 0:
        return 0.0
    return max((math.ceil(messages / w.count) - 1) * w.seconds for w in windows) if windows else 0.0
