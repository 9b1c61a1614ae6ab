"""The delivery journal: who is to get an issue, who got it, and what the server said.

Tables (``newsletter.store``'s migration 2): ``issue_sends`` (a send of the issue was
tried, and the hash of its build), ``issue_snapshots`` (which lists it goes to) and
``deliveries`` (one row per issue × member, whatever list brought them in). The issue
counts as sent, and its build as frozen, from the first row the relay took (or may have):
a send that never got a message through fixes nothing.

The crash-safety protocol, with the sender (``newsletter.deliver.sender``):
1. a message is marked ``sending`` and that is committed before it goes to the server;
2. after the server's reply it is recorded (``sent``, ``failed``, back to ``pending``);
   those records ride along with the next commit of step 1, so one commit per batch
   of messages handed out, not two per message.
A kill -9 at any moment therefore leaves at most ``concurrency`` rows ``sending``: the
messages in flight, whose fate is unknown. The next send (``prepare``) marks them
uncertain and sends them again, with the same Message-ID, so nobody is skipped; the
status lists them as uncertain, since they may have arrived twice.

Power loss: commits are written at once but synced to disk only every ``SYNC_EVERY``
messages or ``SYNC_SECONDS`` (SQLite WAL with ``synchronous = NORMAL`` between syncs),
so after a power cut up to that many messages may be sent again without being listed
as uncertain. A process crash loses nothing that was committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from newsletter import store
from newsletter.deliver.sender import Outcome, Outgoing, Result
from newsletter.errors import DeliveryError
from newsletter.members.records import Recipient, SuppressionReason

SYNC_EVERY = 100
SYNC_SECONDS = 1.0
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
class Prepared:
    """What ``prepare`` found and did, for the summary before a send."""

    first_send: bool  # nothing of the issue has been sent before (to any list)
    resumed: bool  # this list has been sent to before: its recipients are fixed
    added: int  # members newly snapshotted from this list
    recovered: int  # of this list, left ``sending`` by a crash: sent again, listed uncertain
    due: int  # to be sent now, to this list (the recovered ones included)
    skipped: int  # unsubscribed or suppressed since the snapshot
    left_out: int  # subscribed to the list since its first send, not included


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


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _utcnow() -> datetime:
    return datetime.now(UTC)


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


# ---------------------------------------------------------------- before a send


def is_sent(db: store.Database, issue: str) -> bool:
    """Whether the relay has accepted (or may have) a message of the issue."""
    query = f"SELECT 1 FROM deliveries d WHERE d.issue = ? AND {_SENT} LIMIT 1"  # noqa: S608
    return db.execute(query, (issue,)).fetchone() is not None


def _list_sent(db: store.Database, issue: str, list_id: int) -> bool:
    query = f"""
        SELECT 1 FROM deliveries d WHERE d.issue = ? AND d.list_id = ? AND {_SENT} LIMIT 1
    """  # noqa: S608
    return db.execute(query, (issue, list_id)).fetchone() is not None


def unfinished(db: store.Database, issue: str) -> list[Unfinished]:
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


def prepare(
    db: store.Database,
    issue: str,
    list_id: int,
    build_hash: str,
    now: datetime | None = None,
    *,
    include_new: bool = False,
) -> Prepared:
    """Everything before a real send to one list, in one transaction: freeze, snapshot, recover.

    The list's recipients are fixed by its first send: later runs only finish that set,
    unless ``include_new`` adds the members subscribed since. Raises DeliveryError when
    the issue was sent from another build: a resumed send must deliver exactly what the
    first part of the run did. Until the relay has taken a message, nothing is fixed.
    """
    with db.transaction():
        return _prepare(db, issue, list_id, build_hash, _time(now or _utcnow()), include_new)


def preview(
    db: store.Database,
    issue: str,
    list_id: int,
    build_hash: str | None,
    now: datetime | None = None,
    *,
    include_new: bool = False,
) -> Prepared:
    """What ``prepare`` would find and do, written nowhere: the summary before the
    confirmation counts with the very statements the send runs. ``build_hash`` None:
    do not compare builds."""
    with db.transaction():
        db.execute("SAVEPOINT preview")
        try:
            return _prepare(db, issue, list_id, build_hash, _time(now or _utcnow()), include_new)
        finally:
            db.execute("ROLLBACK TO preview")
            db.execute("RELEASE preview")


def _prepare(
    db: store.Database,
    issue: str,
    list_id: int,
    build_hash: str | None,
    at: str,
    include_new: bool,
) -> Prepared:
    # Every row a crash left ``sending`` is uncertain; this list sends its own again.
    recovered = _count(db, "d.issue = ? AND d.list_id = ? AND d.status = 'sending'", issue, list_id)
    db.execute(
        "UPDATE deliveries SET status = 'pending', uncertain = 1 "
        "WHERE issue = ? AND status = 'sending'",
        (issue,),
    )
    sent_before = is_sent(db, issue)
    _freeze(db, issue, build_hash, at, sent=sent_before)
    resumed = _list_sent(db, issue, list_id)
    added = left_out = 0
    if resumed and not include_new:
        left_out = _count_newcomers(db, issue, list_id)
    else:
        added = _snapshot(db, issue, list_id, at)
    due = count_due(db, issue, list_id)
    skipped = _count(
        db,
        f"d.issue = ? AND d.list_id = ? AND d.status = 'pending' AND NOT {_WANTED}",
        issue,
        list_id,
    )
    return Prepared(not sent_before, resumed, added, recovered, due, skipped, left_out)


def _freeze(db: store.Database, issue: str, build_hash: str | None, at: str, *, sent: bool) -> None:
    row = db.execute("SELECT build_hash FROM issue_sends WHERE issue = ?", (issue,)).fetchone()
    if row is None:
        db.execute(
            "INSERT INTO issue_sends (issue, build_hash, started_at) VALUES (?, ?, ?)",
            (issue, build_hash or "", at),
        )
        return
    if build_hash is None or row[0] == build_hash:
        return
    if sent:
        raise DeliveryError(
            f"the issue {issue} has changed since its first send started",
            "members who already have it got the earlier version; restore that build "
            "(issue.md and templates as they were) to send the rest, or make a new issue",
        )
    # An earlier attempt sent nothing (no connection, say): this build is the one.
    db.execute("UPDATE issue_sends SET build_hash = ? WHERE issue = ?", (build_hash, issue))


def _snapshot(db: store.Database, issue: str, list_id: int, at: str) -> int:
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
        {store.RECIPIENTS}
        ORDER BY s.rowid
        ON CONFLICT (issue, member_id) DO UPDATE
            SET list_id = excluded.list_id, subscription_id = excluded.subscription_id
            WHERE status = 'pending' AND attempts = 0
              AND NOT {_WANTED.replace("d.subscription_id", "deliveries.subscription_id")}
        """,  # noqa: S608
        (issue, at, list_id, list_id),
    ).rowcount


