"""The data templates see, built from the issue and the settings."""

from __future__ import annotations

from typing import Any

from newsletter.issue import Issue
from newsletter.render.placeholders import Markers
from newsletter.settings import NewsletterSettings

ARCHIVE_PATH = "/archiv"


def browser_url(settings: NewsletterSettings, slug: str) -> str | None:
    """The issue's page in the web archive; only when the archive is on."""
    return f"{settings.web_url}{ARCHIVE_PATH}/{slug}" if settings.archive else None


def template_context(
    issue: Issue,
    settings: NewsletterSettings,
    texts: dict[str, Any],
    theme: dict[str, Any],
    markers: Markers,
) -> dict[str, Any]:
    """Names templates use: see templates/README.md for the list."""
    return {
        "lang": str(settings.locale),
        "issue": issue,
        "posts": issue.posts,
        "editorial": issue.editorial,
        "newsletter": settings,
        "browser_url": browser_url(settings, issue.slug),
        "texts": texts,
        "theme": theme,
        # Filled per member later; see placeholders.py.
        "member": {
            "greeting": markers.greeting,
            "unsubscribe_url": markers.unsubscribe_url(settings.web_url),
        },
    }
