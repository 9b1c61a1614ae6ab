"""A post written in Markdown with YAML front matter.

```
---
title: Neuer Radweg an der Lindenallee
date: 2026-11-02            # or 2026-11-02 18:30, or with an offset; local time is Berlin
url: https://www.example.org/aktuelles/radweg     # optional; relative is against site_url
image: https://www.example.org/bilder/radweg.jpg  # or {url, alt, caption}
categories: [Verkehr, Stadtrat]                   # or "Verkehr, Stadtrat"
summary: Optional teaser; otherwise the first words of the text.
---
The text, in Markdown.
```
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

from newsletter.errors import SourceError
from newsletter.post import Image, Post
from newsletter.sources.contract import PostFile
from newsletter.sources.dates import aware, in_range, parse_date
from newsletter.sources.sanitise import is_web_url, join_url, plain_text, sanitise_html
from newsletter.sources.summary import summarise, summarise_html

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

_FENCE = "---"
# The text beyond this is not rendered: 15,000 words, far more than a teaser and its first
# picture need; and markdown-it takes superlinear time on some input (1.8 MB of "*_"
# took 15 s).
MAX_MARKDOWN_CHARS = 100_000
# The C loader when PyYAML has it: a folder of a thousand posts reads three times faster.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# An alias (*name) can only appear after one of these; plain front matter has neither.
_MAYBE_ALIAS = re.compile(r"[&*]")


class _NoAliasLoader(yaml.SafeLoader):
    """Refuses aliases: 400 bytes of nested ``*name`` expand to gigabytes when read."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None,
                None,
                f"aliases like *{event.anchor} are not allowed; write the value itself",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def _load_yaml(text: str) -> Any:
    # "&" and "*" are mostly text ("Kunst & Kultur"); the slower checking loader runs then only.
    loader = _NoAliasLoader if _MAYBE_ALIAS.search(text) else _LOADER
    return yaml.load(text, Loader=loader)  # noqa: S506 (both are safe loaders)


@cache
def _markdown() -> MarkdownIt:
    # Built on first use: importing markdown-it costs more than a folder of old posts needs.
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True})


def split_front_matter(file: PostFile) -> tuple[dict[str, Any], str]:
    lines = file.text.splitlines()
    if not lines or lines[0].strip() != _FENCE:
        raise SourceError(f"{file.name}: no front matter (a block between two lines of ---)")
    try:
        end = next(n for n, line in enumerate(lines[1:], start=1) if line.strip() == _FENCE)
    except StopIteration:
        raise SourceError(f"{file.name}: the front matter has no closing line of ---") from None
    try:
        data = _load_yaml("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" at line {mark.line + 2}" if mark is not None else ""
        problem = str(getattr(error, "problem", None) or "unreadable")
        # The usual cause: a title like `title: Radweg: endlich sicher` needs quotes.
        if "mapping values" in problem:
            problem = 'put a text that contains ": " in quotes'
        raise SourceError(
            f"{file.name}: the front matter is not valid YAML{at}; {problem}"
        ) from None
    except (ValueError, OverflowError) as error:
        # Valid YAML, but a value its types cannot hold: a time at offset +99:00, say.
        raise SourceError(
            f"{file.name}: the front matter has a value out of range ({error})"
        ) from None
    if not isinstance(data, dict):
        raise SourceError(f"{file.name}: the front matter must be fields like title: ...")
    return data, "\n".join(lines[end + 1 :])


def _text(file: PostFile, data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise SourceError(f"{file.name}: {key}: expected a text")
    return str(value).strip()


def _date(file: PostFile, value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        checked = in_range(aware(value))
        if checked is None:
            raise SourceError(f"{file.name}: date: {value} is out of range")
        return checked
    parsed = parse_date(str(value))
    if parsed is None:
        raise SourceError(
            f'{file.name}: date: "{value}" is not a date; write it like 2026-11-02 or 02.11.2026'
        )
    return parsed


def _image(file: PostFile, value: Any, base: str) -> Image | None:
    if not value:
        return None
    fields = value if isinstance(value, dict) else {"url": value}
    url = join_url(base, _text(file, fields, "url"))
    if not is_web_url(url):
        raise SourceError(f"{file.name}: image: expected an address like https://...")
    return Image(url=url, alt=_text(file, fields, "alt"), caption=_text(file, fields, "caption"))


def _categories(file: PostFile, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    names = value.split(",") if isinstance(value, str) else value
    if not isinstance(names, list):
        raise SourceError(f"{file.name}: categories: expected a list like [Verkehr, Stadtrat]")
    return tuple(dict.fromkeys(str(name).strip() for name in names if str(name).strip()))


def read_markdown_post(file: PostFile) -> Post:
    data, markdown = split_front_matter(file)
    title = plain_text(_text(file, data, "title"))
    if not title:
        raise SourceError(f"{file.name}: no title in the front matter")
    url = _text(file, data, "url")
    if url:
        url = join_url(file.site_url, url)
        if not is_web_url(url):
            raise SourceError(f"{file.name}: url: expected an address like https://...")
    date = _date(file, data.get("date"))
    outline = Post(
        id=_text(file, data, "id") or url or file.name,
        title=title,
        url=url,
        date=date,
        summary="",
        categories=_categories(file, data.get("categories")),
        source=file.source,
    )
    if file.is_old(date):
        return outline
    base = url or file.site_url
    body = sanitise_html(_markdown().render(markdown[:MAX_MARKDOWN_CHARS]), base)
    summary = _text(file, data, "summary")
    return replace(
        outline,
        # Without an address the email is the only place to read it: all of it.
        summary=summarise(plain_text(summary), whole=not url)
        if summary
        else summarise_html(body, whole=not url),
        body=body,
        image=_image(file, data.get("image"), base),
    )
