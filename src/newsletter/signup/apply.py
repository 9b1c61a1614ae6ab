"""Applying a confirmed request to the office's database: the one place a sign-up,
an address change or a preferences change becomes subscriptions.

Called at once on one machine, and by ``newsletter sync`` for a web server of its own;
either way inside the caller's transaction, and a request applied again changes nothing
more (its consent is the same record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from newsletter import store
from newsletter.members.addresses import InvalidAddressError, clean_name, normalise_address
from newsletter.members.tokens import new_subscription_id
from newsletter.store import signups
from newsletter.store.records import (
    Basis,
    ConsentMethod,
    ConsentRecord,
    MemberData,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.store.signup_records import (
    SOURCE_PREFERENCES,
    SOURCE_WEB_FORM,
    Request,
    RequestKind,
)


def apply_request(
    db: store.Database, request: Request, public_lists: Sequence[str], now: datetime
) -> bool:
    """Whether anything changed. ``public_lists``: what the preferences page may change."""
    with db.transaction():
        if request.kind is RequestKind.SIGNUP:
            return _sign_up(db, request, public_lists, now)
        if request.kind is RequestKind.ADDRESS:
            return _change_address(db, request)
        return _choose_lists(db, request, public_lists, now)


def _consent(request: Request, source: str) -> ConsentRecord:
    at = request.confirmed_at or request.requested_at
    return ConsentRecord(
        Basis.CONSENT,
        ConsentMethod.DOUBLE_OPT_IN,
        source,
        at,
        ip=request.ip,
        text=request.consent.wording,
    )


def _sign_up(
    db: store.Database, request: Request, public_lists: Sequence[str], now: datetime
) -> bool:
    email = _normalised(request.email)
    if email is None:
        return False
    public = {name.casefold() for name in public_lists}
    # Only lists this office opened to the public (a web server's sign-up, too).
    lists = [n for n in request.lists if not public or n.casefold() in public]
    if not lists:
        return False
    store.insert_members(db, [MemberData(email, clean_name(request.first_name), "", "")], now)
    member = store.find_member(db, email)
    assert member is not None
    if request.first_name and not member.first_name:
        store.update_member_names(
            db, [MemberData(email, clean_name(request.first_name), member.last_name, member.name)]
        )
    changed = False
    for name in lists:
        changed |= _subscribe(db, email, member.id, name, request, SOURCE_WEB_FORM, now)
    return changed


def _subscribe(
    db: store.Database,
    email: str,
    member_id: int,
    list_name: str,
    request: Request,
    source: str,
    now: datetime,
) -> bool:
    """Subscribe with the request's consent: a new confirmed consent is the one thing that
    lifts an unsubscribe or a ``forget`` (for this list only)."""
    mailing_list = store.find_list(db, list_name) or store.create_list(db, list_name, now)
    _narrow_suppressions(db, email, mailing_list.id, now)
    store.lift_suppressions(db, email, mailing_list.id)
    current = next(
        (s for s in store.subscriptions_of(db, member_id) if s.list_id == mailing_list.id), None
    )
    consent = _consent(request, source)
    if current is None:
        subscription_id = new_subscription_id()
        store.subscribe(db, mailing_list.id, [(subscription_id, email, consent)], now)
    else:
        subscription_id = current.id
        if (
            current.status is SubscriptionStatus.SUBSCRIBED
            and current.consent_ip == request.ip
            and current.subscribed_at == consent.at.replace(microsecond=0)
        ):
            return False  # this very consent, applied before
        store.resubscribe(db, subscription_id, consent, now)
    signups.record_consent_details(db, subscription_id, request)
    return True


def _narrow_suppressions(db: store.Database, email: str, list_id: int, now: datetime) -> None:
    """An all-list suppression becomes one per other list: consent to one list is not
    consent to the others."""
    everywhere = [s for s in store.suppressions_of(db, email) if s.list_name is None]
    for suppression in everywhere:
        for other in store.all_lists(db):
            if other.id != list_id:
                store.suppress(db, email, other.id, suppression.reason, suppression.source, now)


@dataclass(frozen=True)
class AddressChanged:
    """A change of address that was made: the old address is told (see ``SignupService``)."""

    old_address: str
    first_name: str
    new_address: str
    at: datetime  # when the member confirmed it


def apply_and_tell(
    db: store.Database, request: Request, public_lists: Sequence[str], now: datetime
) -> tuple[bool, AddressChanged | None]:
    """``apply_request``, and for a change of address that was made, who to tell.

    Nothing to tell for one that changed nothing: the new address is another member's
    (whose holder must learn nothing beyond the confirmation mail they got), or the
    request was applied before."""
    before = None
    if request.kind is RequestKind.ADDRESS:
        subscription = store.find_subscription(db, request.subscription_id or "")
        before = store.find_member_by_id(db, subscription.member_id) if subscription else None
    changed = apply_request(db, request, public_lists, now)
    if not changed or before is None:
        return changed, None
    after = store.find_member_by_id(db, before.id)
    assert after is not None
    at = request.confirmed_at or now
    return True, AddressChanged(before.email, before.first_name, after.email, at)


def _change_address(db: store.Database, request: Request) -> bool:
    subscription = store.find_subscription(db, request.subscription_id or "")
    email = _normalised(request.email)
    if subscription is None or email is None:
        return False
    return signups.change_member_address(db, subscription.member_id, email)


def _normalised(given: str) -> str | None:
    """The address as stored; None for one that is not (a web server's may be anything)."""
    try:
        return normalise_address(given)
    except InvalidAddressError:
        return None


def _choose_lists(
    db: store.Database, request: Request, public_lists: Sequence[str], now: datetime
) -> bool:
    subscription = store.find_subscription(db, request.subscription_id or "")
    member = store.find_member_by_id(db, subscription.member_id) if subscription else None
    if member is None:
        return False
    current = {
        s.list_name.casefold(): s
        for s in store.subscriptions_of(db, member.id)
        if s.status is SubscriptionStatus.SUBSCRIBED
    }
    wanted = {name.casefold() for name in request.lists}
    ended = {name.casefold() for name in request.ended} - wanted
    changed = False
    for name in public_lists:
        on = current.get(name.casefold())
        if name.casefold() in wanted and on is None:
            changed |= _subscribe(
                db, member.email, member.id, name, request, SOURCE_PREFERENCES, now
            )
        elif name.casefold() in ended and on is not None:
            changed |= store.suppress(
                db,
                member.email,
                on.list_id,
                SuppressionReason.UNSUBSCRIBED,
                SOURCE_PREFERENCES,
                now,
            )
    return changed
