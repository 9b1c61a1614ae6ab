"""``newsletter bounces``: read the bounce mailbox and apply what it says."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.state import err, out, state, warn_about_database

if TYPE_CHECKING:
    from newsletter.settings import BounceSettings


def bounces(
    ctx: typer.Context,
    maildir: Annotated[
        Path | None, typer.Option("--maildir", help="Read this Maildir folder instead of IMAP.")
    ] = None,
    mbox: Annotated[
        Path | None, typer.Option("--mbox", help="Read this mbox file (a webmail export).")
    ] = None,
) -> None:
    """Read bounce mail: dead addresses are marked bounced, complaints unsubscribed.

    Reads the IMAP mailbox of [bounces] in newsletter.toml (or --maildir/--mbox), moves
    what it handled to the processed folder, and leaves mail it cannot match or read in
    place, listed below the result. Safe to run as often as you like (cron, Task
    Scheduler): each bounce is applied once. Setting up: bounces.md (newsletter docs).

    Example: newsletter bounces
    """
    from newsletter import clock, store
    from newsletter.bounces.mailboxes import (
        MaildirSource,
        MboxSource,
        Run,
        Source,
        imap_source,
        process,
    )
    from newsletter.bounces.process import Policy, summary
    from newsletter.errors import BounceError
    from newsletter.keys import load_keys

    if maildir is not None and mbox is not None:
        raise BounceError("give either --maildir or --mbox, not both")
    workspace = state(ctx).workspace()
    settings = workspace.settings.bounces
    policy = Policy(settings.soft_limit, settings.soft_days)
    key = load_keys(workspace).unsubscribe
    warn_about_database(workspace)

    def run(source: Source) -> Run:
        with store.open_database(workspace.database_path) as db:
            return process(source, db, key, policy, clock.utc_now())

    if maildir is not None:
        result = run(MaildirSource(maildir, settings.processed))
    elif mbox is not None:
        result = run(MboxSource(mbox))
    else:
        with imap_source(settings, _password(settings)) as source:
            result = run(source)
    handled = [item for _, item in result.handled]
    out.print(summary(handled), markup=False)
    for key_in_box, item in result.handled:
        if not item.done:
            why = "not matched to a member" if item.outcome == "unmatched" else "not recognised"
            out.print(
                f"  left in place ({why}): {key_in_box}: {item.sender} - {item.subject}",
                markup=False,
            )
    if result.left:
        err.print(f"{result.left} more mails wait for the next run.", markup=False)


def _password(settings: BounceSettings) -> str | None:
    import getpass

    from newsletter.deliver.password import smtp_password

    # A prompt only where someone can answer it: unattended, the error says what to set.
    prompt = getpass.getpass if sys.stdin.isatty() else None
    return smtp_password(settings, what="IMAP", prompt=prompt)


def register(app: typer.Typer) -> None:
    app.command()(bounces)
