"""A real send with VERP through aiosmtpd; its bounces, fed back, suppress exactly the
right members. And soft bounces counted over three issues."""

from __future__ import annotations

import email
import mailbox
from datetime import UTC, datetime, timedelta
from email.policy import default
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from newsletter import store
from newsletter.bounces.explain import bounce_history
from newsletter.bounces.process import Outcome, Policy, handle
from newsletter.bounces.verp import verp_sender
from newsletter.cli import app
from newsletter.demo import demo_workspace
from newsletter.keys import load_keys
from newsletter.mailsink import MailSink, Received
from newsletter.store import bounces as records
from newsletter.store.records import SubscriptionStatus
from newsletter.workspace import Workspace

CORPUS = Path(__file__).parent / "fixtures" / "bounces"
SLUG = "2026-11"


def run(workspace: Workspace, *args: str) -> Result:
    return CliRunner().invoke(app, ["--workspace", str(workspace.root), *args])


@pytest.fixture
def sent(tmp_path: Path, mail_sink: MailSink) -> Workspace:
    """The sample workspace with envelope_from set, its issue sent to mail_sink."""
    workspace = demo_workspace(tmp_path / "ws", mail_sink.port)
    toml = workspace.root / "newsletter.toml"
    text = toml.read_text(encoding="utf-8").replace(
        "[newsletter]\n", '[newsletter]\nenvelope_from = "bounces@example.org"\n', 1
    )
    toml.write_text(text, encoding="utf-8")
    for args in (
        ["members", "import", str(workspace.root / "sample-members.csv")],
        ["render", SLUG],
        ["send", SLUG, "--yes"],
    ):
        result = run(workspace, *args)
        assert result.exit_code == 0, result.output
    return workspace


def message_id(received: Received) -> str:
    return str(email.message_from_bytes(received.data, policy=default)["Message-ID"])


def bounce(template: str, replacements: dict[str, str]) -> bytes:
    text = (CORPUS / template).read_text(encoding="utf-8")
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text.encode("utf-8")


def statuses(workspace: Workspace) -> dict[str, SubscriptionStatus]:
    with store.open_database(workspace.database_path) as db:
        rows = db.execute(
            "SELECT m.email, s.status FROM subscriptions s JOIN members m ON m.id = s.member_id"
        ).fetchall()
    return {row[0]: SubscriptionStatus(row[1]) for row in rows}


def test_each_message_has_its_own_envelope_sender(sent: Workspace, mail_sink: MailSink) -> None:
    senders = [received.mail_from for received in mail_sink.received]
    assert len(set(senders)) == len(senders) == 14
    assert all(s.startswith("bounces+k") and s.endswith("@example.org") for s in senders)


