"""A web page saved as plain text, like the branch website's article pages.

The shape (see tests/fixtures/gather/folder/): the site's header in capitals, the
title, an optional subtitle, a date line ``30.06.23 –``, the paragraphs, maybe a
photo caption ``Auf dem Bild ...``, a ``Kategorie`` block with ``A | B | C``, and
the site's footer from ``Wir sind für Sie da!`` on. Header and footer are dropped,
addresses protected as ``name@remove-this.domain`` are restored. Such a file has
no address of its own: a line holding only an address above the date line is
taken as the post's address, otherwise it stays empty (never an invented link).
"""

from __future__ import annotations

import html
import re

from newsletter.errors import SourceError
from newsletter.post import Image, Post
from newsletter.sources.contract import PostFile
from newsletter.sources.dates import german_date
from newsletter.sources.sanitise import is_web_url, plain_text, sanitise_html, undo_spam_guard
from newsletter.sources.summary import summarise

_DATE_LINE = re.compile(r"^(\d{1,2}\.\d{1,2}\.\d{2,4})\s*[–—-]\s*(.*)$")
_CATEGORY_LABELS = {"kategorie", "kategorien"}
_FOOTER_START = "wir sind für sie da!"
_CAPTION_START = "auf dem bild"
_ADDRESS_LINE = re.compile(r"^https?://\S+$", re.IGNORECASE)
_IMAGE_ADDRESS = re.compile(r"^https?://\S+\.(?:jpe?g|png|gif|webp)(?:\?\S*)?$", re.IGNORECASE)


def _is_site_header(line: str) -> bool:
    # The site's name is set in capitals ("BÜNDNIS 90/DIE GRÜNEN"); titles are not.
    return any(c.isalpha() for c in line) and line == line.upper()


def _paragraphs(lines: list[str]) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]


def _split_categories(block: list[str]) -> tuple[str, ...]:
    names = (name.strip() for line in block for name in line.split("|"))
    return tuple(dict.fromkeys(name for name in names if name))


def read_page_export(file: PostFile) -> Post:
    lines = [undo_spam_guard(line).strip() for line in file.text.splitlines()]
    date_at = next((n for n, line in enumerate(lines) if _DATE_LINE.match(line)), None)
    if date_at is None:
        raise SourceError(
            f'{file.name}: no date line like "02.11.26 –" below the title, '
            "so this is no page export we can read"
        )
    head = [line for line in lines[:date_at] if line]
    # A line that is only an address is never the title, even one no parser takes.
    addresses = [line for line in head if _ADDRESS_LINE.match(line)]
    head = [line for line in head if line not in addresses]
    addresses = [line for line in addresses if is_web_url(line)]
    while len(head) > 1 and _is_site_header(head[0]):
        head.pop(0)
    if not head:
        raise SourceError(f"{file.name}: no title above the date line")
    title, subtitle = plain_text(head[0]), " ".join(head[1:])
    match = _DATE_LINE.match(lines[date_at])
    assert match is not None
    rest = [match.group(2), *lines[date_at + 1 :]]
    ends = [n for n, line in enumerate(rest) if line.lower() in {*_CATEGORY_LABELS, _FOOTER_START}]
    body_lines = rest[: ends[0]] if ends else rest
    categories: tuple[str, ...] = ()
    if ends and rest[ends[0]].lower() in _CATEGORY_LABELS:
        after = _paragraphs(rest[ends[0] + 1 :])
        if after and after[0][0].lower() != _FOOTER_START:
            categories = _split_categories(after[0])
    caption, image_url, paragraphs = "", "", []
    for block in _paragraphs(body_lines):
        if not caption and block[0].lower().startswith(_CAPTION_START):
            caption = " ".join(block)
        elif (
            not image_url
            and len(block) == 1
            and _IMAGE_ADDRESS.match(block[0])
            and is_web_url(block[0])
        ):
            image_url = block[0]
        else:
            paragraphs.append(block)
    url = addresses[0] if addresses else ""
    lead = [f"<p><strong>{html.escape(subtitle)}</strong></p>"] if subtitle else []
    body = "".join(
        [*lead, *(f"<p>{'<br>'.join(html.escape(line) for line in p)}</p>" for p in paragraphs)]
    )
    image = Image(url=image_url, caption=caption) if image_url or caption else None
    return Post(
        id=url or file.name,
        title=title,
        url=url,
        date=german_date(match.group(1)),
        # Without an address the email is the only place to read it: all of it.
        summary=summarise(" ".join(line for p in paragraphs for line in p), whole=not url),
        body=sanitise_html(body, url or file.site_url),
        image=image,
        categories=categories,
        source=file.source,
    )