def _count_newcomers(db: store.Database, issue: str, list_id: int) -> int:
    """The list's recipients the issue's journal does not know: subscribed since."""
    query = f"""
        SELECT count(*) {store.RECIPIENTS}
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.issue = ? AND d.member_id = m.id)
    """  # noqa: S608
    return int(db.execute(query, (list_id, list_id, issue)).fetchone()[0])


def _count(db: store.Database, where: str, *parameters: object) -> int:
    query = f"SELECT count(*) FROM deliveries d WHERE {where}"  # noqa: S608
    row = db.execute(query, parameters).fetchone()
    return int(row[0])


def count_due(db: store.Database, issue: str, list_id: int | None = None) -> int:
    """What the next send to the list hands to the server (None: to any list)."""
    if list_id is None:
        return _count(db, f"d.issue = ? AND {_TO_SEND}", issue)
    return _count(db, _DUE, issue, list_id)


def due(db: store.Database, issue: str, list_id: int | None = None) -> Iterator[Delivery]:
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


def planned(
    db: store.Database, issue: str, list_id: int, *, include_new: bool = False
) -> Iterator[Recipient]:
    """Whom a send of ``issue`` to the list would mail now, without writing anything
    (``--dry-run``): what ``prepare`` would leave due."""
    yield from (delivery.recipient for delivery in due(db, issue, list_id))
    if _list_sent(db, issue, list_id) and not include_new:
        return
    # Members whose row ``_snapshot`` would leave alone: everyone in the journal but the
    # untried whose subscription ended (this list takes them over).
    kept = {
        row[0]
        for row in db.execute(
            f"""
            SELECT d.member_id FROM deliveries d
            WHERE d.issue = ? AND NOT (d.status = 'pending' AND d.attempts = 0 AND NOT {_WANTED})
            """,  # noqa: S608
            (issue,),
        )
    }
    yield from (r for r in store.iter_recipients(db, list_id) if r.member_id not in kept)


def count_planned(
    db: store.Database, issue: str, list_id: int, *, include_new: bool = False
) -> int:
    """How many ``planned`` gives, counted by SQLite."""
    return preview(db, issue, list_id, None, include_new=include_new).due


