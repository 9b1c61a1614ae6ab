"""What ``render`` warns about in a finished email: things that make it clip, look
broken, leak readers' data to third parties, or land in spam.

The email is checked as mail apps get it (the finished HTML), and each finding is
traced back to where staff can fix it (``Origins``): a post in issue.md, the
editorial, a key in newsletter.toml, or the templates. One warning per problem and
place, however often the email repeats the address (a post links its title, its
image and "Weiterlesen"); posts of one source with the same problem share one
warning, since the fix is the same (ask the site that gives the feed).
"""

from __future__ import annotations

import binascii
import html
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from newsletter.issue import Issue
    from newsletter.post import Post
    from newsletter.settings import Settings

# Gmail cuts off ("clips") an email whose HTML is larger than this, and with it the
# footer the law requires. render warns with a margin: the greeting and unsubscribe
# link filled in per member, and Gmail's own counting, add a little.
GMAIL_CLIP_BYTES = 102 * 1024
CLIP_WARNING_BYTES = 90 * 1024
MAX_SUBJECT_CHARS = 78
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)""", re.IGNORECASE)
# Links that are fine without https: mail, phone, in-page anchors.
_OTHER_SCHEMES = ("mailto:", "tel:", "#")
_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)(\s[^>]*)?>")
_ATTRIBUTE = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_STYLE_TAG = re.compile(r"<style\b[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)
_LOADING_TAGS = frozenset({"img", "source", "video", "audio", "iframe", "embed", "input"})


class WarningKind(StrEnum):
    SIZE = "size"
    IMAGE_ALT = "image-alt"
    IMAGE_WIDTH = "image-width"
    INSECURE_LINK = "insecure-link"
    SUBJECT = "subject"
    PREHEADER = "preheader"
    THIRD_PARTY = "third-party"


@dataclass(frozen=True)
class RenderWarning:
    kind: WarningKind
    place: str  # where to fix it: "post 3", "the editorial", "newsletter.toml", ...
    problem: str
    fix: str  # what to do, in words
    # For a front end's own wording (errors.py says how): a stable name and the values.
    key: str = ""
    params: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.place}: {self.problem}; {self.fix}"


# The [newsletter] keys whose addresses the templates put into the email.
_SETTING_KEYS = ("site_url", "logo_url", "impressum_url", "privacy_url")


@dataclass(frozen=True)
class Origins:
    """Where the email's addresses come from, so that a warning can say where to fix it."""

    own_hosts: frozenset[str]
    posts: tuple[Post, ...] = ()
    feeds: tuple[tuple[str, str], ...] = ()  # (label, host) of feed sources; post.source
    editorial: str = ""
    settings: tuple[tuple[str, str], ...] = ()  # (key, address) from [newsletter]
    web_url: str = ""

    @classmethod
    def of(cls, issue: Issue, settings: Settings) -> Origins:
        from newsletter.settings import SourceType

        newsletter = settings.newsletter
        values = ((key, getattr(newsletter, key)) for key in _SETTING_KEYS)
        return cls(
            own_hosts=settings.own_hosts,
            posts=issue.posts,
            feeds=tuple(
                (s.label, (urlsplit(s.url).hostname or "").lower() if s.url else "")
                for s in settings.sources
                if s.type is SourceType.FEED
            ),
            editorial=issue.editorial,
            settings=tuple((key, value) for key, value in values if value),
            web_url=newsletter.web_url,
        )


@dataclass(frozen=True)
class _Post:
    number: int
    post: Post


@dataclass(frozen=True)
class _Other:
    place: str  # "the editorial", "the templates", or a newsletter.toml key


_Origin = _Post | _Other
_EDITORIAL = _Other("the editorial")
_TEMPLATES = _Other("the templates")


def _origin(url: str, image: bool, origins: Origins) -> _Origin:
    for number, post in enumerate(origins.posts, start=1):
        if image and post.image is not None and url == post.image.url:
            return _Post(number, post)
        if not image and url == post.url:
            return _Post(number, post)
    if url and url in origins.editorial:
        return _EDITORIAL
    for key, value in origins.settings:
        if url == value:
            return _Other(key)
    if origins.web_url and url.startswith(origins.web_url):
        return _Other("web_url")
    return _TEMPLATES


def check_email(
    document: str, subject: str, preheader: str, origins: Origins
) -> tuple[RenderWarning, ...]:
    """The warnings for one rendered email."""
    return (
        *_check_subject(subject, preheader),
        *_check_size(document),
        *_check_document(document, origins),
    )


