"""The delivery journal: who is to get an issue, who got it, and what the server said.

Tables (``newsletter.store``'s migration 2, their SQL in ``newsletter.store.journal``): ``issue_sends`` (a send of the issue was
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
from datetime import datetime

from newsletter import clock, store
from newsletter.deliver.sender import Outcome, Outgoing, Result
from newsletter.errors import DeliveryError
from newsletter.store import journal as rows
from newsletter.store.journal import (
    Delivery as Delivery,
)
from newsletter.store.journal import (
    DeliveryStatus as DeliveryStatus,
)
from newsletter.store.journal import (
    FailedDelivery as FailedDelivery,
)
from newsletter.store.journal import (
    IssueStatus as IssueStatus,
)
from newsletter.store.journal import (
    Unfinished as Unfinished,
)
from newsletter.store.journal import (
    count_due as count_due,
)
from newsletter.store.journal import (
    due as due,
)
from newsletter.store.journal import (
    is_sent as is_sent,
)
from newsletter.store.journal import (
    status as status,
)
from newsletter.store.journal import (
    unfinished as unfinished,
)
from newsletter.store.records import Recipient, SuppressionReason

SYNC_EVERY = 100
SYNC_SECONDS = 1.0


@dataclass(frozen=True)
class Prepared:
    """What ``prepare`` found and did, for the summary before a send."""

    first_send: bool  # nothing of the issue has been sent before (to any list)
    resumed: bool  # this list has been sent to before: its recipients are fixed
    added: int  # members newly snapshotted from this list
    recovered: int  # of this list, left ``sending`` by a crash: sent again, listed uncertain
    due: int  # to be sent now, to this list (the recovered ones included)
    retried: int  # of them: refused for good before, sent again (``retry_failed``)
    skipped: int  # unsubscribed or suppressed since the snapshot
    left_out: int  # subscribed to the list since its first send, not included


# ---------------------------------------------------------------- before a send


def prepare(
    db: store.Database,
    issue: str,
    list_id: int,
    build_hash: str,
    now: datetime | None = None,
    *,
    include_new: bool = False,
    retry_failed: bool = False,
) -> Prepared:
    """Everything before a real send to one list, in one transaction: freeze, snapshot, recover.

    ``retry_failed`` makes the deliveries the server refused for good due again, unless
    they bounced (no such user) or the member is suppressed or unsubscribed.

    The list's recipients are fixed by its first send: later runs only finish that set,
    unless ``include_new`` adds the members subscribed since. Raises DeliveryError when
    the issue was sent from another build: a resumed send must deliver exactly what the
    first part of the run did. Until the relay has taken a message, nothing is fixed.
    """
    with db.transaction():
        return _prepare(
            db,
            issue,
            list_id,
            build_hash,
            store.iso_time(now or clock.utc_now()),
            include_new,
            retry_failed,
        )


def preview(
    db: store.Database,
    issue: str,
    list_id: int,
    build_hash: str | None,
    now: datetime | None = None,
    *,
    include_new: bool = False,
    retry_failed: bool = False,
) -> Prepared:
    """What ``prepare`` would find and do, written nowhere: the summary before the
    confirmation counts with the very statements the send runs. ``build_hash`` None:
    do not compare builds."""
    if not rows.has_journal(db, issue):
        # Never sent to any list: the send would copy every recipient into the journal and
        # find them all due. Counted instead of copied (100,000 members: 0.2 s less for
        # the summary, and two counts over the copy less).
        due = rows.count_recipients(db, list_id)
        return Prepared(
            first_send=True, resumed=False, added=due, recovered=0, due=due, retried=0,
            skipped=0, left_out=0,
        )  # fmt: skip
    with db.transaction(), rows.rolled_back(db):
        return _prepare(
            db,
            issue,
            list_id,
            build_hash,
            store.iso_time(now or clock.utc_now()),
            include_new,
            retry_failed,
        )


def _prepare(
    db: store.Database,
    issue: str,
    list_id: int,
    build_hash: str | None,
    at: str,
    include_new: bool,
    retry_failed: bool = False,
) -> Prepared:
    # Every row a crash left ``sending`` is uncertain; this list sends its own again.
    recovered = rows.recover_sending(db, issue, list_id)
    sent_before = rows.is_sent(db, issue)
    _freeze(db, issue, build_hash, at, sent=sent_before)
    resumed = rows.list_sent(db, issue, list_id)
    added = left_out = 0
    if resumed and not include_new:
        left_out = rows.count_newcomers(db, issue, list_id)
    else:
        added = rows.snapshot(db, issue, list_id, at)
    retried = rows.reopen_failed(db, issue, list_id) if retry_failed else 0
    due = rows.count_due(db, issue, list_id)
    skipped = rows.count_skipped(db, issue, list_id)
    return Prepared(not sent_before, resumed, added, recovered, due, retried, skipped, left_out)


def _freeze(db: store.Database, issue: str, build_hash: str | None, at: str, *, sent: bool) -> None:
    frozen = rows.frozen_build(db, issue)
    if frozen is None:
        rows.start_issue_send(db, issue, build_hash, at)
        return
    if build_hash is None or frozen == build_hash:
        return
    if sent:
        raise DeliveryError(
            f"the issue {issue} has changed since its first send started",
            "members who already have it got the earlier version; restore that build "
            "(issue.md and templates as they were) to send the rest, or make a new issue",
            key="send_issue_changed",
            params={"slug": issue},
        )
    # An earlier attempt sent nothing (no connection, say): this build is the one.
    rows.replace_build(db, issue, build_hash)


def planned(
    db: store.Database, issue: str, list_id: int, *, include_new: bool = False
) -> Iterator[Recipient]:
    """Whom a send of ``issue`` to the list would mail now, without writing anything
    (``--dry-run``): what ``prepare`` would leave due."""
    yield from (delivery.recipient for delivery in rows.due(db, issue, list_id))
    if rows.list_sent(db, issue, list_id) and not include_new:
        return
    kept = rows.kept_members(db, issue)
    yield from (r for r in store.iter_recipients(db, list_id) if r.member_id not in kept)


def count_planned(
    db: store.Database, issue: str, list_id: int, *, include_new: bool = False
) -> int:
    """How many ``planned`` gives, counted by SQLite."""
    return preview(db, issue, list_id, None, include_new=include_new).due


# ---------------------------------------------------------------- status


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
        now: Callable[[], datetime] = clock.utc_now,
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
        self._synchronous = rows.synchronous(db)
        # Between syncs a commit only reaches the OS, which survives a crash of this
        # process; ``_sync`` bounds what a power cut can take back.
        rows.set_synchronous(db, "NORMAL")

    def starting(self, messages: Sequence[Outgoing]) -> None:
        sync = (
            self._unsynced + len(messages) >= self._sync_every
            or self._monotonic() - self._synced_at >= SYNC_SECONDS
        )
        if sync:
            rows.set_synchronous(self._db, "FULL")
        at = store.iso_time(self._now())
        records = self._take_records()
        with self._db.transaction():
            self._write_records(records, at)
            rows.mark_sending(self._db, ((m.message_id or None, m.key) for m in messages), at)
        self._unsynced += len(messages)
        if sync:
            rows.set_synchronous(self._db, "NORMAL")
            self._unsynced, self._synced_at = 0, self._monotonic()

    def finished(self, message: Outgoing, outcome: Outcome) -> None:
        self._records.append((message, outcome))

    def unbuildable(self, key: int, reason: str) -> None:
        """A member whose message cannot be made at all (no usable address): failed for
        good without a try, so the next send does not stumble over it again."""
        with self._db.transaction():
            rows.mark_unbuildable(self._db, key, reason, store.iso_time(self._now()))

    def close(self) -> None:
        rows.set_synchronous(self._db, "FULL")
        records = self._take_records()
        with self._db.transaction():
            self._write_records(records, store.iso_time(self._now()))
        rows.set_synchronous(self._db, self._synchronous)

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
        rows.record_results(
            self._db,
            (
                (*_RECORD[outcome.result], outcome.reason, int(outcome.uncertain), m.key)
                for m, outcome in records
            ),
            at,
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
