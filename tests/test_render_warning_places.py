"""Render's warnings through the real pipeline: one per problem and place, each with
its fix in words (issue 13 item 13), and a third-party feed's images warned about
(issue 14 item 11)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from newsletter.issue import Issue, load_issue
from newsletter.post import Image
from newsletter.render.checks import RenderWarning, WarningKind
from newsletter.render.email import render_email
from newsletter.workspace import Workspace
from tests.render_support import issue_dir, render_workspace

FEED = "https://blog.example.net/feed.xml"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return render_workspace(tmp_path)


def warnings_of(ws: Workspace, issue: Issue) -> tuple[RenderWarning, ...]:
    return render_email(issue, ws.settings, ws.templates_dir).warnings


def from_feed(issue: Issue, *numbers: int, insecure: bool = False) -> Issue:
    posts = list(issue.posts)
    for number in numbers:
        post = posts[number - 1]
        url = post.url.replace("https://", "http://") if insecure else post.url
        posts[number - 1] = replace(post, url=url, source=FEED)
    return replace(issue, posts=tuple(posts))


def test_the_fixture_issue_is_clean(ws: Workspace) -> None:
    assert warnings_of(ws, load_issue(issue_dir(ws))) == ()


def test_http_links_from_a_feed_are_one_warning_that_says_whom_to_ask(ws: Workspace) -> None:
    issue = from_feed(load_issue(issue_dir(ws)), 1, 2, 4, insecure=True)
    warnings = warnings_of(ws, issue)
    # Each post links its title, its image and "Weiterlesen": once is enough.
    assert [w.kind for w in warnings] == [WarningKind.INSECURE_LINK]
    text = str(warnings[0])
    assert text.startswith("posts 1, 2 and 4:")
    assert "the feed gives http:// links; ask the site to use https" in text


def test_an_http_link_typed_into_issue_md_says_to_change_it_there(ws: Workspace) -> None:
    issue = load_issue(issue_dir(ws))
    posts = list(issue.posts)
    posts[1] = replace(posts[1], url=posts[1].url.replace("https://", "http://"))
    warnings = warnings_of(ws, replace(issue, posts=tuple(posts)))
    assert [str(w) for w in warnings] == [
        "post 2: its link is http://, not https:// "
        f"({posts[1].url}); change url: under post 2 in issue.md to https://"
    ]


def test_a_missing_alt_text_names_the_post(ws: Workspace) -> None:
    issue = load_issue(issue_dir(ws))
    posts = list(issue.posts)
    image = posts[2].image
    assert image is not None
    posts[2] = replace(posts[2], image=replace(image, alt=""))
    (warning,) = warnings_of(ws, replace(issue, posts=tuple(posts)))
    assert warning.kind is WarningKind.IMAGE_ALT
    assert "add alt text in issue.md under post 3" in str(warning)


def test_links_in_the_editorial_and_the_settings_name_their_place(ws: Workspace) -> None:
    issue = load_issue(issue_dir(ws))
    editorial = issue.editorial + "\n\n[Termine](http://www.example.org/termine)"
    warnings = warnings_of(ws, replace(issue, editorial=editorial))
    assert [str(w) for w in warnings] == [
        "the editorial: a link is http://, not https:// (http://www.example.org/termine); "
        "change it to https:// in issue.md"
    ]


def test_a_third_party_feeds_images_are_warned_about(tmp_path: Path) -> None:
    # A feed from someone else's site: its host is not the office's own.
    ws = render_workspace(
        tmp_path,
        (
            '[[sources]]\ntype = "folder"',
            '[[sources]]\ntype = "feed"\nurl = "https://landesverband.example.com/feed.xml"\n\n'
            '[[sources]]\ntype = "folder"',
        ),
    )
    assert "landesverband.example.com" not in ws.settings.own_hosts
    issue = load_issue(issue_dir(ws))
    posts = list(issue.posts)
    posts[0] = replace(
        posts[0],
        source="https://landesverband.example.com/feed.xml",
        image=Image("https://landesverband.example.com/bild.jpg", "Ein Bild", ""),
    )
    warnings = warnings_of(ws, replace(issue, posts=tuple(posts)))
    assert [w.kind for w in warnings] == [WarningKind.THIRD_PARTY]
    text = str(warnings[0])
    assert text.startswith("post 1: its image loads from landesverband.example.com")
    assert "delete image: under post 1 in issue.md" in text


def test_every_warning_says_how_to_fix_it(ws: Workspace) -> None:
    issue = load_issue(issue_dir(ws))
    posts = list(issue.posts)
    posts[0] = replace(posts[0], image=Image("https://cdn.example.com/a.jpg", "", ""))
    posts[1] = replace(posts[1], url="http://www.example.org/x", source=FEED)
    issue = replace(issue, subject="x" * 90, preheader="", posts=tuple(posts))
    warnings = warnings_of(ws, issue)
    assert {w.kind for w in warnings} == {
        WarningKind.SUBJECT,
        WarningKind.PREHEADER,
        WarningKind.IMAGE_ALT,
        WarningKind.THIRD_PARTY,
        WarningKind.INSECURE_LINK,
    }
    for warning in warnings:
        assert warning.fix and warning.place, warning
        assert str(warning) == f"{warning.place}: {warning.problem}; {warning.fix}"
    assert len({(w.kind, w.place) for w in warnings}) == len(warnings)