def test_bounces_of_a_send_suppress_exactly_the_right_members(
    sent: Workspace, mail_sink: MailSink, tmp_path: Path
) -> None:
    dead, full, forwarded, *_ = mail_sink.received
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(
        bounce(
            "postfix_user_unknown.eml",
            {
                "bounces+k3-4f1c9a7e02b5d638@ortsverband.example": dead.mail_from,
                "erika.beispiel@posteo.example": dead.recipients[0],
                "<3b8f2c1d9e7a4f6b0c5d8e2a1f9b7c3d@ortsverband.example>": message_id(dead),
            },
        )
    )
    box.add(
        bounce(
            "postfix_delayed.eml",
            {
                "bounces+k5-9a0b1c2d3e4f5a6b@ortsverband.example": full.mail_from,
                "hans.voll@kabel.example": full.recipients[0],
            },
        )
    )
    # Back to the plain address; only the Message-ID in the returned headers names it.
    box.add(
        bounce(
            "dsn_id_only_in_headers.eml",
            {"<5eed5eed5eed5eed5eed5eed5eed5eed@ortsverband.example>": message_id(forwarded)},
        )
    )
    box.add((CORPUS / "autoreply_de.eml").read_bytes())
    box.add((CORPUS / "human_reply.eml").read_bytes())
    # A bounce naming nobody we know, with a VERP code that was not made with our key.
    box.add((CORPUS / "exim_user_unknown.eml").read_bytes())

    result = run(sent, "bounces", "--maildir", str(tmp_path / "bounces"))
    assert result.exit_code == 0, result.output
    first_line = result.stdout.splitlines()[0]
    assert first_line == "6 read: 2 bounced, 1 soft, 1 auto-reply ignored, 1 unmatched, 1 unknown"
    assert "left in place (not recognised)" in result.stdout
    assert "left in place (not matched to a member)" in result.stdout

    status = run(sent, "status", SLUG)
    assert "Bounced later (bounce mail)   │  2" in status.stdout
    assert "Soft bounces counted          │  1" in status.stdout

    with store.open_database(sent.database_path) as db:
        history = bounce_history(db, dead.recipients[0])
    assert len(history) == 1
    assert history[0].endswith(
        f"permanent failure (issue {SLUG}): 5.1.1 550 5.1.1 <address>: Recipient address "
        "rejected: User unknown in virtual mailbox table -> marked bounced: no more mail "
        "to this address"
    )

    shown = run(sent, "members", "show", dead.recipients[0])
    assert shown.exit_code == 0, shown.output
    assert "suppressed on all lists: bounced (bounce (2026-11): 5.1.1" in shown.stdout
    assert f"bounce mail of {history[0]}" in shown.stdout

    now = statuses(sent)
    bounced = {address for address, status in now.items() if status is SubscriptionStatus.BOUNCED}
    assert bounced == {dead.recipients[0], forwarded.recipients[0]}
    assert now[full.recipients[0]] is SubscriptionStatus.SUBSCRIBED
    assert len(box) == 2, "the unknown and the unmatched mail stay in the inbox"
    assert len(box.get_folder("Verarbeitet")) == 4

    # The same mails again count once: put the processed ones back.
    processed = box.get_folder("Verarbeitet")
    for key in list(processed.keys()):
        box.add(processed.get_message(key))
        processed.remove(key)
    again = run(sent, "bounces", "--maildir", str(tmp_path / "bounces"))
    assert again.stdout.splitlines()[0] == ("6 read: 4 already processed, 1 unmatched, 1 unknown")
    with store.open_database(sent.database_path) as db:
        assert records.counts_for_issue(db, SLUG) == {
            records.Decision.BOUNCED: 2,
            records.Decision.COUNTED: 1,
        }


