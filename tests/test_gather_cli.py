"""`newsletter gather` end to end: real files, a real HTTP server, a fixed clock."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from rich.console import Console

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
    """The fixture post folder and the RSS 2.0 fixture feed over HTTP, on 2026-11-20."""
    fixed_clock(monkeypatch)
    # Wide enough that no table cell folds, so the tests can read the rows.
    monkeypatch.setattr("newsletter.cli.gather.out", Console(width=250, soft_wrap=True))
    ws = make_workspace(
        tmp_path / "ws", folder_source(), feed_source(server.url("feeds/rss20.xml"))
    )
    shutil.copytree(POSTS, ws.root / "posts")
    return ws


def issue_text(ws: Workspace, slug: str = "2026-11") -> str:
    return (ws.issues_dir / slug / "issue.md").read_text(encoding="utf-8")


def test_gather_writes_the_issue_and_shows_what_it_took_and_skipped(ws: Workspace) -> None:
    result = run_gather(ws)
    assert result.exit_code == 0, result.output
    issue = load_issue(ws.issues_dir / "2026-11")
    assert [post.title for post in issue.posts] == [
        "Neu: Bürgerbus fährt jetzt auch sonntags",
        "Klimaschutzkonzept: Öffentliche Anhörung im Ratssaal",
        "Neue Bänke für den Weiherpark",
        "Wahlkreis-Tour: Unsere Abgeordnete zu Gast in Grünau",
        "Laternenumzug für alle Kinder im Viertel",
    ]
    assert issue.subject == "Newsletter November 2026"
    assert issue.date == datetime(2026, 11, 20, 10, 0, tzinfo=BERLIN)
    assert "date: '2026-11-16T18:30:00+01:00'" in issue_text(ws)
    table = " ".join(result.stdout.split())
    for expected in (
        "Issue 2026-11: posts since 2026-10-21",
        "skipped: duplicate",
        "skipped: undated",
        "skipped: too old",
        "skipped: unreadable",
        "posts/kaputt.md: the front matter is not valid YAML at line 2",
        "(no URL: add one in issue.md)",
        "Created issues/2026-11/issue.md (5 new posts).",
        "newsletter render 2026-11",
    ):
        assert expected in table, result.stdout
    assert "kaputt.md" not in result.stderr  # listed once, in the table


def test_a_rerun_keeps_every_staff_edit_and_adds_only_the_new_post(ws: Workspace) -> None:
    assert run_gather(ws).exit_code == 0
    path = ws.issues_dir / "2026-11" / "issue.md"
    front = path.read_text(encoding="utf-8").removeprefix("---\n").split("\n---\n")[0]
    data = yaml.safe_load(front)
    posts = {post["title"][:12]: post for post in data["posts"]}
    posts["Neu: Bürgerb"]["title"] = "Bürgerbus am Sonntag – endlich!"
    posts["Neue Bänke f"]["summary"] = "Acht neue Bänke, selbst zusammengefasst."
    posts["Neue Bänke f"]["url"] = "https://www.example.org/aktuelles/baenke"
    del posts["Klimaschutzk"]  # deleted by staff: must stay deleted
    data["posts"] = list(reversed(posts.values()))
    data["subject"] = "Unser November"
    staff_editorial = "Liebe Mitglieder,\n\nein Gruß aus der Geschäftsstelle."
    path.write_text(f"---\n{yaml.safe_dump(data, allow_unicode=True)}---\n\n{staff_editorial}\n")
    (ws.root / "posts" / "2026-11-19-neu.md").write_text(
        "---\ntitle: Ganz frisch\ndate: 2026-11-19\nurl: /aktuelles/frisch\n---\nNeu.\n",
        encoding="utf-8",
    )

    result = run_gather(ws)

    assert result.exit_code == 0, result.output
    issue = load_issue(path.parent)
    assert [post.title for post in issue.posts] == [
        "Laternenumzug für alle Kinder im Viertel",
        "Wahlkreis-Tour: Unsere Abgeordnete zu Gast in Grünau",
        "Neue Bänke für den Weiherpark",
        "Bürgerbus am Sonntag – endlich!",
        "Ganz frisch",
    ]
    assert issue.posts[2].summary == "Acht neue Bänke, selbst zusammengefasst."
    assert issue.posts[2].url == "https://www.example.org/aktuelles/baenke"
    assert issue.subject == "Unser November"
    assert issue.editorial == staff_editorial
    table = " ".join(result.stdout.split())
    assert "skipped: deleted from this issue" in table
    assert "Updated issues/2026-11/issue.md (1 new post)." in table


def test_a_rerun_without_new_posts_leaves_the_file_alone(ws: Workspace) -> None:
    assert run_gather(ws).exit_code == 0
    before = issue_text(ws)
    result = run_gather(ws)
    assert result.exit_code == 0
    assert issue_text(ws) == before
    assert "No new posts; issues/2026-11/issue.md is unchanged." in result.stdout


def test_a_sent_issue_is_refused_and_untouched(ws: Workspace) -> None:
    assert run_gather(ws).exit_code == 0
    folder = ws.issues_dir / "2026-11"
    write_sent_mark(folder, SentMark(datetime(2026, 11, 18, 9, 0, tzinfo=BERLIN), "abc"))
    before = issue_text(ws)
    (ws.root / "posts" / "neu.md").write_text("---\ntitle: Neu\ndate: 2026-11-19\n---\n")
    result = run_gather(ws)
    assert result.exit_code == 1
    assert result.stderr == (
        'Error: issue "2026-11" was sent on 2026-11-18, so it is frozen and gather leaves it '
        "alone; gather into a new issue instead: newsletter gather --slug 2026-11-2\n"
    )
    assert issue_text(ws) == before


def test_posts_of_a_sent_issue_are_skipped_and_the_cutoff_is_its_newest_post(
    ws: Workspace,
) -> None:
    assert run_gather(ws, "--slug", "2026-11-a").exit_code == 0
    write_sent_mark(
        ws.issues_dir / "2026-11-a", SentMark(datetime(2026, 11, 1, 9, 0, tzinfo=BERLIN), "x")
    )
    result = run_gather(ws)
    assert result.exit_code == 0, result.output
    table = " ".join(result.stdout.split())
    assert "posts since 2026-11-16 18:30" in table
    assert "skipped: already sent" in table
    assert load_issue(ws.issues_dir / "2026-11").posts == ()


def test_since_category_and_undated(ws: Workspace) -> None:
    result = run_gather(
        ws, "--since", "2026-11-05", "--category", "ortsteil süd", "--include-undated"
    )
    assert result.exit_code == 0, result.output
    titles = [post.title for post in load_issue(ws.issues_dir / "2026-11").posts]
    assert titles == ["Neu: Bürgerbus fährt jetzt auch sonntags"]
    assert "skipped: other category" in " ".join(result.stdout.split())


def test_an_unreachable_feed_is_one_line_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: FeedServer
) -> None:
    fixed_clock(monkeypatch)
    url = server.url("feeds/weg.xml")
    ws = make_workspace(tmp_path / "ws", feed_source(url))
    result = run_gather(ws)
    assert result.exit_code == 1
    assert result.stderr == (
        f'Error: feed "{url}": {url} answered 404 Not Found; '
        'check "url" of this source in newsletter.toml\n'
    )
    assert not ws.issues_dir.exists()


def test_a_misspelt_field_in_issue_md_is_named(ws: Workspace) -> None:
    assert run_gather(ws).exit_code == 0
    path = ws.issues_dir / "2026-11" / "issue.md"
    path.write_text(path.read_text(encoding="utf-8").replace("\n  summary:", "\n  sumary:", 1))
    result = run_gather(ws)
    assert result.exit_code == 1
    assert result.stderr == (
        f'Error: {path}: posts #1: unknown field "sumary"; did you mean "summary"?\n'
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--slug", "../2026-11"], 'Error: "../2026-11" cannot name an issue; use letters'),
    ],
)
def test_a_bad_slug_is_refused(ws: Workspace, args: list[str], message: str) -> None:
    result = run_gather(ws, *args)
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert not ws.issues_dir.exists()


@pytest.mark.parametrize(
    "args", [["--since", "2026-13-01"], ["--since", "2026-11-01", "--days", "3"], ["--days", "0"]]
)
def test_usage_errors_keep_exit_code_2(ws: Workspace, args: list[str]) -> None:
    result = run_gather(ws, *args)
    assert result.exit_code == 2
    assert not ws.issues_dir.exists()


def test_titles_show_as_written_even_with_brackets(ws: Workspace) -> None:
    (ws.root / "posts" / "update.md").write_text(
        "---\ntitle: '[Update] Sitzung verschoben'\ndate: 2026-11-18\n---\nText.\n",
        encoding="utf-8",
    )
    result = run_gather(ws)
    assert result.exit_code == 0, result.output
    assert "[Update] Sitzung verschoben (no URL: add one in issue.md)" in result.stdout


def test_a_second_front_end_gathers_through_the_library_as_the_cli_does(ws: Workspace) -> None:
    """gather.run_gather is the whole gather; the CLI only parses and prints around it."""
    from contextlib import contextmanager

    from newsletter.gather import GatherRequest, ReadingProgress, run_gather
    from newsletter.sources import Source

    seen: list[str] = []

    class Log:
        def reading(self, source: Source) -> None:
            seen.append(f"reading {source.label}")

        def read(self, source: Source) -> None:
            seen.append(f"read {source.label}")

    @contextmanager
    def watch(total: int) -> Iterator[ReadingProgress]:
        seen.append(f"{total} sources")
        yield Log()

    report = run_gather(ws, GatherRequest(), watch=watch)
    assert report.written and report.created
    assert report.plan.slug == "2026-11"
    assert seen[0] == "2 sources" and len(seen) == 5
    assert [post.title for post in load_issue(ws.issues_dir / "2026-11").posts] == [
        post.title for post in report.issue.posts
    ]
