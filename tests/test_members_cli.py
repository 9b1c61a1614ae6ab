"""`newsletter members ...` as office staff use it: output, exit codes, nothing half-written."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from newsletter import store
from newsletter.workspace import Workspace

from .conftest import CliRun
from .members_support import FIXTURES, dump


def _db(workspace: Workspace) -> store.Database:
    return store.open_database(workspace.database_path)


def test_import_prints_the_summary_with_basis_and_the_created_list(
    cli: CliRun, workspace: Workspace
) -> None:
    result = cli("members", "import", str(FIXTURES / "excel-cp1252.csv"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Read excel-cp1252.csv as member list (CSV, Windows-1252, semicolons): 8 rows." in out
    assert "excel-cp1252.csv line 7" in out and "keine-adresse" in out
    assert 'The list "mitglieder" did not exist and was created.' in out
    assert "Legal basis recorded: membership (party members, Art. 9(2)(d) GDPR)." in out
    summary = out[out.index("Summary") :]
    assert [cell for cell in summary.split() if cell.isdigit()] == ["5", "0", "0", "0", "3"]
    with _db(workspace) as db:
        assert [c.subscribed for c in store.list_counts(db)] == [5]


def test_import_of_a_mailchimp_export_records_consent(cli: CliRun, tmp_path: Path) -> None:
    single = tmp_path / "subscribed_members_export_8f3a2c.csv"
    shutil.copy(FIXTURES / "mailchimp" / single.name, single)
    result = cli("members", "import", str(single), "--list", "newsletter")
    assert result.exit_code == 0, result.output
    assert "Read subscribed_members_export_8f3a2c.csv as Mailchimp export" in result.stdout
    assert "Legal basis recorded: consent" in result.stdout


def test_dry_run_writes_nothing(cli: CliRun, workspace: Workspace) -> None:
    cli("members", "lists", "create", "vorstand")
    with _db(workspace) as db:
        before = dump(db)
    result = cli("members", "import", str(FIXTURES / "excel-cp1252.csv"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert 'The list "mitglieder" did not exist and will be created.' in result.stdout
    assert result.stdout.rstrip().endswith("Dry run: nothing was written.")
    with _db(workspace) as db:
        assert dump(db) == before


def test_a_file_that_cannot_be_used_is_one_line_exit_1_and_writes_nothing(
    cli: CliRun, workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "adressen.csv"
    path.write_text("Vorname;Nachname\nAnna;Schmidt\n", encoding="utf-8")
    result = cli("members", "import", str(path))
    assert result.exit_code == 1
    assert result.stderr == (
        'Error: adressen.csv: no e-mail column found (columns: "Vorname", "Nachname"); name it '
        '"E-Mail", or tell which column it is: --column "email=COLUMN"\n'
    )
    assert not workspace.database_path.exists()
    missing = cli("members", "import", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1
    assert missing.stderr == f"Error: {tmp_path / 'nope.csv'}: file not found\n"


def test_column_option_and_bad_basis(cli: CliRun, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("Privat;Vorname\nkarl@example.org;Karl\n", encoding="utf-8")
    ok = cli("members", "import", str(path), "--column", "email=Privat")
    assert ok.exit_code == 0, ok.output
    wrong = cli("members", "import", str(path), "--basis", "maybe")
    assert wrong.exit_code == 2  # a usage error, Click's own code


def test_export_to_stdout_has_the_specs_columns(cli: CliRun) -> None:
    cli("members", "import", str(FIXTURES / "listmonk-export.csv"), "--list", "newsletter")
    cli("members", "add", "erika@example.org", "--first-name", "Erika", "--list", "mitglieder")
    cli("members", "unsubscribe", "jonas.wolf@example.org")
    result = cli("members", "export")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == [
        "email", "first_name", "last_name", "name", "list", "status", "basis", "subscribed_at",
        "consent_method", "consent_source", "consent_text_version", "consent_requested_at",
        "consent_confirmed_at", "consent_ip", "consent_text",
    ]  # fmt: skip
    assert [row[:7] for row in rows[1:]] == [
        ["erika@example.org", "Erika", "", "", "mitglieder", "subscribed", "membership"],
        ["hanna.lang@example.org", "", "", "Hanna Lang", "newsletter", "subscribed", "consent"],
        ["jonas.wolf@example.org", "", "", "Jonas Wolf", "newsletter", "unsubscribed", "consent"],
    ]
    assert rows[2][7] == "2023-05-02T12:03:27+00:00"


def test_export_to_a_file_and_of_one_list(cli: CliRun, tmp_path: Path) -> None:
    cli("members", "import", str(FIXTURES / "listmonk-export.csv"), "--list", "newsletter")
    cli("members", "add", "erika@example.org", "--list", "mitglieder")
    target = tmp_path / "export.csv"
    result = cli("members", "export", "--list", "mitglieder", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    # For German Excel (the sample workspace has locale = "de"): a BOM and semicolons.
    assert target.read_bytes().startswith(b"\xef\xbb\xbfemail;first_name;")
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].startswith("erika@example.org;")
    missing = cli("members", "export", "--list", "gibtsnicht")
    assert missing.exit_code == 1
    assert missing.stderr.startswith('Error: there is no list "gibtsnicht" (lists: ')


def test_forget_erases_and_the_punycode_spelling_stays_out(cli: CliRun, tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("E-Mail;Vorname\nanna@bücher.de;Anna\n", encoding="utf-8")
    cli("members", "import", str(first))
    result = cli("members", "forget", "anna@bücher.de")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Erased anna@xn--bcher-kva.de: the member record and 1 subscription(s)"
    )
    again = tmp_path / "b.csv"
    again.write_text("E-Mail\nANNA@xn--bcher-kva.de\n", encoding="utf-8")
    reimport = cli("members", "import", str(again))
    assert reimport.exit_code == 0
    summary = reimport.stdout[reimport.stdout.index("Summary") :]
    assert [cell for cell in summary.split() if cell.isdigit()] == ["0", "0", "0", "1", "0"]
    assert cli("members", "export").stdout.count("\n") == 1  # the header only


def test_unsubscribe_one_list_then_all(cli: CliRun) -> None:
    cli("members", "add", "erika@example.org", "--list", "a")
    cli("members", "add", "erika@example.org", "--list", "b")
    one = cli("members", "unsubscribe", "Erika@Example.org", "--list", "a")
    assert one.stdout.splitlines() == [
        "Unsubscribed erika@example.org from a.",
        "No import will add erika@example.org to the list a again.",
    ]
    both = cli("members", "unsubscribe", "erika@example.org")
    assert both.stdout.splitlines()[0] == "Unsubscribed erika@example.org from b."
    again = cli("members", "unsubscribe", "erika@example.org")
    assert (
        again.stdout.splitlines()[0] == "erika@example.org already was unsubscribed from all lists."
    )
    stranger = cli("members", "unsubscribe", "nie@example.org")
    assert stranger.stdout.splitlines()[0] == "nie@example.org was not subscribed to all lists."
    bad = cli("members", "unsubscribe", "kein-at-zeichen")
    assert bad.exit_code == 1
    assert bad.stderr == (
        'Error: "kein-at-zeichen" is not a usable e-mail address: An email address must have '
        "an @-sign.\n"
    )


def test_add_remove_and_list(cli: CliRun) -> None:
    added = cli(
        "members", "add", "erika@example.org", "--first-name", "Erika", "--last-name", "Mustermann"
    )
    assert added.stdout.splitlines() == [
        'The list "mitglieder" did not exist and was created.',
        "Added erika@example.org to mitglieder (basis: membership).",
    ]
    assert cli("members", "add", "erika@example.org").stdout == (
        "erika@example.org already is on mitglieder; nothing to add.\n"
    )
    listing = cli("members", "list", "--status", "subscribed")
    assert listing.exit_code == 0, listing.output
    assert "erika@example.org" in listing.stdout  # whole, never wrapped
    assert "Erika" in listing.stdout and "Mustermann" in listing.stdout
    assert listing.stdout.rstrip().endswith("1 shown: 1 subscribed, 0 unsubscribed, 0 bounced.")
    removed = cli("members", "remove", "erika@example.org")
    assert removed.stdout == "Removed erika@example.org from mitglieder.\n"
    again = cli("members", "remove", "erika@example.org")
    assert again.exit_code == 1
    assert again.stderr == "Error: erika@example.org is not on the list mitglieder\n"


def test_lists_create_rename_and_counts(cli: CliRun) -> None:
    assert cli("members", "lists").stdout.startswith("No lists yet.")
    assert (
        cli("members", "lists", "create", "newsletter").stdout == 'Created the list "newsletter".\n'
    )
    duplicate = cli("members", "lists", "create", "Newsletter")
    assert duplicate.exit_code == 1
    assert duplicate.stderr == 'Error: the list "Newsletter" already exists\n'
    cli("members", "add", "erika@example.org", "--list", "newsletter")
    renamed = cli("members", "lists", "rename", "newsletter", "rundbrief")
    assert renamed.stdout == 'Renamed the list "newsletter" to "rundbrief".\n'
    table = cli("members", "lists").stdout
    assert "rundbrief" in table and "newsletter" not in table
    row = next(line for line in table.splitlines() if "rundbrief" in line)
    assert [cell for cell in row.split() if cell.isdigit()] == ["1", "0", "0", "1"]
    bad = cli("members", "lists", "create", "zwei\nzeilen")
    assert bad.exit_code == 1
    assert bad.stderr.startswith('Error: "zwei\nzeilen" cannot be a list name;')
