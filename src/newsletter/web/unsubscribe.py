"""Where a member's unsubscribe goes: straight into the office's database (one machine),
or into the web server's own queue until the office syncs (``web_remote = true``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from newsletter import store
from newsletter.members import manage
from newsletter.messages.compose import ONE_CLICK
from newsletter.store.events import EventKind, WebEvent

SOURCE = "web"
# The POST body: RFC 8058's one-click field, and the confirmation page's second button.
ONE_CLICK_FIELD, _, ONE_CLICK_VALUE = ONE_CLICK.partition("=")
SCOPE_FIELD = "scope"
SCOPE_ALL = "all"  # "von allen Listen abmelden"


class Unsubscribes(Protocol):
    def record(self, kind: EventKind, subscription_id: str, now: datetime) -> None:
        """Honour one click; the same click again changes nothing more."""


def apply_unsubscribe(
    db: store.Database, kind: EventKind, subscription_id: str, now: datetime
) -> bool:
    """End the subscription (or all of the member's); False when nothing changed, e.g. a
    forgotten member or a second click."""
    if kind is EventKind.UNSUBSCRIBE_ALL:
        return manage.unsubscribe_everywhere(db, subscription_id, source=SOURCE, now=now)
    return manage.unsubscribe_subscription(db, subscription_id, source=SOURCE, now=now)


@dataclass(frozen=True)
class DirectUnsubscribes:
    """One machine: the web side and the office share the database file."""

    database_path: Path

    def record(self, kind: EventKind, subscription_id: str, now: datetime) -> None:
        with store.open_database(self.database_path) as db:
            apply_unsubscribe(db, kind, subscription_id, now)


@dataclass(frozen=True)
class QueuedUnsubscribes:
    """Office PC + web server: the event waits in the server's database for ``sync``."""

    database_path: Path

    def record(self, kind: EventKind, subscription_id: str, now: datetime) -> None:
        with store.open_database(self.database_path) as db:
            store.record_web_event(db, WebEvent.new(kind, subscription_id, now))
