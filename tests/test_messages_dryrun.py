"""send --dry-run: every message built and counted, problems per member, nothing sent."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from newsletter.messages.dryrun import Problem, dry_run
from newsletter.messages.template import MessageTemplate, build_template
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import Greeting, Markers
from newsletter.store.records import Recipient as Member
from tests.render_support import KEY, render_workspace

DATE = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
MARKERS = Markers.new()
GREETING, TOKEN = MARKERS.greeting, MARKERS.token
EMAIL = RenderedEmail(
    subject="Newsletter",
    html=f"<p>{GREETING}</p><a href='https://newsletter.example.org/abmelden?token={TOKEN}'>x</a>",
    text=f"{GREETING}\n{TOKEN}\n",
    greeting=Greeting("Hallo {first_name},", "Hallo,"),
    markers=MARKERS,
)
MEMBERS = [
    Member("AAAAAAAAAAAAAAAAAAAAAA", 1, "erika@example.org", "Erika", "", ""),
    Member("BBBBBBBBBBBBBBBBBBBBBB", 2, "jörg@example.org", "Jörg", "", ""),
    Member("CCCCCCCCCCCCCCCCCCCCCC", 3, "kein-at-zeichen", "", "", "Kaputt"),
    Member("DDDDDDDDDDDDDDDDDDDDDD", 4, "hans@bücher.example", "", "", "Hans Müller"),
    Member("EEEEEEEEEEEEEEEEEEEEEE", 5, "mit leerzeichen@example.org", "", "", ""),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> MessageTemplate:
    settings = render_workspace(tmp_path_factory.mktemp("dryrun")).settings.newsletter
    return build_template(
        EMAIL, settings, issue="2026-11", list_name="mitglieder", unsubscribe_key=KEY
    )


def test_a_dry_run_counts_messages_and_reports_problems_per_member(
    template: MessageTemplate,
) -> None:
    report = dry_run(template, MEMBERS, date=DATE)
    assert report.built == 3
    assert report.smtputf8 == ("jörg@example.org",)
    assert report.problems == (
        Problem("kein-at-zeichen", '"kein-at-zeichen" is not an e-mail address'),
        Problem(
            "mit leerzeichen@example.org",
            "the address 'mit leerzeichen@example.org' contains characters SMTP cannot carry",
        ),
    )
    assert report.total_bytes > 3 * len(EMAIL.html)


def test_a_dry_run_writes_each_message_as_eml(template: MessageTemplate, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    dry_run(template, MEMBERS, date=DATE, folder=folder)
    names = sorted(path.name for path in folder.iterdir())
    assert names == [
        "000001-erika@example.org.eml",
        "000002-j_rg@example.org.eml",
        "000004-hans@b_cher.example.eml",
    ]
    raw = (folder / names[2]).read_bytes()
    assert b"\r\n" not in raw  # LF, like build/preview.eml
    message = message_from_bytes(raw, policy=default)
    assert message["To"] == "Hans Müller <hans@xn--bcher-kva.example>"
    assert message.get_body(("plain",)).get_content().startswith("Hallo Hans,\n")  # type: ignore[union-attr]
