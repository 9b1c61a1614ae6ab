"""Hostile content never reaches a member's data: issue 14, item 1.

A feed, a Markdown post's ``url:``, a page export's address line and every issue.md field
carry the old marker syntax and lookalikes of the markers. Gathered, rendered and filled
for a member (the way ``send`` fills), no member value (token, first name, greeting,
address) may appear in any link or image whose host is not the web side's, in the HTML
or in the text part, and the subject goes out as staff wrote it.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest

from newsletter.bundled import default_templates
from newsletter.issue import load_issue, save_issue
from newsletter.members.tokens import sign_token
from newsletter.messages.template import build_template
from newsletter.render.build import load_build
from newsletter.rendering import SAMPLE_MEMBER, SAMPLE_SUBSCRIPTION_ID, build_issue
from newsletter.settings import NewsletterSettings
from newsletter.store.records import Recipient as Member
from newsletter.workspace import Workspace
from tests.placeholder_support import (
    LOOKALIKES,
    TRACKER,
    WEB_HOST,
    assert_no_member_value_leaves,
    html_addresses,
    member_values,
    parts,
    text_addresses,
)

from .test_gather_support import (
    FeedServer,
    feed_source,
    fixed_clock,
    folder_source,
    make_workspace,
    run_gather,
)

KEY = b"hostile-tests-unsubscribe-key-0123456789"
HOSTILE = " ".join(LOOKALIKES)
MEMBER = Member(
    subscription_id="Hostile-Member-00000000",
    member_id=7,
    email="quirinus.zwetschke@example.org",
    first_name="Quirinus",
    last_name="Zwetschke",
    name="Quirinus Zwetschke",
)

FEED = f"""\
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
  <channel>
    <title>Fremder Feed</title>
    <link>https://tracker.example.net/</link>
    <description>x</description>
    <item>
      <title>Feed {escape(HOSTILE)}</title>
      <link>{escape(TRACKER)}</link>
      <guid isPermaLink="false">hostile-1</guid>
      <pubDate>Mon, 16 Nov 2026 18:30:00 +0100</pubDate>
      <description>{escape(f'<p>{HOSTILE} <a href="{TRACKER}">hier</a></p>')}</description>
      <media:content url="https://tracker.example.net/p.jpg?u=[[token]]" medium="image"
        type="image/jpeg"/>
    </item>
  </channel>
</rss>
"""
MARKDOWN_POST = f"""\
---
title: "Markdown {HOSTILE}"
date: 12.11.2026
url: "https://tracker.example.net/md?u=[[token]]&g=[[greeting]]&n={{first_name}}"
image: "https://tracker.example.net/md.jpg?u=[[token]]"
summary: "{HOSTILE}"
---
Der Text {HOSTILE}.
"""
PAGE_EXPORT = f"""\
BÜNDNIS 90/DIE GRÜNEN

Seite {HOSTILE}

https://tracker.example.net/page?u=[[token]]&g=[[greeting]]

10.11.26 –

Ein Absatz {HOSTILE} über die Sache.

Wir sind für Sie da!
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FeedServer]:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "hostile.xml").write_text(FEED, encoding="utf-8")
    with FeedServer(feeds) as running:
        yield running


@pytest.fixture
def issue_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: FeedServer) -> Path:
    """The gathered hostile posts, with hostile subject, preheader and editorial, rendered."""
    fixed_clock(monkeypatch)
    workspace = _workspace(tmp_path / "ws", server.url("feeds/hostile.xml"))
    result = run_gather(workspace)
    assert result.exit_code == 0, result.output
    folder = workspace.issues_dir / "2026-11"
    issue = load_issue(folder)
    assert len(issue.posts) == 3, [post.title for post in issue.posts]
    save_issue(
        folder,
        dataclasses.replace(
            issue,
            subject=f"Betreff {HOSTILE}",
            preheader=f"Vorspann {HOSTILE}",
            editorial=f"Hallo {HOSTILE}, [Link]({TRACKER}) und <{TRACKER}>\n\n{HOSTILE}",
        ),
    )
    build_issue(workspace, folder, KEY)
    return folder


def _workspace(root: Path, feed_url: str) -> Workspace:
    workspace = make_workspace(root, folder_source(), feed_source(feed_url))
    posts = root / "posts"
    posts.mkdir()
    (posts / "2026-11-12-markdown.md").write_text(MARKDOWN_POST, encoding="utf-8")
    (posts / "2026-11-10-seite.txt").write_text(PAGE_EXPORT, encoding="utf-8")
    shutil.copytree(default_templates(), root / "templates")
    return workspace


def test_hostile_content_gets_no_member_value_into_a_foreign_link(issue_dir: Path) -> None:
    email = load_build(issue_dir)
    template = build_template(
        email,
        _settings(issue_dir),
        issue=issue_dir.name,
        list_name="mitglieder",
        unsubscribe_key=KEY,
    )
    message, text, html = parts(
        template.message(MEMBER, date=datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    )
    token = sign_token(KEY, MEMBER.subscription_id)
    values = member_values(MEMBER.first_name, MEMBER.email, token)
    assert_no_member_value_leaves(html_addresses(html), values)
    assert_no_member_value_leaves(text_addresses(text), values)
    # The member's own data is there, once, where the templates put it.
    unsubscribe = f"https://{WEB_HOST}/abmelden?token={token}"
    assert text.count(token) == 1 and f":\r\n{unsubscribe}\r\n" in text
    assert html.count(token) == 1 and f'href="{unsubscribe}"' in html
    assert text.count("Quirinus") == html.count("Quirinus") == 1
    # The hostile text reached the member as written, old markers and all, unfilled.
    assert "[[token]]" in text and "[[greeting]]" in text
    assert "nltoken" + "0" * 32 in html and "{first_name}" in html
    # The feed's link, the Markdown post's url: and the page export's address line.
    for link in (TRACKER, "/md?u=[[token]]&g=[[greeting]]&n={first_name}", "/page?u=[[token]]"):
        assert link in text
    # The subject and preheader went out as staff wrote them.
    assert message["Subject"] == f"Betreff {HOSTILE}"
    assert f"Vorspann {escape(HOSTILE)}" in html


def test_the_preview_of_hostile_content_leaks_nothing_either(issue_dir: Path) -> None:
    preview = (issue_dir / "build" / "preview.eml").read_bytes()
    _, text, html = parts(preview)
    token = sign_token(KEY, SAMPLE_SUBSCRIPTION_ID)
    values = member_values(SAMPLE_MEMBER.first_name, SAMPLE_MEMBER.address, token)
    assert_no_member_value_leaves(html_addresses(html), values)
    assert_no_member_value_leaves(text_addresses(text), values)


def _settings(issue_dir: Path) -> NewsletterSettings:
    return Workspace(issue_dir.parents[1]).settings.newsletter
