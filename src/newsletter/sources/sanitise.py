"""Making HTML from outside safe for an email, and turning it into plain text.

Everything a source delivers passes through here: feeds, Markdown bodies, page exports.
Only a small set of tags survives; scripts, iframes, event handlers, ``javascript:``
links and every ``style`` attribute (positioning, fixed widths) are removed, and
relative links and images are made absolute against the base the caller gives.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import nh3

ALLOWED_TAGS = frozenset(
    {"p", "a", "b", "strong", "i", "em", "ul", "ol", "li", "br", "h2", "h3", "h4", "img"}
)
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
# Removed with everything inside: their content is code or a fallback, never text to show.
_DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template"}
_URL_SCHEMES = {"http", "https", "mailto"}
# Websites hide addresses from spam robots as name@remove-this.domain.
_SPAM_GUARD = "@remove-this."
# Where one block ends and the next begins, so their words do not run together as text.
_BLOCK_BOUNDARY = re.compile(
    r"<(?:br|/?(?:p|div|li|ul|ol|h[1-6]|tr|td|th|blockquote|figure|figcaption|section))\b[^>]*>",
    re.IGNORECASE,
)
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r'\b(src|alt)="([^"]*)"')


def undo_spam_guard(text: str) -> str:
    return text.replace(_SPAM_GUARD, "@")


def is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except ValueError:  # "http://[::1" and other addresses urlsplit cannot take apart
        return False
    # A space or control character in the host makes a link no mail program follows.
    clean_host = not any(char.isspace() or char < " " or char == "\x7f" for char in parts.netloc)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and clean_host


def join_url(base: str, link: str) -> str:
    """``link`` made absolute against ``base``, and never an exception for either.

    Whether the result is a web address is is_web_url's to say.
    """
    try:
        return urljoin(base, link)
    except ValueError:
        # A broken base leaves an absolute link usable; a broken link is none.
        return link if is_web_url(link) else ""


@lru_cache(maxsize=64)
def _cleaner(base: str) -> nh3.Cleaner:
    # One cleaner per base: a feed has one or a few, so building them is no cost.
    def cleaner(relative: nh3.UrlRelative) -> nh3.Cleaner:
        return nh3.Cleaner(
            tags=set(ALLOWED_TAGS),
            clean_content_tags=_DROPPED_WITH_CONTENT,
            attributes=_ATTRIBUTES,
            url_schemes=_URL_SCHEMES,
            url_relative=relative,
        )

    if not is_web_url(base):
        return cleaner("deny")
    try:
        return cleaner(("rewrite_with_base", base))
    except ValueError:
        # nh3 checks hosts more strictly than urlsplit (IDNA, control characters): a base
        # it rejects resolves nothing, so relative links go, as they do without a base.
        return cleaner("deny")


def sanitise_html(fragment: str, base: str) -> str:
    """Safe HTML with absolute links; ``base`` is what relative addresses are resolved to."""
    return undo_spam_guard(_cleaner(base).clean(fragment)).strip()


def plain_text(fragment: str) -> str:
    """The words of an HTML fragment (or of a title with tags in it), whitespace collapsed."""
    if "<" in fragment:
        fragment = nh3.clean(
            _BLOCK_BOUNDARY.sub(" ", fragment), tags=set(), clean_content_tags=_DROPPED_WITH_CONTENT
        )
    if "&" in fragment:
        fragment = html.unescape(fragment)
    return " ".join(undo_spam_guard(fragment).split())


def first_image(safe_html: str) -> tuple[str, str] | None:
    """(src, alt) of the first image in already sanitised HTML."""
    match = _IMG.search(safe_html)
    if not match:
        return None
    attributes = dict(_ATTR.findall(match.group(0)))
    src = html.unescape(attributes.get("src", ""))
    return (src, html.unescape(attributes.get("alt", ""))) if src else None
