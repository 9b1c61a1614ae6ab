"""The library's errors in the desk's language.

A NewsletterError speaks English for the CLI; the raise sites staff can meet in the desk
also give a key and the values their words quote (errors.py). The desk looks the key up
in the ``[said]`` table of its texts (German by default, overridable per workspace like
every other text) and fills in the values; for a key it does not know, or wording whose
placeholders do not match the values, it shows the English text, never nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from string import Formatter
from typing import Any

from newsletter.errors import NewsletterError

SAID_TABLE = "said"


@dataclass(frozen=True)
class Said:
    message: str
    hint: str


def said(
    texts: Mapping[str, Any],
    key: str | None,
    params: Mapping[str, object] | Iterable[tuple[str, object]],
    message: str,
    hint: str = "",
) -> Said:
    """The wording for ``key`` with ``params`` filled in, else ``message`` and ``hint``."""
    table = texts.get(SAID_TABLE)
    words = table.get(key) if key and isinstance(table, Mapping) else None
    if isinstance(words, str):
        words = {"message": words}
    if not isinstance(words, Mapping) or not isinstance(words.get("message"), str):
        return Said(message, hint)
    values = {name: str(value) for name, value in dict(params).items()}
    try:
        # Plain names only: a placeholder in a workspace's wording may not reach into
        # attributes or items ("{file.__class__}").
        if not all(_plain(words.get(part)) for part in ("message", "hint")):
            return Said(message, hint)
        german = words["message"].format_map(values)
        own_hint = words.get("hint")
        german_hint = own_hint.format_map(values) if isinstance(own_hint, str) else hint
    except (KeyError, IndexError, ValueError, AttributeError):
        return Said(message, hint)
    return Said(german, german_hint)


def _plain(template: object) -> bool:
    if not isinstance(template, str):
        return True
    fields = (name for _, name, _, _ in Formatter().parse(template) if name is not None)
    return all(name.isidentifier() for name in fields)


def said_error(texts: Mapping[str, Any], error: NewsletterError) -> Said:
    return said(texts, error.key, error.params, error.message, error.hint or "")
