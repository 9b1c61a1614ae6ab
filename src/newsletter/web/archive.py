"""The archive of sent issues: each issue's email as a web page, without anything personal.

On one machine the pages come straight from the workspace's sent issues; on a web
server of its own (``web_remote = true``) they are the pages the office pushed with
``sync``. Both are made by ``public_html`` from the issue's build, so the page is the
email every member got, with the anonymous greeting and without the unsubscribe link.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from newsletter.errors import IssueError, WebError
from newsletter.files import write_text_atomic
from newsletter.issue import read_sent_mark
from newsletter.render.build import load_build
from newsletter.render.model import RenderedEmail
from newsletter.workspace import Workspace

# What an issue folder may be called in a URL; anything else is not looked up at all.
SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def public_html(email: RenderedEmail) -> str:
    """The email as anyone may see it: the anonymous greeting, no unsubscribe link."""
    token = re.escape(email.markers.token)
    # The email's unsubscribe link, and the separator that follows it in the footer's row.
    link = re.compile(r"<a\b[^>]*" + token + r"[^>]*>.*?</a>(?:\s*·\s*)?", re.DOTALL | re.I)
    document = link.sub("", email.html)
    # A template may show the link as text too; its token marker must never be a link.
    document = re.sub(r"\S*" + token, "", document)
    return document.replace(email.markers.greeting, html.escape(email.greeting.anonymous))


@dataclass(frozen=True)
class ArchivePage:
    slug: str
    subject: str
    sent_at: datetime
    html: str

    @property
    def digest(self) -> str:
        """Whether the web server already holds this very page."""
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()

    def to_json(self) -> dict[str, str]:
        return {
            "slug": self.slug,
            "subject": self.subject,
            "sent_at": self.sent_at.isoformat(),
            "html": self.html,
        }

    @classmethod
    def from_json(cls, data: Any) -> ArchivePage:
        try:
            page = cls(
                str(data["slug"]),
                str(data["subject"]),
                datetime.fromisoformat(data["sent_at"]),
                str(data["html"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise WebError(f"not an archive page ({error})") from None
        if not SLUG.fullmatch(page.slug):
            raise WebError(f'"{page.slug}" cannot name an archive page')
        return page


class Archive(Protocol):
    def pages(self) -> list[ArchivePage]:
        """Every page, the most recently sent first."""

    def page(self, slug: str) -> ArchivePage | None: ...


def _newest_first(pages: Iterator[ArchivePage]) -> list[ArchivePage]:
    return sorted(pages, key=lambda page: page.sent_at, reverse=True)


@dataclass(frozen=True)
class IssueArchive:
    """The workspace's sent issues (one machine, and what the office pushes)."""

    workspace: Workspace

    def pages(self) -> list[ArchivePage]:
        folders = sorted(self.workspace.issues_dir.glob("*/"))
        return _newest_first(page for f in folders if (page := self._page(f)) is not None)

    def page(self, slug: str) -> ArchivePage | None:
        if not SLUG.fullmatch(slug):
            return None
        return self._page(self.workspace.issues_dir / slug)

    def _page(self, folder: Path) -> ArchivePage | None:
        # Only sent issues, and only those whose build is there: a draft is never public.
        try:
            mark = read_sent_mark(folder)
            if mark is None:
                return None
            email = load_build(folder)
        except IssueError:
            return None
        return ArchivePage(folder.name, email.subject, mark.started_at, public_html(email))


@dataclass(frozen=True)
class PushedArchive:
    """The pages the office pushed to a web server of its own, one JSON file each."""

    folder: Path

    def pages(self) -> list[ArchivePage]:
        return _newest_first(
            page for path in sorted(self.folder.glob("*.json")) if (page := self._read(path))
        )

    def page(self, slug: str) -> ArchivePage | None:
        return self._read(self.folder / f"{slug}.json") if SLUG.fullmatch(slug) else None

    def digests(self) -> dict[str, str]:
        return {page.slug: page.digest for page in self.pages()}

    def keep(self, page: ArchivePage) -> None:
        write_text_atomic(self.folder / f"{page.slug}.json", json.dumps(page.to_json()))

    def remove(self, slug: str) -> None:
        if SLUG.fullmatch(slug):
            (self.folder / f"{slug}.json").unlink(missing_ok=True)

    def _read(self, path: Path) -> ArchivePage | None:
        try:
            return ArchivePage.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, WebError):
            return None
