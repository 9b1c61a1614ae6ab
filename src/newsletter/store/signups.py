"""The sign-up's SQL: tables ``signup_requests`` and ``signup_mails``, and the consent
record's columns on ``subscriptions`` (issue 17; the migration is in ``newsletter.store``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from newsletter.store import Database, iso_time
from newsletter.store.records import address_hash
from newsletter.store.signup_records import (
    MAIL_INTERVAL,
    VALID_FOR,
    ConsentDetails,
    ConsentText,
    Request,
    RequestKind,
)


def _time_of(text: str) -> datetime:
    return datetime.fromisoformat(text)


_REQUEST_QUERY = """
    SELECT id, kind, email, first_name, lists, subscription_id, consent_text, consent_version,
           requested_at, confirmed_at, ip, event_id
    FROM signup_requests
"""


def _lists_json(request: Request) -> str:
    """The ``lists`` column: the names, or with lists to end both (no new column)."""
    if request.ended:
        return json.dumps({"lists": list(request.lists), "ended": list(request.ended)})
    return json.dumps(list(request.lists))


def _request(row: Any) -> Request:
    lists = json.loads(row[4])
    if isinstance(lists, dict):
        lists, ended = lists["lists"], lists["ended"]
    else:
        ended = []
    return Request(
        id=row[0],
        kind=RequestKind(row[1]),
        email=row[2],
        first_name=row[3],
        lists=tuple(lists),
        ended=tuple(ended),
        subscription_id=row[5],
        consent=ConsentText(row[6], row[7]),
        requested_at=_time_of(row[8]),
        confirmed_at=_time_of(row[9]) if row[9] else None,
        ip=row[10],
        event_id=row[11],
    )


def claim_signup_mail(db: Database, email: str, now: datetime) -> bool:
    """Whether a confirmation mail may go to ``email`` now; if so, the slot is taken."""
    return bool(
        db.execute(
            """
            INSERT INTO signup_mails (address_hash, sent_at) VALUES (?, ?)
            ON CONFLICT (address_hash) DO UPDATE SET sent_at = excluded.sent_at
            WHERE sent_at <= ?
            """,
            (address_hash(email), iso_time(now), iso_time(now - MAIL_INTERVAL)),
        ).rowcount
    )


def release_signup_mail(db: Database, email: str) -> None:
    """The mail did not go out: the address may have one later."""
    db.execute("DELETE FROM signup_mails WHERE address_hash = ?", (address_hash(email),))


def insert_request(db: Database, request: Request) -> None:
    db.execute(
        """
        INSERT INTO signup_requests (id, kind, email, first_name, lists, subscription_id,
                                     consent_text, consent_version, requested_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        (
            request.id, request.kind.value, request.email, request.first_name,
            _lists_json(request), request.subscription_id, request.consent.wording,
            request.consent.version, iso_time(request.requested_at),
        ),
    )  # fmt: skip


def insert_confirmed_request(db: Database, request: Request) -> bool:
    """Keep a request confirmed already (a preferences change); the same id again is kept once."""
    assert request.confirmed_at is not None and request.event_id is not None
    return bool(
        db.execute(
            """
            INSERT INTO signup_requests (id, kind, email, first_name, lists, subscription_id,
                                         consent_text, consent_version, requested_at,
                                         confirmed_at, ip, event_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """,
            (
                request.id, request.kind.value, request.email, request.first_name,
                _lists_json(request), request.subscription_id,
                request.consent.wording, request.consent.version, iso_time(request.requested_at),
                iso_time(request.confirmed_at), request.ip, request.event_id,
            ),
        ).rowcount
    )  # fmt: skip


def find_request(db: Database, request_id: str) -> Request | None:
    row = db.execute(f"{_REQUEST_QUERY} WHERE id = ?", (request_id,)).fetchone()
    return _request(row) if row else None


def delete_request(db: Database, request_id: str) -> None:
    db.execute("DELETE FROM signup_requests WHERE id = ?", (request_id,))


