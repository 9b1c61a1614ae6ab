"""The bounces' SQL: table ``bounces`` (migration 6 in ``newsletter.store``) and the
journal look-ups that match a bounce to what we sent. The logic (classifying, matching,
the policy) is ``newsletter.bounces``; this module only reads and writes rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from newsletter.store import Database
from newsletter.store.records import address_hash


class Decision(StrEnum):
    """Mirrored by the CHECK constraint on ``bounces.decision``."""

    BOUNCED = "bounced"  # the subscription was marked bounced (now or by this count)
    COUNTED = "counted"  # a temporary failure, counted towards soft_limit
    UNSUBSCRIBED = "unsubscribed"  # an abuse complaint
    IGNORED = "ignored"  # an auto-reply


@dataclass(frozen=True)
class Sent:
    """One delivery of the journal: which issue went to which subscription and address."""

    delivery_id: int
    issue: str
    subscription_id: str
    email: str


@dataclass(frozen=True)
class BounceRecord:
    mail_id: str
    kind: str
    decision: Decision
    email: str | None
    subscription_id: str | None
    issue: str | None
    code: str
    text: str
    reported_at: datetime
    processed_at: datetime


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


_SENT = "SELECT id, issue, subscription_id, email FROM deliveries"


def delivery(db: Database, delivery_id: int) -> Sent | None:
    row = db.execute(f"{_SENT} WHERE id = ?", (delivery_id,)).fetchone()
    return Sent(*row) if row else None


def delivery_with_message_id(db: Database, message_id: str) -> Sent | None:
    # No index on message_id: it would cost every send a page write per message, and
    # this runs only for bounces that came back without a VERP code.
    row = db.execute(
        f"{_SENT} WHERE message_id = ? ORDER BY id DESC LIMIT 1",
        (message_id,),
    ).fetchone()
    return Sent(*row) if row else None


def latest_delivery_to(db: Database, email: str) -> Sent | None:
    row = db.execute(
        f"{_SENT} WHERE email = ? ORDER BY id DESC LIMIT 1",
        (email,),
    ).fetchone()
    return Sent(*row) if row else None


def is_recorded(db: Database, mail_id: str) -> bool:
    found = db.execute("SELECT 1 FROM bounces WHERE mail_id = ?", (mail_id,)).fetchone()
    return found is not None


def record(db: Database, entry: BounceRecord) -> bool:
    """Store one decision; False when this mail was recorded before (nothing is written)."""
    added = db.execute(
        """
        INSERT INTO bounces (mail_id, kind, decision, address_hash, subscription_id, issue,
                             code, text, reported_at, processed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (mail_id) DO NOTHING
        """,
        (
            entry.mail_id, entry.kind, entry.decision.value,
            address_hash(entry.email) if entry.email else None,
            entry.subscription_id, entry.issue, entry.code, entry.text,
            _time(entry.reported_at), _time(entry.processed_at),
        ),
    ).rowcount  # fmt: skip
    return bool(added)


def soft_failures(db: Database, email: str, since: datetime) -> int:
    """Issues with a temporary failure for this address since ``since``: a server's
    repeated warnings about one message count once; one without an issue counts alone."""
    row = db.execute(
        """
        SELECT count(DISTINCT coalesce(issue, 'mail ' || mail_id)) FROM bounces
        WHERE address_hash = ? AND kind = 'temporary' AND reported_at >= ?
        """,
        (address_hash(email), _time(since)),
    ).fetchone()
    return int(row[0])


def counts_for_issue(db: Database, issue: str) -> dict[Decision, int]:
    rows = db.execute(
        "SELECT decision, count(*) FROM bounces WHERE issue = ? GROUP BY decision", (issue,)
    ).fetchall()
    return {Decision(row[0]): int(row[1]) for row in rows}


def records_for(db: Database, email: str) -> list[BounceRecord]:
    """The decisions about one address, oldest first (``members show`` explains them)."""
    rows = db.execute(
        """
        SELECT mail_id, kind, decision, subscription_id, issue, code, text, reported_at,
               processed_at
        FROM bounces WHERE address_hash = ? ORDER BY reported_at, id
        """,
        (address_hash(email),),
    ).fetchall()
    return [
        BounceRecord(
            mail_id=row[0], kind=row[1], decision=Decision(row[2]), email=email,
            subscription_id=row[3], issue=row[4], code=row[5], text=row[6],
            reported_at=datetime.fromisoformat(row[7]),
            processed_at=datetime.fromisoformat(row[8]),
        )
        for row in rows
    ]  # fmt: skip
