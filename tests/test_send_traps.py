"""Issue 13, Sending: the ways a new user mailed the wrong people, each closed for good.

Every test runs the real commands (``cli``) on a sample workspace against aiosmtpd.
"""

from __future__ import annotations

import email
import multiprocessing
import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from email.policy import default
from pathlib import Path

import pytest

from newsletter.demo import demo_workspace
from newsletter.issue import ISSUE_FILE, read_sent_mark
from newsletter.workspace import Workspace
from tests.conftest import CliRun
from tests.deliver_support import Call, ScriptedSink, closed_port
from tests.test_send_dkim import with_dkim

SLUG = "2026-11"
SAMPLE_MEMBERS = 14
# On the kreis list: two who are also on mitglieder, three who are only on kreis.
KREIS = [
    "erika.mustermann@example.org",
    "max.mustermann@example.org",
    "kreis1@example.org",
    "kreis2@example.org",
    "kreis3@example.org",
]
KREIS_ONLY = KREIS[2:]


# Ctrl-C is sent as SIGINT to the main thread, which only POSIX can aim.
posix_only = pytest.mark.skipif(os.name == "nt", reason="pthread_kill is POSIX")


class CtrlC:
    """A DATA hook: press Ctrl-C (SIGINT to the main thread) once the server has taken
    ``after`` messages, as a person at the keyboard would in the middle of a send."""

    def __init__(self) -> None:
        self.after: int | None = None

    def __call__(self, call: Call) -> str | None:
        if self.after is not None and call.accepted + 1 >= self.after:
            self.after = None
            # SIGINT to the main thread, as the terminal sends it: it wakes the send's wait.
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        return None


@pytest.fixture
def ctrl_c() -> CtrlC:
    return CtrlC()


@pytest.fixture
def mail_sink(ctrl_c: CtrlC) -> Iterator[ScriptedSink]:
    with ScriptedSink(data=ctrl_c) as sink:
        yield sink


@pytest.fixture
def workspace(tmp_path: Path, mail_sink: ScriptedSink) -> Workspace:
    """The sample workspace sending to ``mail_sink``; ``ready`` fills and renders it."""
    return demo_workspace(tmp_path / "ws", mail_sink.port)


@pytest.fixture
def ready(workspace: Workspace, cli: CliRun) -> Workspace:
    for args in (
        ["members", "import", str(workspace.root / "sample-members.csv")],
        ["render", SLUG],
    ):
        result = cli(*args)
        assert result.exit_code == 0, result.output
    return workspace


def recipients(sink: ScriptedSink) -> Counter[str]:
    return Counter(r for message in sink.received for r in message.recipients)


def subjects(sink: ScriptedSink) -> list[str]:
    return [str(email.message_from_bytes(m.data, policy=default)["Subject"]) for m in sink.received]


def add_kreis(cli: CliRun) -> None:
    for address in KREIS:
        assert cli("members", "add", address, "--list", "kreis").exit_code == 0


def set_port(workspace: Workspace, old: int, new: int) -> None:
    text = workspace.settings_file.read_text(encoding="utf-8")
    assert f"port = {old}\n" in text
    workspace.settings_file.write_text(
        text.replace(f"port = {old}\n", f"port = {new}\n"), encoding="utf-8"
    )


# ---------------------------------------------------------------- 1. resuming


@posix_only
def test_an_interrupted_send_names_the_list_in_its_run_again_hint(
    ready: Workspace, cli: CliRun, mail_sink: ScriptedSink, ctrl_c: CtrlC
) -> None:
    add_kreis(cli)
    ctrl_c.after = 2
    result = cli("send", SLUG, "--list", "kreis", "--yes")
    assert result.exit_code == 1
    assert "Interrupted" in result.stderr
    assert f"send {SLUG} --list kreis`" in result.stderr
    assert 2 <= len(mail_sink.received) < len(KREIS)


@posix_only
def test_send_without_list_finishes_the_only_unfinished_send_and_starts_no_second_list(
    ready: Workspace, cli: CliRun, mail_sink: ScriptedSink, ctrl_c: CtrlC
) -> None:
    add_kreis(cli)
    ctrl_c.after = 2
    assert cli("send", SLUG, "--list", "kreis", "--yes").exit_code == 1
    first = set(recipients(mail_sink))

    resumed = cli("send", SLUG, "--yes")  # exactly what the old hint said
    assert resumed.exit_code == 0, resumed.output
    assert "kreis" in resumed.stdout
    counts = recipients(mail_sink)
    # The rest of kreis, and nobody who is only on the default list.
    assert set(counts) == set(KREIS)
    assert first < set(counts)
    # Once each, but for a message whose reply the Ctrl-C cut off: listed as uncertain.
    twice = [address for address, n in counts.items() if n > 1]
    assert len(twice) <= 1 and max(counts.values()) <= 2
    assert all(address in cli("status", SLUG).stdout for address in twice)


