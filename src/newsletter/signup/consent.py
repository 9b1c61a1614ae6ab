"""The consent text, from the workspace's ``templates/texts/<locale>.toml`` ([signup] consent)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from newsletter.bundled import default_templates
from newsletter.errors import TemplateError
from newsletter.render.texts import load_texts, texts_file
from newsletter.settings import NewsletterSettings
from newsletter.store.signup_records import ConsentText

SIGNUP_TEXTS = "signup"


def signup_texts(templates_dir: Path, settings: NewsletterSettings) -> dict[str, str]:
    """The [signup] texts with {name} filled in; a missing or broken one is a TemplateError."""
    table: Any = load_texts(templates_dir, settings.locale).get(SIGNUP_TEXTS)
    if table is None:
        # A workspace made before the sign-up existed: the texts that ship with newsletter.
        templates_dir = default_templates()
        table = load_texts(templates_dir, settings.locale).get(SIGNUP_TEXTS)
    source = texts_file(templates_dir, settings.locale)
    if not isinstance(table, dict) or not isinstance(table.get("consent"), str):
        raise TemplateError(
            f"{source}: [signup] consent: missing (the consent text people agree to)",
            "copy the [signup] table from a new workspace (newsletter init) and adapt it",
            key="signup_no_consent",
            params={"file": source},
        )
    texts = {}
    for key, value in table.items():
        if not isinstance(value, str):
            raise TemplateError(
                f"{source}: [signup] {key}: expected a text",
                key="signup_text_not_text",
                params={"file": source, "name": key},
            )
        texts[key] = value.replace("{name}", settings.name)
    return texts


def consent_text(wording: str) -> ConsentText:
    version = hashlib.sha256(wording.encode("utf-8")).hexdigest()[:16]
    return ConsentText(wording, version)
