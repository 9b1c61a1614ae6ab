"""The member operations behind the commands and the web side, one function each.

Addresses arrive as typed by a person; everything here normalises them first, so
``ANNA@Bücher.de`` and ``anna@xn--bcher-kva.de`` are always the same member.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from newsletter import clock, store
from newsletter.errors import MemberError
from newsletter.members.addresses import (
    MAX_NAME,
    InvalidAddressError,
    clean_name,
    name_too_long,
    normalise_address,
)
from newsletter.members.planner import ImportPlan, plan_import
from newsletter.members.readers import ImportRow, MemberFile
from newsletter.members.tokens import new_subscription_id
from newsletter.store import signups
from newsletter.store.records import (
    Basis,
    ConsentMethod,
    ConsentRecord,
    Member,
    MemberData,
    Recipient,
    SubscriptionStatus,
    SuppressionReason,
)

_MAX_LIST_NAME = 80


def _now(now: datetime | None) -> datetime:
    return now or clock.utc_now()


def address(given: str) -> str:
    """The normalised address, or MemberError naming what is wrong with it."""
    try:
        return normalise_address(given)
    except InvalidAddressError as error:
        if not given.strip():
            raise MemberError(
                f'"{given}" is not a usable e-mail address: {error}', key="member_no_address"
            ) from None
        raise MemberError(
            f'"{given}" is not a usable e-mail address: {error}',
            key="member_bad_address",
            params={"given": given, "reason": str(error)},
        ) from None


def check_list_name(name: str) -> str:
    cleaned = clean_name(name)
    if not cleaned or cleaned != name or len(name) > _MAX_LIST_NAME:
        raise MemberError(
            f'"{name}" cannot be a list name',
            f"use up to {_MAX_LIST_NAME} characters on one line, without leading or trailing spaces",
            key="member_bad_list_name",
            params={"name": name, "most": _MAX_LIST_NAME},
        )
    return name


# ---------------------------------------------------------------- import


def plan_file_import(
    db: store.Database,
    member_file: MemberFile,
    list_name: str,
    basis: Basis | None,
    rows: Iterable[ImportRow] | None = None,
) -> ImportPlan:
    """Plan importing ``member_file`` (or ``rows`` read from it, e.g. behind a progress bar)."""
    check_list_name(list_name)
    mailing_list = store.find_list(db, list_name)
    list_id = mailing_list.id if mailing_list else None
    chosen = basis or (Basis.CONSENT if member_file.carries_opt_in else Basis.MEMBERSHIP)
    return plan_import(
        member_file.rows() if rows is None else rows,
        list_name=mailing_list.name if mailing_list else list_name,
        list_exists=mailing_list is not None,
        basis=chosen,
        known=store.known_members(db, list_id),
        suppressed=store.suppressed_hashes(db, list_id),
    )


# ---------------------------------------------------------------- one member


@dataclass(frozen=True)
class AddResult:
    list_created: bool
    already_subscribed: bool
    resubscribed: bool  # a suppression or an ended subscription was lifted


def add_member(
    db: store.Database,
    given: str,
    list_name: str,
    *,
    first_name: str = "",
    last_name: str = "",
    name: str = "",
    basis: Basis = Basis.MEMBERSHIP,
    resubscribe: bool = False,
    now: datetime | None = None,
) -> AddResult:
    """Subscribe one address; a suppressed one only with ``resubscribe`` (they asked again)."""
    email = address(given)
    moment = _now(now)
    check_list_name(list_name)
    for field, label, text in (
        ("first_name", "first name", first_name),
        ("last_name", "last name", last_name),
        ("name", "name", name),
    ):
        if problem := name_too_long(label, text):
            raise MemberError(
                problem,
                "shorten it (a name shows in every message's To: line)",
                key=f"member_long_{field}",
                params={"most": MAX_NAME},
            )
    with db.transaction():
        found = store.find_list(db, list_name)
        mailing_list = found or store.create_list(db, list_name, moment)
        member = store.find_member(db, email)
        current = next(
            (s for s in store.subscriptions_of(db, member.id) if s.list_id == mailing_list.id), None
        ) if member else None  # fmt: skip
        data = MemberData(email, clean_name(first_name), clean_name(last_name), clean_name(name))
        if current is not None and current.status is SubscriptionStatus.SUBSCRIBED:
            store.update_member_names(db, [_merged(member, data)])
            return AddResult(found is None, already_subscribed=True, resubscribed=False)
        suppressions = [
            s for s in store.suppressions_of(db, email)
            if s.list_name is None or s.list_name == mailing_list.name
        ]  # fmt: skip
        if (current is not None or suppressions) and not resubscribe:
            why = suppressions[0].reason.value if suppressions else current.status.value  # type: ignore[union-attr]
            raise MemberError(
                f"{email} must not be re-added to {mailing_list.name}: {why} before",
                "add --resubscribe only if they asked you to receive the newsletter again",
                key=f"member_no_readd_{why}",
                params={"email": email, "list": mailing_list.name},
            )
        store.insert_members(db, [data], moment)
        store.update_member_names(db, [_merged(member, data)] if member else [])
        store.lift_suppressions(db, email, mailing_list.id)
        consent = ConsentRecord(basis, ConsentMethod.MANUAL, "members add", moment)
        if current is not None:
            store.resubscribe(db, current.id, consent, moment)
        else:
            store.subscribe(db, mailing_list.id, [(new_subscription_id(), email, consent)], moment)
    return AddResult(
        found is None, already_subscribed=False, resubscribed=bool(current or suppressions)
    )


def _merged(member: Member | None, data: MemberData) -> MemberData:
    if member is None:
        return data
    return MemberData(
        member.email,
        data.first_name or member.first_name,
        data.last_name or member.last_name,
        data.name or member.name,
    )


def remove_member(db: store.Database, given: str, list_name: str) -> None:
    """Take an address off one list; no suppression: a later import may add it again."""
    email = address(given)
    with db.transaction():
        mailing_list = store.require_list(db, list_name)
        member = store.find_member(db, email)
        subscription = next(
            (s for s in store.subscriptions_of(db, member.id) if s.list_id == mailing_list.id), None
        ) if member else None  # fmt: skip
        if subscription is None:
            raise MemberError(
                f"{email} is not on the list {mailing_list.name}",
                key="member_not_on_list",
                params={"email": email, "list": mailing_list.name},
            )
        store.delete_subscription(db, subscription.id)


@dataclass(frozen=True)
class UnsubscribeResult:
    email: str
    ended: tuple[str, ...]  # lists on which a subscription ended now
    changed: bool  # False: it already was unsubscribed there


def unsubscribe_address(
    db: store.Database,
    given: str,
    list_name: str | None = None,
    *,
    source: str = "members unsubscribe",
    now: datetime | None = None,
) -> UnsubscribeResult:
    """Suppress an address on one list or all; works for people not (yet) on any list."""
    email = address(given)
    moment = _now(now)
    with db.transaction():
        mailing_list = store.require_list(db, list_name) if list_name else None
        member = store.find_member(db, email)
        before = {
            s.list_name
            for s in (store.subscriptions_of(db, member.id) if member else [])
            if s.status is SubscriptionStatus.SUBSCRIBED
            and (mailing_list is None or s.list_id == mailing_list.id)
        }
        changed = store.suppress(
            db,
            email,
            mailing_list.id if mailing_list else None,
            SuppressionReason.UNSUBSCRIBED,
            source,
            moment,
        )
    return UnsubscribeResult(email, tuple(sorted(before)), changed)


@dataclass(frozen=True)
class ForgetResult:
    email: str
    was_member: bool
    subscriptions: int


def forget_address(db: store.Database, given: str, *, now: datetime | None = None) -> ForgetResult:
    """Erase a person and their consent records; keep only a hashed all-list suppression."""
    email = address(given)
    with db.transaction():
        member = store.find_member(db, email)
        count = len(store.subscriptions_of(db, member.id)) if member else 0
        store.forget(db, email, _now(now))
        signups.forget_requests(db, email)  # a sign-up waiting for its link names them too
    return ForgetResult(email, member is not None, count)


# ---------------------------------------------------------------- for send and the web side


def unsubscribe_subscription(
    db: store.Database, subscription_id: str, *, source: str = "web", now: datetime | None = None
) -> bool:
    """End one subscription (an unsubscribe link); idempotent. Returns whether it changed.

    An unknown id (forgotten member, removed subscription) changes nothing: the link of
    someone erased must still answer politely, not fail.
    """
    subscription = store.find_subscription(db, subscription_id)
    if subscription is None:
        return False
    member = store.find_member_by_id(db, subscription.member_id)
    if member is None:
        return False
    return store.suppress(
        db,
        member.email,
        subscription.list_id,
        SuppressionReason.UNSUBSCRIBED,
        source,
        _now(now),
    )


def unsubscribe_everywhere(
    db: store.Database, subscription_id: str, *, source: str = "web", now: datetime | None = None
) -> bool:
    """End every subscription of the member a link names ("from all lists"); idempotent."""
    subscription = store.find_subscription(db, subscription_id)
    member = store.find_member_by_id(db, subscription.member_id) if subscription else None
    if member is None:
        return False
    return store.suppress(db, member.email, None, SuppressionReason.UNSUBSCRIBED, source, _now(now))


def recipients(db: store.Database, list_name: str) -> Iterator[Recipient]:
    """Who receives an issue sent to ``list_name``: subscribed and not suppressed."""
    return store.iter_recipients(db, store.require_list(db, list_name).id)
