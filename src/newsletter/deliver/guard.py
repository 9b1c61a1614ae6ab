"""The relay guard: notices when the relay itself is unhappy and pauses the whole run.

A hoster's "limit exceeded", or the same temporary reply for many recipients in a row,
says nothing about those recipients: going on would only burn through the list. Until
the relay accepts a message again, every temporary reply pauses the run for longer,
and a run paused past its budget stops (the rest stays pending for the next send).
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.deliver.policy import Policy
from newsletter.deliver.replies import Reply
from newsletter.errors import DeliveryError


@dataclass(frozen=True)
class Pause:
    until: float
    seconds: float
    reason: str


class RelayGuard:
    def __init__(self, policy: Policy) -> None:
        self._policy = policy
        self._pauses = 0  # in a row, since the relay last accepted
        self._paused_total = 0.0
        self._streak: tuple[int, tuple[int, int, int] | None] | None = None  # None: lost
        self._streak_length = 0
        self.pause: Pause | None = None
        self._tickets = 0
        self._first_ticket_after_pause = 0

    def ticket(self) -> int:
        """Number a message as it goes out, so replies can be told from before or after a pause."""
        self._tickets += 1
        return self._tickets

    @property
    def in_trouble(self) -> bool:
        """Paused since the relay last accepted: every temporary reply is its doing."""
        return self._pauses > 0

    def delay(self, now: float) -> float:
        return max(0.0, self.pause.until - now) if self.pause is not None else 0.0

    def accepted(self) -> None:
        self._pauses = 0
        self._paused_total = 0.0
        self._streak = None
        self._streak_length = 0
        self.pause = None

    def temporary(self, reply: Reply | None, ticket: int, now: float) -> Pause | None:
        """A 4xx (None: a lost connection) for one message; a pause when too many in a row."""
        signature = (reply.code, reply.enhanced) if reply is not None else None
        if signature == self._streak:
            self._streak_length += 1
        else:
            self._streak, self._streak_length = signature, 1
        if self.in_trouble or self._streak_length >= self._policy.same_reply_streak:
            return self.throttled(reply, ticket, now)
        return None

    def throttled(self, reply: Reply | None, ticket: int, now: float) -> Pause | None:
        """The relay asked us to slow down; None when a pause already answers this reply."""
        if ticket <= self._first_ticket_after_pause:
            # The message went out before the current pause began: it is the same trouble.
            return None
        reason = str(reply) if reply is not None else "connections lost"
        self._pauses += 1
        seconds = self._policy.pause_wait(self._pauses)
        if self._paused_total + seconds > self._policy.pause_budget:
            raise DeliveryError(
                f"the SMTP server keeps refusing to take more messages ({reason}); "
                f"the send stopped after pausing {self._paused_total / 60:.0f} min",
                "the rest is still pending: run send again later (perhaps with a lower rate)",
                key="send_keeps_refusing",
                params={"reply": reason, "minutes": f"{self._paused_total / 60:.0f}"},
            )
        self._paused_total += seconds
        self._first_ticket_after_pause = self._tickets
        self._streak_length = 0
        self.pause = Pause(until=now + seconds, seconds=seconds, reason=reason)
        return self.pause
