"""One send of an issue, end to end: what it would do, and doing it.

``plan_send`` only reads (for the summary before the confirmation); ``run_send``
snapshots the list into the journal and sends what is due, and the issue is sent (and
frozen) from the first message the relay accepts; ``run_test_send`` mails a few
addresses with "[TEST]" and leaves the journal alone; ``run_dry`` builds every message
and sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from newsletter import store
from newsletter.bounces.verp import verp_sender
from newsletter.clock import Clock
from newsletter.deliver import journal
from newsletter.deliver.ratelimit import minimum_duration
from newsletter.deliver.sender import (
    Outcome,
    Outgoing,
    ProgressCallback,
    RunSummary,
    send_run,
)
from newsletter.errors import DeliveryError, IssueError, MessageError, SettingsError
from newsletter.issue import SentMark, load_issue, read_sent_mark, write_sent_mark
from newsletter.keys import load_keys
from newsletter.members.manage import address
from newsletter.messages.compose import new_message_id, sender_address
from newsletter.messages.dryrun import DryRun, dry_run
from newsletter.messages.signing import load_signer, signs_for
from newsletter.messages.stream import fill_all
from newsletter.messages.template import MessageTemplate, build_template
from newsletter.render.build import build_hash, check_build_current, load_build
from newsletter.rendering import SAMPLE_SUBSCRIPTION_ID, Build, build_issue
from newsletter.settings import Settings, SmtpSettings
from newsletter.store.records import MailingList, Recipient
from newsletter.store.syncstate import require_recent_sync
from newsletter.wire import Envelope
from newsletter.workspace import Workspace

TEST_PREFIX = "[TEST] "


@dataclass(frozen=True)
class SendPlan:
    workspace: Workspace
    issue_dir: Path
    slug: str
    subject: str
    list_name: str
    list_id: int
    recipients: int  # messages this send will hand to the server now, uncertain ones included
    again: int  # of them: cut off in flight by an earlier send, sent again (uncertain)
    smtp: SmtpSettings
    expected_seconds: float  # the least the rate limit allows for them
    resumed: bool  # this list's send of the issue started before: its recipients are fixed
    include_new: bool  # members subscribed since the first send are added
    new: int  # members subscribed since the first send: added (include_new) or left out
    # No --list: the issue's list, or the one list whose send is unfinished (finished now).
    finishing: bool
    others: tuple[journal.Unfinished, ...]  # other lists whose send is unfinished
    warnings: tuple[str, ...] = ()  # shown before the confirmation; errors with --strict
    retry_failed: bool = False  # the server's permanent refusals are sent again
    retried: int = 0  # of ``recipients``: refused before, sent again (retry_failed)


@dataclass(frozen=True)
class SendResult:
    prepared: journal.Prepared
    run: RunSummary
    status: journal.IssueStatus


def plan_send(
    workspace: Workspace,
    issue_dir: Path,
    list_name: str | None,
    *,
    offline: bool,
    now: datetime,
    include_new: bool = False,
    strict: bool = False,
    retry_failed: bool = False,
) -> SendPlan:
    """Check everything a send needs and count its recipients; writes nothing.

    ``strict`` makes a warning (``SendPlan.warnings``) a SettingsError. ``retry_failed``
    adds the members whose delivery the server refused for a reason that may pass now
    (not a hard bounce, not suppressed); ``SendPlan.retried`` counts them.
    """
    settings = workspace.settings
    smtp = settings.require_smtp()
    warnings = tuple(send_warnings(settings))
    if strict and warnings:
        raise SettingsError(warnings[0], "fix it, or send without --strict")
    if not offline:
        require_recent_sync(workspace, now)
    slug = issue_dir.name
    with store.open_database(workspace.database_path) as db:
        if read_sent_mark(issue_dir) is None and not journal.is_sent(db, slug):
            # Once sent, the build is frozen: templates edited since (for the next issue)
            # must not stop the rest of this one.
            check_build_current(workspace, issue_dir)
        email = load_build(issue_dir)
        default = load_issue(issue_dir).list_name or settings.newsletter.default_list
        mailing_list, finishing = _choose_list(db, slug, list_name, default)
        # The very statements the send runs, rolled back: the count is what goes out.
        prepared = journal.preview(
            db,
            slug,
            mailing_list.id,
            build_hash(issue_dir),
            now,
            include_new=include_new,
            retry_failed=retry_failed,
        )
        others = tuple(u for u in journal.unfinished(db, slug) if u.list_id != mailing_list.id)
    return SendPlan(
        workspace=workspace,
        issue_dir=issue_dir,
        slug=slug,
        subject=email.subject,
        list_name=mailing_list.name,
        list_id=mailing_list.id,
        recipients=prepared.due,
        again=prepared.recovered,
        smtp=smtp,
        expected_seconds=minimum_duration(smtp.rate, prepared.due),
        resumed=prepared.resumed,
        include_new=include_new,
        new=(prepared.added if include_new else prepared.left_out) if prepared.resumed else 0,
        finishing=finishing,
        others=others,
        warnings=warnings,
        retry_failed=retry_failed,
        retried=prepared.retried,
    )


def send_warnings(settings: Settings) -> Iterator[str]:
    """What a send can do but receivers will hold against it."""
    dkim = settings.dkim
    if dkim is not None:
        from_domain = sender_address(settings.newsletter).domain
        if not signs_for(dkim.domain, from_domain):
            # DMARC passes on DKIM only when d= is the From domain or a parent of it.
            yield (
                f"[dkim] domain {dkim.domain} is not the From domain {from_domain} nor a parent "
                "of it: receivers checking DMARC ignore the signature"
            )


def _choose_list(
    db: store.Database, slug: str, named: str | None, default: str
) -> tuple[MailingList, bool]:
    """The list a send goes to, and whether it was chosen to finish an unfinished send.

    Without --list, a send never starts a second list while another one's is unfinished:
    it finishes that one when it is the only one, and otherwise asks which.
    """
    if named is not None:
        return store.require_list(db, named), False
    started = journal.unfinished(db, slug)
    fallback = store.find_list(db, default)
    if all(fallback is not None and u.list_id == fallback.id for u in started):
        return store.require_list(db, default), False
    if len(started) == 1:
        return store.require_list(db, started[0].name), True
    names = " and ".join(f"{u.name} ({u.due} to go)" for u in started)
    options = " or ".join(f"--list {u.name}" for u in started)
    raise DeliveryError(
        f"the sends of {slug} to {names} are unfinished",
        f"say which one to finish: newsletter send {slug} {options}",
        key="send_unfinished_lists",
        params={"slug": slug, "lists": ", ".join(f"{u.name} ({u.due})" for u in started)},
    )


def _template(
    workspace: Workspace, issue_dir: Path, list_name: str, prefix: str = ""
) -> MessageTemplate:
    settings = workspace.settings
    return build_template(
        load_build(issue_dir),
        settings.newsletter,
        issue=issue_dir.name,
        list_name=list_name,
        unsubscribe_key=load_keys(workspace).unsubscribe,
        subject_prefix=prefix,
        signer=load_signer(settings.dkim) if settings.dkim else None,
    )


SEND_LOCK = "send.lock"


@contextmanager
def _only_send(workspace: Workspace) -> Iterator[None]:
    """One real send per workspace at a time: two would pick the same pending members,
    and together exceed the hoster's rate. The OS drops the lock if the process dies."""
    from filelock import FileLock, Timeout

    workspace.state_dir.mkdir(exist_ok=True)
    try:
        with FileLock(workspace.state_dir / SEND_LOCK, timeout=0):
            yield
    except Timeout:
        raise DeliveryError(
            "another newsletter send is running in this workspace",
            "wait until it has finished, then run this one again to send what is left",
            key="send_lock_held",
        ) from None


