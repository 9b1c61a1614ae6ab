"""What ``render`` warns about in a finished email: things that make it clip, look
broken, leak readers' data to third parties, or land in spam."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Gmail cuts off ("clips") an email whose HTML is larger than this.
GMAIL_CLIP_BYTES = 102 * 1024
MAX_SUBJECT_CHARS = 78
_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+['"]([^'"]+)""", re.IGNORECASE)
# Links that are fine without https: mail, phone, in-page anchors.
_OTHER_SCHEMES = ("mailto:", "tel:", "#")
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
    message: str

    def __str__(self) -> str:
        return self.message


def own_hosts(urls: Iterable[str | None]) -> frozenset[str]:
    """The hosts of the office's own addresses (site, web side, feed sources)."""
    return frozenset(
        (urlsplit(url).hostname or "").lower() for url in urls if url and urlsplit(url).hostname
    )


def check_email(
    html: str, subject: str, preheader: str, hosts: frozenset[str]
) -> tuple[RenderWarning, ...]:
    return (
        *_check_subject(subject, preheader),
        *_check_size(html),
        *_check_document(html, hosts),
    )


def _check_subject(subject: str, preheader: str) -> Iterator[RenderWarning]:
    if not subject.strip():
        yield RenderWarning(WarningKind.SUBJECT, "the subject is empty; set it in issue.md")
    elif len(subject) > MAX_SUBJECT_CHARS:
        yield RenderWarning(
            WarningKind.SUBJECT,
            f"the subject has {len(subject)} characters; mail apps cut it after about "
            f"{MAX_SUBJECT_CHARS}",
        )
    if not preheader.strip():
        yield RenderWarning(
            WarningKind.PREHEADER,
            "no preheader (the line mail apps show after the subject); set it in issue.md",
        )


def _check_size(html: str) -> Iterator[RenderWarning]:
    size = len(html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        yield RenderWarning(
            WarningKind.SIZE,
            f"the HTML is {size / 1024:.0f} KB; Gmail clips emails over 102 KB "
            "(fewer posts or shorter summaries help)",
        )


class _Collector(HTMLParser):
    """Gathers what the checks look at: images, links, and whatever a mail app loads."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str]] = []
        self.links: list[str] = []
        self.loaded: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "img":
            self.images.append(attributes)
        if tag == "a":
            self.links.append(attributes.get("href", "").strip())
        if tag in _LOADING_TAGS:
            self.loaded.extend(attributes[name] for name in ("src", "poster") if name in attributes)
            srcset = attributes.get("srcset", "")
            self.loaded.extend(part.split()[0] for part in srcset.split(",") if part.strip())
        if tag == "link" and "href" in attributes:
            self.loaded.append(attributes["href"])
        if "background" in attributes:
            self.loaded.append(attributes["background"])
        self.loaded.extend(_CSS_URL.findall(attributes.get("style", "")))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.loaded.extend(_CSS_URL.findall(data))
            self.loaded.extend(_CSS_IMPORT.findall(data))


def _check_document(html: str, hosts: frozenset[str]) -> Iterator[RenderWarning]:
    found = _Collector()
    found.feed(html)
    found.close()
    for image in found.images:
        src = image.get("src", "")
        if not image.get("alt", "").strip():
            yield RenderWarning(
                WarningKind.IMAGE_ALT, f"image without alt text (for screen readers): {src}"
            )
        if not image.get("width", "").strip():
            yield RenderWarning(
                WarningKind.IMAGE_WIDTH, f"image without width (Outlook shows it huge): {src}"
            )
    for href in found.links:
        if not href.startswith(("https://", *_OTHER_SCHEMES)):
            yield RenderWarning(WarningKind.INSECURE_LINK, f"link not https: {href or '(empty)'}")
    for url in found.loaded:
        host = (urlsplit(url).hostname or "").lower()
        if host and host not in hosts:
            yield RenderWarning(
                WarningKind.THIRD_PARTY,
                f"loads {url} from {host}, a third-party server (it learns who opens the email)",
            )
