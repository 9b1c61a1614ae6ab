"""Everything the web application needs, read once from the workspace when it starts."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from newsletter import clock
from newsletter.errors import WebError
from newsletter.keys import CONFIRMATION_ENV, UNSUBSCRIBE_ENV, load_keys
from newsletter.settings import NewsletterSettings, RateWindow
from newsletter.signup.consent import consent_text, signup_texts
from newsletter.signup.mail import Mailer, SignupMails, signup_templates
from newsletter.signup.service import SignupService
from newsletter.store import open_database
from newsletter.web.archive import Archive, IssueArchive, PushedArchive
from newsletter.web.pages import Pages, web_templates
from newsletter.web.secret import sync_secret
from newsletter.web.unsubscribe import DirectUnsubscribes, QueuedUnsubscribes, Unsubscribes
from newsletter.workspace import Workspace

ARCHIVE_STATE = "archive"
# Unsubscribe POSTs with a link that is not ours, per client: they change nothing, but
# a flood of them is someone guessing. A signed link is never limited (app.py).
POST_LIMIT = RateWindow(30, 60.0)
# Sign-ups (and address changes) per client: a household or an office behind one address
# signs up a few people, a robot many. Past it the client gets 429 and nothing is mailed.
SIGNUP_LIMIT = RateWindow(10, 3600.0)


class Shape(StrEnum):
    ONE_MACHINE = "one machine"
    WEB_SERVER = "web server"  # of an office PC that syncs (web_remote = true)


@dataclass(frozen=True)
class SyncEndpoint:
    """What a web server of its own offers ``newsletter sync``."""

    secret: bytes
    pushed: PushedArchive  # where the office's archive pages go


@dataclass(frozen=True)
class WebConfig:
    settings: NewsletterSettings
    shape: Shape
    unsubscribe_key: bytes
    database_path: Path
    unsubscribes: Unsubscribes
    archive: Archive | None  # None: the archive is off (404)
    sync: SyncEndpoint | None  # only on a web server
    image_hosts: frozenset[str]
    pages: Pages
    post_limit: RateWindow = POST_LIMIT
    signup: SignupService | None = None  # None: no [signup], no form
    signup_limit: RateWindow = SIGNUP_LIMIT


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
    signup = _signup_service(workspace, keys.confirmation)
    archive: Archive
    unsubscribes: Unsubscribes
    if newsletter.web_remote:
        shape = Shape.WEB_SERVER
        pushed = PushedArchive(workspace.state_dir / ARCHIVE_STATE)
        sync = SyncEndpoint(sync_secret(workspace, env).encode(), pushed)
        archive, unsubscribes = pushed, QueuedUnsubscribes(settings.database_path)
    else:
        shape, sync = Shape.ONE_MACHINE, None
        archive, unsubscribes = IssueArchive(workspace), DirectUnsubscribes(settings.database_path)
    return WebConfig(
        settings=newsletter,
        shape=shape,
        unsubscribe_key=keys.unsubscribe,
        database_path=settings.database_path,
        unsubscribes=unsubscribes,
        archive=archive if newsletter.archive else None,
        sync=sync,
        image_hosts=settings.own_hosts,
        pages=Pages.load(web_templates(workspace), newsletter, signup=signup is not None),
        signup=signup,
    )


def _signup_service(workspace: Workspace, key: bytes) -> SignupService | None:
    """The sign-up with its mails rendered and [smtp] read, or None without [signup]."""
    settings = workspace.settings
    if settings.signup is None:
        return None
    if settings.smtp is None:
        raise WebError(
            f"{settings.file}: [signup] needs an [smtp] table: the web side sends the "
            "confirmation mails",
            'add [smtp] as on the office\'s machine (see web-setup.md; "newsletter docs" shows where)',
        )
    newsletter = settings.newsletter
    texts = signup_texts(signup_templates(workspace.templates_dir), newsletter)
    service = SignupService(
        database_path=settings.database_path,
        remote=newsletter.web_remote,
        public_lists=settings.signup.lists,
        key=key,
        consent=consent_text(texts["consent"]),
        mails=SignupMails(workspace.templates_dir, newsletter),
        mailer=Mailer(settings.smtp, newsletter),
        web_url=newsletter.web_url,
        welcome=settings.signup.welcome,
    )
    service.purge(clock.utc_now())
    return service


def _require_office_keys(workspace: Workspace, env: Mapping[str, str]) -> None:
    """A web server with keys of its own would call every member's link forged."""
    if workspace.secrets_file.exists() or all(
        env.get(v) for v in (UNSUBSCRIBE_ENV, CONFIRMATION_ENV)
    ):
        return
    raise WebError(
        f"this web server has no signing keys ({workspace.secrets_file} is missing)",
        'copy secrets.toml from the office\'s workspace into this one (see web-setup.md; "newsletter docs" shows where)',
    )