@posix_only
def test_send_without_list_refuses_when_sends_to_two_lists_are_unfinished(
    ready: Workspace, cli: CliRun, mail_sink: ScriptedSink, ctrl_c: CtrlC
) -> None:
    add_kreis(cli)
    ctrl_c.after = 2
    assert cli("send", SLUG, "--list", "kreis", "--yes").exit_code == 1
    ctrl_c.after = len(mail_sink.received) + 2
    assert cli("send", SLUG, "--list", "mitglieder", "--yes").exit_code == 1
    before = len(mail_sink.received)

    refused = cli("send", SLUG, "--yes")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Error: ") and refused.stderr.count("\n") == 1
    assert "kreis" in refused.stderr and "mitglieder" in refused.stderr
    assert "--list" in refused.stderr
    assert len(mail_sink.received) == before


@posix_only
def test_a_send_to_one_list_does_not_finish_another_lists_send(
    ready: Workspace, cli: CliRun, mail_sink: ScriptedSink, ctrl_c: CtrlC
) -> None:
    add_kreis(cli)
    ctrl_c.after = 2
    assert cli("send", SLUG, "--list", "kreis", "--yes").exit_code == 1
    kreis_so_far = set(recipients(mail_sink))
    result = cli("send", SLUG, "--list", "mitglieder", "--yes")
    assert result.exit_code == 0, result.output
    on_both = len(kreis_so_far & set(KREIS[:2]))
    assert f"Accepted by the server: {SAMPLE_MEMBERS - on_both}" in result.stdout
    # The kreis-only members are left for the kreis send the summary said nothing about.
    assert not set(recipients(mail_sink)) & (set(KREIS_ONLY) - kreis_so_far)


# ---------------------------------------------------------------- 2. failed connection


def test_a_send_that_cannot_connect_leaves_the_issue_unsent_and_editable(
    ready: Workspace, cli: CliRun, mail_sink: ScriptedSink
) -> None:
    wrong = closed_port()
    set_port(ready, mail_sink.port, wrong)
    failed = cli("send", SLUG, "--yes")
    assert failed.exit_code == 1
    assert "cannot connect" in failed.stderr
    assert read_sent_mark(ready.issues_dir / SLUG) is None
    assert "has not been sent yet" in cli("status", SLUG).stdout

    # Nothing is frozen: the issue can be gathered into, edited and rendered again ...
    gathered = cli("gather", "--since", "2000-01-01", "--slug", SLUG)
    assert gathered.exit_code == 0, gathered.output
    issue_md = ready.issues_dir / SLUG / ISSUE_FILE
    text = issue_md.read_text(encoding="utf-8")
    issue_md.write_text(
        text.replace("subject: 'Grüne Musterstadt im November:", "subject: 'Korrigiert:", 1),
        encoding="utf-8",
    )
    rendered = cli("render", SLUG)
    assert rendered.exit_code == 0, rendered.output

    # ... and the send with the right port delivers the edited issue to everyone.
    set_port(ready, wrong, mail_sink.port)
    sent = cli("send", SLUG, "--yes")
    assert sent.exit_code == 0, sent.output
    assert len(mail_sink.received) == SAMPLE_MEMBERS
    assert all(subject.startswith("Korrigiert:") for subject in subjects(mail_sink))
    assert read_sent_mark(ready.issues_dir / SLUG) is not None
    assert "first sent" in cli("status", SLUG).stdout
    assert "frozen" in cli("render", SLUG).stderr


# ---------------------------------------------------------------- 3. test send


def test_a_test_send_renders_an_edited_issue_first(
    ready: Workspace, cli: CliRun, mail_sink: ScriptedSink
) -> None:
    issue_md = ready.issues_dir / SLUG / ISSUE_FILE
    text = issue_md.read_text(encoding="utf-8")
    issue_md.write_text(
        text.replace("subject: 'Grüne Musterstadt im November:", "subject: 'Frisch editiert:", 1),
        encoding="utf-8",
    )
    # The build is from before the edit, whatever the file system's clock resolution.
    earlier = issue_md.stat().st_mtime - 5
    for built in (ready.issues_dir / SLUG / "build").iterdir():
        os.utime(built, (earlier, earlier))

    result = cli("send", SLUG, "--test", "ich@example.org")
    assert result.exit_code == 0, result.output
    assert "render" in result.stdout.lower()
    assert subjects(mail_sink) == [subjects(mail_sink)[0]]
    assert subjects(mail_sink)[0].startswith("[TEST] Frisch editiert:")
    # The build is current now: the real send goes ahead with what was tested.
    real = cli("send", SLUG, "--yes")
    assert real.exit_code == 0, real.output
    assert all(s.startswith("Frisch editiert:") for s in subjects(mail_sink)[1:])


