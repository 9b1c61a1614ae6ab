"""Feeds into posts: RSS 0.9x/1.0/2.0 and Atom, sanitised, with links made absolute."""

from __future__ import annotations

from datetime import datetime

import pytest

from newsletter.errors import SourceError
from newsletter.post import Post
from newsletter.sources.contract import SourceResult
from newsletter.sources.dates import BERLIN
from newsletter.sources.feed import MAX_ENTRY_CHARS, parse_feed

from .test_gather_support import FEEDS, SITE_URL


def read(name: str, feed_url: str | None = None) -> SourceResult:
    return parse_feed((FEEDS / name).read_bytes(), name, feed_url=feed_url, site_url=SITE_URL)


def by_title(result: SourceResult, start: str) -> Post:
    return next(post for post in result.posts if post.title.startswith(start))


def test_rss20_entry_becomes_a_complete_post() -> None:
    post = by_title(read("rss20.xml"), "Neu: Bürgerbus")
    assert post.title == "Neu: Bürgerbus fährt jetzt auch sonntags"
    assert post.id == "beispielstadt-post-101"
    assert post.url == "https://gruene-beispielstadt.example.org/aktuelles/buergerbus-sonntags.html"
    assert post.date == datetime(2026, 11, 16, 18, 30, tzinfo=BERLIN)
    assert post.date.utcoffset() is not None
    assert post.categories == ("Verkehr", "Ortsteil Süd")
    assert post.image is not None
    assert (
        post.image.url == "https://gruene-beispielstadt.example.org/aktuelles/bilder/buergerbus.jpg"
    )
    assert post.summary.startswith("Ab Dezember fährt der Bürgerbus auch am Sonntag.")
    assert post.source == "rss20.xml"


def test_script_iframe_event_handlers_and_javascript_links_are_removed() -> None:
    body = by_title(read("rss20.xml"), "Neu: Bürgerbus").body
    for forbidden in ("<script", "böse", "onclick", "javascript:", "<iframe", "tracker"):
        assert forbidden not in body
    assert "Mehr" in body  # the link text stays, only the dangerous link goes


def test_relative_links_in_bodies_resolve_against_xml_base() -> None:
    body = by_title(read("rss20.xml"), "Neu: Bürgerbus").body
    assert 'href="https://gruene-beispielstadt.example.org/aktuelles/fahrplan.pdf"' in body


def test_positioning_styles_go_and_images_keep_their_alt() -> None:
    post = by_title(read("rss20.xml"), "Klimaschutzkonzept")
    assert "style=" not in post.body and "onerror" not in post.body
    assert '<img src="https://gruene-beispielstadt.example.org/bilder/ratssaal.jpg"' in post.body
    assert post.image is not None
    assert (post.image.url, post.image.alt) == (
        "https://gruene-beispielstadt.example.org/bilder/ratssaal.jpg",
        "Der Ratssaal",
    )


def test_undated_and_duplicate_entries_are_kept_for_gather_to_judge() -> None:
    result = read("rss20.xml")
    assert by_title(result, "Termin ohne Datum").date is None
    duplicates = [p for p in result.posts if p.url.endswith("klimaschutz-anhoerung.html")]
    assert len(duplicates) == 2
    assert result.warnings == ()


def test_rss10() -> None:
    (post,) = read("rss10.xml").posts
    assert post.title == "Spielplatz an der Mühlenstraße wird erneuert"
    assert post.url == "https://ortsverband.example.org/meldung/spielplatz"
    assert post.date == datetime(2026, 11, 9, 11, 15, tzinfo=BERLIN)
    assert post.categories == ("Ortsteil Nord",)


def test_atom_with_nested_xml_base_and_html_title() -> None:
    result = read("atom.xml")
    solar = by_title(result, "Antrag")
    assert solar.title == "Antrag: Solardächer für städtische Gebäude"
    assert solar.url == "https://fraktion.example.org/blog/2026/solardaecher"
    assert solar.date == datetime(2026, 11, 17, 19, 45, tzinfo=BERLIN)
    assert 'href="https://fraktion.example.org/blog/antraege/solar.pdf"' in solar.body
    assert solar.image is not None
    assert solar.image.url == "https://fraktion.example.org/blog/2026/bilder/dach.jpg"
    assert solar.image.alt == "Ein Schuldach mit Solarmodulen"
    # Atom's own <summary> is the teaser, not the start of the content.
    assert solar.summary.startswith("Wir beantragen, alle geeigneten Dächer")
    speech = by_title(result, "Haushaltsrede")
    assert speech.url == "https://fraktion.example.org/reden/haushalt-2027"
    assert "<strong>dieser Haushalt</strong>" in speech.body


def test_without_xml_base_links_resolve_against_the_feed_address() -> None:
    (post,) = read("relative.xml", feed_url="https://mitglieder.example.org/feeds/rss.xml").posts
    assert post.url == "https://mitglieder.example.org/briefe/november"
    assert 'href="https://mitglieder.example.org/feeds/november.pdf"' in post.body


def test_a_feed_file_without_any_base_resolves_against_site_url() -> None:
    (post,) = read("relative.xml").posts
    assert post.url == "https://www.example.org/briefe/november"


def test_broken_xml_is_read_as_far_as_possible_with_a_warning() -> None:
    result = read("broken.xml")
    titles = [post.title for post in result.posts]
    assert titles[:2] == ["Erster Beitrag über Grünflächen", "Zweiter Beitrag: Rad & Fuß"]
    assert result.warnings == (
        "the feed is not well-formed XML (invalid token at line 13, column 35); "
        "read 3 entries as far as possible",
        "entry #3 has neither a title nor a text; left out",
    )


def test_a_huge_entry_is_cut_with_a_warning() -> None:
    paragraph = "<p>" + "Sehr lange Rede über den Haushalt. " * 40 + "</p>"
    body = paragraph * (MAX_ENTRY_CHARS // len(paragraph) + 50)
    feed = (
        '<rss version="2.0"><channel><title>T</title><link>https://www.example.org/</link>'
        "<item><title>Die längste Rede</title><link>/rede</link>"
        "<pubDate>Mon, 16 Nov 2026 10:00:00 +0100</pubDate>"
        f"<description><![CDATA[{body}]]></description></item></channel></rss>"
    ).encode()
    result = parse_feed(feed, "huge", feed_url=None, site_url=SITE_URL)
    (post,) = result.posts
    assert len(post.body) <= MAX_ENTRY_CHARS + 100
    assert post.body.endswith("</p>")  # cut, but still well-formed
    assert len(post.summary.split()) == 60  # ten sentences of six words: ends at one
    assert post.summary.endswith("Haushalt.")
    (warning,) = result.warnings
    assert warning.startswith('entry "Die längste Rede" is very large')


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("page.html", 'feed "page.html" is a web page, not an RSS or Atom feed'),
        ("not-a-feed.xml", 'feed "not-a-feed.xml" is not an RSS or Atom feed'),
    ],
)
def test_something_that_is_no_feed_is_one_clear_error(name: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        read(name)
    assert str(caught.value) == (
        f"{message}; use the address of the feed itself (it often ends in /feed or rss.xml)"
    )
