"""The reader contract every source implements: a feed, a folder of posts, ...

A source reads everything it has and reports what it could not read as warnings;
only a source that cannot be read at all (an unreachable feed, a missing folder)
raises a SourceError. Choosing which posts go into an issue is gather's job.

``collect(since)``: posts dated before ``since`` come back as outlines only (id, title,
url, date, categories; no body, no summary). Gather lists them as too old, and the
expensive part (Markdown, sanitising, summaries) is spent only on posts it may take:
years of posts in a folder and a 5 MB feed read in a fraction of the time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from newsletter.post import Post


@dataclass(frozen=True)
class SourceResult:
    label: str
    posts: tuple[Post, ...]
    warnings: tuple[str, ...] = ()


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