def _check_subject(subject: str, preheader: str) -> Iterator[RenderWarning]:
    if not subject.strip():
        yield RenderWarning(
            WarningKind.SUBJECT,
            "issue.md",
            "the subject is empty",
            "write one after subject:",
            key="warning_no_subject",
        )
    elif len(subject) > MAX_SUBJECT_CHARS:
        yield RenderWarning(
            WarningKind.SUBJECT,
            "issue.md",
            f"the subject has {len(subject)} characters; mail apps cut it after about "
            f"{MAX_SUBJECT_CHARS}",
            "shorten it (subject:)",
            key="warning_long_subject",
            params=(("length", str(len(subject))), ("most", str(MAX_SUBJECT_CHARS))),
        )
    if not preheader.strip():
        yield RenderWarning(
            WarningKind.PREHEADER,
            "issue.md",
            "no preheader (the line mail apps show after the subject)",
            "write one after preheader:",
            key="warning_no_preheader",
        )


def encoded_size(document: str) -> int:
    """The HTML's size as it travels: UTF-8, quoted-printable as messages/compose.py
    sends it (an "ä" takes 6 bytes there, not 2), with CRLF line ends."""
    encoded = binascii.b2a_qp(document.encode("utf-8"))
    return len(encoded) + encoded.count(b"\n")


def _check_size(document: str) -> Iterator[RenderWarning]:
    size = encoded_size(document)
    if size > CLIP_WARNING_BYTES:
        yield RenderWarning(
            WarningKind.SIZE,
            "the email",
            f"the HTML is {size / 1024:.0f} KB as sent; Gmail clips emails over 102 KB "
            "(and with them the footer with the unsubscribe link)",
            "fewer posts or shorter summaries help",
            key="warning_size",
            params=(("size", f"{size / 1024:.0f}"),),
        )


@dataclass
class _Found:
    images: list[dict[str, str]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)


def _collect(document: str) -> _Found:
    """Images, links, and whatever a mail app loads by itself.

    Regular expressions rather than an HTML parser: the input is premailer's serialised
    output (quoted attributes, no stray "<"), and html.parser took a third of the
    render time.
    """
    found = _Found()
    for match in _START_TAG.finditer(document):
        tag = match.group(1).lower()
        attributes = {
            attribute.group(1).lower(): html.unescape(
                attribute.group(2) if attribute.group(2) is not None else attribute.group(3)
            )
            for attribute in _ATTRIBUTE.finditer(match.group(2) or "")
        }
        if tag == "img":
            found.images.append(attributes)
        elif tag == "a":
            found.links.append(attributes.get("href", "").strip())
        if tag in _LOADING_TAGS:
            found.loaded.extend(attributes[a] for a in ("src", "poster") if a in attributes)
            srcset = attributes.get("srcset", "")
            found.loaded.extend(part.split()[0] for part in srcset.split(",") if part.strip())
        if tag == "link" and "href" in attributes:
            found.loaded.append(attributes["href"])
        if "background" in attributes:
            found.loaded.append(attributes["background"])
        found.loaded.extend(_CSS_URL.findall(attributes.get("style", "")))
    for css in _STYLE_TAG.findall(document):
        found.loaded.extend(_CSS_URL.findall(css))
        found.loaded.extend(_CSS_IMPORT.findall(css))
    return found


@dataclass
class _Group:
    """One problem at one place: the posts (or addresses) it concerns."""

    kind: WarningKind
    origin: _Origin
    numbers: list[int] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def add(self, origin: _Origin, url: str) -> None:
        if isinstance(origin, _Post) and origin.number not in self.numbers:
            self.numbers.append(origin.number)
        if url not in self.urls:
            self.urls.append(url)


def _check_document(document: str, origins: Origins) -> Iterator[RenderWarning]:
    found = _collect(document)
    groups: dict[tuple[WarningKind, str], _Group] = {}

    def note(kind: WarningKind, url: str, image: bool) -> None:
        origin = _origin(url, image, origins)
        # Posts of one source share a warning: the fix is the same for all of them.
        key = f"posts from {origin.post.source}" if isinstance(origin, _Post) else origin.place
        groups.setdefault((kind, key), _Group(kind, origin)).add(origin, url)

    for image in found.images:
        src = image.get("src", "")
        if not image.get("alt", "").strip():
            note(WarningKind.IMAGE_ALT, src, image=True)
        if not image.get("width", "").strip():
            note(WarningKind.IMAGE_WIDTH, src, image=True)
    for href in found.links:
        if not href.startswith(("https://", *_OTHER_SCHEMES)):
            note(WarningKind.INSECURE_LINK, href, image=False)
    for url in found.loaded:
        host = (urlsplit(url).hostname or "").lower()
        if host and host not in origins.own_hosts:
            note(WarningKind.THIRD_PARTY, url, image=True)
    for group in groups.values():
        yield _warning(group, origins)