# ---------------------------------------------------------------- status


def status(db: store.Database, issue: str) -> IssueStatus:
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


# ---------------------------------------------------------------- during a send

_RECORD = {
    Result.ACCEPTED: (DeliveryStatus.SENT, 0),
    Result.DEFERRED: (DeliveryStatus.PENDING, 0),
    Result.FAILED: (DeliveryStatus.FAILED, 1),
    Result.BOUNCED: (DeliveryStatus.FAILED, 1),
    Result.GAVE_UP: (DeliveryStatus.FAILED, 0),
}


class Journal:
    """The sender's DeliveryLog on the ``deliveries`` table of one issue.

    Used from the thread that runs ``send_run`` (which is where the sender calls it).
    A hard bounce also suppresses the address on every list, as a ``bounced`` record.
    """

    def __init__(
        self,
        db: store.Database,
        issue: str,
        *,
        now: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sync_every: int = SYNC_EVERY,
        on_sent: Callable[[datetime], None] | None = None,
    ) -> None:
        self._db = db
        # Told once, before the first message the relay took (or may have) is committed:
        # where the send writes the issue's sent mark, so the mark never lags the journal.
        self._on_sent = on_sent
        self._issue = issue
        self._now = now
        self._monotonic = monotonic
        self._sync_every = sync_every
        self._records: list[tuple[Outgoing, Outcome]] = []
        self._unsynced = 0
        self._synced_at = monotonic()
        self._synchronous = int(db.execute("PRAGMA synchronous").fetchone()[0])
        # Between syncs a commit only reaches the OS, which survives a crash of this
        # process; ``_sync`` bounds what a power cut can take back.
        db.execute("PRAGMA synchronous = NORMAL")

    def starting(self, messages: Sequence[Outgoing]) -> None:
        sync = (
            self._unsynced + len(messages) >= self._sync_every
            or self._monotonic() - self._synced_at >= SYNC_SECONDS
        )
        if sync:
            self._db.execute("PRAGMA synchronous = FULL")
        at = _time(self._now())
        records = self._take_records()
        with self._db.transaction():
            self._write_records(records, at)
            self._db.executemany(
                """
                UPDATE deliveries SET status = 'sending', attempts = attempts + 1,
                                      attempted_at = ?, message_id = ?
                WHERE id = ?
                """,
                ((at, m.message_id or None, m.key) for m in messages),
            )
        self._unsynced += len(messages)
        if sync:
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._unsynced, self._synced_at = 0, self._monotonic()

    def finished(self, message: Outgoing, outcome: Outcome) -> None:
        self._records.append((message, outcome))

    def unbuildable(self, key: int, reason: str) -> None:
        """A member whose message cannot be made at all (no usable address): failed for
        good without a try, so the next send does not stumble over it again."""
        with self._db.transaction():
            self._db.execute(
                """
                UPDATE deliveries SET status = 'failed', permanent = 1, reply = ?, finished_at = ?
                WHERE id = ?
                """,
                (reason, _time(self._now()), key),
            )

    def close(self) -> None:
        self._db.execute("PRAGMA synchronous = FULL")
        records = self._take_records()
        with self._db.transaction():
            self._write_records(records, _time(self._now()))
        self._db.execute(f"PRAGMA synchronous = {self._synchronous}")

    def _take_records(self) -> list[tuple[Outgoing, Outcome]]:
        if self._on_sent is not None and any(
            outcome.result is Result.ACCEPTED or outcome.uncertain for _, outcome in self._records
        ):
            # Should this fail, the records stay unwritten, their rows ``sending``: the
            # next send counts them as uncertain, and sent, and writes the mark then.
            self._on_sent(self._now())
            self._on_sent = None
        records, self._records = self._records, []
        return records

    def _write_records(self, records: list[tuple[Outgoing, Outcome]], at: str) -> None:
        if not records:
            return
        self._db.executemany(
            """
            UPDATE deliveries SET status = ?, permanent = ?, reply = ?,
                                  uncertain = max(uncertain, ?), finished_at = ?
            WHERE id = ?
            """,
            (
                (*_RECORD[outcome.result], outcome.reason, int(outcome.uncertain), at, m.key)
                for m, outcome in records
            ),
        )
        for message, outcome in records:
            if outcome.result is Result.BOUNCED:
                self._suppress(message.envelope.recipient, outcome.reason)

    def _suppress(self, email: str, reply: str) -> None:
        store.suppress(
            self._db,
            email,
            None,
            SuppressionReason.BOUNCED,
            f"send {self._issue}: {reply}",
            self._now(),
        )
