"""Fuzzing every reader entry point: a result or a clear error, never anything else.

Feeds (mutated fixture feeds and generated RSS/Atom), page exports and Markdown posts
with front matter, each run through ``fuzz_support.outcome`` within a time and heap
budget. The values include those issue 14 found gathers stopping on.
"""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from newsletter.post import Post
from newsletter.sources.contract import PostFile, SourceResult
from newsletter.sources.dates import BERLIN
from newsletter.sources.feed import parse_feed
from newsletter.sources.markdown_post import read_markdown_post
from newsletter.sources.page_export import read_page_export

from .fuzz_support import Budget, outcome
from .test_gather_support import FEEDS, SITE_URL

pytestmark = pytest.mark.fuzz

BUDGET = Budget(seconds=3.0, megabytes=60.0)
SINCE = datetime(2026, 11, 1, tzinfo=BERLIN)
FIXTURE_FEEDS = [path.read_bytes() for path in sorted(FEEDS.glob("*.xml"))]

# What broke gathers before (issue 14) and what parsers tend to choke on.
HOSTILE = [
    "http://[::1",
    "http://[::1]x/",
    "http://exa mple.org/",
    "https://a:99999/",
    "https://ex\x00ample.org/",
    "javascript:alert(1)",
    "//evil.example.net/x",
    "Mon, 16 Nov 2026 10:00:00 +999999999999999999",
    "Fri, 31 Dec 9999 23:59:59 -2359",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "2026-11-16 10:00:00 +99:00",
    "32.13.2026",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "]]>",
    "&#0;",
    "&amp;&lt;",
    "*a",
    "&a",
    "[[token]]",
    "\ufeff",
    "\u202e",
    "",
]
values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60))
when = st.sampled_from([None, SINCE])


def is_result(value: object, kind: type) -> bool:
    from newsletter.errors import NewsletterError

    return isinstance(value, kind | NewsletterError)


# --- feeds ---------------------------------------------------------------------------

PIECES = [
    b"\x00",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"&#0;",
    b"<",
    b"]]>",
    b"<![CDATA[",
    b'encoding="utf-16"',
    b'encoding="u\xfftf-8"',
    b"<!DOCTYPE x [<!ENTITY a 'b'>]>",
    b"&a;",
    b"\xc3",
    b'xml:base="http://[::1"',
    b"http://[::1",
    b"+999999999999999999",
    b"</item><item>",
]
mutation = st.tuples(
    st.floats(min_value=0, max_value=1),
    st.sampled_from(["insert", "delete", "replace"]),
    st.one_of(st.sampled_from(PIECES), st.binary(min_size=1, max_size=8)),
)


def mutate(data: bytes, mutations: list[tuple[float, str, bytes]]) -> bytes:
    buffer = bytearray(data)
    for where, how, piece in mutations:
        at = int(where * len(buffer))
        if how == "insert":
            buffer[at:at] = piece
        elif how == "delete":
            del buffer[at : at + len(piece) * 8]
        else:
            buffer[at : at + len(piece)] = piece
    return bytes(buffer)


@given(st.sampled_from(FIXTURE_FEEDS), st.lists(mutation, min_size=1, max_size=6), when)
def test_mutated_fixture_feeds(
    feed: bytes, mutations: list[tuple[float, str, bytes]], since: datetime | None
) -> None:
    data = mutate(feed, mutations)
    result = outcome(
        lambda: parse_feed(data, "fuzz", feed_url=None, site_url=SITE_URL, since=since), BUDGET
    )
    assert is_result(result, SourceResult)


