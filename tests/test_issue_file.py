"""issue.md as staff read and write it: every field explained, ordinary text accepted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from newsletter.errors import IssueError
from newsletter.gather import offered_until
from newsletter.issue import Issue, format_issue, parse_issue
from newsletter.post import Image, Post
from newsletter.sources.dates import BERLIN

PATH = Path("issues/2026-11/issue.md")
POST = Post(
    id="https://www.example.org/a",
    title="Haushalt 2027: Schwerpunkte",
    url="https://www.example.org/a",
    date=datetime(2026, 11, 3, 20, 15, tzinfo=BERLIN),
    summary="Kurz.",
    image=Image(url="https://www.example.org/a.jpg", alt="Ein Bild", caption=""),
    categories=("Fraktion",),
    source="posts",
)
ISSUE = Issue(
    slug="2026-11",
    subject="Grüne Musterstadt: Newsletter November 2026",
    preheader="Haushalt 2027: Schwerpunkte",
    date=datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN),
    list_name=None,
    posts=(POST,),
    editorial="",
)


def front(subject_line: str, title_line: str = "  title: Haushalt") -> str:
    return (
        "---\n"
        f"{subject_line}\n"
        "preheader: Neues\n"
        "date: '2026-11-20T10:00:00+01:00'\n"
        "posts:\n"
        "- id: a\n"
        f"{title_line}\n"
        "---\n\nText\n"
    )


def test_an_unquoted_subject_with_a_colon_is_accepted() -> None:
    issue = parse_issue(PATH, "2026-11", front("subject: Grüne Musterstadt: Radweg und mehr"))
    assert issue.subject == "Grüne Musterstadt: Radweg und mehr"


def test_unquoted_colons_in_post_fields_and_after_a_comment_too() -> None:
    text = front(
        "subject: November: Radweg  # was wir tun",
        "  title: Haushalt 2027: Unsere Schwerpunkte: Klima",
    )
    issue = parse_issue(PATH, "2026-11", text)
    assert issue.subject == "November: Radweg"
    assert issue.posts[0].title == "Haushalt 2027: Unsere Schwerpunkte: Klima"


def test_a_colon_that_cannot_be_mended_says_to_use_quotes_with_the_line() -> None:
    text = front("subject: Grüne Musterstadt: Radweg\n  und mehr")
    with pytest.raises(IssueError) as raised:
        parse_issue(PATH, "2026-11", text)
    message = str(raised.value)
    assert "\n" not in message
    assert "line 2" in message
    assert 'put the subject in quotes: subject: "…"' in message


def test_gathers_file_explains_every_field_and_where_the_editorial_goes() -> None:
    text = format_issue(ISSUE)
    front_matter = text.split("\n---\n")[0]
    lines = front_matter.splitlines()[1:]
    fields = [line.split(":")[0] for line in lines if line[:1].isalpha()]
    assert fields == ["subject", "preheader", "date", "posts"]
    for field in ("subject", "preheader", "date", "posts"):
        index = lines.index(next(line for line in lines if line.startswith(f"{field}:")))
        assert lines[index - 1].startswith("# "), field
    for field in (
        "list",
        "id",
        "title",
        "url",
        "date",
        "summary",
        "image",
        "alt",
        "categories",
        "source",
    ):
        assert any(line.startswith("#") and f"{field}:" in line for line in lines), field
    comments = " ".join(line for line in lines if line.startswith("#"))
    assert "editorial" in comments and "below" in comments
    assert "Liebe Mitglieder," in comments and "{first_name}" in comments
    assert lines[-1].startswith("#")  # the last thing above the editorial: where it goes


def test_the_file_reads_back_as_written() -> None:
    for issue in (
        ISSUE,
        Issue(**{**ISSUE.__dict__, "list_name": "kreis", "editorial": "Hallo,\n\nText"}),
    ):
        assert parse_issue(PATH, "2026-11", format_issue(issue)) == issue


def test_offered_until_is_the_newest_post_or_the_gather_time() -> None:
    gathered = datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN)
    assert offered_until(ISSUE, gathered) == POST.date
    assert offered_until(Issue(**{**ISSUE.__dict__, "posts": ()}), gathered) == gathered
    assert offered_until(Issue(**{**ISSUE.__dict__, "posts": ()}), None) == ISSUE.date