def run_send(
    plan: SendPlan,
    password: str | None,
    *,
    progress: ProgressCallback | None = None,
    clock: Clock,
    stop: Callable[[], bool] = lambda: False,
) -> SendResult:
    """The real send: freeze the issue, snapshot the list, deliver what is due.

    When ``stop()`` turns true, no further message is started; those in flight finish
    and are recorded, and the rest stay pending for the next send (the desk's Anhalten)."""
    with _only_send(plan.workspace):
        return _send(plan, password, progress, clock, stop)


def _send(
    plan: SendPlan,
    password: str | None,
    progress: ProgressCallback | None,
    clock: Clock,
    stop: Callable[[], bool],
) -> SendResult:
    template = _template(plan.workspace, plan.issue_dir, plan.list_name)
    key = load_keys(plan.workspace).unsubscribe
    frozen = build_hash(plan.issue_dir)

    def mark_sent(at: datetime) -> None:
        # The issue is sent, and frozen, from the first message the relay takes; a send
        # that could not connect leaves it as it was (issue 13).
        if read_sent_mark(plan.issue_dir) is None:
            write_sent_mark(plan.issue_dir, SentMark(at, frozen))

    with store.open_database(plan.workspace.database_path) as db:
        prepared = journal.prepare(
            db,
            plan.slug,
            plan.list_id,
            frozen,
            clock(),
            include_new=plan.include_new,
            retry_failed=plan.retry_failed,
        )
        if not prepared.first_send:
            # A crash may have come between the relay's 250 and the mark.
            mark_sent(clock())
        log = journal.Journal(db, plan.slug, now=clock, on_sent=mark_sent)

        def messages() -> Iterator[Outgoing]:
            due = journal.due(db, plan.slug, plan.list_id)
            for delivery, message in fill_all(template, due, _recipient, date=clock):
                if stop():
                    return
                if isinstance(message, MessageError):
                    log.unbuildable(delivery.id, str(message))
                    continue
                yield Outgoing(delivery.id, _verp(message.envelope, delivery), message.message_id)

        def _verp(envelope: Envelope, delivery: journal.Delivery) -> Envelope:
            # One envelope sender per message, so its bounce names it (newsletter.bounces).
            if plan.workspace.settings.newsletter.envelope_from is None:
                return envelope
            sender = verp_sender(
                envelope.sender,
                key,
                delivery_id=delivery.id,
                issue=plan.slug,
                subscription_id=delivery.recipient.subscription_id,
            )
            return replace(envelope, sender=sender)

        summary = send_run(plan.smtp, password, messages(), log, progress=progress)
        return SendResult(prepared, summary, journal.status(db, plan.slug))


