"""The desk's calls into the library for work the CLI also does: one implementation each."""

from __future__ import annotations

from datetime import date

from newsletter.gather import GatherReport, GatherRequest, current_time, finish_gather, plan_gather
from newsletter.sources import open_sources
from newsletter.sources.reading import SourceReader
from newsletter.workspace import Workspace


def gather_issue(workspace: Workspace, since: date, slug: str | None) -> GatherReport:
    """``newsletter gather --since SINCE [--slug SLUG]``."""
    plan = plan_gather(workspace, GatherRequest(slug=slug, since=since), current_time())
    with SourceReader(open_sources(workspace), plan.cutoff) as reader:
        results = list(reader.results())
    return finish_gather(plan, results)
