"""The desk's calls into the library for work the CLI also does: one implementation each."""

from __future__ import annotations

from datetime import date, datetime

from newsletter.gather import GatherReport, GatherRequest, current_time, finish_gather, plan_gather
from newsletter.settings import SmtpSettings
from newsletter.sources import open_sources
from newsletter.sources.reading import SourceReader
from newsletter.workspace import Workspace


def gather_issue(workspace: Workspace, since: date | None, slug: str | None) -> GatherReport:
    """``newsletter gather [--since SINCE] [--slug SLUG]``."""
    plan = plan_gather(workspace, GatherRequest(slug=slug, since=since), current_time())
    with SourceReader(open_sources(workspace), plan.cutoff) as reader:
        results = list(reader.results())
    return finish_gather(plan, results)


def now() -> datetime:
    """The clock sends use: local time, like the CLI's."""
    return datetime.now().astimezone()


def password_of(smtp: SmtpSettings) -> str | None:
    """The SMTP password from the environment or the keyring: the desk has no terminal to
    ask in, so a missing one is the error that says where to put it."""
    from newsletter.deliver.password import smtp_password

    return smtp_password(smtp, prompt=None)
