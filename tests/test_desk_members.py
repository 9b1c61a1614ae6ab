"""Mitglieder over real HTTP: counts, search and pages, add, unsubscribe, forget, import
with its plan, export; each change made by the members command's own functions."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from newsletter import store
from newsletter.members.manage import add_member, unsubscribe_address
from newsletter.workspace import Workspace
from tests.desk_support import desk_running
from tests.web_support import database_rows, recipients

FIXTURES = Path(__file__).parent / "fixtures" / "members"
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def test_lists_with_counts_search_and_pages(workspace: Workspace) -> None:
    with store.open_database(workspace.database_path) as db:
        for n in range(120):
            add_member(
                db,
                f"person{n:03d}@example.org",
                "mitglieder",
                first_name=f"Vor{n}",
                last_name="Muster",
            )
        add_member(
            db, "anna.schmidt@example.org", "vorstand", first_name="Anna", last_name="Schmidt"
        )
        unsubscribe_address(db, "person000@example.org", None)
    with desk_running(workspace.root) as desk:
        client = desk.client()
        page = client.get("/mitglieder")
        assert page.status_code == 200
        assert "121 Einträge" in page.text
        assert "Seite 1 von 3" in page.text
        assert "person049@example.org" in page.text
        assert "person050@example.org" not in page.text
        second = client.get("/mitglieder?seite=2")
        assert "person050@example.org" in second.text
        found = client.get("/mitglieder", params={"q": "Anna Schm"})
        assert "1 Einträge" in found.text
        assert "anna.schmidt@example.org" in found.text
        by_address = client.get("/mitglieder", params={"q": "person11", "liste": "mitglieder"})
        assert "10 Einträge" in by_address.text
        wildcard = client.get("/mitglieder", params={"q": "%"})
        assert "0 Einträge" in wildcard.text


def test_add_unsubscribe_and_forget_use_the_members_functions(workspace: Workspace) -> None:
    with desk_running(workspace.root) as desk:
        client = desk.client()
        answer = desk.post(
            client,
            "/mitglieder/hinzufuegen",
            email="Ben@Example.org",
            first_name="Ben",
            list="mitglieder",
        )
        assert answer.status_code == 303
        assert recipients(workspace) == {"ben@example.org"}
        assert "hinzugef" in client.get(answer.headers["location"]).text

        confirm = client.get("/mitglieder/vergessen", params={"email": "ben@example.org"})
        assert "nicht rückgängig" in confirm.text
        assert recipients(workspace) == {"ben@example.org"}  # asking is not doing

        desk.post(client, "/mitglieder/abmelden", email="ben@example.org")
        assert recipients(workspace) == set()
        with store.open_database(workspace.database_path) as db:
            assert store.find_member(db, "ben@example.org") is not None

        desk.post(client, "/mitglieder/vergessen", email="ben@example.org")
        with store.open_database(workspace.database_path) as db:
            assert store.find_member(db, "ben@example.org") is None
            assert store.suppressions_of(db, "ben@example.org")

        bad = desk.post(
            client, "/mitglieder/hinzufuegen", email="not an address", list="mitglieder"
        )
        assert bad.status_code == 400
        assert "not an address" in bad.text
        assert "Traceback" not in bad.text


def test_an_import_shows_its_plan_and_writes_only_on_apply(workspace: Workspace) -> None:
    with store.open_database(workspace.database_path) as db:
        add_member(db, "petra.mueller@example.net", "mitglieder")
        unsubscribe_address(db, "petra.mueller@example.net", None)
    before = database_rows(workspace)
    data = (FIXTURES / "excel-cp1252.csv").read_bytes()
    with desk_running(workspace.root) as desk:
        client = desk.client()
        plan = client.post(
            "/mitglieder/import",
            data={"csrf": desk.keys.csrf, "list": "mitglieder"},
            files={"file": ("Mitglieder.csv", data, "text/csv")},
            headers={"Origin": desk.url},
        )
        assert plan.status_code == 200, plan.text
        assert "Übernehmen" in plan.text
        assert "petra.mueller@example.net" in plan.text  # kept suppressed, with the reason
        assert database_rows(workspace) == before
        action = plan.text.split('action="/mitglieder/import/')[1].split('"')[0]
        assert action.endswith("/uebernehmen")
        applied = desk.post(client, f"/mitglieder/import/{action}")
        assert applied.status_code == 303
        assert "anna.schmidt@example.org" in recipients(workspace)
        assert "petra.mueller@example.net" not in recipients(workspace)
        again = desk.post(client, f"/mitglieder/import/{action}")
        assert "nicht mehr vorhanden" in client.get(again.headers["location"]).text


def test_a_cancelled_import_changes_nothing_and_rejected_rows_show_line_and_reason(
    workspace: Workspace,
) -> None:
    before = database_rows(workspace)
    data = (FIXTURES / "invalid-and-duplicates.csv").read_bytes()
    with desk_running(workspace.root) as desk:
        client = desk.client()
        plan = client.post(
            "/mitglieder/import",
            data={"csrf": desk.keys.csrf, "list": "mitglieder"},
            files={"file": ("liste.csv", data, "text/csv")},
            headers={"Origin": desk.url},
        )
        assert plan.status_code == 200, plan.text
        assert "max at example.org" in plan.text
        assert "liste.csv line 5" in plan.text
        key = plan.text.split('action="/mitglieder/import/')[2].split("/")[0]
        cancelled = desk.post(client, f"/mitglieder/import/{key}/abbrechen")
        assert "nichts wurde geändert" in client.get(cancelled.headers["location"]).text
    assert database_rows(workspace) == before


def test_an_import_without_a_file_or_with_a_foreign_one_says_what_to_do(
    workspace: Workspace,
) -> None:
    before = database_rows(workspace)
    with desk_running(workspace.root) as desk:
        client = desk.client()
        answer = client.post(
            "/mitglieder/import",
            data={"csrf": desk.keys.csrf, "list": "mitglieder"},
            files={"file": ("bild.png", b"\x89PNG\r\n\x1a\n", "image/png")},
            headers={"Origin": desk.url},
        )
        assert answer.status_code == 400
        assert "Traceback" not in answer.text
    assert database_rows(workspace) == before


def test_the_export_is_an_excel_workbook_of_every_member(workspace: Workspace) -> None:
    with store.open_database(workspace.database_path) as db:
        add_member(db, "anna@example.org", "mitglieder", first_name="Anna")
        add_member(db, "ben@example.org", "vorstand", first_name="=HYPERLINK()")
    with desk_running(workspace.root) as desk:
        answer = desk.client().get("/mitglieder/export.xlsx")
        assert answer.status_code == 200
        assert "attachment" in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert any("anna@example.org" in row for row in cells)
    assert any("=HYPERLINK()" in row for row in cells)


def test_an_import_with_an_unrecognised_column_is_named_in_the_form(
    workspace: Workspace, tmp_path: Path
) -> None:
    data = b"Mail privat;Rufname\nanna@example.org;Anna\n"
    with desk_running(workspace.root) as desk:
        client = desk.client()

        def upload(**columns: str) -> str:
            answer = client.post(
                "/mitglieder/import",
                data={"csrf": desk.keys.csrf, "list": "mitglieder", **columns},
                files={"file": ("liste.csv", data, "text/csv")},
                headers={"Origin": desk.url},
            )
            return answer.text

        assert "Übernehmen" not in upload()  # no address column found: said, not planned
        plan = upload(column_email="Mail privat", column_first_name="Rufname")
        key = plan.split('action="/mitglieder/import/')[1].split("/")[0]
        desk.post(client, f"/mitglieder/import/{key}/uebernehmen")
    assert recipients(workspace) == {"anna@example.org"}
