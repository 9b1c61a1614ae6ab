"""Where posts come from: feeds and folders, each behind the same reader contract."""

from __future__ import annotations

from newsletter.settings import SourceType
from newsletter.sources.contract import Source, SourceResult
from newsletter.sources.feed import FeedSource
from newsletter.sources.fetch import FetchLimits
from newsletter.sources.folder import FolderSource
from newsletter.workspace import Workspace

FEED_CACHE = "feeds"

__all__ = ["Source", "SourceResult", "open_sources"]


def open_sources(workspace: Workspace, limits: FetchLimits | None = None) -> list[Source]:
    """The workspace's sources in the order newsletter.toml lists them."""
    site_url = workspace.settings.newsletter.site_url
    cache = workspace.state_dir / FEED_CACHE
    sources: list[Source] = []
    for settings in workspace.settings.sources:
        if settings.type is SourceType.FEED:
            sources.append(FeedSource(settings, site_url, cache, limits or FetchLimits()))
        else:
            sources.append(FolderSource(settings, site_url))
    return sources
