"""`newsletter send` and `status` end to end: real workspace, real aiosmtpd, real journal."""

from __future__ import annotations

import email
import json
import os
from collections import Counter
from email.policy import default
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from newsletter import store
from newsletter.cli import app
from newsletter.demo import demo_workspace
from newsletter.issue import ISSUE_FILE, read_sent_mark
from newsletter.mailsink import MailSink
from newsletter.members.manage import unsubscribe_address
from newsletter.workspace import Workspace

SLUG = "2026-11"
SAMPLE_MEMBERS = 14


@pytest.fixture
def ready(tmp_path: Path, mail_sink: MailSink) -> Workspace:
    """The sample workspace, members imported and the issue rendered, sending to mail_sink."""
    workspace = demo_workspace(tmp_path / "ws", mail_sink.port)
    for args in (
        ["members", "import", str(workspace.root / "sample-members.csv")],
        ["render", SLUG],
    ):
        assert run(workspace, *args).exit_code == 0
    return workspace


def run(workspace: Workspace, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["--workspace", str(workspace.root), *args], input=input)


def recipients(sink: MailSink) -> Counter[str]:
    return Counter(r for message in sink.received for r in message.recipients)


def test_send_mails_each_member_once_and_status_says_so(
    ready: Workspace, mail_sink: MailSink
) -> None:
    result = run(ready, "send", SLUG, "--yes")
    assert result.exit_code == 0, result.output
    assert "Recipients        │ 14" in result.stdout
    assert "Accepted by the server: 14" in result.stdout
    counts = recipients(mail_sink)
    assert len(counts) == SAMPLE_MEMBERS and set(counts.values()) == {1}
    for received in mail_sink.received:
        message = email.message_from_bytes(received.data, policy=default)
        assert message["To"].addresses[0].addr_spec == received.recipients[0]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Unsubscribe"].startswith(
            "<https://newsletter.example.org/abmelden?token="
        )
    assert read_sent_mark(ready.issues_dir / SLUG) is not None

    again = run(ready, "send", SLUG, "--yes")
    assert again.exit_code == 0, again.output
    assert "Nobody to send to" in again.stdout
    assert len(mail_sink.received) == SAMPLE_MEMBERS

    status = run(ready, "status", SLUG)
    assert status.exit_code == 0
    assert "Sent (accepted by the server) │ 14" in status.stdout
    assert "Pending                       │  0" in status.stdout


def test_declining_the_confirmation_sends_nothing_and_freezes_nothing(
    ready: Workspace, mail_sink: MailSink
) -> None:
    result = run(ready, "send", SLUG, input="n\n")
    assert result.exit_code == 0
    assert "Send 2026-11 to 14 members now?" in result.stdout
    assert "Nothing was sent." in result.stdout
    assert mail_sink.received == []
    assert read_sent_mark(ready.issues_dir / SLUG) is None
    assert "has not been sent yet" in run(ready, "status", SLUG).stdout


def test_a_test_send_goes_only_to_the_address_and_leaves_the_journal_alone(
    ready: Workspace, mail_sink: MailSink
) -> None:
    result = run(ready, "send", SLUG, "--test", "Ich@Example.org", "--test", "du@example.net")
    assert result.exit_code == 0, result.output
    assert sorted(recipients(mail_sink)) == ["du@example.net", "ich@example.org"]
    subject = email.message_from_bytes(mail_sink.received[0].data, policy=default)["Subject"]
    assert subject.startswith("[TEST] Grüne Musterstadt im November")
    assert read_sent_mark(ready.issues_dir / SLUG) is None
    assert "has not been sent yet" in run(ready, "status", SLUG).stdout


def test_a_bad_test_address_is_one_line_and_sends_nothing(
    ready: Workspace, mail_sink: MailSink
) -> None:
    result = run(ready, "send", SLUG, "--test", "nobody-at-example.org")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "nobody-at-example.org" in result.stderr
    assert mail_sink.received == []


def test_a_build_older_than_its_issue_is_refused(ready: Workspace, mail_sink: MailSink) -> None:
    issue_md = ready.issues_dir / SLUG / ISSUE_FILE
    later = issue_md.stat().st_mtime + 5
    os.utime(issue_md, (later, later))
    result = run(ready, "send", SLUG, "--yes")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the build of {SLUG} is older than issues/{SLUG}/issue.md; "
        f"render again: newsletter render {SLUG}\n"
    )
    assert mail_sink.received == []


