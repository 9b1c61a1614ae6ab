"""The delivery journal's SQL: tables ``issue_sends``, ``issue_snapshots``, ``deliveries``.

Migration 2 (``newsletter.store``) makes them. The journal's logic (when a send is
prepared, frozen, recorded; its crash-safety protocol) is ``newsletter.deliver.journal``;
this module only reads and writes rows, so every SQL statement is in the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from newsletter.store import RECIPIENTS, Database
from newsletter.store.records import Recipient

_PAGE = 1000


class DeliveryStatus(StrEnum):
    """Mirrored by the CHECK constraint on ``deliveries.status``."""

    PENDING = "pending"
    SENDING = "sending"  # handed to the server; after a crash: uncertain
    SENT = "sent"  # accepted by the server (not "delivered")
    FAILED = "failed"


@dataclass(frozen=True)
class Delivery:
    id: int
    issue: str
    recipient: Recipient  # as snapshotted, so a resumed send builds the same message
    list_id: int
    status: DeliveryStatus
    attempts: int
    uncertain: bool
    reply: str | None
    message_id: str | None


@dataclass(frozen=True)
class Unfinished:
    """A list whose send of the issue has members left to send to."""

    list_id: int
    name: str
    due: int


@dataclass(frozen=True)
class FailedDelivery:
    email: str
    reply: str
    permanent: bool  # False: refused temporarily; the next send tries again


@dataclass(frozen=True)
class IssueStatus:
    issue: str
    # When the relay first took (or may have taken) a message; None: nothing sent yet.
    started_at: datetime | None
    lists: tuple[str, ...]
    pending: int
    sending: int  # in flight now, or (no send running) left by a crash: uncertain
    sent: int
    failed: int
    skipped: int
    failures: tuple[FailedDelivery, ...]
    uncertain: tuple[str, ...]  # may have the issue twice, or (still sending) not at all
    unfinished: tuple[Unfinished, ...]  # lists with members left, in the order started

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.sent + self.failed + self.skipped


# A row is still wanted while its subscription is; an unsubscribe ends the subscription
# (store.suppress), and forgetting a member deletes the row itself. These fragments are
# put into queries with f-strings (noqa: S608 there): constants, never input.
_WANTED = """
    EXISTS (SELECT 1 FROM subscriptions s WHERE s.id = d.subscription_id AND s.status = 'subscribed')
"""
# What the next send to a list hands to the server; ``sending`` only after a crash (or
# during a run), and then sent again as uncertain.
_TO_SEND = f"""
    (d.status IN ('pending', 'sending') OR (d.status = 'failed' AND d.permanent = 0))
    AND {_WANTED}
"""
_DUE = f"d.issue = ? AND d.list_id = ? AND {_TO_SEND}"
# The relay has (or may have) taken the message: from the first such row on, the issue
# counts as sent and is frozen. A failed connection leaves none behind.
_SENT = "(d.status IN ('sent', 'sending') OR d.uncertain = 1)"


# ---------------------------------------------------------------- reading


def is_sent(db: Database, issue: str) -> bool:
    """Whether the relay has accepted (or may have) a message of the issue."""
    query = f"SELECT 1 FROM deliveries d WHERE d.issue = ? AND {_SENT} LIMIT 1"  # noqa: S608
    return db.execute(query, (issue,)).fetchone() is not None


def has_journal(db: Database, issue: str) -> bool:
    """Whether the issue has any row in the journal (snapshotted for some list)."""
    query = "SELECT 1 FROM deliveries WHERE issue = ? LIMIT 1"
    return db.execute(query, (issue,)).fetchone() is not None


def count_recipients(db: Database, list_id: int) -> int:
    """How many rows ``snapshot`` adds to an issue whose journal is empty."""
    query = f"SELECT count(*) {RECIPIENTS}"
    return int(db.execute(query, (list_id, list_id)).fetchone()[0])


def list_sent(db: Database, issue: str, list_id: int) -> bool:
    query = f"""
        SELECT 1 FROM deliveries d WHERE d.issue = ? AND d.list_id = ? AND {_SENT} LIMIT 1
    """  # noqa: S608
    return db.execute(query, (issue, list_id)).fetchone() is not None


def unfinished(db: Database, issue: str) -> list[Unfinished]:
    """The lists whose send of the issue was started and has members left, first first."""
    rows = db.execute(
        f"""
        SELECT l.id, l.name, count(d.id)
        FROM issue_snapshots x JOIN lists l ON l.id = x.list_id
        JOIN deliveries d ON d.issue = x.issue AND d.list_id = x.list_id
        WHERE x.issue = ? AND {_TO_SEND}
        GROUP BY x.rowid ORDER BY x.rowid
        """,  # noqa: S608
        (issue,),
    ).fetchall()
    return [Unfinished(int(r[0]), str(r[1]), int(r[2])) for r in rows]


def _count(db: Database, where: str, *parameters: object) -> int:
    query = f"SELECT count(*) FROM deliveries d WHERE {where}"  # noqa: S608
    row = db.execute(query, parameters).fetchone()
    return int(row[0])


def count_due(db: Database, issue: str, list_id: int | None = None) -> int:
    """What the next send to the list hands to the server (None: to any list)."""
    if list_id is None:
        return _count(db, f"d.issue = ? AND {_TO_SEND}", issue)
    return _count(db, _DUE, issue, list_id)


def due(db: Database, issue: str, list_id: int | None = None) -> Iterator[Delivery]:
    """The deliveries to send now to the list (None: to any list), in journal order, a page
    at a time (flat memory). A send to one list never finishes another list's send."""
    where = f"d.issue = ? AND {_TO_SEND}" if list_id is None else _DUE
    parameters: tuple[object, ...] = (issue,) if list_id is None else (issue, list_id)
    after = 0
    while True:
        rows = db.execute(
            f"""
            SELECT d.id, d.issue, d.subscription_id, d.member_id, d.email, d.first_name,
                   d.last_name, d.name, d.list_id, d.status, d.attempts, d.uncertain,
                   d.reply, d.message_id
            FROM deliveries d WHERE {where} AND d.id > ? ORDER BY d.id LIMIT ?
            """,  # noqa: S608
            (*parameters, after, _PAGE),
        ).fetchall()
        if not rows:
            return
        for row in rows:
            yield Delivery(
                id=row[0],
                issue=row[1],
                recipient=Recipient(row[2], row[3], row[4], row[5], row[6], row[7]),
                list_id=row[8],
                status=DeliveryStatus(row[9]),
                attempts=row[10],
                uncertain=bool(row[11]),
                reply=row[12],
                message_id=row[13],
            )
        after = rows[-1][0]


