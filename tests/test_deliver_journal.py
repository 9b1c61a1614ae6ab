"""The delivery journal in a real SQLite file, driven by real sends to aiosmtpd."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter import store
from newsletter.deliver import journal
from newsletter.deliver.policy import Policy
from newsletter.deliver.sender import RunSummary, send_run
from newsletter.errors import DeliveryError
from newsletter.members.manage import unsubscribe_address
from newsletter.store.records import SubscriptionStatus, SuppressionReason
from tests.deliver_support import (
    NOW,
    Call,
    FakeClock,
    ScriptedSink,
    add_members,
    from_journal,
    smtp_settings,
)

ISSUE = "2026-11"
MEMBERS = [f"mitglied{n}@example.org" for n in range(1, 11)]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[store.Database]:
    with store.open_database(tmp_path / "newsletter.db") as database:
        yield database


def _send(db: store.Database, sink: ScriptedSink, **options: object) -> RunSummary:
    return send_run(
        smtp_settings(sink.port),
        None,
        from_journal(journal.due(db, ISSUE)),
        journal.Journal(db, ISSUE, now=lambda: NOW),
        clock=FakeClock(),
        **options,  # type: ignore[arg-type]
    )


def _send_to(db: store.Database, port: int) -> RunSummary:
    return send_run(
        smtp_settings(port),
        None,
        from_journal(journal.due(db, ISSUE)),
        journal.Journal(db, ISSUE, now=lambda: NOW),
        clock=FakeClock(),
    )


def _statuses(db: store.Database) -> dict[str, str]:
    rows = db.execute("SELECT email, status FROM deliveries WHERE issue = ?", (ISSUE,))
    return dict(rows.fetchall())


def test_a_send_records_every_member_as_sent_with_its_message_id(db: store.Database) -> None:
    list_id = add_members(db, MEMBERS, "mitglieder")
    prepared = journal.prepare(db, ISSUE, list_id, "build-1", NOW)
    assert (prepared.first_send, prepared.added, prepared.due) == (True, 10, 10)
    assert not journal.is_sent(db, ISSUE)  # until the relay takes the first message
    with ScriptedSink() as sink:
        summary = _send(db, sink)
    assert journal.is_sent(db, ISSUE)
    assert summary.accepted == 10
    assert sorted(m.recipients[0] for m in sink.received) == sorted(MEMBERS)
    state = journal.status(db, ISSUE)
    assert (state.sent, state.pending, state.sending, state.failed) == (10, 0, 0, 0)
    assert state.lists == ("mitglieder",)
    rows = db.execute("SELECT attempts, message_id, reply FROM deliveries").fetchall()
    assert all(attempts == 1 for attempts, _, _ in rows)
    assert all(reply == "250 2.0.0 Message accepted" for _, _, reply in rows)
    assert journal.count_due(db, ISSUE) == 0


def test_sending_is_committed_before_the_message_goes_out(db: store.Database) -> None:
    list_id = add_members(db, MEMBERS[:4], "mitglieder")
    journal.prepare(db, ISSUE, list_id, "build-1", NOW)
    seen_by_server: list[str] = []

    def data(call: Call) -> None:
        # What another process would read at the moment the server has the message.
        with sqlite3.connect(db.path) as other:
            row = other.execute(
                "SELECT status FROM deliveries WHERE email = ?", (call.address,)
            ).fetchone()
        seen_by_server.append(row[0])
        return

    with ScriptedSink(data=data) as sink:
        _send(db, sink)
    assert seen_by_server == ["sending"] * 4


def test_sending_to_a_second_list_adds_only_its_new_members(db: store.Database) -> None:
    members = add_members(db, MEMBERS[:6], "mitglieder")
    friends = add_members(db, [*MEMBERS[4:6], "freundin@example.org"], "freunde")
    journal.prepare(db, ISSUE, members, "build-1", NOW)
    with ScriptedSink() as sink:
        _send(db, sink)
        again = journal.prepare(db, ISSUE, members, "build-1", NOW)
        assert (again.first_send, again.added, again.due) == (False, 0, 0)
        second = journal.prepare(db, ISSUE, friends, "build-1", NOW)
        assert (second.added, second.due) == (1, 1)
        _send(db, sink)
    assert [sink.count(a) for a in MEMBERS[:6]] == [1] * 6
    assert sink.count("freundin@example.org") == 1
    assert journal.status(db, ISSUE).lists == ("mitglieder", "freunde")


def test_a_changed_build_is_refused_once_the_issue_is_sent(db: store.Database) -> None:
    list_id = add_members(db, MEMBERS[:2], "mitglieder")
    journal.prepare(db, ISSUE, list_id, "build-1", NOW)
    with ScriptedSink() as sink:
        _send(db, sink)
    with pytest.raises(DeliveryError) as caught:
        journal.prepare(db, ISSUE, list_id, "build-2", NOW)
    assert "has changed since its first send started" in str(caught.value)


def test_a_send_that_could_not_connect_fixes_nothing(db: store.Database) -> None:
    list_id = add_members(db, MEMBERS[:2], "mitglieder")
    journal.prepare(db, ISSUE, list_id, "build-1", NOW)
    with ScriptedSink() as sink:
        port = sink.port
    with pytest.raises(DeliveryError, match="cannot connect"):
        _send_to(db, port)
    assert not journal.is_sent(db, ISSUE)
    assert journal.status(db, ISSUE).started_at is None
    # Another build, and members who joined since, are still welcome.
    add_members(db, MEMBERS[2:3], "mitglieder")
    again = journal.prepare(db, ISSUE, list_id, "build-2", NOW)
    assert (again.first_send, again.resumed, again.added, again.due) == (True, False, 1, 3)


def test_members_who_joined_after_the_first_send_need_include_new(db: store.Database) -> None:
    list_id = add_members(db, MEMBERS[:3], "mitglieder")
    journal.prepare(db, ISSUE, list_id, "build-1", NOW)
    with ScriptedSink() as sink:
        _send(db, sink)
        add_members(db, MEMBERS[3:5], "mitglieder")
        assert journal.count_planned(db, ISSUE, list_id) == 0
        assert list(journal.planned(db, ISSUE, list_id)) == []
        fixed = journal.prepare(db, ISSUE, list_id, "build-1", NOW)
        assert (fixed.resumed, fixed.added, fixed.due, fixed.left_out) == (True, 0, 0, 2)
        assert journal.count_planned(db, ISSUE, list_id, include_new=True) == 2
        included = journal.prepare(db, ISSUE, list_id, "build-1", NOW, include_new=True)
        assert (included.added, included.due) == (2, 2)
        _send(db, sink)
    assert [sink.count(a) for a in MEMBERS[:5]] == [1] * 5


def test_a_hard_bounce_fails_the_member_and_suppresses_the_address(db: store.Database) -> None:
    ghost = "ghost@example.org"
    list_id = add_members(db, [*MEMBERS[:3], ghost], "mitglieder")
    journal.prepare(db, ISSUE, list_id, "build-1", NOW)

    def rcpt(call: Call) -> str | None:
        return "550 5.1.1 User unknown" if call.address == ghost else None

    with ScriptedSink(rcpt=rcpt) as sink:
        _send(db, sink)
    state = journal.status(db, ISSUE)
    assert (state.sent, state.failed) == (3, 1)
    assert state.failures == (journal.FailedDelivery(ghost, "550 5.1.1 User unknown", True),)
    [suppression] = store.suppressions_of(db, ghost)
    assert suppression.reason is SuppressionReason.BOUNCED
    member = store.find_member(db, ghost)
    assert member is not None
    assert store.subscriptions_of(db, member.id)[0].status is SubscriptionStatus.BOUNCED


def test_members_who_unsubscribed_since_the_snapshot_are_skipped(db: store.Database) -> None:
    list_id = add_members(db, MEMBERS[:5], "mitglieder")
    journal.prepare(db, ISSUE, list_id, "build-1", NOW)
    unsubscribe_address(db, MEMBERS[0], None, now=NOW)
    with ScriptedSink() as sink:
        _send(db, sink)
    assert sink.count(MEMBERS[0]) == 0
    state = journal.status(db, ISSUE)
    assert (state.sent, state.skipped) == (4, 1)


def test_rows_left_sending_by_a_crash_are_sent_again_and_listed_uncertain(
    db: store.Database,
) -> None:
    list_id = add_members(db, MEMBERS[:5], "mitglieder")
    journal.prepare(db, ISSUE, list_id, "build-1", NOW)
    db.execute("UPDATE deliveries SET status = 'sending' WHERE email = ?", (MEMBERS[2],))
    assert journal.status(db, ISSUE).uncertain == (MEMBERS[2],)
    resumed = journal.prepare(db, ISSUE, list_id, "build-1", NOW)
    assert (resumed.recovered, resumed.due) == (1, 5)
    with ScriptedSink() as sink:
        _send(db, sink)
    state = journal.status(db, ISSUE)
    assert state.sent == 5
    assert state.uncertain == (MEMBERS[2],)


def test_a_member_given_up_on_is_tried_again_by_the_next_send(db: store.Database) -> None:
    list_id = add_members(db, MEMBERS[:3], "mitglieder")
    journal.prepare(db, ISSUE, list_id, "build-1", NOW)
    full = MEMBERS[1]

    def rcpt(call: Call) -> str | None:
        return "452 4.2.2 Mailbox full" if call.address == full and call.tries <= 2 else None

    with ScriptedSink(rcpt=rcpt) as sink:
        _send(db, sink, policy=Policy(attempts=2))
        assert journal.status(db, ISSUE).failures == (
            journal.FailedDelivery(full, "452 4.2.2 Mailbox full", False),
        )
        assert journal.prepare(db, ISSUE, list_id, "build-1", NOW).due == 1
        _send(db, sink)
    assert sink.count(full) == 1
    assert _statuses(db) == dict.fromkeys(MEMBERS[:3], "sent")


def test_the_count_before_a_send_is_who_planned_lists(db: store.Database) -> None:
    members = add_members(db, MEMBERS[:6], "mitglieder")
    friends = add_members(db, [*MEMBERS[4:8], "freundin@example.org"], "freunde")
    assert journal.count_planned(db, ISSUE, members) == 6
    journal.prepare(db, ISSUE, members, "build-1", NOW)
    unsubscribe_address(db, MEMBERS[7], None, now=NOW)
    with ScriptedSink() as sink:
        _send(db, sink)
    # Of the friends: two already have it, one unsubscribed, two are new.
    planned = [r.email for r in journal.planned(db, ISSUE, friends)]
    assert sorted(planned) == ["freundin@example.org", MEMBERS[6]]
    assert journal.count_planned(db, ISSUE, friends) == len(planned) == 2
    assert journal.prepare(db, ISSUE, friends, "build-1", NOW).added == 2