def test_a_sent_issue_cannot_be_rendered_again(ready: Workspace, mail_sink: MailSink) -> None:
    assert run(ready, "send", SLUG, "--yes").exit_code == 0
    result = run(ready, "render", SLUG)
    assert result.exit_code == 1
    assert "so its build is frozen" in result.stderr
    assert "newsletter gather --slug" in result.stderr


def test_an_unsubscribe_between_two_lists_sends_is_honoured(
    ready: Workspace, mail_sink: MailSink
) -> None:
    with store.open_database(ready.database_path) as db:
        first = next(iter(store.iter_recipients(db, store.require_list(db, "mitglieder").id)))
        unsubscribe_address(db, first.email, None)
    result = run(ready, "send", SLUG, "--yes")
    assert result.exit_code == 0, result.output
    assert first.email not in recipients(mail_sink)
    assert len(mail_sink.received) == SAMPLE_MEMBERS - 1


def test_dry_run_builds_every_message_and_sends_none(
    ready: Workspace, mail_sink: MailSink, tmp_path: Path
) -> None:
    result = run(ready, "send", SLUG, "--dry-run", "--save", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert f"Dry run: {SAMPLE_MEMBERS} messages built for mitglieder" in result.stdout
    assert len(list((tmp_path / "out").glob("*.eml"))) == SAMPLE_MEMBERS
    assert mail_sink.received == []
    assert read_sent_mark(ready.issues_dir / SLUG) is None


def test_an_unknown_list_is_one_line(ready: Workspace, mail_sink: MailSink) -> None:
    result = run(ready, "send", SLUG, "--list", "presse", "--yes")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "presse" in result.stderr
    assert mail_sink.received == []


def test_a_remote_web_side_needs_a_recent_sync_unless_offline(
    ready: Workspace, mail_sink: MailSink
) -> None:
    text = ready.settings_file.read_text(encoding="utf-8")
    ready.settings_file.write_text(
        text.replace("archive = false", "archive = false\nweb_remote = true"), encoding="utf-8"
    )
    refused = run(ready, "send", SLUG, "--yes")
    assert refused.exit_code == 1
    assert "sync" in refused.stderr and "--offline" in refused.stderr
    assert mail_sink.received == []
    offline = run(ready, "send", SLUG, "--yes", "--offline")
    assert offline.exit_code == 0, offline.output
    assert len(mail_sink.received) == SAMPLE_MEMBERS


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_a_send_killed_after_a_250_resumes_with_only_that_member_uncertain(
    ready: Workspace, mail_sink: MailSink
) -> None:
    """The real command in its own process, killed like kill -9 between the server's 250
    and the journal's commit, then run again: everyone has it, only one maybe twice."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "newsletter", "--workspace", str(ready.root)]
    killed = subprocess.run(
        [*command, "send", SLUG, "--yes"],
        env={**os.environ, "NEWSLETTER_FAULT": "after-250:5"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    assert 5 <= len(mail_sink.received) < SAMPLE_MEMBERS

    resumed = run(ready, "send", SLUG, "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert "Sent again (in flight when an earlier send was cut off; listed as uncertain): 1" in (
        resumed.stdout
    )
    counts = recipients(mail_sink)
    assert len(counts) == SAMPLE_MEMBERS
    twice = sorted(address for address, n in counts.items() if n > 1)
    assert len(twice) == 1  # the one in flight at the kill, sent again on resume
    status = run(ready, "status", SLUG)
    assert "Sent (accepted by the server) │ 14" in status.stdout
    for address in twice:
        assert address in status.stdout  # listed as uncertain


def test_a_second_send_while_one_runs_is_refused(ready: Workspace, mail_sink: MailSink) -> None:
    from filelock import FileLock

    from newsletter.sending import SEND_LOCK

    ready.state_dir.mkdir(exist_ok=True)
    with FileLock(ready.state_dir / SEND_LOCK):
        result = run(ready, "send", SLUG, "--yes")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: another newsletter send is running in this workspace; wait until it has "
        "finished, then run this one again to send what is left\n"
    )
    assert mail_sink.received == []


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_members_who_unsubscribe_or_are_forgotten_mid_send_are_not_mailed_on_resume(
    ready: Workspace, mail_sink: MailSink
) -> None:
    import subprocess
    import sys

    from newsletter.members.manage import forget_address

    command = [sys.executable, "-m", "newsletter", "--workspace", str(ready.root)]
    subprocess.run(
        [*command, "send", SLUG, "--yes"],
        env={**os.environ, "NEWSLETTER_FAULT": "after-250:3"},
        capture_output=True,
        check=False,
    )
    mailed = set(recipients(mail_sink))
    with store.open_database(ready.database_path) as db:
        everyone = [
            r.email for r in store.iter_recipients(db, store.require_list(db, "mitglieder").id)
        ]
        left = [address for address in everyone if address not in mailed]
        unsubscribe_address(db, left[0], None)
        forget_address(db, left[1])
    resumed = run(ready, "send", SLUG, "--yes")
    assert resumed.exit_code == 0, resumed.output
    counts = recipients(mail_sink)
    assert left[0] not in counts and left[1] not in counts
    assert set(counts) == set(everyone) - {left[0], left[1]}


def test_send_says_so_when_the_database_sits_in_a_synced_folder(
    ready: Workspace, mail_sink: MailSink
) -> None:
    synced = ready.root / "OneDrive"
    synced.mkdir()
    (ready.root / "newsletter.db").rename(synced / "newsletter.db")
    text = ready.settings_file.read_text(encoding="utf-8")
    ready.settings_file.write_text(
        text.replace('path = "newsletter.db"', 'path = "OneDrive/newsletter.db"'), encoding="utf-8"
    )
    result = run(ready, "send", SLUG, "--dry-run")
    assert result.exit_code == 0, result.output
    assert 'is in a synced folder ("OneDrive")' in result.stderr


def _set_setting(workspace: Workspace, key: str, value: str) -> None:
    settings = workspace.settings_file.read_text(encoding="utf-8")
    lines = [
        f'{key} = "{value}"' if line.startswith(f"{key} = ") else line
        for line in settings.splitlines()
    ]
    assert lines != settings.splitlines(), f"{key} not in the settings"
    workspace.settings_file.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_build_rendered_before_web_url_changed_is_refused_until_rendered_again(
    ready: Workspace, mail_sink: MailSink
) -> None:
    # The old web_url is in every member's unsubscribe link of the build.
    _set_setting(ready, "web_url", "https://mitmachen.example.org/newsletter")
    result = run(ready, "send", SLUG, "--yes")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the build of {SLUG} was rendered before web_url in [newsletter] of "
        "newsletter.toml changed; render again, so the email shows the new settings: "
        f"newsletter render {SLUG}\n"
    )
    assert mail_sink.received == []
    assert read_sent_mark(ready.issues_dir / SLUG) is None
    assert run(ready, "render", SLUG).exit_code == 0
    assert run(ready, "send", SLUG, "--yes").exit_code == 0
    sent = email.message_from_bytes(mail_sink.received[0].data, policy=default)
    html = sent.get_body(("html",))
    assert html is not None
    assert "https://mitmachen.example.org/newsletter/" in html.get_content()


def test_every_changed_key_is_named_by_its_name_in_newsletter_toml(
    ready: Workspace, mail_sink: MailSink
) -> None:
    _set_setting(ready, "name", "Grüne Nachbarstadt")
    _set_setting(ready, "from", "info@example.org")
    result = run(ready, "send", SLUG, "--yes")
    assert result.exit_code == 1
    assert "before name, from in [newsletter]" in result.stderr
    assert mail_sink.received == []


def test_settings_a_render_does_not_use_do_not_make_the_build_old(
    ready: Workspace, mail_sink: MailSink
) -> None:
    _set_setting(ready, "rate", "600/h")
    result = run(ready, "send", SLUG, "--yes")
    assert result.exit_code == 0, result.output
    assert mail_sink.received


def test_a_build_from_before_the_settings_were_kept_is_still_sent(
    ready: Workspace, mail_sink: MailSink
) -> None:
    manifest = ready.issues_dir / SLUG / "build" / "email.json"
    rendered = json.loads(manifest.read_text(encoding="utf-8"))
    del rendered["settings"]
    manifest.write_text(json.dumps(rendered), encoding="utf-8")
    os.utime(manifest.parent / "email.html")
    os.utime(manifest.parent / "email.txt")
    _set_setting(ready, "name", "Grüne Nachbarstadt")
    result = run(ready, "send", SLUG, "--yes")
    assert result.exit_code == 0, result.output


def test_a_test_send_after_web_url_changed_renders_first_and_shows_the_new_address(
    ready: Workspace, mail_sink: MailSink
) -> None:
    _set_setting(ready, "web_url", "https://mitmachen.example.org/newsletter")
    result = run(ready, "send", SLUG, "--test", "ich@example.org")
    assert result.exit_code == 0, result.output
    sent = email.message_from_bytes(mail_sink.received[0].data, policy=default)
    html = sent.get_body(("html",))
    assert html is not None
    assert "https://mitmachen.example.org/newsletter/" in html.get_content()
    assert "https://newsletter.example.org/" not in html.get_content()
