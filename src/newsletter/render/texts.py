"""The editable data beside the templates: ``theme.toml`` and ``texts/<locale>.toml``.

Both are plain TOML that maintainers edit; templates read them as ``theme.<name>``
and ``texts.<name>``. A key a template needs but the file lacks is reported by the
template (file and line), so only the keys code itself uses are checked here.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from newsletter.errors import TemplateError
from newsletter.render.placeholders import Greeting
from newsletter.textfile import parse_toml, read_text

THEME_FILE = "theme.toml"
TEXTS_DIR = "texts"


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        return parse_toml(read_text(path))
    except FileNotFoundError:
        raise TemplateError(
            f"{path}: file not found",
            "copy it from a new workspace (newsletter init)",
            key="template_file_missing",
            params={"file": path},
        ) from None
    except UnicodeDecodeError:
        raise TemplateError(
            f"{path}: not UTF-8 text; save it as UTF-8",
            key="template_not_utf8",
            params={"file": path},
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(
            f"{path}: not valid TOML: {error}",
            key="template_data_not_toml",
            params={"file": path, "reason": str(error)},
        ) from None


def load_theme(templates_dir: Path) -> dict[str, Any]:
    return _load_toml(templates_dir / THEME_FILE)


def texts_file(templates_dir: Path, locale: str) -> Path:
    return templates_dir / TEXTS_DIR / f"{locale}.toml"


def load_texts(templates_dir: Path, locale: str) -> dict[str, Any]:
    return _load_toml(texts_file(templates_dir, locale))


def greeting_of(texts: dict[str, Any], source: Path) -> Greeting:
    """The greeting wording; ``source`` names the texts file in errors."""
    named, anonymous = texts.get("greeting"), texts.get("greeting_without_name")
    if not isinstance(named, str) or "{first_name}" not in named:
        raise TemplateError(
            f'{source}: greeting: expected a text with {{first_name}} in it, like "Hallo {{first_name}},"',
            key="texts_bad_greeting",
            params={"file": source},
        )
    if not isinstance(anonymous, str):
        raise TemplateError(
            f'{source}: greeting_without_name: expected a text like "Hallo,"',
            key="texts_bad_anonymous_greeting",
            params={"file": source},
        )
    return Greeting(named=named, anonymous=anonymous)