def _posts(numbers: Iterable[int]) -> str:
    names = [str(n) for n in numbers]
    if len(names) == 1:
        return f"post {names[0]}"
    return f"posts {', '.join(names[:-1])} and {names[-1]}"


def _urls(urls: list[str], most: int = 3) -> str:
    shown = ", ".join(url or "(empty)" for url in urls[:most])
    return shown + (f" and {len(urls) - most} more" if len(urls) > most else "")


def _not_https(urls: list[str]) -> str:
    if all(url.startswith("http://") for url in urls):
        return "http://, not https://"
    return "not a full https:// address"


def _hosts(urls: list[str]) -> str:
    return ", ".join(dict.fromkeys((urlsplit(url).hostname or url).lower() for url in urls))


def _warning(group: _Group, origins: Origins) -> RenderWarning:
    kind, origin, urls = group.kind, group.origin, group.urls
    if isinstance(origin, _Post):
        return _post_warning(group, origin.post, origins)
    if origin is _EDITORIAL:
        place, where = "the editorial", "in issue.md"
    elif origin is _TEMPLATES:
        place, where = "the templates", "in the templates"
    else:
        place, where = f"newsletter.toml {origin.place}", f"({origin.place}) in newsletter.toml"
    if kind is WarningKind.INSECURE_LINK:
        problem = f"a link is {_not_https(urls)} ({_urls(urls)})"
        return RenderWarning(kind, place, problem, f"change it to https:// {where}")
    if kind is WarningKind.IMAGE_ALT:
        fix = (
            "describe the picture in the brackets: ![what it shows](address)"
            if origin is _EDITORIAL
            else f'add alt="…" (what the picture shows) to the image {where}'
        )
        return RenderWarning(kind, place, f"an image has no alt text ({_urls(urls)})", fix)
    if kind is WarningKind.IMAGE_WIDTH:
        problem = f"an image has no width, so Outlook shows it at full size ({_urls(urls)})"
        fix = (
            "put the picture into a post instead, or leave it out"
            if origin is _EDITORIAL
            else f'give the image a width="…" {where}'
        )
        return RenderWarning(kind, place, problem, fix)
    problem = (
        f"loads {_urls(urls)} from {_hosts(urls)}, a third-party server "
        "(it learns who opens the email)"
    )
    fix = (
        "use a picture from your own site, or leave it out"
        if origin is _EDITORIAL
        else f"use an address on your own site {where}, or remove it"
    )
    return RenderWarning(kind, place, problem, fix)


def _post_warning(group: _Group, post: Post, origins: Origins) -> RenderWarning:
    kind, urls, numbers = group.kind, group.urls, group.numbers
    place = _posts(numbers)
    one = len(numbers) == 1
    posts = (("posts", ", ".join(str(n) for n in numbers)),)
    its, under = ("its", place) if one else ("their", place)
    feed_host = dict(origins.feeds).get(post.source)
    feed = feed_host is not None
    if kind is WarningKind.INSECURE_LINK:
        link = "link is" if one else "links are"
        problem = f"{its} {link} {_not_https(urls)} ({_urls(urls)})"
        fix = f"change url: under {under} in issue.md to https://"
        if feed:
            fix = f"the feed gives http:// links; ask the site to use https, or {fix}"
        return RenderWarning(kind, place, problem, fix)
    image = "image has" if one else "images have"
    key = f"warning_post_{kind.value.replace('-', '_')}"
    if kind is WarningKind.IMAGE_ALT:
        problem = f"{its} {image} no alt text (what screen readers say)"
        fix = f"add alt text in issue.md under {under}"
        return RenderWarning(kind, place, problem, fix, key, posts)
    if kind is WarningKind.IMAGE_WIDTH:
        problem = f"{its} {image} no width, so Outlook shows it at full size"
        fix = "give the image a width in templates/partials/teaser.mjml"
        return RenderWarning(kind, place, problem, fix, key, posts)
    loads = "image loads" if one else "images load"
    problem = (
        f"{its} {loads} from {_hosts(urls)}, a third-party server that learns who opens the email"
    )
    fix = f"delete image: under {under} in issue.md"
    values = (*posts, ("hosts", _hosts(urls)))
    if feed_host and feed_host in _hosts(urls).split(", "):
        fix += (
            ", or, if that site is the office's own, add own = true to this feed's "
            "[[sources]] in newsletter.toml"
        )
        return RenderWarning(kind, place, problem, fix, f"{key}_feed", values)
    return RenderWarning(kind, place, problem, fix, key, values)
