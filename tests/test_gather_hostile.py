"""Hostile and broken input (issue 14): one bad post never stops a gather, no input explodes.

A post that cannot be read is left out and listed with the reason; the others come in,
and the source is named. Inputs built to cost time or memory meet a limit on work.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

from newsletter.errors import SourceError
from newsletter.issue import load_issue
from newsletter.sources.contract import PostFile, Unreadable
from newsletter.sources.dates import BERLIN
from newsletter.sources.feed import parse_feed
from newsletter.sources.markdown_post import MAX_MARKDOWN_CHARS, read_markdown_post
from newsletter.sources.page_export import read_page_export
from newsletter.sources.sanitise import is_web_url, join_url

from .test_gather_support import (
    SITE_URL,
    FeedServer,
    feed_source,
    fixed_clock,
    folder_source,
    make_workspace,
    run_gather,
)

SINCE = datetime(2026, 11, 1, tzinfo=BERLIN)
HUGE_OFFSET = "Mon, 16 Nov 2026 10:00:00 +999999999999999999"
GOOD_ITEM = """<item><title>Gut</title><link>https://www.example.org/gut</link>
<pubDate>Mon, 16 Nov 2026 10:00:00 +0100</pubDate><description>Text</description></item>"""


def rss(*items: str, declaration: bytes = b'<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    body = f"""<rss version="2.0"><channel><title>Kanal</title>
<link>https://www.example.org/</link>{"".join(items)}</channel></rss>"""
    return declaration + body.encode()


def item(title: str, extra: str) -> str:
    return f"<item><title>{title}</title>{extra}</item>"


def markdown(*front: str, body: str = "Text") -> str:
    return "---\n" + "\n".join(front) + f"\n---\n{body}\n"


def md_post(text: str, since: datetime | None = None) -> PostFile:
    return PostFile("posts/p.md", text, SITE_URL, "posts", since)


# --- 14.2: one bad value in one post ---------------------------------------------------


@pytest.mark.parametrize("since", [None, SINCE])
def test_feed_entries_with_values_no_parser_takes_are_read_or_left_out_one_by_one(
    since: datetime | None,
) -> None:
    data = rss(
        GOOD_ITEM,
        item("Riesiger Versatz", f"<pubDate>{HUGE_OFFSET}</pubDate>"),
        item(
            "Kaputter Link",
            "<link>http://[::1</link><pubDate>Tue, 17 Nov 2026 10:00:00 +0100</pubDate>",
        ),
        item(
            "Kaputtes Bild",
            '<enclosure url="http://[::1" type="image/jpeg" length="1"/>'
            "<pubDate>Tue, 17 Nov 2026 10:00:00 +0100</pubDate>",
        ),
        item(
            "Basis",
            '<description xml:base="http://exa mple.org/">&lt;a href="x"&gt;Link&lt;/a&gt;'
            "</description><pubDate>Tue, 17 Nov 2026 10:00:00 +0100</pubDate>",
        ),
    )
    result = parse_feed(data, "Kanal", feed_url=None, site_url=SITE_URL, since=since)
    posts = {post.title: post for post in result.posts}
    assert list(posts) == ["Gut", "Riesiger Versatz", "Kaputter Link", "Kaputtes Bild", "Basis"]
    assert posts["Riesiger Versatz"].date is None  # no date: gather lists it as undated
    assert posts["Kaputter Link"].url == ""  # no address, like a javascript: link
    assert posts["Kaputtes Bild"].image is None
    # A base nh3 cannot use resolves nothing: the relative link goes, the text stays.
    assert posts["Basis"].body == '<a rel="noopener noreferrer">Link</a>'


def test_a_feed_whose_encoding_declaration_no_codec_takes_is_one_clear_error() -> None:
    data = rss(GOOD_ITEM, declaration=b'<?xml version="1.0" encoding="u\xfftf-8"?>')
    with pytest.raises(SourceError) as caught:
        parse_feed(data, "Kanal", feed_url=None, site_url=SITE_URL)
    assert str(caught.value).startswith('feed "Kanal" cannot be read (UnicodeDecodeError: ')
    assert str(caught.value).endswith("; the feed is broken: tell the website's maintainers")


@pytest.mark.parametrize(
    ("front", "reason"),
    [
        (f'date: "{HUGE_OFFSET}"', f'date: "{HUGE_OFFSET}" is not a date;'),
        (
            "date: 2026-11-16 10:00:00 +99:00",
            "the front matter has a value out of range (offset must be",
        ),
        ("date: 9999-12-31T23:59:59-23:59", "date: 9999-12-31 23:59:59-23:59 is out of range"),
        ("url: http://[::1", "url: expected an address like https://..."),
        ("image: http://[::1", "image: expected an address like https://..."),
    ],
)
def test_a_markdown_post_with_a_value_no_parser_takes_is_unreadable(
    tmp_path: Path, front: str, reason: str
) -> None:
    from newsletter.settings import SourceSettings, SourceType
    from newsletter.sources.folder import FolderSource

    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "bad.md").write_text(markdown("title: Schlecht", front), encoding="utf-8")
    (folder / "good.md").write_text(markdown("title: Gut", "date: 2026-11-16"), encoding="utf-8")
    settings = SourceSettings(type=SourceType.FOLDER, url=None, path=folder, name=None)
    result = FolderSource(settings, "posts", SITE_URL).collect(SINCE)
    assert [post.title for post in result.posts] == ["Gut"]
    ((name, why),) = [(bad.name, bad.reason) for bad in result.unreadable]
    assert name == "posts/bad.md"
    assert why.startswith(reason), why


