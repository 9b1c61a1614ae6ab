"""``newsletter send`` and ``newsletter status``: the moment that must never go wrong."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.state import err, out, state, warn_about_database

if TYPE_CHECKING:
    from rich.progress import Progress as Bar

    from newsletter.deliver.campaign import SendPlan
    from newsletter.deliver.journal import IssueStatus
    from newsletter.deliver.sender import Progress, RunSummary
    from newsletter.settings import SmtpSettings


@cache
def _local_zone() -> tzinfo | None:
    return datetime.now().astimezone().tzinfo


def _now() -> datetime:
    # Asked once per message: astimezone() would look the zone up each time (16 µs). The
    # offset of the start stays for the run, which keeps every instant right.
    return datetime.now(_local_zone())


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _password(smtp: SmtpSettings) -> str | None:
    import getpass

    from newsletter.deliver.password import smtp_password

    # A prompt only where someone can answer it; otherwise the error says what to set.
    prompt = getpass.getpass if sys.stdin.isatty() else None
    return smtp_password(smtp, prompt=prompt)


def _show_plan(plan: SendPlan) -> None:
    from rich.table import Table

    rate = ", ".join(str(window) for window in plan.smtp.rate)
    table = Table(show_header=False, title="About to send", title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("Issue", plan.slug + (" (resuming an earlier send)" if plan.resumed else ""))
    table.add_row("Subject", plan.subject)
    table.add_row("List", plan.list_name)
    table.add_row("Recipients", str(plan.recipients))
    table.add_row("SMTP server", f"{plan.smtp.host}:{plan.smtp.port} ({plan.smtp.security})")
    table.add_row("Expected duration", f"{_duration(plan.expected_seconds)} (rate limit {rate})")
    out.print(table)


def _progress_bar(total: int) -> tuple[Bar, Callable[[Progress], None]]:
    import time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=err,
        # Only on a terminal: piped or captured, a progress bar is just a stray line.
        disable=not err.is_terminal,
    )
    task = bar.add_task("Sending", total=total, rate="")
    started = time.monotonic()

    def update(progress: Progress) -> None:
        done = progress.accepted + progress.failed
        elapsed = max(time.monotonic() - started, 1e-6)
        description = "Sending"
        if progress.pause is not None:
            wait = max(0, round(progress.pause.until - time.monotonic()))
            description = f"Paused by the server, going on in {wait} s"
        elif progress.retrying:
            description = f"Sending ({progress.retrying} waiting to retry)"
        bar.update(
            task, completed=done, description=description, rate=f"{done * 60 / elapsed:.0f}/min"
        )

    return bar, update


def _show_run(summary: RunSummary) -> None:
    out.print(f"Accepted by the server: {summary.accepted}")
    if summary.uncertain:
        out.print(
            f"Uncertain (connection lost after sending; they may have it twice): "
            f"{', '.join(summary.uncertain)}",
            markup=False,
        )


def _show_failures(status: IssueStatus) -> None:
    from rich.table import Table

    if not status.failures:
        return
    table = Table(title="Failed", title_justify="left")
    table.add_column("Address", overflow="fold")
    table.add_column("Server's reply", overflow="fold")
    table.add_column("Next send", no_wrap=True)
    for failure in status.failures:
        again = "gives up" if failure.permanent else "tries again"
        table.add_row(failure.email, failure.reply, again)
    out.print(table)


def send(
    ctx: typer.Context,
    issue: Annotated[str, typer.Argument(help="The issue: its slug (2026-11) or folder.")],
    list_name: Annotated[
        str | None,
        typer.Option(
            "--list", "-l", help="The list; default: the issue's list, else default_list."
        ),
    ] = None,
    test: Annotated[
        list[str] | None,
        typer.Option(
            "--test",
            metavar="ADDRESS",
            help='Send only to this address (repeatable), with "[TEST]" in the subject.',
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Build every message and report; send nothing.")
    ] = False,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save", metavar="FOLDER", help="With --dry-run: write the messages there as .eml."
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Send without a recent sync with the web server (web_remote)."
        ),
    ] = False,
) -> None:
    """Send an issue to a list: one personal message per member, resumable at any time.

    Shows a summary and asks before anything goes out. Interrupted (Ctrl-C, a crash)?
    Run the same command again: nobody is skipped and nobody gets it twice.

    Example: newsletter send 2026-11 --test ich@example.org
    """
    from newsletter.deliver.campaign import (
        messages_for_test_send,
        plan_send,
        run_dry,
        run_send,
        run_test_send,
    )
    from newsletter.issue import issue_folder

    workspace = state(ctx).workspace()
    folder = issue_folder(workspace, issue)
    warn_about_database(workspace)
    if test:
        smtp = workspace.settings.require_smtp()
        messages = messages_for_test_send(workspace, folder, test, clock=_now)
        password = _password(smtp)
        bar, update = _progress_bar(len(messages))
        with bar:
            summary = run_test_send(smtp, messages, password, progress=update)
        _show_run(summary)
        for failure in summary.failures:
            out.print(f"Failed: {failure.recipient}: {failure.reason}", markup=False)
        raise typer.Exit(1 if summary.failures else 0)

    plan = plan_send(workspace, folder, list_name, offline=offline, now=_now())
    if dry_run:
        built = run_dry(plan, folder=save, clock=_now)
        out.print(
            f"Dry run: {built.built} messages built for {plan.list_name} "
            f"({built.total_bytes / 1_048_576:.1f} MB), nothing sent."
        )
        for address in built.smtputf8:
            out.print(f"Needs a server with SMTPUTF8: {address}", markup=False)
        for problem in built.problems:
            out.print(f"Cannot be sent: {problem.address}: {problem.reason}", markup=False)
        if save is not None:
            out.print(f"Messages written to {save}", markup=False)
        raise typer.Exit(1 if built.problems else 0)

    _show_plan(plan)
    if plan.recipients == 0:
        out.print("Nobody to send to: everyone on the list has this issue already.")
        return
    if not yes:
        typer.confirm(f"Send {plan.slug} to {plan.recipients} members now?", abort=True)
    password = _password(plan.smtp)
    bar, update = _progress_bar(plan.recipients)
    try:
        with bar:
            result = run_send(plan, password, progress=update, clock=_now)
    except KeyboardInterrupt:
        err.print(
            f"Interrupted. Everything sent so far is recorded; run "
            f"`newsletter send {plan.slug}` again to send the rest.",
            markup=False,
        )
        raise typer.Exit(1) from None
    if result.prepared.recovered:
        out.print(
            "Sent again (in flight when an earlier send was cut off; listed as uncertain): "
            f"{result.prepared.recovered}"
        )
    _show_run(result.run)
    if result.status.skipped:
        out.print(f"Skipped (unsubscribed since): {result.status.skipped}")
    _show_failures(result.status)
    raise typer.Exit(1 if result.run.failures else 0)


def status(
    ctx: typer.Context,
    issue: Annotated[str, typer.Argument(help="The issue: its slug (2026-11) or folder.")],
) -> None:
    """How an issue's sending stands: sent, pending, failed (with replies), uncertain.

    "Sent" means accepted by the mail server, not that it reached the inbox.

    Example: newsletter status 2026-11
    """
    from rich.table import Table

    from newsletter import store
    from newsletter.bounces.records import Decision
    from newsletter.bounces.records import counts_for_issue as bounce_counts
    from newsletter.deliver import journal
    from newsletter.issue import issue_folder

    workspace = state(ctx).workspace()
    folder = issue_folder(workspace, issue)
    warn_about_database(workspace)
    with store.open_database(workspace.database_path) as db:
        current = journal.status(db, folder.name)
        bounced = bounce_counts(db, folder.name)
    if current.started_at is None:
        out.print(f"{folder.name} has not been sent yet.")
        return
    started = current.started_at.astimezone()
    out.print(
        f"{folder.name}: first sent {started:%Y-%m-%d %H:%M} to {', '.join(current.lists)}",
        markup=False,
    )
    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("Sent (accepted by the server)", str(current.sent))
    table.add_row("Bounced later (bounce mail)", str(bounced.get(Decision.BOUNCED, 0)))
    table.add_row("Soft bounces counted", str(bounced.get(Decision.COUNTED, 0)))
    table.add_row("Pending", str(current.pending))
    table.add_row("Failed", str(current.failed))
    table.add_row("Uncertain", str(len(current.uncertain)))
    table.add_row("Skipped (unsubscribed since)", str(current.skipped))
    out.print(table)
    _show_failures(current)
    if current.uncertain:
        out.print(
            "Uncertain (a send was cut off while these were in flight; they may have it "
            f"twice): {', '.join(current.uncertain)}",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.command()(send)
    app.command()(status)
