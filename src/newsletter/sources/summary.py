"""The teaser text of a post: plain, about 60 words, never cut inside a word."""

from __future__ import annotations

SUMMARY_WORDS = 60
ELLIPSIS = "…"
_TRAILING = " ,;:–—-"


def summarise(text: str, words: int = SUMMARY_WORDS) -> str:
    parts = text.split()
    if len(parts) <= words:
        return " ".join(parts)
    return " ".join(parts[:words]).rstrip(_TRAILING) + " " + ELLIPSIS
