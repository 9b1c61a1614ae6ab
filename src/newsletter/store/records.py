"""The member records: who is on which list, on what legal basis, and who must never be mailed.

Statuses are StrEnums whose values are mirrored by CHECK constraints in the schema
(see ``newsletter.store``), so a typo can reach neither the code nor the database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

_HASH_PREFIX = b"newsletter-suppression-v1:"


def address_hash(normalised: str) -> str:
    """What a suppression keeps of an address: enough to recognise it, not to read it."""
    return hashlib.sha256(_HASH_PREFIX + normalised.encode("utf-8")).hexdigest()


class SubscriptionStatus(StrEnum):
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class Basis(StrEnum):
    """The legal basis of a subscription under the GDPR."""

    MEMBERSHIP = "membership"  # party members, Art. 9(2)(d)
    CONSENT = "consent"  # with a consent record, Art. 6(1)(a) / 9(2)(a)


class ConsentMethod(StrEnum):
    """How a subscription came about."""

    IMPORT = "import"
    DOUBLE_OPT_IN = "double_opt_in"
    MANUAL = "manual"


class SuppressionReason(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    FORGOTTEN = "forgotten"


@dataclass(frozen=True)
class MailingList:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Member:
    id: int
    email: str  # normalised: lower case, internationalised domain as punycode
    first_name: str
    last_name: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Subscription:
    """One member on one list; ``id`` is random, never reused, and what tokens sign."""

    id: str
    member_id: int
    list_id: int
    list_name: str
    status: SubscriptionStatus
    basis: Basis
    consent_method: ConsentMethod
    consent_source: str  # where it came from: a file name, a command, the web form
    consent_ip: str | None
    consent_text: str | None
    subscribed_at: datetime
    status_changed_at: datetime


@dataclass(frozen=True)
class Suppression:
    """An address that must not be (re-)subscribed: kept only as a hash of it."""

    address_hash: str
    list_name: str | None  # None: every list
    reason: SuppressionReason
    source: str
    created_at: datetime


@dataclass(frozen=True)
class Recipient:
    """What the delivery stage needs to address and personalise one message."""

    subscription_id: str
    member_id: int
    email: str
    first_name: str
    last_name: str
    name: str


@dataclass(frozen=True)
class MemberListing:
    """One member on one list, as ``members list`` shows and ``members export`` writes it."""

    email: str
    first_name: str
    last_name: str
    name: str
    list_name: str
    status: SubscriptionStatus
    basis: Basis
    subscribed_at: datetime
    consent: ConsentColumns | None = None  # what export writes of the consent record


@dataclass(frozen=True)
class ConsentColumns:
    """A subscription's consent record as export's columns carry it (issue 17)."""

    method: str
    source: str
    text_version: str | None
    requested_at: datetime | None
    confirmed_at: datetime | None
    ip: str | None
    text: str | None


@dataclass(frozen=True)
class ListCounts:
    name: str
    subscribed: int
    unsubscribed: int
    bounced: int

    @property
    def total(self) -> int:
        return self.subscribed + self.unsubscribed + self.bounced


@dataclass(frozen=True, slots=True)
class MemberData:
    """A member's fields as an import or a command gives them (address already normalised)."""

    email: str
    first_name: str
    last_name: str
    name: str


@dataclass(frozen=True)
class ConsentRecord:
    """Why and how a subscription exists: what makes it provable later."""

    basis: Basis
    method: ConsentMethod
    source: str
    at: datetime  # the opt-in time when the source carries one, else when it was recorded
    ip: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class KnownMember:
    """What an import needs to know about a member already in the database."""

    first_name: str
    last_name: str
    name: str
    status: SubscriptionStatus | None  # on the list being imported into; None: not on it
