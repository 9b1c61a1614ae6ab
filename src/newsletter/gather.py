"""Gather: choose the recent posts from every source and merge them into an issue.

Pure functions decide (``cutoff``, ``select_posts``, ``merge_posts``); ``plan_gather``
reads the workspace before any source is fetched, ``finish_gather`` writes the issue.
A re-run keeps what staff did in issue.md: edited fields, order, deleted posts (via
``gathered.json``, see issue.py) and the editorial. New posts are appended below the
posts already there, so nothing staff arranged moves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Protocol

from newsletter import clock
from newsletter.errors import IssueError
from newsletter.issue import (
    ISSUE_FILE,
    Gathered,
    Issue,
    KnownPosts,
    PostKey,
    derive_texts,
    follow_content,
    load_issue,
    read_gathered,
    read_sent_mark,
    save_issue,
    write_gathered,
)
from newsletter.post import Post
from newsletter.sources.contract import Source, SourceResult
from newsletter.sources.dates import BERLIN, days_before, start_of_day
from newsletter.workspace import Workspace

DEFAULT_DAYS = 30
_SLUG = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")
_MONTH_SLUG = re.compile(r"^(\d{4}-\d{2})(?:-(\d+))?$")


class SkipReason(StrEnum):
    DUPLICATE = "duplicate"
    ALREADY_SENT = "already sent"
    UNDATED = "undated"
    TOO_OLD = "too old"
    CATEGORY = "other category"
    REMOVED = "deleted from this issue"
    UNREADABLE = "unreadable"


class Taken(StrEnum):
    NEW = "new"
    KEPT = "already in issue"


@dataclass(frozen=True)
class Skipped:
    post: Post
    reason: SkipReason
    detail: str = ""  # what made an unreadable post unreadable


@dataclass(frozen=True)
class Selection:
    taken: tuple[Post, ...]
    skipped: tuple[Skipped, ...]


@dataclass(frozen=True)
class SentHistory:
    """What earlier, sent issues contained, and where the latest of them left off."""

    posts: KnownPosts
    # The newest post of the issue sent last, or when it was gathered, whichever is
    # earlier: anything newer may not have been offered yet (None: nothing sent).
    offered_until: datetime | None


@dataclass(frozen=True)
class GatherRequest:
    slug: str | None = None
    since: date | None = None
    days: int | None = None
    include_undated: bool = False
    category: str | None = None


@dataclass(frozen=True)
class GatherPlan:
    workspace: Workspace
    request: GatherRequest
    slug: str
    folder: Path
    cutoff: datetime
    history: SentHistory
    now: datetime


@dataclass(frozen=True)
class Merged:
    posts: tuple[Post, ...]
    added: tuple[Post, ...]
    removed: tuple[Skipped, ...]


@dataclass(frozen=True)
class GatherReport:
    plan: GatherPlan
    issue: Issue
    added: tuple[Post, ...]
    skipped: tuple[Skipped, ...]
    warnings: tuple[tuple[str, str], ...]  # (source, warning)
    created: bool
    written: bool

    @property
    def path(self) -> Path:
        return self.plan.folder / ISSUE_FILE

    @cached_property
    def _added_ids(self) -> frozenset[str]:
        return frozenset(post.id for post in self.added)

    def status(self, post: Post) -> Taken:
        return Taken.NEW if post.id in self._added_ids else Taken.KEPT


def current_time() -> datetime:
    """Now in Berlin, to the second, from the one clock (tests set ``clock.now``)."""
    return clock.now().astimezone(BERLIN).replace(microsecond=0)


def cutoff(request: GatherRequest, offered_until: datetime | None, now: datetime) -> datetime:
    """The oldest date a post may have: --since, --days, where the last sent issue left
    off, or 30 days back.

    Not the last send's time: a post published between gathering and sending an issue
    was never offered, and must be now. Posts already in a sent issue are skipped anyway.
    """
    if request.since is not None:
        return start_of_day(request.since)
    if request.days is not None:
        return days_before(now, request.days)
    return offered_until if offered_until is not None else days_before(now, DEFAULT_DAYS)


def offered_until(issue: Issue, gathered_at: datetime | None) -> datetime:
    """Where an issue left off: its newest post, or its gather time, whichever is earlier.

    Without a recorded gather time, the issue's date (gather sets it when it creates
    the issue) stands in.
    """
    dates = [post.date for post in issue.posts if post.date is not None]
    gathered = gathered_at if gathered_at is not None else issue.date
    return min(max(dates), gathered) if dates else gathered


def _newest_first(posts: Sequence[Post]) -> tuple[Post, ...]:
    # Undated posts (only there when asked for) go last, in the order the sources gave them.
    dated = [(post.date, post) for post in posts if post.date is not None]
    dated.sort(key=lambda pair: pair[0], reverse=True)
    return (*(post for _, post in dated), *(post for post in posts if post.date is None))


def select_posts(
    posts: Iterable[Post],
    *,
    since: datetime,
    history: SentHistory,
    include_undated: bool = False,
    category: str | None = None,
) -> Selection:
    """Which posts an issue may take, and why each other one is left out."""
    wanted = category.casefold() if category else None
    seen_ids: set[str] = set()
    seen_urls: set[str] = set()
    taken: list[Post] = []
    skipped: list[Skipped] = []
    for post in posts:
        reason: SkipReason | None = None
        if post.id in seen_ids or (post.url and post.url in seen_urls):
            reason = SkipReason.DUPLICATE
        elif history.posts.contains(post):
            reason = SkipReason.ALREADY_SENT
        elif post.date is None and not include_undated:
            reason = SkipReason.UNDATED
        elif post.date is not None and post.date < since:
            reason = SkipReason.TOO_OLD
        elif wanted and wanted not in (c.casefold() for c in post.categories):
            reason = SkipReason.CATEGORY
        seen_ids.add(post.id)
        if post.url:
            seen_urls.add(post.url)
        if reason is None:
            taken.append(post)
        else:
            skipped.append(Skipped(post, reason))
    return Selection(_newest_first(taken), tuple(skipped))


def merge_posts(
    existing: Sequence[Post], gathered: Sequence[PostKey], taken: Sequence[Post]
) -> Merged:
    """The issue's posts: staff's as they left them, then the taken posts that are new.

    A taken post gathered before but no longer in ``existing`` was deleted by staff.
    """
    present = KnownPosts.of(PostKey.of(post) for post in existing)
    before = KnownPosts.of(gathered)
    added: list[Post] = []
    removed: list[Skipped] = []
    for post in taken:
        if present.contains(post):
            continue
        if before.contains(post):
            removed.append(Skipped(post, SkipReason.REMOVED))
        else:
            added.append(post)
    return Merged((*existing, *added), tuple(added), tuple(removed))


def suggest_slug(workspace: Workspace, slug: str) -> str:
    """A free slug after a sent one: 2026-11 → 2026-11-2 → 2026-11-3, other → other-2."""
    match = _MONTH_SLUG.match(slug)
    base, number = (match.group(1), int(match.group(2) or 1)) if match else (slug, 1)
    while True:
        number += 1
        candidate = f"{base}-{number}"
        if not (workspace.issues_dir / candidate).exists():
            return candidate


def sent_history(workspace: Workspace, exclude: Path) -> SentHistory:
    keys: list[PostKey] = []
    last: tuple[datetime, datetime] | None = None  # (sent at, offered until)
    for folder in sorted(workspace.issues_dir.glob(f"*/{ISSUE_FILE}")):
        folder = folder.parent
        mark = read_sent_mark(folder)
        if mark is None or folder == exclude:
            continue
        issue = load_issue(folder)
        keys += (PostKey.of(post) for post in issue.posts)
        if last is None or mark.started_at > last[0]:
            last = (mark.started_at, offered_until(issue, read_gathered(folder).gathered_at))
    return SentHistory(KnownPosts.of(keys), last[1] if last is not None else None)


def plan_gather(workspace: Workspace, request: GatherRequest, now: datetime) -> GatherPlan:
    """Check the target issue and read the history, before any source is fetched."""
    slug = request.slug or now.astimezone(BERLIN).strftime("%Y-%m")
    if not _SLUG.match(slug):
        raise IssueError(
            f'"{slug}" cannot name an issue',
            'use letters, digits, "-", "_" and "." only, like "2026-11" or "2026-11-extra"',
            key="gather_bad_slug",
            params={"slug": slug},
        )
    folder = workspace.issues_dir / slug
    mark = read_sent_mark(folder)
    if mark is not None:
        raise IssueError(
            f'issue "{slug}" was sent on {mark.started_at:%Y-%m-%d}, so it is frozen and '
            "gather leaves it alone",
            f"gather into a new issue instead: newsletter gather --slug "
            f"{suggest_slug(workspace, slug)}",
            key="gather_issue_sent",
            params={
                "slug": slug,
                "day": f"{mark.started_at:%d.%m.%Y}",
                "free": suggest_slug(workspace, slug),
            },
        )
    history = sent_history(workspace, exclude=folder.resolve())
    return GatherPlan(
        workspace=workspace,
        request=request,
        slug=slug,
        folder=folder,
        cutoff=cutoff(request, history.offered_until, now),
        history=history,
        now=now,
    )


def _new_issue(plan: GatherPlan, posts: tuple[Post, ...]) -> Issue:
    empty = Issue(
        slug=plan.slug,
        subject="",
        preheader="",
        date=plan.now,
        list_name=None,
        posts=posts,
        editorial="",
    )
    texts = derive_texts(empty, plan.workspace.settings.newsletter)
    return replace(empty, subject=texts.subject, preheader=texts.preheader)


def unreadable_posts(results: Sequence[SourceResult]) -> tuple[Skipped, ...]:
    """The posts a source could not read, for the table of skipped posts."""
    return tuple(
        Skipped(
            Post(f"{result.label}:{bad.name}", bad.name, "", None, "", source=result.label),
            SkipReason.UNREADABLE,
            detail=bad.reason,
        )
        for result in results
        for bad in result.unreadable
    )


def finish_gather(plan: GatherPlan, results: Sequence[SourceResult]) -> GatherReport:
    """Select, merge with the issue on disk and write it (only when something changed)."""
    request = plan.request
    selection = select_posts(
        (post for result in results for post in result.posts),
        since=plan.cutoff,
        history=plan.history,
        include_undated=request.include_undated,
        category=request.category,
    )
    issue_file = plan.folder / ISSUE_FILE
    existing = load_issue(plan.folder) if issue_file.exists() else None
    memory = read_gathered(plan.folder) if existing is not None else Gathered()
    merged = merge_posts(existing.posts if existing else (), memory.posts, selection.taken)
    in_issue = [PostKey.of(post) for post in merged.posts]
    kept = KnownPosts.of(in_issue)
    # A post staff kept stays, even when it is now "too old": list it as kept, not skipped.
    skipped = tuple(
        skip
        for skip in selection.skipped
        if skip.reason is SkipReason.DUPLICATE or not kept.contains(skip.post)
    )
    settings = plan.workspace.settings.newsletter
    if existing is None:
        issue = _new_issue(plan, merged.posts)
    else:
        # Texts gather made and nobody edited follow the posts (added or deleted).
        issue = follow_content(replace(existing, posts=merged.posts), memory.derived, settings)
    written = issue != existing
    if written:
        save_issue(plan.folder, issue)
    write_gathered(
        plan.folder,
        Gathered(
            posts=tuple(dict.fromkeys((*memory.posts, *in_issue))),
            gathered_at=plan.now,
            derived=derive_texts(issue, settings),
        ),
    )
    return GatherReport(
        plan=plan,
        issue=issue,
        added=merged.added,
        skipped=(*skipped, *merged.removed, *unreadable_posts(results)),
        warnings=tuple((result.label, w) for result in results for w in result.warnings),
        created=existing is None,
        written=written,
    )


class ReadingProgress(Protocol):
    """What a front end shows while the sources are read (a progress bar, a log line)."""

    def reading(self, source: Source) -> None:
        """``source`` is the one waited for now (read by now, or still being read)."""

    def read(self, source: Source) -> None:
        """``source`` is done."""


class _Quiet:
    def reading(self, source: Source) -> None:
        pass

    def read(self, source: Source) -> None:
        pass


Watch = Callable[[int], AbstractContextManager[ReadingProgress]]


def read_sources(
    sources: Sequence[Source], since: datetime, watch: Watch | None = None
) -> list[SourceResult]:
    """Every source's result, in the order given; ``watch(len(sources))`` is entered once
    the reader has started, so a front end can follow along."""
    from newsletter.sources.reading import SourceReader

    results = []
    # The reader first: it forks, and a progress display may start a thread.
    with (
        SourceReader(sources, since) as reader,
        watch(len(sources)) if watch else nullcontext(_Quiet()) as progress,
    ):
        pending = reader.results()
        for source in sources:
            progress.reading(source)
            results.append(next(pending))
            progress.read(source)
    return results


def run_gather(
    workspace: Workspace,
    request: GatherRequest,
    *,
    watch: Watch | None = None,
    now: datetime | None = None,
) -> GatherReport:
    """The whole gather, as ``newsletter gather`` runs it: plan, read every source,
    write issue.md. A second front end calls this and shows the report its own way."""
    from newsletter.sources import open_sources

    plan = plan_gather(workspace, request, now or current_time())
    return finish_gather(plan, read_sources(open_sources(workspace), plan.cutoff, watch))