def test_soft_bounces_over_three_issues_mark_the_member_bounced(
    sent: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = load_keys(sent).unsubscribe
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    with store.open_database(sent.database_path) as db:
        member = db.execute("SELECT id, email FROM members ORDER BY id LIMIT 1").fetchone()
        sub = db.execute(
            "SELECT id FROM subscriptions WHERE member_id = ?", (member[0],)
        ).fetchone()[0]
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    for number, issue in enumerate(("2026-12", "2027-01", "2027-02")):
        when = start + timedelta(days=10 * number)
        monkeypatch.setattr("newsletter.clock.now", lambda when=when: when + timedelta(hours=1))
        with store.open_database(sent.database_path) as db:
            # The journal rows the issues would have made (one per issue and member).
            db.execute(
                "INSERT OR IGNORE INTO issue_sends VALUES (?, 'x', ?)", (issue, when.isoformat())
            )
            delivery = db.execute(
                """
                INSERT INTO deliveries (issue, member_id, list_id, subscription_id, email,
                                        first_name, last_name, name, status, queued_at)
                VALUES (?, ?, 1, ?, ?, '', '', '', 'sent', ?) RETURNING id
                """,
                (issue, member[0], sub, member[1], when.isoformat()),
            ).fetchone()[0]
        sender = verp_sender(
            "bounces@example.org", key, delivery_id=delivery, issue=issue, subscription_id=sub
        )
        mail = bounce(
            "postfix_delayed.eml",
            {
                "bounces+k5-9a0b1c2d3e4f5a6b@ortsverband.example": sender,
                "hans.voll@kabel.example": member[1],
                "Sun, 10 Dec 2026 14:20:11 +0100": when.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                "20261210132011.4Xm8Tt3Kp6z7vWn": f"issue-{issue}",
            },
        )
        box.add(mail)
        if number < 2:
            # A server's second warning about the same message does not count again.
            box.add(mail.replace(b"issue-", b"repeat-"))
        result = run(sent, "bounces", "--maildir", str(tmp_path / "bounces"))
        assert result.exit_code == 0, result.output
        expected = "1 read: 1 bounced" if number == 2 else "2 read: 2 soft"
        assert result.stdout.splitlines()[0] == expected
        status = statuses(sent)[member[1]]
        assert status is (
            SubscriptionStatus.BOUNCED if number == 2 else SubscriptionStatus.SUBSCRIBED
        )


def test_soft_bounces_further_apart_than_soft_days_do_not_add_up(sent: Workspace) -> None:
    key = load_keys(sent).unsubscribe
    policy = Policy(soft_limit=2, soft_days=30)
    with store.open_database(sent.database_path) as db:
        email_address = db.execute("SELECT email FROM members ORDER BY id LIMIT 1").fetchone()[0]
        outcomes = []
        for number, when in enumerate(
            (datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))
        ):
            mail = bounce(
                "gmail_over_quota.eml",
                {
                    "greta.voll@gmail.com": email_address,
                    "Sun, 06 Dec 2026 01:18:12 -0800 (PST)": when.strftime(
                        "%a, %d %b %Y %H:%M:%S +0000"
                    ),
                    "6752c2b4.170a0220": f"quota-{number}",
                },
            )
            outcomes.append(handle(db, mail, key, policy, when + timedelta(hours=1)).outcome)
    assert outcomes == [Outcome.SOFT, Outcome.SOFT]
    assert statuses(sent)[email_address] is SubscriptionStatus.SUBSCRIBED


def test_an_abuse_complaint_unsubscribes_from_every_list(
    sent: Workspace, mail_sink: MailSink, tmp_path: Path
) -> None:
    complainer = mail_sink.received[4]
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    # Providers often redact the complainer's address: only the VERP code names them.
    box.add(
        bounce(
            "arf_complaint.eml",
            {
                "bounces+kh-7766554433221100@ortsverband.example": complainer.mail_from,
                "Original-Rcpt-To: <moni.genervt@hotmail.example>\n": "",
                "To: moni.genervt@hotmail.example": "To: redacted@hotmail.example",
            },
        )
    )
    result = run(sent, "bounces", "--maildir", str(tmp_path / "bounces"))
    assert result.stdout.splitlines()[0] == "1 read: 1 complaint"
    now = statuses(sent)
    assert now[complainer.recipients[0]] is SubscriptionStatus.UNSUBSCRIBED
    assert sum(status is SubscriptionStatus.SUBSCRIBED for status in now.values()) == 13
    with store.open_database(sent.database_path) as db:
        reasons = [s.reason for s in store.suppressions_of(db, complainer.recipients[0])]
    assert [str(reason) for reason in reasons] == ["unsubscribed"]


def test_a_forged_verp_code_names_nobody(
    sent: Workspace, mail_sink: MailSink, tmp_path: Path
) -> None:
    victim = mail_sink.received[5]
    local, _, domain = victim.mail_from.partition("@")
    delivery_part = local.rsplit("-", 1)[0]
    forged = f"{delivery_part}-{'0' * 16}@{domain}"
    assert forged != victim.mail_from
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    box.add(
        bounce(
            "postfix_user_unknown.eml",
            {"bounces+k3-4f1c9a7e02b5d638@ortsverband.example": forged},
        )
    )
    result = run(sent, "bounces", "--maildir", str(tmp_path / "bounces"))
    assert result.stdout.splitlines()[0] == "1 read: 1 unmatched"
    assert set(statuses(sent).values()) == {SubscriptionStatus.SUBSCRIBED}
