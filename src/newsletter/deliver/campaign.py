"""One send of an issue, end to end: what it would do, and doing it.

``plan_send`` only reads (for the summary before the confirmation); ``run_send`` freezes
the issue, snapshots the list into the journal and sends what is due; ``run_test_send``
mails a few addresses with "[TEST]" and leaves the journal alone; ``run_dry`` builds
every message and sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from newsletter import store
from newsletter.bounces.verp import verp_sender
from newsletter.deliver import journal
from newsletter.deliver.ratelimit import minimum_duration
from newsletter.deliver.sender import (
    Outcome,
    Outgoing,
    ProgressCallback,
    RunSummary,
    send_run,
)
from newsletter.deliver.transport import Envelope
from newsletter.errors import DeliveryError, MessageError
from newsletter.issue import SentMark, load_issue, read_sent_mark, write_sent_mark
from newsletter.keys import load_keys
from newsletter.members.manage import address
from newsletter.members.records import Recipient
from newsletter.messages.compose import new_message_id
from newsletter.messages.dryrun import DryRun, dry_run
from newsletter.messages.signing import load_signer
from newsletter.messages.template import MessageTemplate, build_template
from newsletter.render.build import (
    SAMPLE_SUBSCRIPTION_ID,
    build_hash,
    check_build_current,
    load_build,
)
from newsletter.settings import SmtpSettings
from newsletter.web.syncstate import require_recent_sync
from newsletter.workspace import Workspace

Clock = Callable[[], datetime]
TEST_PREFIX = "[TEST] "


@dataclass(frozen=True)
class SendPlan:
    workspace: Workspace
    issue_dir: Path
    slug: str
    subject: str
    list_name: str
    list_id: int
    recipients: int  # messages this send would hand to the server now
    smtp: SmtpSettings
    expected_seconds: float  # the least the rate limit allows for them
    resumed: bool  # a real send of this issue started before


@dataclass(frozen=True)
class SendResult:
    prepared: journal.Prepared
    run: RunSummary
    status: journal.IssueStatus


def plan_send(
    workspace: Workspace, issue_dir: Path, list_name: str | None, *, offline: bool, now: datetime
) -> SendPlan:
    """Check everything a send needs and count its recipients; writes nothing."""
    settings = workspace.settings
    smtp = settings.require_smtp()
    if not offline:
        require_recent_sync(workspace, now)
    resumed = read_sent_mark(issue_dir) is not None
    if not resumed:
        # Once sent, the build is frozen: templates edited since (for the next issue)
        # must not stop the rest of this one.
        check_build_current(workspace, issue_dir)
    email = load_build(issue_dir)
    name = list_name or load_issue(issue_dir).list_name or settings.newsletter.default_list
    with store.open_database(workspace.database_path) as db:
        mailing_list = store.require_list(db, name)
        count = journal.count_planned(db, issue_dir.name, mailing_list.id)
    return SendPlan(
        workspace=workspace,
        issue_dir=issue_dir,
        slug=issue_dir.name,
        subject=email.subject,
        list_name=mailing_list.name,
        list_id=mailing_list.id,
        recipients=count,
        smtp=smtp,
        expected_seconds=minimum_duration(smtp.rate, count),
        resumed=resumed,
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
        ) from None


def run_send(
    plan: SendPlan,
    password: str | None,
    *,
    progress: ProgressCallback | None = None,
    clock: Clock,
) -> SendResult:
    """The real send: freeze the issue, snapshot the list, deliver what is due."""
    with _only_send(plan.workspace):
        return _send(plan, password, progress, clock)


def _send(
    plan: SendPlan, password: str | None, progress: ProgressCallback | None, clock: Clock
) -> SendResult:
    template = _template(plan.workspace, plan.issue_dir, plan.list_name)
    key = load_keys(plan.workspace).unsubscribe
    frozen = build_hash(plan.issue_dir)
    with store.open_database(plan.workspace.database_path) as db:
        prepared = journal.prepare(db, plan.slug, plan.list_id, frozen, clock())
        if read_sent_mark(plan.issue_dir) is None:
            write_sent_mark(plan.issue_dir, SentMark(clock(), frozen))
        log = journal.Journal(db, plan.slug, now=clock)

        def messages() -> Iterator[Outgoing]:
            for delivery in journal.due(db, plan.slug):
                try:
                    message = template.fill(delivery.recipient, date=clock())
                except MessageError as error:
                    log.unbuildable(delivery.id, str(error))
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


def _test_recipients(addresses: Iterable[str]) -> list[Recipient]:
    """Test addresses as recipients of a made-up subscription (their unsubscribe link
    is signed like a member's but names nobody)."""
    return [Recipient(SAMPLE_SUBSCRIPTION_ID, 0, address(given), "", "", "") for given in addresses]


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
        return dry_run(
            template, journal.planned(db, plan.slug, plan.list_id), date=clock(), folder=folder
        )
