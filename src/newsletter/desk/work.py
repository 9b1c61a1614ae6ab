"""The desk's calls into the library for work the CLI also does: one implementation each."""

from __future__ import annotations

from datetime import date, datetime

from newsletter import clock
from newsletter.gather import GatherReport, GatherRequest, run_gather
from newsletter.settings import SmtpSettings
from newsletter.workspace import Workspace


def gather_issue(workspace: Workspace, since: date | None, slug: str | None) -> GatherReport:
    """``newsletter gather [--since SINCE] [--slug SLUG]``."""
    return run_gather(workspace, GatherRequest(slug=slug, since=since))


def now() -> datetime:
    """The one clock (looked up at each call, so tests can fix it)."""
    return clock.now()


def password_of(smtp: SmtpSettings) -> str | None:
    """The SMTP password from the environment or the keyring: the desk has no terminal to
    ask in, so a missing one is the error that says where to put it."""
    from newsletter.deliver.password import smtp_password

    return smtp_password(smtp, prompt=None)
