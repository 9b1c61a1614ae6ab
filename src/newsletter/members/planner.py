"""What an import would do, decided without touching the database.

``plan_import`` compares the rows of a file with what the database already knows and
says, for every row, whether it is added, updated, unchanged, suppressed or rejected,
and why. ``--dry-run`` shows the plan; the applier carries it out in one transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from newsletter.members.addresses import (
    MAX_NAME,
    InvalidAddressError,
    clean_name,
    name_too_long,
    normalise_address,
)
from newsletter.members.readers import ImportRow
from newsletter.store.records import (
    Basis,
    KnownMember,
    MemberData,
    SubscriptionStatus,
    SuppressionReason,
    address_hash,
)

_SUPPRESSED_BEFORE = {
    SuppressionReason.UNSUBSCRIBED: "unsubscribed earlier",
    SuppressionReason.BOUNCED: "bounced earlier",
    SuppressionReason.FORGOTTEN: "erased on request (forget) earlier",
}


class RowOutcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SUPPRESSED = "suppressed"
    REJECTED = "rejected"


class PlannedRow(NamedTuple):
    """What happens to one row; a NamedTuple for the same reason as ImportRow."""

    where: str
    given: str  # the address as the file has it
    outcome: RowOutcome
    reason: str = ""
    member: MemberData | None = None  # for added and updated rows
    new_member: bool = False  # added rows: not in the database under any list yet
    names_changed: bool = False
    opted_in_at: datetime | None = None
    opt_in_ip: str | None = None
    # The reason's stable name and values, for the desk's own wording (errors.py says how).
    reason_key: str = ""
    reason_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PlannedSuppression:
    email: str
    reason: SuppressionReason
    all_lists: bool


@dataclass(frozen=True)
class ImportPlan:
    list_name: str
    list_exists: bool
    basis: Basis
    rows: tuple[PlannedRow, ...]  # every row except the unchanged ones
    suppressions: tuple[PlannedSuppression, ...]
    counts: Mapping[RowOutcome, int]

    def with_outcome(self, outcome: RowOutcome) -> list[PlannedRow]:
        return [row for row in self.rows if row.outcome is outcome]


def plan_import(
    rows: Iterable[ImportRow],
    *,
    list_name: str,
    list_exists: bool,
    basis: Basis,
    known: Mapping[str, KnownMember],
    suppressed: Mapping[str, SuppressionReason],
) -> ImportPlan:
    """Decide every row. ``known`` and ``suppressed`` describe the database now."""
    planned: list[PlannedRow] = []
    opt_outs: dict[str, PlannedSuppression] = {}
    first_seen: dict[str, tuple[str, int]] = {}
    counts: Counter[RowOutcome] = Counter()

    def decide(row: ImportRow) -> PlannedRow | None:
        if row.skip_reason:
            return PlannedRow(row.where, row.email, RowOutcome.REJECTED, row.skip_reason)
        try:
            email = normalise_address(row.email)
        except InvalidAddressError as error:
            return PlannedRow(
                row.where,
                row.email,
                RowOutcome.REJECTED,
                str(error),
                reason_key="row_no_address" if not row.email.strip() else "row_bad_address",
                reason_params=(("reason", str(error)),),
            )
        if row.opt_out is None and (problem := _long_name(row)):
            return PlannedRow(
                row.where,
                row.email,
                RowOutcome.REJECTED,
                problem,
                reason_key="row_long_name",
                reason_params=(("most", str(MAX_NAME)),),
            )
        if row.opt_out is not None:
            opt_outs[email] = PlannedSuppression(email, row.opt_out.reason, row.opt_out.all_lists)
            first_seen.setdefault(email, (row.part, row.line))
            return PlannedRow(row.where, row.email, RowOutcome.SUPPRESSED, row.opt_out.note)
        if email in opt_outs:
            return PlannedRow(
                row.where,
                row.email,
                RowOutcome.SUPPRESSED,
                "opted out in this file",
                reason_key="row_opted_out_here",
            )
        # No hashing when nothing is suppressed: the first import of a big list stays fast.
        reason = suppressed.get(address_hash(email)) if suppressed else None
        if reason is not None:
            return PlannedRow(
                row.where,
                row.email,
                RowOutcome.SUPPRESSED,
                _SUPPRESSED_BEFORE[reason],
                reason_key=f"row_{reason.value}_earlier",
            )
        if email in first_seen:
            part, line = first_seen[email]
            where = f"line {line}" if part == row.part else f"{part} line {line}"
            return PlannedRow(
                row.where,
                row.email,
                RowOutcome.REJECTED,
                f"same address as {where}",
                reason_key="row_same_address" if part == row.part else "row_same_address_in",
                reason_params=(("line", str(line)), ("part", part)),
            )
        first_seen[email] = (row.part, row.line)
        return _compare(row, email, known.get(email))

    for row in rows:
        decision = decide(row)
        if decision is None:
            counts[RowOutcome.UNCHANGED] += 1
        else:
            counts[decision.outcome] += 1
            planned.append(decision)
    return ImportPlan(
        list_name=list_name,
        list_exists=list_exists,
        basis=basis,
        rows=tuple(planned),
        suppressions=tuple(opt_outs.values()),
        counts={outcome: counts[outcome] for outcome in RowOutcome},
    )


def _long_name(row: ImportRow) -> str | None:
    return (
        name_too_long("first name", row.first_name)
        or name_too_long("last name", row.last_name)
        or name_too_long("name", row.name)
    )


def _compare(row: ImportRow, email: str, current: KnownMember | None) -> PlannedRow | None:
    """The outcome for a valid, new-in-this-file, unsuppressed address; None: unchanged."""
    given = MemberData(
        email, clean_name(row.first_name), clean_name(row.last_name), clean_name(row.name)
    )
    if current is None:
        return PlannedRow(
            row.where, row.email, RowOutcome.ADDED, member=given, new_member=True,
            opted_in_at=row.opted_in_at, opt_in_ip=row.opt_in_ip,
        )  # fmt: skip
    # A blank cell keeps what we know: a file without first names erases none.
    merged = MemberData(
        email,
        given.first_name or current.first_name,
        given.last_name or current.last_name,
        given.name or current.name,
    )
    changed = (merged.first_name, merged.last_name, merged.name) != (
        current.first_name, current.last_name, current.name,
    )  # fmt: skip
    if current.status is None:
        return PlannedRow(
            row.where, row.email, RowOutcome.ADDED, member=merged, names_changed=changed,
            opted_in_at=row.opted_in_at, opt_in_ip=row.opt_in_ip,
        )  # fmt: skip
    if current.status is not SubscriptionStatus.SUBSCRIBED:
        # Ended on this list without a suppression record: still never re-subscribed.
        return PlannedRow(
            row.where, row.email, RowOutcome.SUPPRESSED, f"{current.status} from this list"
        )
    if changed:
        return PlannedRow(
            row.where, row.email, RowOutcome.UPDATED, "names changed", merged, names_changed=True
        )
    return None