class _Unrecorded:
    """A test send leaves no trace in the journal."""

    def starting(self, messages: Sequence[Outgoing]) -> None:
        pass

    def finished(self, message: Outgoing, outcome: Outcome) -> None:
        pass

    def close(self) -> None:
        pass


def _recipient(delivery: journal.Delivery) -> Recipient:
    return delivery.recipient


def _test_recipients(addresses: Iterable[str]) -> list[Recipient]:
    """Test addresses as recipients of a made-up subscription (their unsubscribe link
    is signed like a member's but names nobody)."""
    return [Recipient(SAMPLE_SUBSCRIPTION_ID, 0, address(given), "", "", "") for given in addresses]


@dataclass(frozen=True)
class Rerendered:
    build: Build
    reason: str  # why the build was out of date


def render_if_stale(
    workspace: Workspace, issue_dir: Path, on_create: Callable[[str], None] | None = None
) -> Rerendered | None:
    """Before a test send: render the issue when its build is older than issue.md, a
    template or a change of [newsletter] (or missing), with the very function ``render``
    uses, so the test shows the edits it is there to check. A sent issue keeps its frozen
    build: that is what goes out."""
    with store.open_database(workspace.database_path) as db:
        sent = journal.is_sent(db, issue_dir.name)
    if sent or read_sent_mark(issue_dir) is not None:
        return None
    try:
        check_build_current(workspace, issue_dir)
    except IssueError as stale:
        keys = load_keys(workspace, on_create=on_create)
        return Rerendered(build_issue(workspace, issue_dir, keys.unsubscribe), stale.message)
    return None


def messages_for_test_send(
    workspace: Workspace, issue_dir: Path, addresses: Sequence[str], *, clock: Clock
) -> list[Outgoing]:
    """The messages of a test send, built before anything connects, so that a mistyped
    address stops it before the first message goes out."""
    recipients = _test_recipients(addresses)
    name = load_issue(issue_dir).list_name or workspace.settings.newsletter.default_list
    template = _template(workspace, issue_dir, name, TEST_PREFIX)
    settings = workspace.settings.newsletter
    messages = []
    for number, recipient in enumerate(recipients):
        # A fresh Message-ID each time: providers drop a second message with the same one.
        message = template.fill(recipient, date=clock(), message_id=new_message_id(settings))
        messages.append(Outgoing(number, message.envelope, message.message_id))
    return messages


def run_test_send(
    smtp: SmtpSettings,
    messages: Sequence[Outgoing],
    password: str | None,
    *,
    progress: ProgressCallback | None = None,
) -> RunSummary:
    return send_run(smtp, password, messages, _Unrecorded(), progress=progress)


def run_dry(plan: SendPlan, *, folder: Path | None, clock: Clock) -> DryRun:
    template = _template(plan.workspace, plan.issue_dir, plan.list_name)
    with store.open_database(plan.workspace.database_path) as db:
        recipients = journal.planned(db, plan.slug, plan.list_id, include_new=plan.include_new)
        return dry_run(template, recipients, date=clock(), folder=folder)
