"""Carrying out an import plan: all of it in one transaction, or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from newsletter import store
from newsletter.members.planner import ImportPlan, PlannedRow, RowOutcome
from newsletter.members.tokens import new_subscription_id
from newsletter.store.records import ConsentMethod, ConsentRecord, MemberData

_PROGRESS_STEP = 1000


@dataclass(frozen=True)
class ImportResult:
    list_created: bool
    # Lower than the plan's "added" only when someone unsubscribed (on the web side)
    # between reading the file and writing it: the store refuses those.
    subscribed: int


def apply_import(
    db: store.Database,
    plan: ImportPlan,
    *,
    source: str,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Write the plan. ``source`` names the file in every consent record it creates.

    ``progress`` is called with the number of rows written since its last call.
    """
    added = plan.with_outcome(RowOutcome.ADDED)
    with db.transaction():
        found = store.find_list(db, plan.list_name)
        mailing_list = found or store.create_list(db, plan.list_name, now)
        store.insert_members(db, _new_members(added), now)
        store.update_member_names(db, _renamed(plan.rows))
        subscribed = store.subscribe(
            db, mailing_list.id, _subscriptions(added, plan, source, now, progress), now
        )
        for opt_out in plan.suppressions:
            store.suppress(
                db,
                opt_out.email,
                None if opt_out.all_lists else mailing_list.id,
                opt_out.reason,
                source,
                now,
            )
    return ImportResult(list_created=found is None, subscribed=subscribed)


def _new_members(rows: Iterable[PlannedRow]) -> Iterator[MemberData]:
    for row in rows:
        if row.member is not None and row.new_member:
            yield row.member


def _renamed(rows: Iterable[PlannedRow]) -> Iterator[MemberData]:
    for row in rows:
        if row.member is not None and row.names_changed:
            yield row.member


def _subscriptions(
    added: list[PlannedRow],
    plan: ImportPlan,
    source: str,
    now: datetime,
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[str, str, ConsentRecord]]:
    shared = ConsentRecord(plan.basis, ConsentMethod.IMPORT, source, now)
    for done, row in enumerate(added, start=1):
        if row.member is None:
            continue
        consent = shared
        if row.opted_in_at or row.opt_in_ip:
            consent = ConsentRecord(
                plan.basis, ConsentMethod.IMPORT, source, row.opted_in_at or now, row.opt_in_ip
            )
        yield new_subscription_id(), row.member.email, consent
        if progress and (done % _PROGRESS_STEP == 0 or done == len(added)):
            progress(done % _PROGRESS_STEP or _PROGRESS_STEP)
