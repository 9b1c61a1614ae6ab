"""Two settings that make feedparser fast enough for a 5 MB feed, with the same results.

1. The SAX driver: feedparser takes drivers by module name from PREFERRED_XML_PARSERS;
   ours is expat with text buffering (see sax_driver.py).
2. The Windows-1252 repair table: feedparser runs every text through
   ``str.translate(_cp1252)``, a dict of the 27 code points it repairs. For text with
   umlauts, a dict makes translate raise and swallow a KeyError per character; a list
   answers every lookup directly: the same mapping, a third of the time. If a future
   feedparser no longer has that dict, it is left alone.
"""

from __future__ import annotations

from typing import Any

_DRIVER = "newsletter.sources.sax_driver"
# Code points up to here are looked up in the list; above it translate keeps the character.
_TABLE_SIZE = 0x10000


def repair_table(mapping: dict[int, str]) -> list[int]:
    table = list(range(_TABLE_SIZE))
    for code, replacement in mapping.items():
        table[code] = ord(replacement)
    return table


def tune(feedparser_api: Any, feedparser_mixin: Any) -> None:
    """Idempotent; called before each parse, as cheap as a list lookup after the first."""
    if _DRIVER not in feedparser_api.PREFERRED_XML_PARSERS:
        feedparser_api.PREFERRED_XML_PARSERS.insert(0, _DRIVER)
    mapping = getattr(feedparser_mixin, "_cp1252", None)
    if isinstance(mapping, dict) and all(
        isinstance(v, str) and len(v) == 1 for v in mapping.values()
    ):
        feedparser_mixin._cp1252 = repair_table(mapping)