def test_the_help_says_that_a_test_send_renders_first(cli: CliRun) -> None:
    result = cli("send", "--help")
    assert result.exit_code == 0
    assert "renders the issue first" in " ".join(result.stdout.split())


# ---------------------------------------------------------------- 4. new members


def test_members_added_after_a_complete_send_do_not_get_the_old_issue(
    ready: Workspace, cli: CliRun, mail_sink: ScriptedSink
) -> None:
    assert cli("send", SLUG, "--yes").exit_code == 0
    for address in ("neu1@example.org", "neu2@example.org", "neu3@example.org"):
        assert cli("members", "add", address).exit_code == 0

    again = cli("send", SLUG, "--yes")
    assert again.exit_code == 0, again.output
    assert "Nobody to send to" in again.stdout
    assert "3 subscribed since" in again.stdout and "--include-new" in again.stdout
    assert len(mail_sink.received) == SAMPLE_MEMBERS

    included = cli("send", SLUG, "--include-new", "--yes")
    assert included.exit_code == 0, included.output
    assert "Recipients" in included.stdout and "3 subscribed since" in included.stdout
    counts = recipients(mail_sink)
    assert len(mail_sink.received) == SAMPLE_MEMBERS + 3
    assert counts["neu1@example.org"] == 1 and set(counts.values()) == {1}


def test_include_new_is_in_the_help(cli: CliRun) -> None:
    assert "--include-new" in cli("send", "--help").stdout


# ---------------------------------------------------------------- 5. the summary


def test_answering_no_says_nothing_was_sent_and_exits_0(
    ready: Workspace, cli: CliRun, mail_sink: ScriptedSink
) -> None:
    result = cli("send", SLUG, input="n\n")
    assert result.exit_code == 0
    assert "Nothing was sent." in result.stdout
    assert "Aborted" not in result.output
    assert mail_sink.received == []


@pytest.mark.slow
@pytest.mark.skipif(os.name == "nt", reason="SIGKILL")
def test_the_summary_counts_the_uncertain_ones_that_will_be_sent_again(
    ready: Workspace, cli: CliRun, mail_sink: ScriptedSink
) -> None:
    import subprocess
    import sys

    command = [sys.executable, "-m", "newsletter", "--workspace", str(ready.root)]
    killed = subprocess.run(
        [*command, "send", SLUG, "--yes"],
        env={**os.environ, "NEWSLETTER_FAULT": "after-250:5"},
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -9
    before = len(mail_sink.received)

    declined = cli("send", SLUG, input="n\n")
    [planned] = [
        int(line.split("│")[2].split()[0])
        for line in declined.stdout.splitlines()
        if "Recipients" in line
    ]
    assert "(1 again: cut off in flight before)" in declined.stdout
    resumed = cli("send", SLUG, "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert len(mail_sink.received) - before == planned
    assert f"Send {SLUG} to {planned} members now?" in declined.stdout


@posix_only
def test_an_interrupted_signed_send_ends_its_signer_and_resumes_without_doubles(
    ready: Workspace, cli: CliRun, mail_sink: ScriptedSink, ctrl_c: CtrlC
) -> None:
    """With [dkim], messages are signed in a worker process beside the send: Ctrl-C ends
    it with the send, and the resumed send signs and sends the rest."""
    with_dkim(ready, "example.org")
    ctrl_c.after = 2
    interrupted = cli("send", SLUG, "--yes")
    assert interrupted.exit_code == 1
    assert "Interrupted" in interrupted.stderr
    assert "Traceback" not in interrupted.stderr
    assert multiprocessing.active_children() == []
    assert 2 <= len(mail_sink.received) < SAMPLE_MEMBERS
    resumed = cli("send", SLUG, "--yes")
    assert resumed.exit_code == 0, resumed.output
    counts = recipients(mail_sink)
    assert len(counts) == SAMPLE_MEMBERS
    assert len([n for n in counts.values() if n > 1]) <= 1
    assert all(received.data.startswith(b"DKIM-Signature:") for received in mail_sink.received)
