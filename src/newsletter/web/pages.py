"""The web side's pages, from editable Jinja templates in ``templates/web/``.

The wording is in ``templates/web/texts/<locale>.toml``, like the email's; a workspace
made before the web side existed uses the default templates that ship with newsletter.
Every page is rendered once with sample data when the server starts, so a broken
template stops ``serve`` with the file and line instead of failing a member's click.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from newsletter.bundled import default_templates
from newsletter.render.context import ARCHIVE_PATH
from newsletter.render.placeholders import UNSUBSCRIBE_PATH
from newsletter.render.templates import render_template
from newsletter.render.texts import load_texts, load_theme
from newsletter.settings import NewsletterSettings
from newsletter.signup.service import CONFIRM_PATH
from newsletter.web.archive import ArchivePage
from newsletter.web.unsubscribe import ONE_CLICK_FIELD, ONE_CLICK_VALUE, SCOPE_ALL, SCOPE_FIELD
from newsletter.workspace import Workspace

WEB_DIR = "web"
SIGNUP_PATH = "/anmelden"
PREFERENCES_PATH = "/abmelden/auswahl"
ADDRESS_PATH = "/abmelden/adresse"
STYLE_PATH = "/style.css"
# A web server's preferences form: one choice per public list, ``list:<name>``.
CHOICE_FIELD = "list:"
CHOICE_KEEP, CHOICE_START, CHOICE_END = "keep", "start", "end"
# The statuses the error page has a text for (texts.errors.<status>).
ERROR_STATUSES = (400, 404, 405, 413, 429, 500)


@dataclass(frozen=True)
class SignupForm:
    """The sign-up form as shown: the public lists, the consent text, what was typed."""

    lists: tuple[str, ...]
    consent: str
    email: str = ""
    first_name: str = ""
    chosen: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preferences:
    lists: tuple[str, ...]  # the public lists
    current: frozenset[str] | None  # the member's; None: not known here (web server)


def web_templates(workspace: Workspace) -> Path:
    own = workspace.templates_dir / WEB_DIR
    return own if own.is_dir() else default_templates() / WEB_DIR


@dataclass(frozen=True)
class Pages:
    folder: Path
    settings: NewsletterSettings
    texts: dict[str, Any]
    theme: dict[str, Any]

    @classmethod
    def load(cls, folder: Path, settings: NewsletterSettings, signup: bool = False) -> Pages:
        pages = cls(
            folder, settings, load_texts(folder, settings.locale), load_theme(folder.parent)
        )
        pages.check(signup)
        return pages

    def unsubscribe(self, token: str, preferences: Preferences | None = None) -> str:
        """The confirmation page: one button for this list, one for all lists; with
        [signup], also the public lists to choose and a new address."""
        query = f"?token={quote(token, safe='')}"
        return self._render(
            "unsubscribe.html",
            action=f"{self._base}{UNSUBSCRIBE_PATH}{query}",
            one_click={"name": ONE_CLICK_FIELD, "value": ONE_CLICK_VALUE},
            everywhere={"name": SCOPE_FIELD, "value": SCOPE_ALL},
            preferences=None
            if preferences is None
            else {
                "lists": preferences.lists,
                "current": preferences.current,
                "action": f"{self._base}{PREFERENCES_PATH}{query}",
                "address_action": f"{self._base}{ADDRESS_PATH}{query}",
                "choice": {
                    "field": CHOICE_FIELD,
                    "keep": CHOICE_KEEP,
                    "start": CHOICE_START,
                    "end": CHOICE_END,
                },
            },
        )

    def signup(self, form: SignupForm, problem: str | None = None) -> str:
        return self._render(
            "signup.html",
            action=f"{self._base}{SIGNUP_PATH}",
            lists=form.lists,
            consent=form.consent,
            problem=problem,
            values={"email": form.email, "first_name": form.first_name, "lists": form.chosen},
        )

    def signup_snippet(self, form: SignupForm) -> str:
        """The form for the office's website: posts to ``web_url``, absolute."""
        return self._render(
            "signup_snippet.html",
            action=f"{self.settings.web_url}{SIGNUP_PATH}",
            lists=form.lists,
            consent=form.consent,
        )

    def signup_sent(self) -> str:
        return self._render("signup_sent.html")

    def confirm(self, token: str) -> str:
        return self._render(
            "confirm.html", action=f"{self._base}{CONFIRM_PATH}?token={quote(token, safe='')}"
        )

    def confirmed(self) -> str:
        return self._render("confirmed.html")

    def confirm_invalid(self) -> str:
        return self._render("confirm_invalid.html")

    def preferences_saved(self, address: bool) -> str:
        return self._render("preferences_saved.html", address=address)

    def unsubscribed(self, everywhere: bool) -> str:
        return self._render("unsubscribed.html", everywhere=everywhere)

    def invalid_link(self) -> str:
        return self._render("invalid.html")

    def archive(self, pages: list[ArchivePage]) -> str:
        return self._render("archive.html", pages=pages, archive_url=f"{self._base}{ARCHIVE_PATH}")

    def error(self, status: int) -> str:
        return self._render("error.html", error=str(status))

    def style(self) -> str:
        return self._render("style.css")

    def check(self, signup: bool = False) -> None:
        """Render every page once with sample data; raises TemplateError naming file and line.

        The sign-up pages only with [signup]: a workspace whose web templates predate them
        serves its unsubscribe pages as before."""
        self.unsubscribe("sample")
        self.invalid_link()
        self.archive([ArchivePage("2026-11", "Beispiel", datetime(2026, 11, 1, tzinfo=UTC), "")])
        for status in ERROR_STATUSES:
            self.error(status)
        self.style()
        self.unsubscribed(everywhere=False)
        self.unsubscribed(everywhere=True)
        if not signup:
            return
        self.unsubscribe("sample", Preferences(("a", "b"), frozenset({"a"})))
        self.unsubscribe("sample", Preferences(("a",), None))
        self.signup(SignupForm(("a", "b"), "consent", "x@example.org", "X", ("a",)), "problem")
        self.signup(SignupForm(("a",), "consent"))
        self.signup_sent()
        self.signup_snippet(SignupForm(("a", "b"), "consent"))
        self.confirm("sample")
        self.confirmed()
        self.confirm_invalid()
        self.preferences_saved(address=True)
        self.preferences_saved(address=False)

    @property
    def _base(self) -> str:
        # web_url may have a path (https://example.org/newsletter) that the proxy strips.
        return urlsplit(self.settings.web_url).path.rstrip("/")

    def _render(self, name: str, **context: Any) -> str:
        common = {
            "lang": str(self.settings.locale),
            "texts": self.texts,
            "theme": self.theme,
            "newsletter": self.settings,
            "stylesheet": f"{self._base}{STYLE_PATH}",
        }
        return render_template(self.folder, name, common | context)
