"""Hostile content never reaches a member's data: issue 14, item 1.

A feed, a Markdown post's ``url:``, a page export's address line and every issue.md field
carry the old marker syntax and lookalikes of the markers. Gathered, rendered and filled
for a member (the way ``send`` fills), no member value (token, first name, greeting,
address) may appear in any link or image whose host is not the web side's, in the HTML
or in the text part, and the subject goes out as staff wrote it.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

import pytest

from newsletter.bundled import default_templates
from newsletter.issue import load_issue, save_issue
from newsletter.members.records import Recipient as Member
from newsletter.members.tokens import sign_token
from newsletter.messages.template import build_template
from newsletter.render.build import (
    SAMPLE_MEMBER,
    SAMPLE_SUBSCRIPTION_ID,
    build_issue,
    load_build,
)
from newsletter.workspace import Workspace

from .test_gather_support import FeedServer, feed_source, fixed_clock, folder_source, run_gather

KEY = b"hostile-tests-unsubscribe-key-0123456789"
WEB_HOST = "newsletter.example.org"  # web_url's host in test_gather_support's settings
TRACKER = "https://tracker.example.net/c?u=[[token]]&g=[[greeting]]"
# The old markers, their spellings after the tools (percent-encoded, escaped), what a
# template writes, and things shaped like today's markers with a guessed nonce.
LOOKALIKES = (
    "[[token]]",
    "[[greeting]]",
    "[[ token ]]",
    "[[TOKEN]]",
    "%5B%5Btoken%5D%5D",
    "%5b%5bgreeting%5d%5d",
    "&#91;&#91;token&#93;&#93;",
    "{{ member.unsubscribe_url }}",
    "{{member.greeting}}",
    "{first_name}",
    "nltoken" + "0" * 32,
    "nlgreeting" + "0" * 32,
)
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
    from .test_gather_support import make_workspace

    workspace = make_workspace(root, folder_source(), feed_source(feed_url))
    posts = root / "posts"
    posts.mkdir()
    (posts / "2026-11-12-markdown.md").write_text(MARKDOWN_POST, encoding="utf-8")
    (posts / "2026-11-10-seite.txt").write_text(PAGE_EXPORT, encoding="utf-8")
    shutil.copytree(default_templates(), root / "templates")
    return workspace


class _Addresses(HTMLParser):
    """Every address an HTML document links to or loads: href, src, srcset, and the rest."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "srcset":
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())
            elif name in ("href", "src", "background", "poster", "action", "cite", "data"):
                self.urls.append(value)


def html_addresses(document: str) -> list[str]:
    parser = _Addresses()
    parser.feed(document)
    parser.close()
    return parser.urls


_TEXT_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>()]+")


def text_addresses(text: str) -> list[str]:
    return _TEXT_URL.findall(text)


def spellings(value: str) -> set[str]:
    """``value`` as it could stand in an address: as is, percent- or HTML-encoded."""
    return {value, quote(value, safe=""), quote_plus(value), escape(value), value.lower()}


def readings(url: str) -> set[str]:
    """``url`` and what a server would read out of it."""
    return {url, unquote(url), unquote_plus(url), unquote(unquote(url)), url.lower()}


def assert_no_member_value_leaves(urls: list[str], values: list[str]) -> None:
    """No member value in any address on another host than the web side's."""
    foreign = [url for url in urls if (urlsplit(url.strip()).hostname or "") != WEB_HOST]
    assert foreign, "the hostile links did not reach the email: the test proves nothing"
    for url in foreign:
        for reading in readings(url):
            for value in values:
                for spelling in spellings(value):
                    assert spelling not in reading, f"{value!r} leaks through {url}"


def parts(message: bytes) -> tuple[EmailMessage, str, str]:
    parsed = message_from_bytes(message, policy=default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    return parsed, text.get_content(), html.get_content()


def member_values(first_name: str, address: str, token: str) -> list[str]:
    return [token, first_name, f"Hallo {first_name},", address, address.split("@")[0]]


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
    assert text.count(token) == 1 and f": {unsubscribe}" in text
    assert html.count(token) == 1 and f'href="{unsubscribe}"' in html
    assert text.count("Quirinus") == html.count("Quirinus") == 1
    # The hostile text reached the member as written, old markers and all, unfilled.
    assert "[[token]]" in text and "[[greeting]]" in text
    assert "nltoken" + "0" * 32 in html and "{first_name}" in html
    assert "https://tracker.example.net/c?u=[[token]]&g=[[greeting]]" in text
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


def _settings(issue_dir: Path):  # type: ignore[no-untyped-def]
    return Workspace(issue_dir.parents[1]).settings.newsletter
