"""The feedparser settings that keep big feeds fast must not change what is parsed."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import feedparser.api

from newsletter.settings import SourceSettings, SourceType
from newsletter.sources.dates import BERLIN
from newsletter.sources.feed import parse_feed
from newsletter.sources.feedparser_tuning import repair_table, tune
from newsletter.sources.folder import FolderSource

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
    assert api.PREFERRED_XML_PARSERS == ["newsletter.sources.expat_buffered", "drv_libxml2"]
    assert mixin._cp1252 == repair_table(MAPPING)
    changed = SimpleNamespace(_cp1252=str.maketrans({0x80: "€", 0x81: None}))
    tune(api, changed)
    assert changed._cp1252 == {0x80: "€", 0x81: None}


def test_feeds_parse_through_the_buffered_driver() -> None:
    result = parse_feed((FEEDS / "rss20.xml").read_bytes(), "rss", feed_url=None, site_url=SITE_URL)
    assert feedparser.api.PREFERRED_XML_PARSERS[0] == "newsletter.sources.expat_buffered"
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