@st.composite
def entries(draw: st.DrawFn, atom: bool) -> str:
    raw = draw(st.booleans())  # unescaped: the XML may break, which is part of the game

    def text(value: str) -> str:
        return value if raw else escape(value)

    title, link, date, body = (draw(values) for _ in range(4))
    base, image = draw(values), draw(values)
    extra = "".join(f' a{n}="x"' for n in range(draw(st.integers(0, 150))))
    categories = "".join(f"<category>{text(draw(values))}</category>" for _ in range(2))
    if atom:
        return (
            f"<entry{extra}><title type='html'>{text(title)}</title>"
            f"<link href={quoteattr(link)}/><published>{text(date)}</published>"
            f"<content type='html' xml:base={quoteattr(base)}>{text(body)}</content>"
            f"<link rel='enclosure' type='image/jpeg' href={quoteattr(image)}/></entry>"
        )
    return (
        f"<item{extra}><title>{text(title)}</title><link>{text(link)}</link>"
        f"<pubDate>{text(date)}</pubDate>{categories}"
        f"<description xml:base={quoteattr(base)}>{text(body)}</description>"
        f"<enclosure url={quoteattr(image)} type='image/jpeg' length='1'/></item>"
    )


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    atom = draw(st.booleans())
    items = "".join(draw(st.lists(entries(atom), max_size=4)))
    link = escape(draw(values))
    if atom:
        document = (
            f"<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title>"
            f"<link href={quoteattr(link)}/>{items}</feed>"
        )
    else:
        document = f"<rss version='2.0'><channel><title>t</title><link>{link}</link>{items}</channel></rss>"
    return b'<?xml version="1.0" encoding="utf-8"?>' + document.encode("utf-8", "surrogatepass")


@given(feeds(), when)
@example(
    b"<rss version='2.0'><channel><item><title>a</title>"
    b"<pubDate>Mon, 16 Nov 2026 10:00:00 +999999999999999999</pubDate>"
    b"<link>http://[::1</link></item></channel></rss>",
    SINCE,
)
def test_generated_feeds(data: bytes, since: datetime | None) -> None:
    result = outcome(
        lambda: parse_feed(data, "fuzz", feed_url=None, site_url=SITE_URL, since=since), BUDGET
    )
    assert is_result(result, SourceResult)


# --- page exports --------------------------------------------------------------------

PAGE_LINES = [
    "BÜNDNIS 90/DIE GRÜNEN",
    "Neue Bänke für den Weiherpark",
    "https://www.example.org/aktuelles/baenke",
    "http://[::1",
    "12.11.26 – Der Stadtrat hat beschlossen.",
    "31.02.26 – Kein Tag.",
    "99.99.9999 –",
    "Auf dem Bild: der Park",
    "https://www.example.org/bild.jpg",
    "http://[::1/bild.jpg",
    "Kategorie",
    "Umwelt | Stadtrat",
    "Wir sind für Sie da!",
    "name@remove-this.example.org",
    "",
]


@given(st.lists(st.one_of(st.sampled_from(PAGE_LINES), values), max_size=30), when)
def test_page_exports(lines: list[str], since: datetime | None) -> None:
    file = PostFile("posts/seite.txt", "\n".join(lines), SITE_URL, "posts", since)
    assert is_result(outcome(lambda: read_page_export(file), BUDGET), Post)


# --- Markdown posts ------------------------------------------------------------------

FIELDS = ["title", "date", "url", "image", "categories", "summary", "id", "image.url"]
YAML_VALUES = [
    "[Verkehr, Stadtrat]",
    "{url: http://[::1, alt: x}",
    "&a [1, 2]",
    "*a",
    "2026-11-16",
    "2026-11-16 10:00:00 +99:00",
    "9999-12-31T23:59:59-23:59",
    "!!python/object/apply:os.system [echo]",
    "|\n  block",
    "'unclosed",
    "- list",
    "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]",
]
BODIES = [
    "Text mit **fett** und [Link](http://[::1).",
    "![Bild](http://[::1)",
    "<script>alert(1)</script>",
    "> " * 200 + "tief",
    "*" * 500,
    "[" * 500 + "x" + "]" * 500,
    "[a]: http://[::1\n\n[a]",
]


@st.composite
def markdown_posts(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        key = draw(st.sampled_from(FIELDS))
        value = draw(st.one_of(st.sampled_from(YAML_VALUES), values))
        lines.append(f"{key}: {value}" if draw(st.booleans()) else f'{key}: "{value}"')
    fence = draw(st.sampled_from(["---", "---", "--", ""]))
    body = draw(st.one_of(st.sampled_from(BODIES), st.text(max_size=200)))
    return "\n".join([fence, *lines, "---", body])


@given(markdown_posts(), when)
@example(
    "---\ntitle: x\ndate: 2020-01-01\na: &a [x, x, x, x, x, x, x, x, x]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
    "categories: *g\n---\nText",
    SINCE,
)
def test_markdown_posts(text: str, since: datetime | None) -> None:
    file = PostFile("posts/p.md", text, SITE_URL, "posts", since)
    assert is_result(outcome(lambda: read_markdown_post(file), BUDGET), Post)