def snapshot(db: Database, issue: str, list_id: int, at: str) -> int:
    """Add the list's subscribed members who are not in the issue's journal yet."""
    db.execute(
        """
        INSERT INTO issue_snapshots (issue, list_id, taken_at) VALUES (?, ?, ?)
        ON CONFLICT (issue, list_id) DO NOTHING
        """,
        (issue, list_id, at),
    )
    # A member already in the journal through another list keeps their row (nobody
    # gets it twice), unless that row is untried and its list subscription has ended:
    # then this list's subscription takes over, and its unsubscribe link with it.
    # One statement: SQLite copies the rows itself, ten thousand in a few milliseconds.
    return db.execute(
        f"""
        INSERT INTO deliveries (issue, member_id, list_id, subscription_id, email,
                                first_name, last_name, name, queued_at)
        SELECT ?, m.id, s.list_id, s.id, m.email, m.first_name, m.last_name, m.name, ?
        {RECIPIENTS}
        ORDER BY s.rowid
        ON CONFLICT (issue, member_id) DO UPDATE
            SET list_id = excluded.list_id, subscription_id = excluded.subscription_id
            WHERE status = 'pending' AND attempts = 0
              AND NOT {_WANTED.replace("d.subscription_id", "deliveries.subscription_id")}
        """,  # noqa: S608
        (issue, at, list_id, list_id),
    ).rowcount


def count_newcomers(db: Database, issue: str, list_id: int) -> int:
    """The list's recipients the issue's journal does not know: subscribed since."""
    query = f"""
        SELECT count(*) {RECIPIENTS}
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.issue = ? AND d.member_id = m.id)
    """  # noqa: S608
    return int(db.execute(query, (list_id, list_id, issue)).fetchone()[0])


def count_skipped(db: Database, issue: str, list_id: int) -> int:
    """Rows of the list not sent yet whose subscription has ended since the snapshot."""
    return _count(
        db,
        f"d.issue = ? AND d.list_id = ? AND d.status = 'pending' AND NOT {_WANTED}",
        issue,
        list_id,
    )


def kept_members(db: Database, issue: str) -> set[int]:
    """Members whose row ``snapshot`` would leave alone: everyone in the journal but the
    untried whose subscription ended (another list takes them over)."""
    return {
        row[0]
        for row in db.execute(
            f"""
            SELECT d.member_id FROM deliveries d
            WHERE d.issue = ? AND NOT (d.status = 'pending' AND d.attempts = 0 AND NOT {_WANTED})
            """,  # noqa: S608
            (issue,),
        )
    }


