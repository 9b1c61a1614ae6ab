"""What each SMTP reply means for the recipient and for the run (RFC 5321, RFC 3463)."""

from __future__ import annotations

import pytest

from newsletter.deliver.replies import Reply, Stage, Verdict, classify


@pytest.mark.parametrize(
    ("stage", "code", "text", "verdict"),
    [
        (Stage.MESSAGE, 250, "2.0.0 Ok: queued as 4XyZ", Verdict.ACCEPTED),
        (Stage.RCPT, 451, "4.3.0 Temporary lookup failure", Verdict.RETRY),
        (Stage.RCPT, 450, "4.2.0 Recipient address rejected: Greylisted", Verdict.RETRY),
        (Stage.RCPT, 452, "4.2.2 Mailbox over quota", Verdict.RETRY),
        (Stage.RCPT, 451, "4.7.1 limit exceeded", Verdict.THROTTLED),
        (Stage.MAIL, 421, "4.7.0 Too many connections from your IP", Verdict.THROTTLED),
        (Stage.RCPT, 450, "Rate limited, slow down", Verdict.THROTTLED),
        (Stage.MESSAGE, 451, "4.3.0 Please try again, a separate problem", Verdict.RETRY),
        (Stage.RCPT, 550, "5.1.1 <ghost@example.org>: Recipient address rejected: User unknown",
         Verdict.BOUNCED),
        (Stage.RCPT, 553, "5.1.3 Bad recipient address syntax", Verdict.BOUNCED),
        (Stage.RCPT, 552, "5.2.2 Mailbox full, quota exceeded", Verdict.FAILED),
        (Stage.MESSAGE, 554, "5.7.1 Message rejected as spam", Verdict.FAILED),
        (Stage.RCPT, 550, "5.4.5 Daily user sending limit exceeded", Verdict.FATAL),
        (Stage.MAIL, 550, "5.1.8 Sender address rejected", Verdict.FATAL),
        (Stage.MAIL, 553, "5.7.1 Sender not owned by user", Verdict.FATAL),
        (Stage.CONNECT, 554, "No SMTP service here", Verdict.FATAL),
        (Stage.RCPT, 250, "OK", Verdict.RETRY),  # a positive reply cannot end an attempt there
    ],
)  # fmt: skip
def test_each_reply_gets_the_verdict_the_rfcs_give_it(
    stage: Stage, code: int, text: str, verdict: Verdict
) -> None:
    assert classify(stage, Reply(code, text)) is verdict


def test_the_enhanced_code_is_read_from_the_start_of_the_text_only() -> None:
    assert Reply(550, "5.1.1 no such user").enhanced == (5, 1, 1)
    assert Reply(550, "no such user (see 5.1.1)").enhanced is None
    assert str(Reply(451, "4.7.1 limit exceeded")) == "451 4.7.1 limit exceeded"
