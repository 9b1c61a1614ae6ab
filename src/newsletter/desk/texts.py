"""The desk's wording: ``texts/<locale>.toml`` in this package, overridable per workspace.

A workspace changes any text in the ``[desk]`` table of its ``templates/texts/<locale>.toml``,
the file that holds the email's wording, so one file per language holds everything staff
may want to reword.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from newsletter.render.texts import load_texts, texts_file
from newsletter.textfile import parse_toml, read_text

_PACKAGE_TEXTS = Path(__file__).resolve().parent / "texts"
DESK_TABLE = "desk"


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def desk_texts(templates_dir: Path, locale: str) -> dict[str, Any]:
    """The package's texts for ``locale``, with the workspace's ``[desk]`` table over them.

    A workspace file that cannot be read raises TemplateError (file and reason)."""
    texts = parse_toml(read_text(_PACKAGE_TEXTS / f"{locale}.toml"))
    if texts_file(templates_dir, locale).is_file():
        own = load_texts(templates_dir, locale).get(DESK_TABLE)
        if isinstance(own, dict):
            texts = _merged(texts, own)
    return texts
