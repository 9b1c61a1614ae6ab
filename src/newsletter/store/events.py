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
from newsletter.store.signup_records import Request


class EventKind(StrEnum):
    UNSUBSCRIBE = "unsubscribe"  # from the list the message was sent to
    UNSUBSCRIBE_ALL = "unsubscribe_all"  # "von allen Listen abmelden"
    SIGNUP = "signup"  # a confirmed sign-up (its consent record in ``request``)
    ADDRESS = "address"  # a member's confirmed new address
    PREFERENCES = "preferences"  # a member's choice of public lists


# The kinds that carry a confirmed request: these do name a person (the address
# signed up), and the web server erases them once the office has them.
REQUEST_KINDS = frozenset({EventKind.SIGNUP, EventKind.ADDRESS, EventKind.PREFERENCES})


@dataclass(frozen=True)
class WebEvent:
    id: str  # random, so an event applied once is recognised when it comes again
    kind: EventKind
    subscription_id: str  # for a request's kinds: the request's id
    at: datetime
    request: Request | None = None  # the confirmed sign-up or self-service change

    @classmethod
    def new(cls, kind: EventKind, subscription_id: str, at: datetime) -> WebEvent:
        return cls(secrets.token_urlsafe(16), kind, subscription_id, at)

    @classmethod
    def of_request(cls, request: Request) -> WebEvent:
        assert request.event_id is not None and request.confirmed_at is not None
        return cls(
            request.event_id, EventKind(request.kind.value), request.id, request.confirmed_at,
            request,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind.value,
            "subscription_id": self.subscription_id,
            "at": self.at.isoformat(),
        }
        if self.request is not None:
            data["request"] = self.request.to_json()
        return data

    @classmethod
    def from_json(cls, data: Any) -> WebEvent:
        """An event as the server sent it; anything malformed is a WebError, not a crash."""
        try:
            at = datetime.fromisoformat(data["at"])
            if at.tzinfo is None:
                raise ValueError("time without time zone")
            kind = EventKind(data["kind"])
            event_id = str(data["id"])
            request = (
                Request.from_json(data["request"], event_id) if kind in REQUEST_KINDS else None
            )
            return cls(event_id, kind, str(data["subscription_id"]), at, request)
        except (KeyError, TypeError, ValueError) as error:
            raise WebError(
                f"the web server sent an event this version cannot read ({error})",
                "update newsletter on both machines to the same version",
                key="sync_event_unreadable",
                params={"reason": str(error)},
            ) from None
