"""One bounce mail in, one decision out: classify, match, apply the policy, record.

Matching goes from sure to less sure: a VERP code whose MAC checks out against the
journal row it names; else our Message-ID in the returned copy; else the failed address
the report names, if it is a member's. The decision and the mail's id are recorded in
the same transaction as its effect, so a mail read twice is applied once.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from enum import StrEnum

from newsletter import store
from newsletter.bounces.classify import Classification, Kind, classify, header, short
from newsletter.bounces.clues import message_ids, verp_codes
from newsletter.bounces.verp import verify
from newsletter.members.addresses import InvalidAddressError, normalise_address
from newsletter.store import bounces as records
from newsletter.store.bounces import BounceRecord, Decision, Sent
from newsletter.store.records import SuppressionReason

# A bounce is read up to here: the report and the returned headers come first.
MAX_MAIL_BYTES = 1_000_000
MAX_BOUNDARIES = 50
_BOUNDARY = re.compile(rb"boundary\s*(?:\*\d*\*?)?\s*=", re.IGNORECASE)
_ADDRESS = re.compile(r"<?[^\s<>\"'(),;:]+@[^\s<>\"'(),;:]+>?")
_OLDEST_REPORT = timedelta(days=365)


class Outcome(StrEnum):
    BOUNCED = "bounced"
    SOFT = "soft"
    COMPLAINT = "complaint"
    AUTO_REPLY = "auto-reply"
    ALREADY = "already processed"
    UNMATCHED = "unmatched"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Policy:
    soft_limit: int = 3
    soft_days: int = 30


@dataclass(frozen=True)
class Handled:
    outcome: Outcome
    subject: str  # the bounce's subject, for the list of mails left in place
    sender: str
    email: str | None = None  # the member's address it was applied to
    issue: str | None = None
    code: str = ""
    text: str = ""

    @property
    def done(self) -> bool:
        """Handled for good: moved out of the inbox. Unknown and unmatched mail stays."""
        return self.outcome not in (Outcome.UNKNOWN, Outcome.UNMATCHED)


def parse(raw: bytes) -> Message:
    return email.message_from_bytes(raw[:MAX_MAIL_BYTES], policy=email.policy.compat32)


def mail_id(message: Message, raw: bytes) -> str:
    """What makes a bounce the same mail when read again: its Message-ID, else its bytes."""
    own = header(message, "Message-ID")
    return own if own else "sha256:" + hashlib.sha256(raw[:MAX_MAIL_BYTES]).hexdigest()


def handle(db: store.Database, raw: bytes, key: bytes, policy: Policy, now: datetime) -> Handled:
    """Apply one bounce mail (its bytes as read from the mailbox)."""
    if len(_BOUNDARY.findall(raw[:MAX_MAIL_BYTES])) > MAX_BOUNDARIES:
        # The email package's parser slows down with the square of MIME nesting (minutes
        # for a few thousand levels); no server writes more than a handful.
        return Handled(Outcome.UNKNOWN, "(too many MIME parts to read)", "")
    try:
        message = parse(raw)
        subject, sender = header(message, "Subject"), header(message, "From")
        identity = mail_id(message, raw)
        if records.is_recorded(db, identity):
            return Handled(Outcome.ALREADY, subject, sender)
        found = classify(message)
        matched = match(db, message, found, key) if found.kind in _FAILURES else (None, None)
    except RecursionError:
        # MIME nested thousands deep: the email package reads it recursively. No server
        # writes that; a person may look at it.
        return Handled(Outcome.UNKNOWN, "(nested too deeply to read)", "")
    if found.kind is Kind.UNKNOWN:
        return Handled(Outcome.UNKNOWN, subject, sender)
    reported = _reported_at(message, now)
    if found.kind is Kind.AUTO_REPLY:
        entry = BounceRecord(
            identity, found.kind.value, Decision.IGNORED, None, None, None, "", "", reported, now
        )
        records.record(db, entry)
        return Handled(Outcome.AUTO_REPLY, subject, sender)
    sent, address = matched
    if address is None:
        return Handled(Outcome.UNMATCHED, subject, sender, code=found.code, text=found.text)
    issue = sent.issue if sent else None
    text = _without_addresses(found.text)
    with db.transaction():
        decision, outcome = _decide(db, found, address, issue, reported, policy)
        entry = BounceRecord(
            identity, found.kind.value, decision, address,
            sent.subscription_id if sent else None, issue, found.code, text, reported, now,
        )  # fmt: skip
        if not records.record(db, entry):
            return Handled(Outcome.ALREADY, subject, sender)
        _apply(db, decision, address, issue, found, now)
    return Handled(outcome, subject, sender, address, issue, found.code, text)


_FAILURES = frozenset({Kind.PERMANENT, Kind.TEMPORARY, Kind.COMPLAINT})


def match(
    db: store.Database, message: Message, found: Classification, key: bytes
) -> tuple[Sent | None, str | None]:
    """The delivery the bounce is about (when known) and the address to act on."""
    for code in verp_codes(message):
        sent = records.delivery(db, code.delivery_id)
        if sent and verify(key, code, sent.issue, sent.subscription_id):
            return sent, sent.email
    for message_id in message_ids(message):
        sent = records.delivery_with_message_id(db, message_id)
        if sent:
            return sent, sent.email
    for given in found.recipients:
        try:
            address = normalise_address(given)
        except InvalidAddressError:
            continue
        if store.find_member(db, address) is not None:
            return records.latest_delivery_to(db, address), address
    return None, None


def _decide(
    db: store.Database,
    found: Classification,
    address: str,
    issue: str | None,
    reported: datetime,
    policy: Policy,
) -> tuple[Decision, Outcome]:
    if found.kind is Kind.COMPLAINT:
        return Decision.UNSUBSCRIBED, Outcome.COMPLAINT
    if found.kind is Kind.PERMANENT:
        return Decision.BOUNCED, Outcome.BOUNCED
    since = reported - timedelta(days=policy.soft_days)
    earlier = records.soft_failures(db, address, since)
    # This mail counts unless an earlier one about the same issue is counted already.
    this_one = 0 if issue and _issue_counted(db, address, issue, since) else 1
    if earlier + this_one >= policy.soft_limit:
        return Decision.BOUNCED, Outcome.BOUNCED
    return Decision.COUNTED, Outcome.SOFT


def _issue_counted(db: store.Database, address: str, issue: str, since: datetime) -> bool:
    return any(
        entry.issue == issue and entry.kind == Kind.TEMPORARY.value and entry.reported_at >= since
        for entry in records.records_for(db, address)
    )


def _apply(
    db: store.Database,
    decision: Decision,
    address: str,
    issue: str | None,
    found: Classification,
    now: datetime,
) -> None:
    about = f" ({issue})" if issue else ""
    if decision is Decision.BOUNCED:
        # Dead for every list, like a refusal at send time (deliver.journal).
        detail = short(f"{found.code} {_without_addresses(found.text)}".strip())
        store.suppress(
            db, address, None, SuppressionReason.BOUNCED, f"bounce{about}: {detail}", now
        )
    elif decision is Decision.UNSUBSCRIBED:
        # Whoever calls us spam gets nothing from us again, on no list.
        store.suppress(
            db, address, None, SuppressionReason.UNSUBSCRIBED, f"abuse complaint{about}", now
        )


def _reported_at(message: Message, now: datetime) -> datetime:
    """The bounce's Date, when it is plausible; else now."""
    try:
        date = parsedate_to_datetime(header(message, "Date"))
    except (TypeError, ValueError, IndexError):
        return now
    if date.tzinfo is None or date > now or date < now - _OLDEST_REPORT:
        return now
    return date


def _without_addresses(text: str) -> str:
    """The diagnostic without addresses: what stays of a forgotten member is the hash."""
    return _ADDRESS.sub("<address>", text)


def summary(handled: Sequence[Handled]) -> str:
    """ "12 read: 3 bounced, 2 soft, 6 auto-replies ignored, 1 unknown"."""
    counts = Counter(item.outcome for item in handled)
    words = {
        Outcome.BOUNCED: "bounced",
        Outcome.SOFT: "soft",
        Outcome.COMPLAINT: "complaint" if counts[Outcome.COMPLAINT] == 1 else "complaints",
        Outcome.AUTO_REPLY: (
            "auto-reply ignored" if counts[Outcome.AUTO_REPLY] == 1 else "auto-replies ignored"
        ),
        Outcome.ALREADY: "already processed",
        Outcome.UNMATCHED: "unmatched",
        Outcome.UNKNOWN: "unknown",
    }
    parts = [f"{counts[outcome]} {word}" for outcome, word in words.items() if counts[outcome]]
    return f"{len(handled)} read" + (": " + ", ".join(parts) if parts else "")
