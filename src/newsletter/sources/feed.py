"""RSS 0.9x/1.0/2.0 and Atom feeds, from an address or a file, into posts.

feedparser only parses (from bytes, its own sanitising and link resolution off: they
take seconds on a big feed and we do both better in one nh3 pass). Relative addresses
are resolved against xml:base, else the feed's own link, else the feed's address,
else the site's address. A feed that is not well-formed is read as far as possible,
with a warning; something that is no feed at all is a SourceError.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from newsletter.errors import SourceError
from newsletter.post import Image, Post
from newsletter.settings import SourceSettings
from newsletter.sources.contract import POST_FAILURES, SourceResult, Unreadable, read_post
from newsletter.sources.dates import from_utc_tuple, parse_date
from newsletter.sources.feedparser_tuning import tune
from newsletter.sources.fetch import FetchLimits, fetch
from newsletter.sources.sanitise import (
    first_image,
    is_web_url,
    join_url,
    plain_text,
    sanitise_html,
)
from newsletter.sources.sax_driver import (
    MAX_ATTRIBUTES,
    SkippedBodies,
    TooManyAttributes,
    skipping_old_bodies,
)
from newsletter.sources.summary import summarise, summarise_html

# A post body longer than this is cut (with a warning): a newsletter shows a teaser,
# and one runaway entry must not make the whole gather slow.
MAX_ENTRY_CHARS = 200_000
_UNTITLED_WORDS = 8
_HTML_PAGE = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S
)
_EXPAT_POSITION = re.compile(r"^<unknown>:(\d+):(\d+): (.*)$")
_NOT_A_FEED_HINT = "use the address of the feed itself (it often ends in /feed or rss.xml)"


@dataclass(frozen=True)
class FeedSource:
    settings: SourceSettings
    label: str
    site_url: str
    cache_dir: Path
    limits: FetchLimits

    def collect(self, since: datetime | None = None) -> SourceResult:
        url = self.settings.url
        if url is not None:
            data = fetch(url, self.label, self.cache_dir, self.limits).data
        else:
            assert self.settings.path is not None
            data = read_feed_file(self.settings.path, self.label, self.limits.max_bytes)
        return parse_feed(data, self.label, feed_url=url, site_url=self.site_url, since=since)


def read_feed_file(path: Path, label: str, max_bytes: int) -> bytes:
    where = f'feed "{label}"'
    fix = 'check "path" of this source in newsletter.toml'
    try:
        if path.stat().st_size > max_bytes:
            most = f"{max_bytes // 1024 // 1024} MB"
            raise SourceError(
                f"{where}: {path} is larger than {most}",
                key="feed_file_too_large",
                params={"label": label, "path": path, "most": most},
            )
        return path.read_bytes()
    except FileNotFoundError:
        raise SourceError(
            f"{where}: file {path} not found",
            fix,
            key="feed_file_missing",
            params={"label": label, "path": path},
        ) from None
    except IsADirectoryError:
        raise SourceError(
            f"{where}: {path} is a folder, not a feed file",
            fix,
            key="feed_file_is_folder",
            params={"label": label, "path": path},
        ) from None
    except OSError as error:
        raise SourceError(
            f"{where}: cannot read {path} ({error.strerror})",
            fix,
            key="feed_file_unreadable",
            params={"label": label, "path": path, "reason": error.strerror},
        ) from None


def _feedparser_parse(data: bytes, since: datetime | None = None) -> Any:
    """feedparser's result; with ``since``, old entries may come without their bodies."""
    import feedparser.api
    import feedparser.mixin

    tune(feedparser.api, feedparser.mixin)
    # BytesIO: feedparser would treat a bytes string that looks like an address as one.
    source = io.BytesIO(data)
    options: dict[str, Any] = {"sanitize_html": False, "resolve_relative_uris": False}
    if since is None:
        return feedparser.parse(source, **options)
    with skipping_old_bodies(since) as skipped:
        parsed = feedparser.parse(source, **options)
    if skipped.entries and not _all_older(parsed.entries, skipped):
        # An entry whose body was left out is not old after all (a second date, say).
        return _feedparser_parse(data)
    return parsed


def _all_older(entries: list[Any], skipped: SkippedBodies) -> bool:
    if skipped.items != len(entries):
        return False
    dates = (_entry_date(entries[index]) for index in skipped.entries)
    return all(date is not None and date < skipped.since for date in dates)


