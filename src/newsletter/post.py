"""The one record every source turns its entries into."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Image:
    """A post's picture. ``url`` may be empty: a page export names a photo's caption
    but not the picture itself; then there is nothing to show until staff add a url."""

    url: str
    alt: str = ""
    caption: str = ""


@dataclass(frozen=True)
class Post:
    """A post from the website, as gather found it and staff may have edited it.

    ``url`` is absolute or empty: a page export that names no address keeps it empty,
    because an invented link is worse than none. ``date`` is timezone-aware or None
    (undated entries are skipped unless asked for). ``body`` is sanitised HTML; it is
    not kept in issue.md, which holds only what the email shows.
    """

    id: str
    title: str
    url: str
    date: datetime | None
    summary: str
    body: str = ""
    image: Image | None = None
    categories: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""
