"""The proof of consent the office hands over on request: a person's subscriptions
with their basis and full consent record (``newsletter members show``)."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter import store
from newsletter.errors import MemberError
from newsletter.members.manage import address
from newsletter.store import signups
from newsletter.store.records import Member, Suppression
from newsletter.store.signup_records import ConsentDetails


@dataclass(frozen=True)
class MemberRecord:
    member: Member
    subscriptions: tuple[ConsentDetails, ...]
    suppressions: tuple[Suppression, ...]


def member_record(db: store.Database, given: str) -> MemberRecord:
    """Everything kept about one address; MemberError when nobody has it."""
    email = address(given)
    member = store.find_member(db, email)
    if member is None:
        suppressed = store.suppressions_of(db, email)
        why = (
            f"; it is suppressed ({', '.join(sorted({s.reason.value for s in suppressed}))}), "
            "only a hash of it is kept"
            if suppressed
            else ""
        )
        raise MemberError(
            f"{email} is not a member{why}",
            'see "newsletter members list" for the addresses on each list',
        )
    return MemberRecord(
        member,
        tuple(signups.consent_details(db, member.id)),
        tuple(store.suppressions_of(db, email)),
    )
