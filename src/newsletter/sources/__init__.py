"""Where posts come from: feeds and folders, each behind the same reader contract."""

from __future__ import annotations

from pathlib import Path

from newsletter.settings import SourceSettings, SourceType
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
        label = source_label(settings, workspace.root)
        if settings.type is SourceType.FEED:
            sources.append(FeedSource(settings, label, site_url, cache, limits or FetchLimits()))
        else:
            sources.append(FolderSource(settings, label, site_url))
    return sources


def source_label(settings: SourceSettings, root: Path) -> str:
    """The source's name, else its address, else its path as newsletter.toml gives it.

    Labels land in issue.md, so a path is relative to the workspace, never this PC's.
    """
    if settings.name or settings.url or settings.path is None:
        return settings.label
    path = settings.path
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
