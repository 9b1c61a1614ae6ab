"""The teaser text of a post: plain, about 60 words, never cut inside a word."""

from __future__ import annotations

from newsletter.sources.sanitise import plain_text

SUMMARY_WORDS = 60
ELLIPSIS = "…"
_TRAILING = " ,;:–—-"
# Far more HTML than 60 words need: turning only the start of a long body into text
# keeps a 5 MB feed fast, and the whole body is used when the start is too short.
_HTML_HEAD = 4000


def summarise(text: str, words: int = SUMMARY_WORDS) -> str:
    parts = text.split()
    if len(parts) <= words:
        return " ".join(parts)
    return " ".join(parts[:words]).rstrip(_TRAILING) + " " + ELLIPSIS


def summarise_html(fragment: str, words: int = SUMMARY_WORDS) -> str:
    text = plain_text(fragment[:_HTML_HEAD])
    # One word more than needed: the cut may have split the last one.
    if len(fragment) > _HTML_HEAD and len(text.split()) <= words + 1:
        text = plain_text(fragment)
    return summarise(text, words)
