"""What the web side does with a sign-up, a confirmation and a self-service change.

One machine: a confirmed request is applied to the office's database at once. A web
server of its own (``web_remote = true``): it waits, confirmed, in the server's database
until ``newsletter sync`` has applied it and acknowledged it; then it is erased.

Nothing here looks at whether an address is already on a list, is unsubscribed or was
forgotten: every address gets the same work, so neither the answer nor its timing can
tell them apart. What differs (the office's database) happens when the link is confirmed.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from newsletter import clock, store
from newsletter.errors import NewsletterError
from newsletter.signup.apply import AddressChanged, apply_and_tell, apply_request
from newsletter.signup.links import new_request_id, sign_link, verify_link
from newsletter.signup.mail import Mailer, MailKind, SignupMails
from newsletter.store import signups
from newsletter.store.records import SubscriptionStatus
from newsletter.store.signup_records import ConsentText, Request, RequestKind

CONFIRM_PATH = "/anmelden/bestaetigen"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Confirmed:
    request: Request
    address_changed: AddressChanged | None  # made now (one machine), so to be told


def tell_old_address(
    mails: SignupMails, mailer: Mailer, changed: AddressChanged, now: datetime
) -> bool:
    """The notice to the old address. Whoever has a forwarded newsletter has its link and
    can ask for a change; the new address confirms it, so only this notice reaches the
    member. Whether it was sent (a failure is logged, without the address)."""
    message = mails.notice(changed, now)
    return mailer.send(message, changed.old_address)


@dataclass(frozen=True)
class SignupService:
    database_path: Path
    remote: bool  # web_remote: keep confirmed requests for sync instead of applying them
    public_lists: tuple[str, ...]
    key: bytes  # the confirmation key
    consent: ConsentText
    mails: SignupMails
    mailer: Mailer
    web_url: str
    welcome: bool

    def link(self, request: Request) -> str:
        token = sign_link(self.key, request.id, request.requested_at)
        return f"{self.web_url}{CONFIRM_PATH}?token={quote(token, safe='')}"

    def verify(self, token: str, now: datetime) -> str | None:
        return verify_link(self.key, token, now)

    def purge(self, now: datetime) -> int:
        with store.open_database(self.database_path) as db:
            return signups.purge_requests(db, now)

    # ------------------------------------------------------------ asking

    def request_signup(
        self, email: str, first_name: str, lists: Sequence[str], now: datetime
    ) -> None:
        """Store the request and mail its link, at most once per address per 24 hours."""
        request = Request(
            new_request_id(), RequestKind.SIGNUP, email, first_name, tuple(lists), None,
            self.consent, now,
        )  # fmt: skip
        self._ask(request, MailKind.CONFIRM, now)

    def request_address_change(self, subscription_id: str, email: str, now: datetime) -> None:
        """The new address gets a link; nothing changes before it is confirmed."""
        request = Request(
            new_request_id(), RequestKind.ADDRESS, email, "", (), subscription_id,
            self.consent, now,
        )  # fmt: skip
        self._ask(request, MailKind.ADDRESS, now)

    def _ask(self, request: Request, kind: MailKind, now: datetime) -> None:
        with store.open_database(self.database_path) as db:
            signups.purge_requests(db, now)
            with db.transaction():
                if not signups.claim_signup_mail(db, request.email, now):
                    return
                signups.insert_request(db, request)
        message = self.mails.message(
            kind, request.email, request.first_name, self.link(request), now
        )
        if not self.mailer.send(message, request.email):
            with store.open_database(self.database_path) as db, db.transaction():
                signups.delete_request(db, request.id)
                signups.release_signup_mail(db, request.email)

    # ------------------------------------------------------------ confirming

    def confirm(self, request_id: str, ip: str, now: datetime) -> Confirmed | None:
        """Confirm a waiting request; one confirmed already, or gone, changes nothing
        (None). The mails that follow, if any, are ``mail_after`` (after the answer)."""
        with store.open_database(self.database_path) as db:
            signups.purge_requests(db, now)
            with db.transaction():
                request = signups.confirm_request(
                    db, request_id, now, ip, secrets.token_urlsafe(16)
                )
                if request is None:
                    return None
                changed = None
                if not self.remote:
                    changed = apply_and_tell(db, request, self.public_lists, now)[1]
                    signups.delete_request(db, request.id)
        return Confirmed(request, changed)

    def mail_after(self, confirmed: Confirmed | None, now: datetime) -> None:
        """The welcome mail, or the old address's notice of a change of address."""
        if confirmed is None:
            return
        if confirmed.address_changed is not None:
            self.tell_old_address(confirmed.address_changed, now)
        request = confirmed.request
        if request.kind is not RequestKind.SIGNUP or not self.welcome:
            return
        message = self.mails.message(MailKind.WELCOME, request.email, request.first_name, "", now)
        self.mailer.send(message, request.email)

    def tell_old_address(self, changed: AddressChanged, now: datetime) -> bool:
        return tell_old_address(self.mails, self.mailer, changed, now)

    # ------------------------------------------------------------ preferences

    def current_lists(self, subscription_id: str) -> frozenset[str] | None:
        """The public lists the link's member receives; None where this machine cannot
        know (a web server of its own has no members)."""
        if self.remote:
            return None
        with store.open_database(self.database_path) as db:
            subscription = store.find_subscription(db, subscription_id)
            if subscription is None:
                return frozenset()
            public = {name.casefold(): name for name in self.public_lists}
            return frozenset(
                public[s.list_name.casefold()]
                for s in store.subscriptions_of(db, subscription.member_id)
                if s.status is SubscriptionStatus.SUBSCRIBED and s.list_name.casefold() in public
            )

    def choose_lists(
        self,
        subscription_id: str,
        wanted: Sequence[str],
        ended: Sequence[str],
        ip: str,
        now: datetime,
    ) -> None:
        """The member's own choice: public lists to receive and to end (the rest stay as
        they are); their link proves the address."""
        request = Request(
            new_request_id(), RequestKind.PREFERENCES, "", "", tuple(wanted), subscription_id,
            self.consent, now, confirmed_at=now, ip=ip, event_id=secrets.token_urlsafe(16),
            ended=tuple(ended),
        )  # fmt: skip
        with store.open_database(self.database_path) as db:
            if self.remote:
                signups.insert_confirmed_request(db, request)
            else:
                apply_request(db, request, self.public_lists, now)


def purge_regularly(
    service: SignupService, every: float = 3600.0
) -> tuple[threading.Thread, threading.Event]:
    """Erase expired requests every ``every`` seconds, traffic or not, until the event is
    set: a request nobody confirms must be gone after 7 days even on a quiet server."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every):
            try:
                service.purge(clock.utc_now())
            except NewsletterError as error:  # busy database: the next round tries again
                log.warning("erasing expired sign-ups failed: %s", error)

    thread = threading.Thread(target=loop, name="signup-purge", daemon=True)
    thread.start()
    return thread, stop