def confirm_request(
    db: Database, request_id: str, at: datetime, ip: str, event_id: str
) -> Request | None:
    """Mark a waiting request confirmed; None when it is not waiting (gone or confirmed)."""
    changed = db.execute(
        """
        UPDATE signup_requests SET confirmed_at = ?, ip = ?, event_id = ?
        WHERE id = ? AND confirmed_at IS NULL
        """,
        (iso_time(at), ip, event_id, request_id),
    ).rowcount
    return find_request(db, request_id) if changed else None


def purge_requests(db: Database, now: datetime) -> int:
    """Erase what an unconfirmed request left: the request after VALID_FOR, the mail
    limit's hash after MAIL_INTERVAL. Returns how many requests were erased."""
    with db.transaction():
        erased = db.execute(
            "DELETE FROM signup_requests WHERE confirmed_at IS NULL AND requested_at <= ?",
            (iso_time(now - VALID_FOR),),
        ).rowcount
        db.execute("DELETE FROM signup_mails WHERE sent_at <= ?", (iso_time(now - MAIL_INTERVAL),))
    return erased


def confirmed_requests(db: Database, limit: int) -> list[Request]:
    """Confirmed requests waiting for the office (web server), oldest first."""
    rows = db.execute(
        f"{_REQUEST_QUERY} WHERE confirmed_at IS NOT NULL ORDER BY confirmed_at, rowid LIMIT ?",
        (limit,),
    ).fetchall()
    return [_request(row) for row in rows]


def delete_confirmed_requests(db: Database, event_ids: Sequence[str]) -> int:
    with db.transaction():
        return sum(
            db.execute("DELETE FROM signup_requests WHERE event_id = ?", (event_id,)).rowcount
            for event_id in event_ids
        )


def record_consent_details(db: Database, subscription_id: str, request: Request) -> None:
    """The parts of a web consent record the subscription's own columns do not hold."""
    db.execute(
        """
        UPDATE subscriptions SET consent_text_version = ?, consent_requested_at = ?,
                                 consent_confirmed_at = ?
        WHERE id = ?
        """,
        (
            request.consent.version,
            iso_time(request.requested_at),
            iso_time(request.confirmed_at) if request.confirmed_at else None,
            subscription_id,
        ),
    )


def consent_details(db: Database, member_id: int) -> list[ConsentDetails]:
    rows = db.execute(
        """
        SELECT l.name, s.status, s.basis, s.consent_method, s.consent_source, s.subscribed_at,
               s.status_changed_at, s.consent_ip, s.consent_text, s.consent_text_version,
               s.consent_requested_at, s.consent_confirmed_at
        FROM subscriptions s JOIN lists l ON l.id = s.list_id
        WHERE s.member_id = ? ORDER BY l.name
        """,
        (member_id,),
    ).fetchall()
    return [
        ConsentDetails(
            list_name=r[0], status=r[1], basis=r[2], method=r[3], source=r[4],
            subscribed_at=_time_of(r[5]), status_changed_at=_time_of(r[6]), ip=r[7],
            text=r[8], text_version=r[9],
            requested_at=_time_of(r[10]) if r[10] else None,
            confirmed_at=_time_of(r[11]) if r[11] else None,
        )
        for r in rows
    ]  # fmt: skip


def change_member_address(db: Database, member_id: int, email: str) -> bool:
    """Give a member a new (normalised) address; False when another member has it."""
    taken = db.execute("SELECT 1 FROM members WHERE email = ?", (email,)).fetchone()
    if taken:
        return False
    db.execute(
        "UPDATE members SET email = ?, email_hash = ? WHERE id = ?",
        (email, address_hash(email), member_id),
    )
    return True


def forget_requests(db: Database, email: str) -> None:
    """Erase every waiting request for an address (``forget``)."""
    db.execute("DELETE FROM signup_requests WHERE email = ?", (email,))
