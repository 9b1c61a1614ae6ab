"""Markdown (the editorial) as readable plain text for the text part of the email.

A line break staff typed stays a line break (as in the HTML, see templates.py): a
signature like "wünscht euch⏎eure Geschäftsstelle" keeps its two lines. Otherwise a
paragraph is one line (the template wraps it), links keep their address in brackets,
list items keep their marker; emphasis marks are dropped.
"""

from __future__ import annotations

import re
import textwrap

from markdown_it import MarkdownIt
from markdown_it.token import Token

_PARSER = MarkdownIt("commonmark", {"html": False})


def _inline(children: list[Token], continuation: str = "") -> str:
    """One paragraph's text; ``continuation`` starts each further line (quote marks)."""
    parts: list[str] = []
    links: list[str] = []
    for token in children:
        if token.type in ("text", "code_inline", "html_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append("\n" + continuation)
        elif token.type == "link_open":
            links.append(str(token.attrs.get("href", "")))
        elif token.type == "link_close" and links:
            href = links.pop()
            parts.append(f" ({href})" if href and href not in "".join(parts[-1:]) else "")
        elif token.type == "image":
            parts.append(token.content)
    return "".join(parts)


def markdown_to_text(markdown: str) -> str:
    lines: list[str] = []
    prefixes: list[str] = []
    numbers: list[int] = []
    for token in _PARSER.parse(markdown):
        if token.type == "bullet_list_open":
            numbers.append(0)
        elif token.type == "ordered_list_open":
            numbers.append(int(token.attrs.get("start", 1) or 1))
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            numbers.pop()
            if not numbers:
                lines.append("")
        elif token.type == "list_item_open":
            if numbers[-1]:
                prefixes.append(f"{numbers[-1]}. ")
                numbers[-1] += 1
            else:
                prefixes.append("- ")
        elif token.type == "list_item_close":
            prefixes.pop()
        elif token.type == "blockquote_open":
            prefixes.append("> ")
        elif token.type == "blockquote_close":
            prefixes.pop()
        elif token.type == "inline" and token.children is not None:
            continuation = "".join(p if p == "> " else " " * len(p) for p in prefixes)
            lines.append("".join(prefixes) + _inline(token.children, continuation))
            if not numbers:  # paragraphs and headings get a blank line, list items not
                lines.append("")
        elif token.type in ("fence", "code_block"):
            lines.extend(token.content.rstrip("\n").splitlines())
            lines.append("")
        elif token.type == "hr":
            lines.extend(["-" * 20, ""])
    return "\n".join(lines).strip("\n")


TEXT_WIDTH = 78
_PREFIX = re.compile(r"(?:> )+|[-*] |\d+\. ")


def wrap_lines(text: str, width: int = TEXT_WIDTH) -> str:
    """Every line of the plain-text part at most ``width`` characters (RFC 5322's 78),
    broken at spaces only: an address longer than a line stands alone, whole, so that
    mail apps still recognise it as a link. A line that starts with a list marker or
    quote marks keeps them, or their indent, on its further lines."""
    lines: list[str] = []
    for line in text.split("\n"):
        if len(line) <= width:
            lines.append(line)
            continue
        prefix = _PREFIX.match(line)
        first = prefix.group(0) if prefix else ""
        rest = first if first.startswith(">") else " " * len(first)
        lines.extend(
            textwrap.wrap(
                line[len(first) :],
                width=width,
                initial_indent=first,
                subsequent_indent=rest,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)
