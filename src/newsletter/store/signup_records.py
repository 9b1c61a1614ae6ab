"""The sign-up's records (issue 17): what a sign-up or a self-service change is while
it waits, and once it is confirmed.

Pure data: the store keeps these (``newsletter.store.signups``), the web side makes
them, sync carries the confirmed ones to the office (``to_json``/``from_json``), and
the office applies them (``newsletter.signup.apply``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from newsletter.errors import WebError

# A confirmation link works this long; an unconfirmed request is erased after it.
VALID_FOR = timedelta(days=7)
# At most one confirmation mail per address in this time.
MAIL_INTERVAL = timedelta(hours=24)
SOURCE_WEB_FORM = "web form"
SOURCE_PREFERENCES = "preferences page"


class RequestKind(StrEnum):
    SIGNUP = "signup"  # someone put an address on public lists
    ADDRESS = "address"  # a member wants their mail at a new address
    PREFERENCES = "preferences"  # a member chose which public lists to receive


@dataclass(frozen=True)
class ConsentText:
    """The consent wording as shown, and its version: the first 16 hex digits of its SHA-256."""

    wording: str
    version: str


@dataclass(frozen=True)
class Request:
    """A request as stored. ``id`` is random and what the confirmation link signs."""

    id: str
    kind: RequestKind
    email: str  # signup: the address; address: the new address; preferences: ""
    first_name: str
    lists: tuple[str, ...]  # signup: the lists asked for; preferences: the lists to receive
    subscription_id: str | None  # address, preferences: whose (the member's link)
    consent: ConsentText
    requested_at: datetime
    confirmed_at: datetime | None = None
    ip: str | None = None  # the confirming client's address, nothing else about it
    event_id: str | None = None  # given when confirmed: what sync names it by
    # preferences: the lists to end. A public list in neither ``lists`` nor here stays
    # as it is: a web server of its own cannot show what the member has.
    ended: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "email": self.email,
            "first_name": self.first_name,
            "lists": list(self.lists),
            "subscription_id": self.subscription_id,
            "consent_text": self.consent.wording,
            "consent_version": self.consent.version,
            "requested_at": self.requested_at.isoformat(),
            "confirmed_at": self.confirmed_at.isoformat() if self.confirmed_at else None,
            "ip": self.ip,
            "ended": list(self.ended),
        }

    @classmethod
    def from_json(cls, data: Any, event_id: str) -> Request:
        """A confirmed request as the web server sent it; malformed is a WebError."""
        try:
            lists = data["lists"]
            ended = data.get("ended", [])  # a server from before ends nothing
            subscription_id = data["subscription_id"]
            for names in (lists, ended):
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise ValueError("lists is not a list of names")
            return cls(
                id=str(data["id"]),
                kind=RequestKind(data["kind"]),
                email=str(data["email"]),
                first_name=str(data["first_name"]),
                lists=tuple(lists),
                subscription_id=None if subscription_id is None else str(subscription_id),
                consent=ConsentText(str(data["consent_text"]), str(data["consent_version"])),
                requested_at=_aware(data["requested_at"]),
                confirmed_at=_aware(data["confirmed_at"]),
                ip=None if data["ip"] is None else str(data["ip"]),
                event_id=event_id,
                ended=tuple(ended),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise WebError(
                f"the web server sent a sign-up this version cannot read ({error})",
                "update newsletter on both machines to the same version",
                key="sync_signup_unreadable",
                params={"reason": str(error)},
            ) from None


def _aware(text: Any) -> datetime:
    when = datetime.fromisoformat(str(text))
    if when.tzinfo is None:
        raise ValueError("time without time zone")
    return when


@dataclass(frozen=True)
class ConsentDetails:
    """One subscription's full consent record, as ``members show`` prints it."""

    list_name: str
    status: str
    basis: str
    method: str
    source: str
    subscribed_at: datetime
    status_changed_at: datetime
    ip: str | None
    text: str | None
    text_version: str | None
    requested_at: datetime | None
    confirmed_at: datetime | None
