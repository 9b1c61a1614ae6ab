"""Rendering the desk's pages: the Jinja templates of this package and the texts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from newsletter.desk.texts import desk_texts
from newsletter.errors import NewsletterError
from newsletter.settings import Locale, Settings
from newsletter.workspace import Workspace

_TEMPLATES = Path(__file__).resolve().parent / "templates"

_environment = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Context:
    """What every page knows: the workspace, its settings (or why they cannot be read),
    the texts in its language and the forms' CSRF token."""

    workspace: Workspace
    settings: Settings | None
    problem: NewsletterError | None
    texts: dict[str, Any]
    lang: str
    csrf: str

    @classmethod
    def load(cls, root: Path, csrf: str) -> Context:
        workspace = Workspace(root)
        settings: Settings | None = None
        problem: NewsletterError | None = None
        try:
            settings = workspace.settings
        except NewsletterError as error:
            problem = error
        lang = str(settings.newsletter.locale) if settings else str(Locale.DE)
        try:
            texts = desk_texts(workspace.templates_dir, lang)
        except NewsletterError as error:
            # The desk must still open to show what is wrong; the package's wording will do.
            problem = problem or error
            texts = desk_texts(Path("/nonexistent"), lang)
        return cls(workspace, settings, problem, texts, lang, csrf)

    def render(self, name: str, **values: Any) -> str:
        common = {
            "texts": self.texts,
            "lang": self.lang,
            "csrf": self.csrf,
            "nav": "",
            "notice": "",
        }
        return _environment.get_template(name).render(common | values)
