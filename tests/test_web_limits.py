"""The per-client rate limit on its own, with a clock the test moves."""

from __future__ import annotations

from newsletter.web.limits import RateLimiter, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_count_requests_per_window_and_is_told_how_long_to_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(10, 60.0, clock)
    for _ in range(10):
        assert limiter.wait("a") == 0
        clock.now += 1
    assert limiter.wait("a") == 50.0  # the first request leaves the window 60 s after it
    assert limiter.wait("b") == 0  # others are not held up
    clock.now += 50
    assert limiter.wait("a") == 0


def test_refused_requests_do_not_count() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 60.0, clock)
    assert limiter.wait("a") == 0
    for _ in range(100):
        assert limiter.wait("a") > 0
    clock.now += 60
    assert limiter.wait("a") == 0


def test_it_remembers_a_bounded_number_of_clients() -> None:
    limiter = RateLimiter(1, 60.0, Clock(), max_clients=3)
    for client in "abcd":
        assert limiter.wait(client) == 0
    assert limiter.wait("a") == 0  # forgotten as the oldest: memory stays bounded
    assert limiter.wait("d") > 0


def test_an_ipv6_client_is_its_64_network() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("203.0.113.5") != client_key("203.0.113.6")
