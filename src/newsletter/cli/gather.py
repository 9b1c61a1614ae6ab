"""``newsletter gather``: read the sources, write issues/<slug>/issue.md, show what happened."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from newsletter.cli.state import err, notice, out, state

if TYPE_CHECKING:
    from newsletter.gather import GatherReport, ReadingProgress, Skipped
    from newsletter.post import Post
    from newsletter.sources import Source

# Beyond this many posts skipped for one reason, the table says how many more.
ROWS_PER_REASON = 15


@contextmanager
def _progress_bar(total: int) -> Iterator[ReadingProgress]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(
        *columns,
        console=err,
        transient=True,
        # Only on a terminal: piped or captured, a progress bar is just a stray line.
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("Reading sources", total=total)

        class Bar:
            def reading(self, source: Source) -> None:
                progress.update(task, description=f"Reading {source.label}")

            def read(self, source: Source) -> None:
                progress.advance(task)

        yield Bar()


def _when(post: Post) -> str:
    return f"{post.date:%Y-%m-%d}" if post.date else "no date"


def _title(post: Post) -> Text:
    # Text, not a markup string: a title like "[Update] Radweg" must show as written.
    return Text(post.title if post.url else f"{post.title} (no URL: add one in issue.md)")


def _what(skip: Skipped) -> tuple[str, Text]:
    """Date and title of a skipped post; of an unreadable one, its name and the reason."""
    if skip.detail:
        return "", Text(f"{skip.post.title}: {skip.detail}")
    return _when(skip.post), _title(skip.post)


def _show(report: GatherReport) -> None:
    from rich.table import Table

    since = report.plan.cutoff
    when = f"{since:%Y-%m-%d}" if since.time() == time(0) else f"{since:%Y-%m-%d %H:%M}"
    table = Table(title=f"Issue {report.plan.slug}: posts since {when}")
    table.add_column("", no_wrap=True)
    table.add_column("Date", no_wrap=True)
    table.add_column("Title", overflow="fold")
    table.add_column("Source", overflow="fold")
    for post in report.issue.posts:
        table.add_row(str(report.status(post)), _when(post), _title(post), Text(post.source))
    shown: dict[str, int] = {}
    for skip in report.skipped:
        shown[skip.reason] = shown.get(skip.reason, 0) + 1
        if shown[skip.reason] <= ROWS_PER_REASON:
            status = f"skipped: {skip.reason}"
            row = (status, *_what(skip), Text(skip.post.source))
            table.add_row(*row, style="dim")
    for reason, count in shown.items():
        if count > ROWS_PER_REASON:
            more = count - ROWS_PER_REASON
            table.add_row(f"skipped: {reason}", "", f"... and {more} more", "", style="dim")
    out.print(table)


def gather(
    ctx: typer.Context,
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="Take posts from this day on (YYYY-MM-DD). Default: every post not in a sent "
            "issue that is newer than the newest post of the last sent issue (or its gather "
            "time, if earlier); with no sent issue, the last 30 days.",
        ),
    ] = None,
    days: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="Take posts of the last N days instead.")
    ] = None,
    slug: Annotated[
        str | None,
        typer.Option(
            metavar="SLUG", help="Name of the issue (its folder under issues/). Default: the month."
        ),
    ] = None,
    include_undated: Annotated[
        bool, typer.Option("--include-undated", help="Also take posts that have no date.")
    ] = False,
    category: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only take posts in this category.")
    ] = None,
) -> None:
    """Collect the recent posts from every source into issues/<slug>/issue.md.

    Running it again for the same issue keeps your edits in issue.md (titles,
    summaries, order, deleted posts, the editorial) and only adds new posts.

    Example: newsletter gather --since 2026-11-01
    """
    from newsletter.gather import GatherRequest, run_gather

    if since is not None and days is not None:
        raise typer.BadParameter("use either --since or --days, not both", param_hint="--days")
    workspace = state(ctx).workspace()
    request = GatherRequest(
        slug=slug,
        since=since.date() if since else None,
        days=days,
        include_undated=include_undated,
        category=category,
    )
    report = run_gather(workspace, request, watch=_progress_bar)
    for source, warning in report.warnings:
        notice(f"Warning: {source}: {warning}")
    _show(report)
    where = report.path.relative_to(workspace.root)
    if not report.written:
        out.print(f"No new posts; {where} is unchanged.", markup=False)
        return
    verb = "Created" if report.created else "Updated"
    count = len(report.added)
    out.print(f"{verb} {where} ({count} new {'post' if count == 1 else 'posts'}).", markup=False)
    out.print(
        f"Next: check it and write the editorial below the front matter, then run: "
        f"newsletter render {report.plan.slug}",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(gather)
