"""The reader contract every source implements: a feed, a folder of posts, ...

A source reads everything it has. A post it cannot read (a broken front matter, an
address no parser takes, a date out of range) is left out and listed as ``Unreadable``
with the reason; the other posts still come in. Other trouble is a warning, and only a
source that cannot be read at all (an unreachable feed, a missing folder, a feed too
complex to parse) raises a SourceError. Choosing which posts go into an issue is gather's
job.

``collect(since)``: posts dated before ``since`` come back as outlines only (id, title,
url, date, categories; no body, no summary). Gather lists them as too old, and the
expensive part (Markdown, sanitising, summaries) is spent only on posts it may take:
years of posts in a folder and a 5 MB feed read in a fraction of the time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from newsletter.errors import SourceError
from newsletter.post import Post

# What the standard library's and the parsers' functions raise on a value no one foresaw
# (``http://[::1`` to urlsplit, an offset of a billion hours, a base nh3 rejects): the
# post's data is at fault, never the program, so the post is left out, not the gather.
POST_FAILURES = (ValueError, OverflowError, RecursionError)


@dataclass(frozen=True)
class Unreadable:
    """A post that was left out: ``name`` is its file or entry, ``reason`` what is wrong."""

    name: str
    reason: str


@dataclass(frozen=True)
class SourceResult:
    label: str
    posts: tuple[Post, ...]
    warnings: tuple[str, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()


def read_post(name: str, read: Callable[[], Post | None]) -> Post | Unreadable | None:
    """One post through its reader; what makes it unreadable is said, never raised."""
    try:
        return read()
    except SourceError as error:
        return Unreadable(name, str(error).removeprefix(f"{name}: "))
    except POST_FAILURES as error:
        return Unreadable(name, f"cannot be read ({type(error).__name__}: {error})")


class Source(Protocol):
    @property
    def label(self) -> str:
        """How tables and messages name this source."""
        ...

    def collect(self, since: datetime | None = None) -> SourceResult: ...


@dataclass(frozen=True)
class PostFile:
    """One file of a folder source, handed to the reader for its format.

    A reader returns a Post or raises a SourceError naming what is wrong; the folder
    turns that into a warning and goes on with the next file.
    """

    name: str  # "posts/2026-11-02-radweg.md": for messages, and the id of a post without url
    text: str
    site_url: str
    source: str
    since: datetime | None = None  # older posts: an outline is enough (see Source.collect)

    def is_old(self, date: datetime | None) -> bool:
        return date is not None and self.since is not None and date < self.since


class PostFileReader(Protocol):
    def __call__(self, file: PostFile) -> Post: ...