def parse_feed(
    data: bytes,
    label: str,
    *,
    feed_url: str | None,
    site_url: str,
    since: datetime | None = None,
) -> SourceResult:
    where = f'feed "{label}"'
    if _HTML_PAGE.match(data[:4096]):
        raise SourceError(
            f"{where} is a web page, not an RSS or Atom feed",
            _NOT_A_FEED_HINT,
            key="feed_is_web_page",
            params={"label": label},
        )
    try:
        parsed = _feedparser_parse(data, since)
    except TooManyAttributes as error:
        raise SourceError(
            f"{where} is too complex to read: {error} (a news feed needs a handful, the limit "
            f"is {MAX_ATTRIBUTES})",
            "the feed is broken or hostile: check the address or tell the website's maintainers",
            key="feed_too_complex",
            params={"label": label, "line": error.line, "count": error.count},
        ) from None
    # feedparser's own failures on broken input: an encoding declared in bytes no codec
    # takes (UnicodeDecodeError), an unknown codec (LookupError), ...
    except (LookupError, *POST_FAILURES) as error:
        raise SourceError(
            f"{where} cannot be read ({type(error).__name__}: {error})",
            "the feed is broken: tell the website's maintainers",
            key="feed_broken",
            params={"label": label, "reason": f"{type(error).__name__}: {error}"},
        ) from None
    if not parsed.get("version") and not parsed.entries:
        raise SourceError(
            f"{where} is not an RSS or Atom feed",
            _NOT_A_FEED_HINT,
            key="feed_not_a_feed",
            params={"label": label},
        )
    warnings: list[str] = []
    if parsed.get("bozo"):
        warnings.append(
            f"the feed is not well-formed XML ({_describe_bozo(parsed.get('bozo_exception'))}); "
            f"read {len(parsed.entries)} entries as far as possible"
        )
    root = feed_url or site_url
    channel_link = parsed.feed.get("link") or ""
    channel = join_url(root, channel_link) if channel_link else root
    context = _EntryContext(channel, label, since)
    posts, unreadable = [], []
    for number, entry in enumerate(parsed.entries, start=1):
        title = plain_text(str(entry.get("title") or ""))
        read = partial(_entry_post, entry, title, context, warnings, number)
        post = read_post(_entry_name(title, number), read)
        if isinstance(post, Unreadable):
            unreadable.append(post)
        elif post is not None:
            posts.append(post)
    return SourceResult(
        label=label, posts=tuple(posts), warnings=tuple(warnings), unreadable=tuple(unreadable)
    )


def _entry_name(title: str, number: int) -> str:
    return f'entry "{title}"' if title else f"entry #{number}"


def _describe_bozo(error: object) -> str:
    match = _EXPAT_POSITION.match(str(error))
    if match:
        # expat says "not well-formed (invalid token)"; the warning says the first part itself.
        problem = match.group(3).removeprefix("not well-formed").strip(" ()")
        return f"{problem} at line {match.group(1)}, column {match.group(2)}"
    return str(error) or type(error).__name__


def _detail_html(detail: Any) -> str:
    value = str(detail.get("value") or "")
    if "html" in str(detail.get("type") or "text/html"):
        return value
    return f"<p>{html.escape(value)}</p>"


@dataclass(frozen=True)
class _EntryContext:
    channel: str  # where relative addresses go when no xml:base says otherwise
    label: str
    since: datetime | None


def _entry_post(
    entry: Any, title: str, context: _EntryContext, warnings: list[str], number: int
) -> Post | None:
    link = join_url(context.channel, str(entry.get("link") or ""))
    url = link if is_web_url(link) else ""
    date = _entry_date(entry)
    known_as = str(entry.get("id") or url)
    named = _entry_name(title, number)
    if date is not None and context.since and date < context.since:
        # Too old to show: its body may not even have been parsed (see sax_driver.py).
        title = title or named
        return Post(
            known_as or _content_id(title, ""),
            title,
            url,
            date,
            "",
            categories=_categories(entry),
            source=context.label,
        )
    content = entry.get("content") or []
    main = content[0] if content else entry.get("summary_detail") or {}
    base = join_url(context.channel, main.get("base") or "")
    raw_body = _detail_html(main)
    if len(raw_body) > MAX_ENTRY_CHARS:
        warnings.append(
            f"{named} is very large ({len(raw_body) // 1000:,} thousand characters); "
            f"only its first {MAX_ENTRY_CHARS // 1000:,} thousand were kept"
        )
        raw_body = raw_body[:MAX_ENTRY_CHARS]
    body = sanitise_html(raw_body, base)
    has_own_summary = bool(content) and entry.get("summary_detail")
    summary = summarise_html(_detail_html(entry.summary_detail) if has_own_summary else body)
    if not title:
        if not summary:
            warnings.append(f"{named} has neither a title nor a text; left out")
            return None
        title = summarise(summary, _UNTITLED_WORDS)
        warnings.append(f'{named} has no title; it was named "{title}"')
    return Post(
        id=known_as or _content_id(title, summary),
        title=title,
        url=url,
        date=date,
        summary=summary,
        body=body,
        image=_image(entry, base, body),
        categories=_categories(entry),
        source=context.label,
    )


def _content_id(title: str, text: str) -> str:
    # An entry with neither id nor link is known by what it says.
    return "sha256:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()[:24]


def _entry_date(entry: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        # dict.get: the entry's own fields, without feedparser's deprecated stand-in of
        # "published" for a missing "updated" (the same date again, and a warning).
        raw = dict.get(entry, key)
        if raw:
            # Our own parsing keeps the offset; feedparser's fallback knows odd formats.
            parsed = tuple(dict.get(entry, f"{key}_parsed") or ())
            date = parse_date(str(raw)) or from_utc_tuple(parsed)
            if date is not None:
                return date
    return None


def _image(entry: Any, base: str, body: str) -> Image | None:
    candidates = [
        str(media.get("url") or "")
        for media in [*entry.get("media_content", []), *entry.get("media_thumbnail", [])]
        if media.get("medium", "image") == "image"
        and str(media.get("type", "image/")).startswith("image/")
    ]
    candidates += [
        str(link.get("href") or "")
        for link in entry.get("links", [])
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/")
    ]
    alt = ""
    in_body = first_image(body)
    if in_body is not None:
        candidates.append(in_body[0])
        alt = in_body[1]
    for candidate in candidates:
        url = join_url(base, candidate.strip())
        if candidate and is_web_url(url):
            return Image(url=url, alt=alt if in_body and url == in_body[0] else "")
    return None


def _categories(entry: Any) -> tuple[str, ...]:
    names = (
        plain_text(str(tag.get("term") or tag.get("label") or "")) for tag in entry.get("tags", [])
    )
    return tuple(dict.fromkeys(name for name in names if name))
