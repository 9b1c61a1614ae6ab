"""``newsletter members ...``: keep the member lists, their consent and their opt-outs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter.cli.state import err, out, state, warn_about_database
from newsletter.members.records import Basis, SubscriptionStatus

if TYPE_CHECKING:
    from rich.table import Table as RichTable

    from newsletter.members.planner import ImportPlan
    from newsletter.members.readers import ImportRow, MemberFile
    from newsletter.store import Database
    from newsletter.workspace import Workspace

members_app = typer.Typer(
    name="members",
    help=(
        "Keep the member lists: import, add, remove, unsubscribe, forget, export.\n\n"
        "Example: newsletter members import mitglieder.csv --list mitglieder"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
lists_app = typer.Typer(name="lists", rich_markup_mode=None)

_PROGRESS_FROM_ROWS = 2000
_PROGRESS_STEP = 500
_BASIS_WORDS = {
    Basis.MEMBERSHIP: "membership (party members, Art. 9(2)(d) GDPR)",
    Basis.CONSENT: "consent (Art. 6(1)(a) GDPR, with the consent record)",
}

ListOption = Annotated[
    str | None,
    typer.Option("--list", "-l", help="The list; default: default_list in newsletter.toml."),
]


@contextmanager
def _database(ctx: typer.Context) -> Iterator[tuple[Workspace, Database]]:
    from newsletter.store import open_database

    workspace = state(ctx).workspace()
    warn_about_database(workspace)
    with open_database(workspace.database_path) as db:
        yield workspace, db


def _list_name(workspace: Workspace, given: str | None) -> str:
    return given if given is not None else workspace.settings.newsletter.default_list


@members_app.command("import")
def import_members(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV (Excel, UTF-8 or Windows-1252), .xlsx, Mailchimp zip or CSV, listmonk export."
        ),
    ],
    list_name: ListOption = None,
    basis: Annotated[
        Basis | None,
        typer.Option(
            case_sensitive=False,
            help="Legal basis to record; default: consent for exports with opt-in times "
            "(Mailchimp, listmonk), else membership.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; write nothing.")
    ] = False,
    column: Annotated[
        list[str] | None,
        typer.Option(
            "--column",
            metavar="FIELD=COLUMN",
            help="Which column holds email, first_name, last_name or name (header or number).",
        ),
    ] = None,
) -> None:
    """Import members from a file into a list (created if missing).

    Bad rows are reported with their line and reason; the good rows go in, all in one
    transaction. Unsubscribed, bounced and forgotten addresses are never added again.

    Example: newsletter members import Mitglieder.csv --list mitglieder --column "email=Mail privat"
    """
    from datetime import UTC, datetime

    from newsletter.members.applier import apply_import
    from newsletter.members.manage import plan_file_import
    from newsletter.members.planner import Outcome
    from newsletter.members.readers import open_member_file, parse_column_overrides

    member_file = open_member_file(file, parse_column_overrides(column or []))
    with _database(ctx) as (workspace, db), _progress(member_file.row_count) as advance:
        rows = _counted(member_file.rows(), advance("Reading", member_file.row_count))
        plan = plan_file_import(db, member_file, _list_name(workspace, list_name), basis, rows)
        if not dry_run:
            apply_import(
                db,
                plan,
                source=f"import of {file.name}",
                now=datetime.now(UTC),
                progress=advance("Writing", plan.counts[Outcome.ADDED]),
            )
    _import_summary(member_file, plan, dry_run=dry_run, verbose=state(ctx).verbose)


Advance = Callable[[int], None]


@contextmanager
def _progress(rows: int) -> Iterator[Callable[[str, int], Advance]]:
    """A progress bar on stderr for long files; short ones finish before it would help."""
    if rows < _PROGRESS_FROM_ROWS:
        yield lambda _label, _total: lambda _n: None
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as progress:

        def task(label: str, total: int) -> Advance:
            task_id = progress.add_task(label, total=total)
            return lambda n: progress.advance(task_id, n)

        yield task


def _counted(rows: Iterable[ImportRow], advance: Advance) -> Iterator[ImportRow]:
    count = 0
    for row in rows:
        yield row
        count += 1
        if count == _PROGRESS_STEP:
            advance(count)
            count = 0
    advance(count)


def _unbroken_column(table: RichTable, header: str, values: list[str]) -> None:
    """A column that is never wrapped or cut: addresses and line numbers stay whole."""
    width = max((len(value) for value in values), default=0)
    table.add_column(header, no_wrap=True, min_width=max(width, len(header)))


def _import_summary(
    member_file: MemberFile, plan: ImportPlan, *, dry_run: bool, verbose: bool
) -> None:
    from rich.table import Table

    from newsletter.members.planner import Outcome

    out.print(
        f"Read {member_file.path.name} as {member_file.format}: {sum(plan.counts.values())} rows.",
        markup=False,
    )
    shown = [Outcome.REJECTED, Outcome.SUPPRESSED] if verbose else [Outcome.REJECTED]
    details = [row for row in plan.rows if row.outcome in shown]
    if details:
        table = Table(title="Rows not imported")
        _unbroken_column(table, "Where", [row.where for row in details])
        _unbroken_column(table, "Address as given", [row.given for row in details])
        table.add_column("Outcome")
        table.add_column("Reason")
        for row in details:
            table.add_row(row.where, row.given, row.outcome.value, row.reason)
        out.print(table)
    summary = Table(*(outcome.value for outcome in Outcome), title="Summary")
    summary.add_row(*(str(plan.counts[outcome]) for outcome in Outcome))
    out.print(summary)
    if plan.counts[Outcome.SUPPRESSED] and not verbose:
        out.print(
            "Suppressed rows are addresses that unsubscribed, bounced or were forgotten: "
            "they are never subscribed again (newsletter --verbose members import ... lists them).",
            markup=False,
        )
    if not plan.list_exists:
        verb = "will be created" if dry_run else "was created"
        out.print(f'The list "{plan.list_name}" did not exist and {verb}.', markup=False)
    out.print(f"Legal basis recorded: {_BASIS_WORDS[plan.basis]}.", markup=False)
    if dry_run:
        out.print("Dry run: nothing was written.", markup=False)


@members_app.command()
def add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The e-mail address.")],
    list_name: ListOption = None,
    first_name: Annotated[str, typer.Option(help="First name (Vorname).")] = "",
    last_name: Annotated[str, typer.Option(help="Last name (Nachname).")] = "",
    name: Annotated[str, typer.Option(help="Full name, when first and last are not apart.")] = "",
    basis: Annotated[
        Basis, typer.Option(case_sensitive=False, help="Legal basis to record.")
    ] = Basis.MEMBERSHIP,
    resubscribe: Annotated[
        bool,
        typer.Option(
            "--resubscribe",
            help="Add even though they unsubscribed or bounced: only when they asked again.",
        ),
    ] = False,
) -> None:
    """Add one member to a list (created if missing).

    Example: newsletter members add anna.schmidt@example.org --first-name Anna --last-name Schmidt
    """
    from newsletter.members.manage import add_member

    with _database(ctx) as (workspace, db):
        target = _list_name(workspace, list_name)
        result = add_member(
            db, email, target, first_name=first_name, last_name=last_name, name=name,
            basis=basis, resubscribe=resubscribe,
        )  # fmt: skip
    if result.list_created:
        out.print(f'The list "{target}" did not exist and was created.', markup=False)
    if result.already_subscribed:
        out.print(f"{email} already is on {target}; nothing to add.", markup=False)
        return
    again = " again" if result.resubscribed else ""
    out.print(f"Added {email} to {target}{again} (basis: {basis.value}).", markup=False)


@members_app.command()
def remove(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The e-mail address.")],
    list_name: ListOption = None,
) -> None:
    """Take a member off a list (no opt-out record: to keep them off, use unsubscribe).

    Example: newsletter members remove anna.schmidt@example.org --list newsletter
    """
    from newsletter.members.manage import remove_member

    with _database(ctx) as (workspace, db):
        target = _list_name(workspace, list_name)
        remove_member(db, email, target)
    out.print(f"Removed {email} from {target}.", markup=False)


@members_app.command("list")
def list_members(
    ctx: typer.Context,
    list_name: Annotated[
        str | None, typer.Option("--list", "-l", help="Only this list (default: all lists).")
    ] = None,
    status: Annotated[
        SubscriptionStatus | None,
        typer.Option(case_sensitive=False, help="Only subscriptions with this status."),
    ] = None,
) -> None:
    """Show members as a table, by list and status, with counts.

    Example: newsletter members list --list mitglieder --status subscribed
    """
    from collections import Counter

    from rich import box
    from rich.table import Table

    from newsletter import store

    with _database(ctx) as (_workspace, db):
        list_id = store.require_list(db, list_name).id if list_name else None
        listings = list(store.iter_listings(db, list_id, status))
    rows = [
        (
            item.email,
            item.name or " ".join(filter(None, (item.first_name, item.last_name))),
            item.list_name, item.status.value, item.basis.value,
            item.subscribed_at.date().isoformat(),
        )
        for item in listings
    ]  # fmt: skip
    # No vertical rules: the room goes to the names on an 80-column Windows console.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    headers = ("E-mail", "Name", "List", "Status", "Basis", "Since")
    for index, header in enumerate(headers):
        if header == "Name":
            # Names may wrap between words, but a word is not cut unless it is very long.
            longest = max((len(word) for row in rows for word in row[1].split()), default=0)
            table.add_column(header, overflow="fold", min_width=min(longest, 16))
        else:
            _unbroken_column(table, header, [row[index] for row in rows])
    for row in rows:
        table.add_row(*row)
    counts = Counter(item.status for item in listings)
    out.print(table)
    parts = ", ".join(f"{counts[s]} {s.value}" for s in SubscriptionStatus)
    out.print(f"{counts.total()} shown: {parts}.", markup=False)


EXPORT_COLUMNS = (
    "email", "first_name", "last_name", "name", "list", "status", "basis", "subscribed_at",
)  # fmt: skip


@members_app.command()
def export(
    ctx: typer.Context,
    list_name: Annotated[
        str | None, typer.Option("--list", "-l", help="Only this list (default: all lists).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file instead of the screen (stdout)."),
    ] = None,
) -> None:
    """Write members as CSV (UTF-8), one row per member and list.

    A file (-o) starts with a byte-order mark, so Excel shows umlauts right when it is
    opened by double-click; the screen output has none, so it pipes into other tools.

    Example: newsletter members export --list mitglieder -o mitglieder-export.csv
    """
    import csv
    import io
    import sys

    from newsletter import store
    from newsletter.files import write_bytes_atomic

    with _database(ctx) as (_workspace, db):
        list_id = store.require_list(db, list_name).id if list_name else None
        if output is None and isinstance(sys.stdout, io.TextIOWrapper):
            # The SPEC's UTF-8 even where the console's own encoding is cp1252 (Windows).
            sys.stdout.reconfigure(encoding="utf-8")
        target = io.StringIO() if output else sys.stdout
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        rows = 0
        for item in store.iter_listings(db, list_id, None):
            writer.writerow(
                (
                    item.email, item.first_name, item.last_name, item.name, item.list_name,
                    item.status.value, item.basis.value, item.subscribed_at.isoformat(),
                )
            )  # fmt: skip
            rows += 1
    if output and isinstance(target, io.StringIO):
        write_bytes_atomic(output, target.getvalue().encode("utf-8-sig"))
        err.print(f"Wrote {rows} rows to {output}", markup=False)


@members_app.command()
def unsubscribe(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The e-mail address.")],
    list_name: Annotated[
        str | None,
        typer.Option("--list", "-l", help="Only from this list (default: from all lists)."),
    ] = None,
) -> None:
    """Unsubscribe an address for good: no later import adds it again.

    Works for addresses that are on no list too (someone who asks never to be mailed).

    Example: newsletter members unsubscribe anna.schmidt@example.org
    """
    from newsletter.members.manage import unsubscribe_address

    with _database(ctx) as (_workspace, db):
        result = unsubscribe_address(db, email, list_name)
    scope = f"the list {list_name}" if list_name else "all lists"
    if result.ended:
        out.print(f"Unsubscribed {result.email} from {', '.join(result.ended)}.", markup=False)
    elif result.changed:
        out.print(f"{result.email} was not subscribed to {scope}.", markup=False)
    else:
        out.print(f"{result.email} already was unsubscribed from {scope}.", markup=False)
    out.print(f"No import will add {result.email} to {scope} again.", markup=False)


@members_app.command()
def forget(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The e-mail address.")],
) -> None:
    """Erase a person (GDPR Art. 17): their member record and consent records.

    Only a hash of the address stays, so that no later import adds them again.

    Example: newsletter members forget anna.schmidt@example.org
    """
    from newsletter.members.manage import forget_address

    with _database(ctx) as (_workspace, db):
        result = forget_address(db, email)
    if result.was_member:
        out.print(
            f"Erased {result.email}: the member record and {result.subscriptions} "
            "subscription(s) with their consent records.",
            markup=False,
        )
    else:
        out.print(f"{result.email} was not a member; nothing to erase.", markup=False)
    out.print("Kept only a hash of the address, so no import adds it again.", markup=False)


@lists_app.callback(invoke_without_command=True)
def lists(ctx: typer.Context) -> None:
    """Show the lists with their counts; create and rename lists.

    Example: newsletter members lists create newsletter
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from newsletter import store

    with _database(ctx) as (_workspace, db):
        counts = store.list_counts(db)
    if not counts:
        out.print("No lists yet. Create one: newsletter members lists create NAME", markup=False)
        return
    table = Table("List", "Subscribed", "Unsubscribed", "Bounced", "Total")
    for item in counts:
        table.add_row(
            item.name, str(item.subscribed), str(item.unsubscribed), str(item.bounced),
            str(item.total),
        )  # fmt: skip
    out.print(table)


@lists_app.command()
def create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="Name of the new list.")]
) -> None:
    """Create an empty list.

    Example: newsletter members lists create newsletter
    """
    from datetime import UTC, datetime

    from newsletter import store
    from newsletter.members.manage import check_list_name

    with _database(ctx) as (_workspace, db):
        store.create_list(db, check_list_name(name), datetime.now(UTC))
    out.print(f'Created the list "{name}".', markup=False)


@lists_app.command()
def rename(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="The list's current name.")],
    new: Annotated[str, typer.Argument(help="Its new name.")],
) -> None:
    """Rename a list; its members, consent records and opt-outs stay with it.

    Example: newsletter members lists rename newsletter rundbrief
    """
    from newsletter import store
    from newsletter.members.manage import check_list_name

    with _database(ctx) as (_workspace, db):
        store.rename_list(db, old, check_list_name(new))
    out.print(f'Renamed the list "{old}" to "{new}".', markup=False)


members_app.add_typer(lists_app)


def register(app: typer.Typer) -> None:
    app.add_typer(members_app)
