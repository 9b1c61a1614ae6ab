"""``newsletter send`` and ``newsletter status``: the moment that must never go wrong."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter import clock
from newsletter.cli.state import err, notice, out, state, warn_about_database

if TYPE_CHECKING:
    from rich.progress import Progress as Bar

    from newsletter.deliver.journal import IssueStatus
    from newsletter.deliver.sender import Progress, RunSummary
    from newsletter.sending import SendPlan
    from newsletter.settings import SmtpSettings
    from newsletter.workspace import Workspace


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
    table.add_row(
        "List", plan.list_name + (" (finishing its unfinished send)" if plan.finishing else "")
    )
    recipients = str(plan.recipients)
    if plan.again:
        recipients += f" ({plan.again} again: cut off in flight before)"
    table.add_row("Recipients", recipients)
    if plan.new and plan.include_new:
        table.add_row("Joined since", f"{plan.new} subscribed since the first send: included")
    elif plan.new:
        table.add_row("Joined since", f"{plan.new} subscribed since the first send: left out")
    for other in plan.others:
        table.add_row("Unfinished", f"{other.name}: {other.due} to go (--list {other.name})")
    table.add_row("SMTP server", f"{plan.smtp.host}:{plan.smtp.port} ({plan.smtp.security})")
    table.add_row("Expected duration", f"{_duration(plan.expected_seconds)} (rate limit {rate})")
    out.print(table)
    if plan.new and not plan.include_new:
        out.print(
            f"The recipients were fixed by the first send to {plan.list_name}; to send this "
            f"issue to the {plan.new} subscribed since as well, add --include-new.",
            markup=False,
        )


def _again(ctx: typer.Context, plan: SendPlan, *, offline: bool) -> str:
    """The command that goes on with this send: every option that matters repeated."""
    import os
    import shlex
    import subprocess

    words = ["newsletter"]
    workspace = state(ctx).workspace_option
    if workspace is not None:
        words += ["--workspace", str(workspace)]
    words += ["send", plan.slug, "--list", plan.list_name]
    if plan.retry_failed:
        words.append("--retry-failed")
    if offline:
        words.append("--offline")
    # Quoted for the shell staff type it into: cmd and PowerShell take "...", not '...'.
    return subprocess.list2cmdline(words) if os.name == "nt" else shlex.join(words)


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
            help='Send only to this address (repeatable), with "[TEST]" in the subject; '
            "renders the issue first when its build is out of date.",
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
    include_new: Annotated[
        bool,
        typer.Option(
            "--include-new",
            help="Also send to members subscribed since this list's first send of the issue "
            "(without it, a later run only finishes that first set).",
        ),
    ] = False,
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Also send again to members whose delivery the server refused for good, "
            "unless the address bounced (no such user) or is suppressed.",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit with an error, sending nothing, when there are warnings."
        ),
    ] = False,
) -> None:
    """Send an issue to a list: one personal message per member, resumable at any time.

    Shows a summary and asks before anything goes out. Interrupted (Ctrl-C, a crash)?
    Run the command it shows again: nobody is skipped and nobody gets it twice. Without
    --list, an unfinished send to another list is finished, never a second one started.

    --test renders the issue first when issue.md or a template changed since the last
    render, so the test mail shows your edits (a sent issue keeps its build).

    Example: newsletter send 2026-11 --test ich@example.org
    """
    from newsletter.issue import issue_folder
    from newsletter.sending import plan_send

    workspace = state(ctx).workspace()
    folder = issue_folder(workspace, issue)
    warn_about_database(workspace)
    if test:
        raise typer.Exit(_test_send(workspace, folder, test))
    plan = plan_send(
        workspace,
        folder,
        list_name,
        offline=offline,
        now=clock.now(),
        include_new=include_new,
        strict=strict,
        retry_failed=retry_failed,
    )
    for warning in plan.warnings:
        err.print(f"Warning: {warning}", style="yellow", markup=False)
    if dry_run:
        raise typer.Exit(_dry_run(plan, save))
    raise typer.Exit(_real_send(ctx, plan, yes=yes, offline=offline))


def _test_send(workspace: Workspace, folder: Path, addresses: list[str]) -> int:
    from newsletter.sending import messages_for_test_send, render_if_stale, run_test_send

    smtp = workspace.settings.require_smtp()
    rendered = render_if_stale(workspace, folder, on_create=notice)
    if rendered is not None:
        out.print(f"Rendered {folder.name} first: {rendered.reason}.", markup=False)
        for warning in rendered.build.result.warnings:
            err.print(f"Warning: {warning}", style="yellow", markup=False)
    messages = messages_for_test_send(workspace, folder, addresses, clock=clock.now)
    password = _password(smtp)
    bar, update = _progress_bar(len(messages))
    with bar:
        summary = run_test_send(smtp, messages, password, progress=update)
    _show_run(summary)
    for failure in summary.failures:
        out.print(f"Failed: {failure.recipient}: {failure.reason}", markup=False)
    return 1 if summary.failures else 0


def _dry_run(plan: SendPlan, save: Path | None) -> int:
    from newsletter.sending import run_dry

    built = run_dry(plan, folder=save, clock=clock.now)
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
    return 1 if built.problems else 0


def _real_send(ctx: typer.Context, plan: SendPlan, *, yes: bool, offline: bool) -> int:
    from newsletter.sending import run_send

    _show_plan(plan)
    if plan.recipients == 0:
        out.print("Nobody to send to: everyone on the list has this issue already.")
        return 0
    question = f"Send {plan.slug} to {plan.recipients} members now?"
    if plan.retry_failed:
        question = (
            f"Send {plan.slug} again to {plan.retried} members whose delivery failed "
            f"({plan.recipients} members in all) now?"
        )
    if not yes and not typer.confirm(question):
        out.print("Nothing was sent.")
        return 0
    password = _password(plan.smtp)
    bar, update = _progress_bar(plan.recipients)
    again = _again(ctx, plan, offline=offline)
    try:
        with bar:
            result = run_send(plan, password, progress=update, clock=clock.now)
    except KeyboardInterrupt:
        err.print(
            f"Interrupted. Everything sent so far is recorded; run `{again}` again to send "
            "the rest.",
            markup=False,
        )
        return 1
    if result.prepared.recovered:
        out.print(
            "Sent again (in flight when an earlier send was cut off; listed as uncertain): "
            f"{result.prepared.recovered}"
        )
    _show_run(result.run)
    if result.status.skipped:
        out.print(f"Skipped (unsubscribed since): {result.status.skipped}")
    _show_failures(result.status)
    return 1 if result.run.failures else 0


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
    from newsletter.deliver import journal
    from newsletter.issue import SENT_MARK, issue_folder, read_sent_mark
    from newsletter.store.bounces import Decision
    from newsletter.store.bounces import counts_for_issue as bounce_counts

    workspace = state(ctx).workspace()
    folder = issue_folder(workspace, issue)
    warn_about_database(workspace)
    with store.open_database(workspace.database_path) as db:
        current = journal.status(db, folder.name)
        bounced = bounce_counts(db, folder.name)
    if current.started_at is None:
        out.print(f"{folder.name} has not been sent yet.")
        if read_sent_mark(folder) is not None:
            # Earlier versions wrote the mark before the relay had taken anything.
            out.print(
                f"Yet {SENT_MARK} marks it sent, so render and gather leave it alone. If no "
                f"member got it (an old version wrote the mark before a send that failed), "
                f"delete {folder / SENT_MARK} to edit it again.",
                markup=False,
            )
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
    for unfinished in current.unfinished:
        out.print(
            f"Unfinished: {unfinished.name}, {unfinished.due} to go; finish it with "
            f"newsletter send {folder.name} --list {unfinished.name}",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.command()(send)
    app.command()(status)
