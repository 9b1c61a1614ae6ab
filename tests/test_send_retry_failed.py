"""`newsletter send ISSUE --retry-failed`: the server's refusals that may pass now are
sent again after a confirmation that counts them; bounces and suppressed members never."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.demo import demo_workspace
from newsletter.workspace import Workspace
from tests.deliver_support import Call, ScriptedSink
from tests.test_send_cli import SAMPLE_MEMBERS, SLUG, run

SPAM = "erika.mustermann@example.org"
GHOST = "max.mustermann@example.org"
refusing = True


def rcpt(call: Call) -> str | None:
    if call.address == GHOST:
        return "550 5.1.1 User unknown"
    if call.address == SPAM and refusing:
        return "550 5.7.1 Message rejected as spam"
    return None


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[ScriptedSink]:
    global refusing
    refusing = True
    with ScriptedSink(rcpt=rcpt, folder=tmp_path / "received") as sink:
        yield sink


@pytest.fixture
def sent_once(tmp_path: Path, sink: ScriptedSink) -> Workspace:
    workspace = demo_workspace(tmp_path / "ws", sink.port)
    for args in (
        ["members", "import", str(workspace.root / "sample-members.csv")],
        ["render", SLUG],
    ):
        assert run(workspace, *args).exit_code == 0
    first = run(workspace, "send", SLUG, "--yes")
    assert first.exit_code == 1, first.output
    assert f"Accepted by the server: {SAMPLE_MEMBERS - 2}" in first.stdout
    return workspace


def test_retry_failed_asks_with_the_count_and_sends_only_what_may_pass_now(
    sent_once: Workspace, sink: ScriptedSink
) -> None:
    global refusing
    refusing = False
    # Without the option, a refusal for good stays refused.
    assert "Nobody to send to" in run(sent_once, "send", SLUG, "--yes").stdout
    declined = run(sent_once, "send", SLUG, "--retry-failed", input="n\n")
    assert "Send 2026-11 again to 1 members whose delivery failed" in declined.stdout
    assert "Nothing was sent." in declined.stdout
    assert sink.count(SPAM) == 0

    result = run(sent_once, "send", SLUG, "--retry-failed", input="y\n")
    assert result.exit_code == 0, result.output
    assert "Accepted by the server: 1" in result.stdout
    assert sink.count(SPAM) == 1
    # The bounced address was suppressed: never tried again.
    assert sink.rcpt_tries[GHOST] == 1
    assert sink.count(GHOST) == 0
    again = run(sent_once, "send", SLUG, "--retry-failed", "--yes")
    assert "Nobody to send to" in again.stdout


def test_retry_failed_leaves_out_a_member_who_unsubscribed_since(
    sent_once: Workspace, sink: ScriptedSink
) -> None:
    global refusing
    refusing = False
    assert run(sent_once, "members", "unsubscribe", SPAM).exit_code == 0
    result = run(sent_once, "send", SLUG, "--retry-failed", "--yes")
    assert result.exit_code == 0, result.output
    assert "Nobody to send to" in result.stdout
    assert sink.count(SPAM) == 0
