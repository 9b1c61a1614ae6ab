"""What the web side records for the office when it runs on another machine.

An event names a subscription by its random id (what the token signed), never by the
address: the web server's database holds nothing that identifies a person.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from newsletter.errors import WebError


class EventKind(StrEnum):
    UNSUBSCRIBE = "unsubscribe"  # from the list the message was sent to
    UNSUBSCRIBE_ALL = "unsubscribe_all"  # "von allen Listen abmelden"


@dataclass(frozen=True)
class WebEvent:
    id: str  # random, so an event applied once is recognised when it comes again
    kind: EventKind
    subscription_id: str
    at: datetime

    @classmethod
    def new(cls, kind: EventKind, subscription_id: str, at: datetime) -> WebEvent:
        return cls(secrets.token_urlsafe(16), kind, subscription_id, at)

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "subscription_id": self.subscription_id,
            "at": self.at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Any) -> WebEvent:
        """An event as the server sent it; anything malformed is a WebError, not a crash."""
        try:
            at = datetime.fromisoformat(data["at"])
            if at.tzinfo is None:
                raise ValueError("time without time zone")
            return cls(str(data["id"]), EventKind(data["kind"]), str(data["subscription_id"]), at)
        except (KeyError, TypeError, ValueError) as error:
            raise WebError(
                f"the web server sent an event this version cannot read ({error})",
                "update newsletter on both machines to the same version",
            ) from None
