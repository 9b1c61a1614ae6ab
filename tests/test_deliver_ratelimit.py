"""The rate limit: every window holds, over any stretch of time."""

from __future__ import annotations

from newsletter.deliver.ratelimit import SendRateLimiter, minimum_duration
from newsletter.settings import RateWindow, parse_rate


def _send(limiter: SendRateLimiter, count: int) -> list[float]:
    """Start ``count`` messages as soon as the limiter allows; their start times."""
    now, starts = 0.0, []
    for _ in range(count):
        now += limiter.delay(now)
        limiter.record(now)
        starts.append(now)
    return starts


def _most_in_any_window(starts: list[float], seconds: float) -> int:
    return max(sum(1 for t in starts if s <= t < s + seconds) for s in starts)


def test_several_windows_all_hold() -> None:
    windows = parse_rate("3/s, 10/min")
    starts = _send(SendRateLimiter(windows), 35)
    assert _most_in_any_window(starts, 1.0) == 3
    assert _most_in_any_window(starts, 60.0) == 10
    # ... and it is not slower than it has to be: the 11th starts when the minute is over.
    assert starts[10] == 60.0


def test_a_window_allows_a_burst_up_to_its_count_then_waits() -> None:
    limiter = SendRateLimiter((RateWindow(2, 60.0),))
    assert _send(limiter, 5) == [0.0, 0.0, 60.0, 60.0, 120.0]


def test_the_expected_duration_is_that_of_the_slowest_window() -> None:
    assert minimum_duration(parse_rate("300/h"), 300) == 0.0
    assert minimum_duration(parse_rate("300/h"), 301) == 3600.0
    assert minimum_duration(parse_rate("30/min, 500/h"), 1000) == 3600.0
    assert minimum_duration(parse_rate("30/min"), 0) == 0.0
