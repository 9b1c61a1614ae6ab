"""SMTP replies and what each one means for one recipient and for the whole run.

Pure functions over (stage, reply): the sender asks here, so the rules of RFC 5321 and
RFC 3463 (enhanced status codes) live in one place and are tested without a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)")
# What hosters write when they want us to slow down ("451 4.7.1 limit exceeded",
# "421 too many connections", "450 rate limited"). Whole words only: "separate" is no rate.
_RELAY_LIMIT = re.compile(
    r"\b(rate|rates|ratelimit\w*|limit|limits|limited|exceeded|too many|quota|throttl\w*|"
    r"slow down|sending limit)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reply:
    code: int
    text: str

    @property
    def enhanced(self) -> tuple[int, int, int] | None:
        """The RFC 3463 status code the text starts with, e.g. (5, 1, 1)."""
        match = _ENHANCED.match(self.text)
        if match is None:
            return None
        return int(match.group(1)), int(match.group(2)), int(match.group(3))

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 400

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


class Stage(StrEnum):
    """Where in the conversation a reply came (or the connection went)."""

    CONNECT = "connect"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    MESSAGE = "message"  # the reply to the end of the message's content


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    RETRY = "retry"  # temporary for this recipient: again later in this run
    THROTTLED = "throttled"  # the relay asks us to slow down: pause the whole run
    FAILED = "failed"  # permanent for this recipient only
    BOUNCED = "bounced"  # permanent, the address does not exist: suppress it
    FATAL = "fatal"  # nothing more can be sent in this run


def is_relay_limit(reply: Reply) -> bool:
    """A reply about our sending volume, not about this recipient's mailbox or address."""
    enhanced = reply.enhanced
    # x.1.x (addresses) and x.2.x (mailboxes: "quota exceeded" is a full mailbox) are
    # about the recipient, whatever the text says.
    if enhanced is not None and enhanced[1] in (1, 2):
        return False
    return _RELAY_LIMIT.search(reply.text) is not None


def is_no_such_user(reply: Reply) -> bool:
    enhanced = reply.enhanced
    # 5.1.7 and 5.1.8 are about the sender's address, not the recipient's.
    return enhanced is not None and enhanced[:2] == (5, 1) and enhanced[2] not in (7, 8)


def classify(stage: Stage, reply: Reply) -> Verdict:
    """The verdict on the reply that decided a message's attempt."""
    if reply.code >= 500:
        if stage in (Stage.CONNECT, Stage.MAIL):
            return Verdict.FATAL
        if is_no_such_user(reply):
            return Verdict.BOUNCED
        # A hoster's daily quota as a 5xx would otherwise fail everyone left on the list.
        return Verdict.FATAL if is_relay_limit(reply) else Verdict.FAILED
    if reply.code >= 400:
        return Verdict.THROTTLED if is_relay_limit(reply) else Verdict.RETRY
    if stage is Stage.MESSAGE and 200 <= reply.code < 300:
        return Verdict.ACCEPTED
    # Anything else (a 2xx/3xx where it makes no sense, garbage) is a confused
    # conversation: try again on a fresh transaction.
    return Verdict.RETRY