def status(db: Database, issue: str) -> IssueStatus:
    started = db.execute(
        f"""
        SELECT min(coalesce(d.finished_at, d.attempted_at)) FROM deliveries d
        WHERE d.issue = ? AND {_SENT}
        """,  # noqa: S608
        (issue,),
    ).fetchone()
    lists = db.execute(
        f"""
        SELECT l.name FROM issue_snapshots x JOIN lists l ON l.id = x.list_id
        WHERE x.issue = ? AND EXISTS (
            SELECT 1 FROM deliveries d WHERE d.issue = x.issue AND d.list_id = x.list_id
            AND {_SENT}
        )
        ORDER BY x.rowid
        """,  # noqa: S608
        (issue,),
    ).fetchall()
    counts = dict(
        db.execute(
            f"""
            SELECT CASE WHEN d.status = 'pending' AND NOT {_WANTED} THEN 'skipped'
                        ELSE d.status END, count(*)
            FROM deliveries d WHERE d.issue = ? GROUP BY 1
            """,  # noqa: S608
            (issue,),
        ).fetchall()
    )
    failures = db.execute(
        """
        SELECT email, coalesce(reply, ''), permanent FROM deliveries
        WHERE issue = ? AND status = 'failed' ORDER BY email
        """,
        (issue,),
    ).fetchall()
    uncertain = db.execute(
        """
        SELECT email FROM deliveries
        WHERE issue = ? AND (status = 'sending' OR uncertain = 1) ORDER BY email
        """,
        (issue,),
    ).fetchall()
    return IssueStatus(
        issue=issue,
        started_at=datetime.fromisoformat(started[0]) if started and started[0] else None,
        lists=tuple(row[0] for row in lists),
        pending=counts.get("pending", 0),
        sending=counts.get("sending", 0),
        sent=counts.get("sent", 0),
        failed=counts.get("failed", 0),
        skipped=counts.get("skipped", 0),
        failures=tuple(FailedDelivery(r[0], r[1], bool(r[2])) for r in failures),
        uncertain=tuple(row[0] for row in uncertain),
        unfinished=tuple(unfinished(db, issue)),
    )


# ---------------------------------------------------------------- writing


@contextmanager
def rolled_back(db: Database) -> Iterator[None]:
    """Inside a transaction: whatever the block writes is undone when it ends."""
    db.execute("SAVEPOINT preview")
    try:
        yield
    finally:
        db.execute("ROLLBACK TO preview")
        db.execute("RELEASE preview")


def recover_sending(db: Database, issue: str, list_id: int) -> int:
    """Mark every row a crash left ``sending`` pending and uncertain; how many of them
    belong to the list."""
    recovered = _count(db, "d.issue = ? AND d.list_id = ? AND d.status = 'sending'", issue, list_id)
    db.execute(
        "UPDATE deliveries SET status = 'pending', uncertain = 1 "
        "WHERE issue = ? AND status = 'sending'",
        (issue,),
    )
    return recovered


def frozen_build(db: Database, issue: str) -> str | None:
    """The build hash recorded by the issue's first send, or None before one."""
    row = db.execute("SELECT build_hash FROM issue_sends WHERE issue = ?", (issue,)).fetchone()
    return None if row is None else str(row[0])


def start_issue_send(db: Database, issue: str, build_hash: str | None, at: str) -> None:
    db.execute(
        "INSERT INTO issue_sends (issue, build_hash, started_at) VALUES (?, ?, ?)",
        (issue, build_hash or "", at),
    )


def replace_build(db: Database, issue: str, build_hash: str) -> None:
    db.execute("UPDATE issue_sends SET build_hash = ? WHERE issue = ?", (build_hash, issue))


def mark_sending(db: Database, rows: Iterable[tuple[str | None, int]], at: str) -> None:
    """Rows (message id, delivery id) handed to the server now."""
    db.executemany(
        """
        UPDATE deliveries SET status = 'sending', attempts = attempts + 1,
                              attempted_at = ?, message_id = ?
        WHERE id = ?
        """,
        ((at, message_id, key) for message_id, key in rows),
    )


def record_results(
    db: Database, rows: Iterable[tuple[DeliveryStatus, int, str, int, int]], at: str
) -> None:
    """Rows (status, permanent, reply, uncertain, delivery id) as the server answered."""
    db.executemany(
        """
        UPDATE deliveries SET status = ?, permanent = ?, reply = ?,
                              uncertain = max(uncertain, ?), finished_at = ?
        WHERE id = ?
        """,
        (
            (status, permanent, reply, uncertain, at, key)
            for status, permanent, reply, uncertain, key in rows
        ),
    )


def reopen_failed(db: Database, issue: str, list_id: int) -> int:
    """Make the list's refused deliveries due again: those refused for good by the server
    (a 5xx) but neither a hard bounce (those are suppressed, their subscription ended)
    nor unsubscribed since, nor unbuildable (never tried: no usable address)."""
    return db.execute(
        f"""
        UPDATE deliveries AS d SET permanent = 0
        WHERE d.issue = ? AND d.list_id = ? AND d.status = 'failed' AND d.permanent = 1
          AND d.attempts > 0 AND {_WANTED}
          AND NOT EXISTS (
              SELECT 1 FROM suppressions x JOIN members m ON x.address_hash = m.email_hash
              WHERE m.id = d.member_id AND (x.list_id IS NULL OR x.list_id = d.list_id)
          )
        """,  # noqa: S608
        (issue, list_id),
    ).rowcount


def mark_unbuildable(db: Database, key: int, reason: str, at: str) -> None:
    db.execute(
        """
        UPDATE deliveries SET status = 'failed', permanent = 1, reply = ?, finished_at = ?
        WHERE id = ?
        """,
        (reason, at, key),
    )


def synchronous(db: Database) -> int:
    return int(db.execute("PRAGMA synchronous").fetchone()[0])


def set_synchronous(db: Database, level: str | int) -> None:
    """FULL syncs each commit to disk; NORMAL (WAL) leaves it to the OS between syncs."""
    db.execute(f"PRAGMA synchronous = {level}")
