"""The feedparser settings that keep big feeds fast must not change what is parsed."""

from __future__ import annotations

import io
from datetime import datetime
from types import SimpleNamespace

import feedparser
import feedparser.api
import pytest

from newsletter.post import Post
from newsletter.settings import SourceSettings, SourceType
from newsletter.sources.dates import BERLIN
from newsletter.sources.feed import parse_feed
from newsletter.sources.feedparser_tuning import repair_table, tune
from newsletter.sources.folder import FolderSource
from newsletter.sources.sax_driver import skipping_old_bodies

from .test_gather_support import FEEDS, POSTS, SITE_URL

MAPPING = {0x80: "€", 0x85: "…", 0x9F: "Ÿ"}


def test_the_repair_list_translates_exactly_like_the_dict() -> None:
    text = "".join(chr(code) for code in range(0x11000) if not 0xD800 <= code < 0xE000)
    text += "Grünflächen 🌳 \x80\x85\x9f"
    assert text.translate(repair_table(MAPPING)) == text.translate(MAPPING)


def test_tuning_is_idempotent_and_leaves_an_unknown_feedparser_alone() -> None:
    api = SimpleNamespace(PREFERRED_XML_PARSERS=["drv_libxml2"])
    mixin = SimpleNamespace(_cp1252=dict(MAPPING))
    tune(api, mixin)
    tune(api, mixin)
    assert api.PREFERRED_XML_PARSERS == ["newsletter.sources.sax_driver", "drv_libxml2"]
    assert mixin._cp1252 == repair_table(MAPPING)
    changed = SimpleNamespace(_cp1252=str.maketrans({0x80: "€", 0x81: None}))
    tune(api, changed)
    assert changed._cp1252 == {0x80: "€", 0x81: None}


def test_feeds_parse_through_the_buffered_driver() -> None:
    result = parse_feed((FEEDS / "rss20.xml").read_bytes(), "rss", feed_url=None, site_url=SITE_URL)
    assert feedparser.api.PREFERRED_XML_PARSERS[0] == "newsletter.sources.sax_driver"
    assert result.posts[0].summary.startswith("Ab Dezember fährt der Bürgerbus")


def test_posts_older_than_since_come_as_outlines() -> None:
    since = datetime(2026, 11, 14, tzinfo=BERLIN)
    data = (FEEDS / "rss20.xml").read_bytes()
    posts = {
        p.title: p
        for p in parse_feed(data, "rss", feed_url=None, site_url=SITE_URL, since=since).posts
    }
    old = posts["Klimaschutzkonzept: Öffentliche Anhörung im Ratssaal"]
    assert (old.summary, old.body, old.image) == ("", "", None)
    assert (
        old.url == "https://gruene-beispielstadt.example.org/aktuelles/klimaschutz-anhoerung.html"
    )
    new = posts["Neu: Bürgerbus fährt jetzt auch sonntags"]
    assert new.summary and new.body and new.image


def test_markdown_posts_older_than_since_skip_markdown_and_sanitising() -> None:
    settings = SourceSettings(type=SourceType.FOLDER, url=None, path=POSTS, name=None)
    result = FolderSource(settings, "posts", SITE_URL).collect(datetime(2026, 11, 5, tzinfo=BERLIN))
    posts = {post.title[:12]: post for post in result.posts}
    old = posts["Laternenumzu"]
    assert (old.summary, old.body, old.image) == ("", "", None)
    assert old.categories == ("Familie", "Ortsteil Süd")
    assert posts["Wahlkreis-To"].summary == "Eine kurze, selbst geschriebene Zusammenfassung."


def _parse(data: bytes, since: datetime | None) -> dict[str, Post]:
    result = parse_feed(data, "feed", feed_url=None, site_url=SITE_URL, since=since)
    return {post.id: post for post in result.posts}


@pytest.mark.parametrize("name", ["rss20.xml", "atom.xml", "rss10.xml", "broken.xml"])
def test_skipping_old_bodies_changes_no_post_that_is_new_enough(name: str) -> None:
    data = (FEEDS / name).read_bytes()
    full = _parse(data, None)
    dates = sorted({post.date for post in full.values() if post.date is not None})
    for since in dates:
        posts = _parse(data, since)
        assert posts.keys() == full.keys()
        for key, post in posts.items():
            whole = full[key]
            if whole.date is None or whole.date >= since:
                assert post == whole
            else:
                assert (post.title, post.url, post.date, post.body) == (
                    whole.title,
                    whole.url,
                    whole.date,
                    "",
                )


def test_an_old_items_body_never_reaches_feedparser() -> None:
    data = (FEEDS / "rss20.xml").read_bytes()
    parse_feed(data, "rss", feed_url=None, site_url=SITE_URL)  # registers the driver
    since = datetime(2026, 11, 1, tzinfo=BERLIN)
    with skipping_old_bodies(since) as skipped:
        parsed = feedparser.parse(io.BytesIO(data), sanitize_html=False)
    (old,) = skipped.entries
    assert skipped.items == len(parsed.entries) == 5
    assert parsed.entries[old].title.startswith("Sommerfest")
    assert parsed.entries[old].get("summary", "") == ""
    assert all(entry.summary for number, entry in enumerate(parsed.entries) if number != old)


ITEM = """<item><title>{title}</title><link>https://www.example.org/{slug}</link>
<pubDate>{first}</pubDate><description>&lt;p&gt;Der ganze Text über {slug}.&lt;/p&gt;</description>
{later}</item>"""


def _feed(*items: str) -> bytes:
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
    return (head + "".join(items) + "</channel></rss>").encode()


def test_an_item_found_new_after_its_body_was_skipped_is_read_again_in_full() -> None:
    old, new = "Sat, 18 Jul 2026 15:00:00 +0200", "Mon, 16 Nov 2026 18:30:00 +0100"
    data = _feed(
        ITEM.format(
            title="Zweimal datiert", slug="zwei", first=old, later=f"<pubDate>{new}</pubDate>"
        ),
        ITEM.format(title="Alt", slug="alt", first=old, later=""),
    )
    since = datetime(2026, 11, 1, tzinfo=BERLIN)
    posts = _parse(data, since)
    full = _parse(data, None)
    twice = posts["https://www.example.org/zwei"]
    assert twice.date is not None and twice.date >= since
    assert twice == full["https://www.example.org/zwei"]
    assert "Der ganze Text über zwei." in twice.body
    assert posts["https://www.example.org/alt"].body == ""


def test_an_old_entry_without_a_title_is_listed_by_its_number() -> None:
    data = _feed(
        ITEM.format(title="", slug="ohne", first="Sat, 18 Jul 2026 15:00:00 +0200", later="")
    )
    (post,) = _parse(data, datetime(2026, 11, 1, tzinfo=BERLIN)).values()
    assert (post.title, post.url, post.body) == ("entry #1", "https://www.example.org/ohne", "")
