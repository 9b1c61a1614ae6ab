"""Everything the web application needs, read once from the workspace when it starts."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from newsletter.errors import WebError
from newsletter.keys import CONFIRMATION_ENV, UNSUBSCRIBE_ENV, load_keys
from newsletter.render.checks import own_hosts
from newsletter.settings import NewsletterSettings
from newsletter.store import open_database
from newsletter.web.archive import Archive, IssueArchive, PushedArchive
from newsletter.web.pages import Pages, web_templates
from newsletter.web.secret import sync_secret
from newsletter.web.unsubscribe import DirectUnsubscribes, QueuedUnsubscribes, Unsubscribes
from newsletter.workspace import Workspace

ARCHIVE_STATE = "archive"
# RFC 8058 asks for nothing, but a flood of POSTs must not fill the database; a person
# (or a mail provider relaying a few members' clicks) stays far below this.
POST_LIMIT = (30, 60.0)


class Shape(StrEnum):
    ONE_MACHINE = "one machine"
    WEB_SERVER = "web server"  # of an office PC that syncs (web_remote = true)


@dataclass(frozen=True)
class WebConfig:
    settings: NewsletterSettings
    shape: Shape
    unsubscribe_key: bytes
    database_path: Path
    unsubscribes: Unsubscribes
    archive: Archive | None  # None: the archive is off (404)
    pushed: PushedArchive | None  # where sync puts pages; only on a web server
    sync_secret: bytes | None  # only on a web server
    image_hosts: frozenset[str]
    pages: Pages
    post_limit: tuple[int, float] = POST_LIMIT


def web_config(
    workspace: Workspace,
    environ: Mapping[str, str] | None = None,
    on_create_keys: Callable[[str], None] | None = None,
) -> WebConfig:
    """Read the settings, keys and templates; raises NewsletterError for what is wrong."""
    env = os.environ if environ is None else environ
    settings = workspace.settings
    newsletter = settings.newsletter
    if newsletter.web_remote:
        _require_office_keys(workspace, env)
    keys = load_keys(workspace, on_create_keys, env)
    # Opening it now creates or upgrades it now, not on a member's first click.
    open_database(settings.database_path).close()
    shape = Shape.WEB_SERVER if newsletter.web_remote else Shape.ONE_MACHINE
    pushed = PushedArchive(workspace.state_dir / ARCHIVE_STATE)
    archive: Archive = pushed if shape is Shape.WEB_SERVER else IssueArchive(workspace)
    unsubscribes: Unsubscribes = (
        QueuedUnsubscribes(settings.database_path)
        if shape is Shape.WEB_SERVER
        else DirectUnsubscribes(settings.database_path)
    )
    remote = shape is Shape.WEB_SERVER
    return WebConfig(
        settings=newsletter,
        shape=shape,
        unsubscribe_key=keys.unsubscribe,
        database_path=settings.database_path,
        unsubscribes=unsubscribes,
        archive=archive if newsletter.archive else None,
        pushed=pushed if remote else None,
        sync_secret=sync_secret(workspace, env).encode() if remote else None,
        image_hosts=own_hosts(
            [newsletter.site_url, newsletter.web_url, *(s.url for s in settings.sources)]
        ),
        pages=Pages.load(web_templates(workspace), newsletter),
    )


def _require_office_keys(workspace: Workspace, env: Mapping[str, str]) -> None:
    """A web server with keys of its own would call every member's link forged."""
    if workspace.secrets_file.exists() or all(
        env.get(v) for v in (UNSUBSCRIBE_ENV, CONFIRMATION_ENV)
    ):
        return
    raise WebError(
        f"this web server has no signing keys ({workspace.secrets_file} is missing)",
        "copy secrets.toml from the office's workspace into this one (see docs/web-setup.md)",
    )
