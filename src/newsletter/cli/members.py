"""``newsletter members ...``: keep the member lists, their consent and their opt-outs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from newsletter import clock
from newsletter.cli.state import err, out, state, warn_about_database
from newsletter.store.records import Basis, SubscriptionStatus

if TYPE_CHECKING:
    from rich.table import Table as RichTable

    from newsletter.members.planner import ImportPlan
    from newsletter.members.readers import ImportRow, MemberFile
    from newsletter.store import Database
    from newsletter.store.records import MemberListing
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
            help="CSV (Excel, UTF-8 or Windows-1252), Unicode text (UTF-16), .xlsx, "
            "Mailchimp zip or CSV, listmonk export."
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

    from newsletter.members.applier import apply_import
    from newsletter.members.manage import plan_file_import
    from newsletter.members.planner import RowOutcome
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
                now=clock.utc_now(),
                progress=advance("Writing", plan.counts[RowOutcome.ADDED]),
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

    from newsletter.members.planner import RowOutcome

    out.print(
        f"Read {member_file.path.name} as {member_file.format}: {sum(plan.counts.values())} rows.",
        markup=False,
    )
    shown = [RowOutcome.REJECTED, RowOutcome.SUPPRESSED] if verbose else [RowOutcome.REJECTED]
    details = [row for row in plan.rows if row.outcome in shown]
    if details:
        table = Table(title="Rows not imported")
        _unbroken_column(table, "Where", [row.where for row in details])
        _unbroken_column(table, "Address as given", [row.given for row in details])
        table.add_column("RowOutcome")
        table.add_column("Reason")
        for row in details:
            table.add_row(row.where, row.given, row.outcome.value, row.reason)
        out.print(table)
    summary = Table(*(outcome.value for outcome in RowOutcome), title="Summary")
    summary.add_row(*(str(plan.counts[outcome]) for outcome in RowOutcome))
    out.print(summary)
    if plan.counts[RowOutcome.SUPPRESSED] and not verbose:
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


_LIST_PAGE = 1000  # lines printed at a time: 100,000 members never sit in memory at once
_NAME_WIDTH = 30  # longer names are cut in the listing (members export has them whole)


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
    """Show members with their names, by list and status, with counts.

    Example: newsletter members list --list mitglieder --status subscribed
    """
    from collections import Counter

    from rich.cells import cell_len, set_cell_size

    from newsletter import store

    headers = ("E-mail", "Name", "List", "Status", "Basis", "Since")
    with _database(ctx) as (_workspace, db):
        list_id = store.require_list(db, list_name).id if list_name else None
        # Two passes over the rows, none kept: the first measures the columns, so every
        # page lines up with the header; the second prints page by page.
        widths = [cell_len(header) for header in headers]
        for item in store.iter_listings(db, list_id, status):
            for index, value in enumerate(_listing_cells(item)):
                widths[index] = max(widths[index], cell_len(value))
        widths[1] = min(widths[1], _NAME_WIDTH)

        def line(values: tuple[str, ...]) -> str:
            return "  ".join(map(set_cell_size, values, widths)).rstrip()

        out.print(line(headers), markup=False)
        out.print(line(tuple("-" * width for width in widths)), markup=False)
        counts: Counter[SubscriptionStatus] = Counter()
        page: list[str] = []
        for item in store.iter_listings(db, list_id, status):
            page.append(line(_listing_cells(item)))
            counts[item.status] += 1
            if len(page) == _LIST_PAGE:
                out.print("\n".join(page), markup=False)
                page.clear()
        if page:
            out.print("\n".join(page), markup=False)
    parts = ", ".join(f"{counts[s]} {s.value}" for s in SubscriptionStatus)
    out.print(f"{counts.total()} shown: {parts}.", markup=False)


def _listing_cells(item: MemberListing) -> tuple[str, ...]:
    name = item.name or " ".join(filter(None, (item.first_name, item.last_name)))
    return (
        item.email, name, item.list_name, item.status.value, item.basis.value,
        item.subscribed_at.date().isoformat(),
    )  # fmt: skip


@members_app.command()
def export(
    ctx: typer.Context,
    list_name: Annotated[
        str | None, typer.Option("--list", "-l", help="Only this list (default: all lists).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write to this file (.xlsx or .csv) instead of the screen."
        ),
    ] = None,
) -> None:
    """Write members, one row per member and list: CSV, or an Excel workbook.

    -o NAME.xlsx writes a workbook (every cell text). -o NAME.csv writes CSV with a
    byte-order mark, separated by semicolons when locale = "de" (so German Excel opens
    it by double-click), else by commas. Without -o: CSV with commas on stdout, for other
    tools. Cells starting with = + - @ are written with a leading ' in CSV, so Excel
    shows them instead of running them. Files are readable by their owner only.

    Example: newsletter members export --list mitglieder -o mitglieder.xlsx
    """
    import io
    import sys

    from newsletter import store
    from newsletter.members.export import export_file, write_csv

    with _database(ctx) as (workspace, db):
        list_id = store.require_list(db, list_name).id if list_name else None
        listings = store.iter_listings(db, list_id, None)
        if output is not None:
            rows = export_file(listings, output, workspace.settings.newsletter.locale)
        else:
            if isinstance(sys.stdout, io.TextIOWrapper):
                # The SPEC's UTF-8 even where the console's own encoding is cp1252 (Windows).
                sys.stdout.reconfigure(encoding="utf-8")
            write_csv(listings, sys.stdout)
    if output is not None:
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

    from newsletter import store
    from newsletter.members.manage import check_list_name

    with _database(ctx) as (_workspace, db):
        store.create_list(db, check_list_name(name), clock.utc_now())
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
