"""The teaser text of a post: plain, about 60 words, ending at a sentence's end where
one is near, else at a word; never cut inside a word.

A post without an address keeps its whole text (``whole``): the email is the only
place it can be read.
"""

from __future__ import annotations

import re

from newsletter.sources.sanitise import plain_text

SUMMARY_WORDS = 60
ELLIPSIS = "…"
_TRAILING = " ,;:–—-"
# A sentence end this many words before or after the target is "near": a summary of
# 40 to 75 words reads better whole than one of 60 that stops mid-sentence.
_SHORTEST = 40
_LONGEST = 75
# Far more HTML than 75 words need: turning only the start of a long body into text
# keeps a 5 MB feed fast, and the whole body is used when the start is too short.
_HTML_HEAD = 4000
_SENTENCE_END = re.compile(r"[.!?…][\"'“”„«»)\]]*$")
_SENTENCE_START = re.compile(r"[\"'“”„«»(\[]*[A-ZÄÖÜ0-9]")
# Words that end in a full stop without ending a sentence ("z. B.", "Abs. 2", "Nr. 5").
_ABBREVIATIONS = frozenset(
    {
        *("abs", "bzw", "ca", "dr", "evtl", "ggf", "inkl", "nr", "prof", "str", "tel"),
        *("usw", "vgl", "z.b", "zb", "u.a", "ua", "st", "etc", "e.v", "mio", "mrd"),
        *("jan", "feb", "mär", "apr", "jun", "jul", "aug", "sep", "sept", "okt", "nov", "dez"),
    }
)
_CLOSING = "\"'“”„«»)]"


def _ends_sentence(word: str, following: str) -> bool:
    if not _SENTENCE_END.search(word) or not _SENTENCE_START.match(following):
        return False
    bare = word.rstrip(_CLOSING)
    stem = bare.rstrip(".!?…").lower()
    # "28. November" (a German ordinal), "z.B.", "B." and the abbreviations above.
    return not (
        bare.endswith(".")
        and (stem.isdigit() or "." in stem or stem in _ABBREVIATIONS or len(stem) <= 1)
    )


def summarise(text: str, words: int = SUMMARY_WORDS, *, whole: bool = False) -> str:
    parts = text.split()
    if whole or len(parts) <= words:
        return " ".join(parts)
    shortest, longest = words * _SHORTEST // SUMMARY_WORDS, words * _LONGEST // SUMMARY_WORDS
    ends = [
        n + 1
        for n in range(max(shortest - 1, 0), min(longest, len(parts) - 1))
        if _ends_sentence(parts[n], parts[n + 1])
    ]
    if len(parts) <= longest:
        return " ".join(parts)
    before = [end for end in ends if end <= words]
    after = [end for end in ends if end > words]
    if before or after:
        return " ".join(parts[: before[-1] if before else after[0]])
    return " ".join(parts[:words]).rstrip(_TRAILING) + " " + ELLIPSIS


def summarise_html(fragment: str, words: int = SUMMARY_WORDS, *, whole: bool = False) -> str:
    if whole:
        return summarise(plain_text(fragment), words, whole=True)
    text = plain_text(fragment[:_HTML_HEAD])
    # One word more than needed: the cut may have split the last one.
    if len(fragment) > _HTML_HEAD and len(text.split()) <= _LONGEST + 1:
        text = plain_text(fragment)
    return summarise(text, words)
