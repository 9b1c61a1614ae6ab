"""Staff workflow traps around gather (issue 13): the default cut-off, texts that follow
the issue's content, the subject's month, and issue.md as staff write it."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from newsletter.bundled import default_templates
from newsletter.cli import app
from newsletter.issue import SentMark, load_issue, write_sent_mark
from newsletter.sources.dates import BERLIN
from newsletter.workspace import Workspace

from .test_gather_support import (
    POSTS,
    FeedServer,
    feed_source,
    fixed_clock,
    folder_source,
    make_workspace,
    run_gather,
)


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: FeedServer) -> Workspace:
    """The fixture post folder and the RSS 2.0 fixture feed over HTTP, on 2026-11-20 10:00."""
    fixed_clock(monkeypatch)
    monkeypatch.setattr("newsletter.cli.gather.out", Console(width=250, soft_wrap=True))
    ws = make_workspace(
        tmp_path / "ws", folder_source(), feed_source(server.url("feeds/rss20.xml"))
    )
    shutil.copytree(POSTS, ws.root / "posts")
    shutil.copytree(default_templates(), ws.root / "templates")
    return ws


def write_post(ws: Workspace, name: str, title: str, date: str) -> None:
    (ws.root / "posts" / name).write_text(
        f"---\ntitle: {title}\ndate: {date}\nurl: /aktuelles/{name}\n---\nText.\n",
        encoding="utf-8",
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def render(ws: Workspace, slug: str) -> str:
    result = CliRunner().invoke(app, ["--workspace", str(ws.root), "render", slug])
    assert result.exit_code == 0, result.output
    return (ws.issues_dir / slug / "build" / "email.html").read_text(encoding="utf-8")


def preheader_of(html: str) -> str:
    """The hidden preheader: the first text of the body."""
    import re

    body = html[html.index("<body") :]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


# Item 6: the default cut-off.


def test_a_post_published_between_gathering_and_sending_is_offered_next_time(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_gather(ws).exit_code == 0  # 2026-11, gathered 20 Nov 10:00
    write_post(ws, "frisch.md", "Ganz frisch vom Morgen", "2026-11-20 11:00")
    write_sent_mark(
        ws.issues_dir / "2026-11", SentMark(datetime(2026, 11, 20, 16, 0, tzinfo=BERLIN), "x")
    )
    fixed_clock(monkeypatch, datetime(2026, 12, 15, 9, 0, tzinfo=BERLIN))
    result = run_gather(ws)
    assert result.exit_code == 0, result.output
    titles = [post.title for post in load_issue(ws.issues_dir / "2026-12").posts]
    assert titles == ["Ganz frisch vom Morgen"]
    # Newer than the newest post of 2026-11 (16 Nov 18:30), not than its send.
    assert "posts since 2026-11-16 18:30" in " ".join(result.stdout.split())


def test_since_still_overrides_the_default(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_gather(ws).exit_code == 0
    write_sent_mark(
        ws.issues_dir / "2026-11", SentMark(datetime(2026, 11, 20, 16, 0, tzinfo=BERLIN), "x")
    )
    write_post(ws, "frisch.md", "Ganz frisch vom Morgen", "2026-11-20 11:00")
    fixed_clock(monkeypatch, datetime(2026, 12, 15, 9, 0, tzinfo=BERLIN))
    result = run_gather(ws, "--since", "2026-11-21")
    assert result.exit_code == 0, result.output
    assert load_issue(ws.issues_dir / "2026-12").posts == ()


# Item 7: derived texts follow the content until a person edits them.


def test_the_preheader_follows_the_posts_until_staff_edit_it(ws: Workspace) -> None:
    assert run_gather(ws).exit_code == 0
    folder = ws.issues_dir / "2026-11"
    issue = load_issue(folder)
    first, second, third, fourth = (post.title for post in issue.posts[:4])
    assert issue.preheader == f"{first} · {second} · {third}"
    # Staff delete the first post: the preheader must not advertise it any more.
    text = (folder / "issue.md").read_text(encoding="utf-8")
    start = text.index("- id:")
    end = text.index("- id:", start + 1)
    (folder / "issue.md").write_text(text[:start] + text[end:], encoding="utf-8")
    shown = preheader_of(render(ws, "2026-11"))
    assert shown.startswith(f"{second} · {third} · {fourth}")
    assert first not in shown.split("Hallo")[0]
    # A re-gather writes the current preheader into issue.md too.
    assert run_gather(ws).exit_code == 0
    assert load_issue(folder).preheader == f"{second} · {third} · {fourth}"
    # Once staff write their own, it stays, whatever happens to the posts.
    text = (folder / "issue.md").read_text(encoding="utf-8")
    start = text.index("\npreheader:") + 1
    end = text.index("\n# date:", start)  # the preheader may run over several lines
    (folder / "issue.md").write_text(
        text[:start] + "preheader: Unser Text" + text[end:], encoding="utf-8"
    )
    text = (folder / "issue.md").read_text(encoding="utf-8")
    start = text.index("- id:")
    end = text.index("- id:", start + 1)
    (folder / "issue.md").write_text(text[:start] + text[end:], encoding="utf-8")
    assert preheader_of(render(ws, "2026-11")).startswith("Unser Text")
    assert run_gather(ws).exit_code == 0
    assert load_issue(folder).preheader == "Unser Text"


# Item 11: the default subject names the issue's month.


def test_the_default_subject_follows_the_issues_month(ws: Workspace) -> None:
    result = run_gather(ws, "--slug", "2027-01")
    assert result.exit_code == 0, result.output
    assert load_issue(ws.issues_dir / "2027-01").subject == ("Newsletter Januar 2027")


@pytest.mark.parametrize(
    ("slug", "month"),
    [("2027-01", (2027, 1)), ("2026-11-2", (2026, 11)), ("sommerfest", (2026, 12))],
)
def test_the_issue_month_comes_from_the_slug_else_the_date(
    slug: str, month: tuple[int, int]
) -> None:
    from newsletter.issue import Issue, issue_month

    issue = Issue(slug, "", "", datetime(2026, 12, 3, tzinfo=BERLIN), None, (), "")
    assert (issue_month(issue).year, issue_month(issue).month) == month
