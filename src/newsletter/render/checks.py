"""What ``render`` warns about in a finished email: things that make it clip, look
broken, leak readers' data to third parties, or land in spam."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

# Gmail cuts off ("clips") an email whose HTML is larger than this.
GMAIL_CLIP_BYTES = 102 * 1024
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
    message: str

    def __str__(self) -> str:
        return self.message


def check_email(
    document: str, subject: str, preheader: str, hosts: frozenset[str]
) -> tuple[RenderWarning, ...]:
    """The warnings for one rendered email; ``hosts`` are the office's own."""
    return (
        *_check_subject(subject, preheader),
        *_check_size(document),
        *_check_document(document, hosts),
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


def _check_size(document: str) -> Iterator[RenderWarning]:
    size = len(document.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        yield RenderWarning(
            WarningKind.SIZE,
            f"the HTML is {size / 1024:.0f} KB; Gmail clips emails over 102 KB "
            "(fewer posts or shorter summaries help)",
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


def _check_document(document: str, hosts: frozenset[str]) -> Iterator[RenderWarning]:
    found = _collect(document)
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
