"""The SAX driver feedparser reads feeds with: stdlib expat, buffered, skipping old bodies.

1. Plain expat reports the text of ``<description>&lt;p&gt;...`` in one piece per entity,
   and feedparser's handler costs microseconds per piece: hundreds of thousands of them on
   a 5 MB feed. Buffered, a text node arrives in one piece and parsing takes half the time.
2. Most of a big feed is the bodies of old items, which a gather lists but never shows;
   feedparser's work on a body's text (joining, entities, a character-by-character repair
   table) is most of its time. Inside ``skipping_old_bodies(since)``, an item whose
   publication date, read before its body, is older than ``since`` reaches feedparser
   without the text of its description, content or summary. ``SkippedBodies`` says which
   entries those were, so the caller can check that each is indeed old and otherwise
   parse again in full: the skipping only ever saves time.

3. A limit on structure: feedparser's handler takes time quadratic in an element's
   attributes (0.34 MB with 32,000 of them on one item: 21 s). An element with more than
   ``MAX_ATTRIBUTES`` ends the parse with ``TooManyAttributes``, which feedparser does not
   catch (it is no SAXException), so it does not retry with its loose parser either.

feedparser picks drivers by module name from ``PREFERRED_XML_PARSERS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any
from xml.sax.expatreader import AttributesNSImpl, ExpatParser

from newsletter.sources.dates import parse_date

_BUFFER = 1 << 16
# Real feeds have at most a handful per element (Atom links: rel, type, href, title, length).
MAX_ATTRIBUTES = 100


class TooManyAttributes(Exception):  # noqa: N818 (a limit reached, not a failure)
    def __init__(self, line: int, count: int) -> None:
        super().__init__(f"an element at line {line} has {count:,} attributes")
        self.line = line
        self.count = count


@dataclass
class SkippedBodies:
    since: datetime
    items: int = 0  # items and entries started, to match against feedparser's entries
    entries: set[int] = field(default_factory=set)  # their indexes whose bodies were skipped


_SKIPPING: ContextVar[SkippedBodies | None] = ContextVar("skipping_old_bodies", default=None)


@contextmanager
def skipping_old_bodies(since: datetime) -> Iterator[SkippedBodies]:
    skipped = SkippedBodies(since)
    token = _SKIPPING.set(skipped)
    try:
        yield skipped
    finally:
        _SKIPPING.reset(token)


# By local name, whatever the namespace: RSS <item>, Atom <entry>; RSS <pubDate>, Atom
# <published>; RSS <description>, <content:encoded>, Atom <content> and <summary>.
class _Kind(Enum):
    ITEM = 1
    PUBLISHED = 2
    BODY = 3
    OTHER = 4


_KINDS = {
    **dict.fromkeys(("item", "entry"), _Kind.ITEM),
    **dict.fromkeys(("pubDate", "published"), _Kind.PUBLISHED),
    **dict.fromkeys(("description", "encoded", "content", "summary"), _Kind.BODY),
}


@dataclass(frozen=True)
class _Name:
    kind: _Kind
    pair: tuple[str | None, str]  # (namespace, local name), as SAX handlers take it


def _name(expat_name: str) -> _Name:
    # expat with namespaces gives "uri local prefix", "uri local" or "local".
    parts = expat_name.split(" ", 2)
    uri, local = (parts[0], parts[1]) if len(parts) > 1 else (None, parts[0])
    return _Name(_KINDS.get(local, _Kind.OTHER), (uri, local))


# Shared by every element without attributes, the most of a feed: feedparser only reads it.
_NO_ATTRIBUTES = AttributesNSImpl({}, {})


class _OldBodyFilter:
    """Sits between expat and the SAX handler; passes every event but old bodies' text.

    It also does the SAX reader's work for elements without attributes, from names it
    has split once: a feed repeats a few dozen names thousands of times.
    """

    def __init__(self, skipped: SkippedBodies, reader: ExpatParser, parser: Any) -> None:
        self.skipped = skipped
        handler = reader.getContentHandler()
        self.start_with_attributes = reader.start_element_ns
        self.start_element = handler.startElementNS
        self.end_element = handler.endElementNS
        self.characters = parser.CharacterDataHandler
        self.in_item = False
        self.old = False  # the current item was published before ``since``
        self.date: list[str] | None = None  # the text of a publication date being read
        self.depth_in_skipped = 0
        self.names: dict[str, _Name] = {}
        self.parser = parser
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.text

    def start(self, expat_name: str, attributes: dict[str, str]) -> None:
        if len(attributes) > MAX_ATTRIBUTES:
            raise TooManyAttributes(self.parser.CurrentLineNumber, len(attributes))
        name = self.names.get(expat_name) or self.names.setdefault(expat_name, _name(expat_name))
        if self.depth_in_skipped:
            self.depth_in_skipped += 1
        elif name.kind is _Kind.ITEM:
            self.skipped.items += 1
            self.in_item = True
        elif self.old and name.kind is _Kind.BODY:
            self.depth_in_skipped = 1
            self.skipped.entries.add(self.skipped.items - 1)
        elif self.in_item and name.kind is _Kind.PUBLISHED:
            self.date = []
        if attributes:
            self.start_with_attributes(expat_name, attributes)
        else:
            self.start_element(name.pair, None, _NO_ATTRIBUTES)

    def end(self, expat_name: str) -> None:
        name = self.names[expat_name]
        if self.depth_in_skipped:
            self.depth_in_skipped -= 1
        elif self.date is not None:
            published = parse_date("".join(self.date))
            self.old = published is not None and published < self.skipped.since
            self.date = None
        elif name.kind is _Kind.ITEM:
            self.in_item = self.old = False
        self.end_element(name.pair, None)

    def text(self, data: str) -> None:
        if self.date is not None:
            self.date.append(data)
        if not self.depth_in_skipped:
            self.characters(data)


class BufferedExpatParser(ExpatParser):
    def reset(self) -> None:
        super().reset()
        parser: Any = getattr(self, "_parser")  # noqa: B009 (typeshed does not declare it)
        parser.buffer_text = True
        parser.buffer_size = _BUFFER
        skipped = _SKIPPING.get()
        if skipped is not None and getattr(self, "_namespaces", False):
            _OldBodyFilter(skipped, self, parser)
        else:
            parser.StartElementHandler = _limited(parser.StartElementHandler, parser)


def _limited(start: Any, parser: Any) -> Any:
    def checked(name: str, attributes: Any) -> None:
        if len(attributes) > MAX_ATTRIBUTES:
            raise TooManyAttributes(parser.CurrentLineNumber, len(attributes))
        start(name, attributes)

    return checked


def create_parser(*args: Any, **kwargs: Any) -> BufferedExpatParser:
    return BufferedExpatParser(*args, **kwargs)
