"""How patient a run is: backoff for retries, pauses for an unhappy relay, and their caps."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    first_retry: float = 15.0  # the issue asks for the first retry within 30 s
    max_retry_wait: float = 300.0
    attempts: int = 6  # tries per message in one run; 15+30+60+120+240 s cover greylisting
    first_pause: float = 60.0
    max_pause: float = 900.0
    pause_budget: float = 3600.0  # paused this long without a message accepted: stop the run
    same_reply_streak: int = 10  # the same 4xx for this many messages in a row: pause
    connect_failures: int = 5  # reconnecting failed this many times in a row: stop the run

    def retry_wait(self, attempt: int) -> float | None:
        """Seconds before try ``attempt + 1`` after try ``attempt`` failed; None: give up."""
        if attempt >= self.attempts:
            return None
        return min(self.first_retry * 2.0 ** (attempt - 1), self.max_retry_wait)

    def pause_wait(self, pauses: int) -> float:
        """The length of the ``pauses``-th pause in a row (1-based): growing, then capped."""
        return min(self.first_pause * 2.0 ** (pauses - 1), self.max_pause)