@pytest.mark.parametrize(
    "address",
    ["http://[::1", "http://[::1/x", "https://a:99999/", "http://exa mple.org/", "http://a\x00b/"],
)
def test_addresses_no_parser_or_mail_program_takes_are_no_web_addresses(address: str) -> None:
    assert not is_web_url(address)
    assert not is_web_url(join_url(address, "bild.jpg"))
    assert not is_web_url(join_url(SITE_URL, address))
    assert join_url(address, "https://www.example.org/bild.jpg") == (
        "https://www.example.org/bild.jpg"
    )


def test_a_page_export_with_broken_address_and_image_lines_is_read_without_them() -> None:
    text = "http://[::1\nTitel der Seite\n16.11.26 – Erster Absatz.\n\nhttp://[::1/bild.jpg\n"
    post = read_page_export(PostFile("posts/seite.txt", text, SITE_URL, "posts"))
    assert (post.title, post.url, post.image) == ("Titel der Seite", "", None)


def test_gather_lists_unreadable_posts_names_the_source_and_takes_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed_clock(monkeypatch)
    monkeypatch.setattr("newsletter.cli.gather.out", Console(width=250, soft_wrap=True))
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "kanal.xml").write_bytes(rss(GOOD_ITEM))
    with FeedServer(feeds) as server:
        url = server.url("feeds/kanal.xml")
        ws = make_workspace(tmp_path / "ws", folder_source(), feed_source(url))
        posts = ws.root / "posts"
        posts.mkdir()
        (posts / "a.md").write_text(markdown("title: Versatz", f'date: "{HUGE_OFFSET}"'))
        (posts / "b.md").write_text(markdown("title: Link", "date: 2026-11-16", "url: http://[::1"))
        (posts / "c.md").write_text(markdown("title: Ordentlich", "date: 2026-11-16"))
        result = run_gather(ws)
    assert result.exit_code == 0, result.output
    assert [post.title for post in load_issue(ws.issues_dir / "2026-11").posts] == [
        "Gut",
        "Ordentlich",
    ]
    rows = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    assert (
        f'skipped: unreadable posts/a.md: date: "{HUGE_OFFSET}" is not a date; write it like '
        "2026-11-02 or 02.11.2026 posts" in rows
    )
    assert "skipped: unreadable posts/b.md: url: expected an address like https://... posts" in rows
    assert "bug" not in result.output


# --- 14.3: small inputs that expand ----------------------------------------------------


def test_a_feed_with_thousands_of_attributes_on_one_element_is_refused_at_once() -> None:
    attributes = " ".join(f'a{n}="x"' for n in range(32_000))
    data = rss(GOOD_ITEM, f"<item {attributes}><title>Viel</title></item>")
    assert 300_000 < len(data) < 400_000  # the 0.34 MB of the report
    for since in (None, SINCE):
        started = time.perf_counter()
        with pytest.raises(SourceError) as caught:
            parse_feed(data, "Kanal", feed_url=None, site_url=SITE_URL, since=since)
        assert time.perf_counter() - started < 1.0
        assert str(caught.value) == (
            'feed "Kanal" is too complex to read: an element at line 3 has 32,000 attributes '
            "(a news feed needs a handful, the limit is 100); the feed is broken or hostile: "
            "check the address or tell the website's maintainers"
        )


def test_a_feed_with_many_elements_of_a_few_attributes_each_is_fine() -> None:
    links = "".join(f'<category domain="d{n}">K{n}</category>' for n in range(300))
    result = parse_feed(rss(item("Viele", links)), "Kanal", feed_url=None, site_url=SITE_URL)
    assert len(result.posts[0].categories) == 300


ALIAS_BOMB = [
    "a: &a [x, x, x, x, x, x, x, x, x]",
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]",
    "categories: *g",
]


@pytest.mark.parametrize("since", [None, SINCE])
def test_yaml_aliases_in_front_matter_are_refused_before_they_expand(
    since: datetime | None,
) -> None:
    text = markdown("title: Bombe", "date: 2020-01-01", *ALIAS_BOMB)  # too old, even
    started = time.perf_counter()
    with pytest.raises(SourceError) as caught:
        read_markdown_post(md_post(text, since))
    assert time.perf_counter() - started < 1.0
    assert str(caught.value) == (
        "posts/p.md: the front matter is not valid YAML at line 5; aliases like *a are not "
        "allowed; write the value itself"
    )


def test_ampersands_and_stars_in_front_matter_are_still_text() -> None:
    text = markdown('title: "Kunst & Kultur *live*"', "categories: [Kunst & Kultur]")
    post = read_markdown_post(md_post(text))
    assert (post.title, post.categories) == ("Kunst & Kultur *live*", ("Kunst & Kultur",))


def test_a_post_file_too_big_to_be_a_post_is_unreadable(tmp_path: Path) -> None:
    from newsletter.settings import SourceSettings, SourceType
    from newsletter.sources.folder import MAX_POST_BYTES, FolderSource

    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "riesig.md").write_bytes(b"x" * (MAX_POST_BYTES + 1))
    settings = SourceSettings(type=SourceType.FOLDER, url=None, path=folder, name=None)
    result = FolderSource(settings, "posts", SITE_URL).collect()
    assert result.unreadable == (
        Unreadable("posts/riesig.md", "larger than 2 MB; no post is that long"),
    )


def test_a_megabyte_of_markdown_that_markdown_it_finds_hard_is_cut_before_rendering() -> None:
    text = markdown("title: Sterne", body="*_" * 900_000)
    started = time.perf_counter()
    post = read_markdown_post(md_post(text))
    assert time.perf_counter() - started < 5.0  # uncut: 15 s
    assert post.body.count("*") + post.body.count("_") <= MAX_MARKDOWN_CHARS
