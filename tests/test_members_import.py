"""Importing member files as offices have them: exact counts, reasons and stored rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter import store
from newsletter.errors import MemberError
from newsletter.members.manage import forget_address, unsubscribe_address
from newsletter.members.planner import RowOutcome
from newsletter.members.readers import Field, open_member_file, parse_column_overrides
from newsletter.store.records import (
    Basis,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)

from .members_support import FIXTURES, NOW, counts, db, dump, import_file, mailchimp_zip, stored

__all__ = ["db", "mailchimp_zip"]  # pytest fixtures used by name below


def reasons(plan_rows: object) -> list[tuple[str, str, str]]:
    return [(row.where, row.given, row.reason) for row in plan_rows]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- Excel CSV


def test_excel_csv_in_cp1252_with_semicolons_and_a_multiline_field(db: store.Database) -> None:
    member_file = open_member_file(FIXTURES / "excel-cp1252.csv")
    assert member_file.format == "member list (CSV, Windows-1252, semicolons)"
    plan = import_file(db, FIXTURES / "excel-cp1252.csv")
    assert counts(plan) == {
        "added": 5, "updated": 0, "unchanged": 0, "suppressed": 0, "rejected": 3,
    }  # fmt: skip
    # The quoted note spans lines 3-4, so the rows after it keep their real line numbers.
    assert reasons(plan.with_outcome(RowOutcome.REJECTED)) == [
        ("excel-cp1252.csv line 6", "anna.schmidt@example.org", "same address as line 2"),
        (
            "excel-cp1252.csv line 7",
            "keine-adresse",
            "An email address must have an @-sign.",
        ),
        ("excel-cp1252.csv line 8", "", "no address given"),
    ]
    assert stored(db) == [
        ("anna.schmidt@example.org", "Anna", "Schmidt", "", "mitglieder", "subscribed", "membership"),
        ("juergen.baecker@example.org", "Jürgen", "Bäcker", "", "mitglieder", "subscribed", "membership"),
        ("karin@example.org", "Karin", "Hoff mann", "", "mitglieder", "subscribed", "membership"),
        ("petra.mueller@example.net", "Petra", "Müller", "", "mitglieder", "subscribed", "membership"),
        ("ömer@xn--bcher-kva.example", "Ömer", "Çelik", "", "mitglieder", "subscribed", "membership"),
    ]  # fmt: skip


def test_a_1mb_cp1252_file_whose_only_umlaut_is_in_the_last_row(
    db: store.Database, tmp_path: Path
) -> None:
    lines = ["E-Mail;Vorname;Nachname"]
    size = 0
    while size < 1_000_000:
        number = len(lines)
        lines.append(f"mitglied{number}@example.org;Vorname{number};Nachname{number}")
        size += len(lines[-1]) + 2
    lines.append("letzte@example.org;Jörg;Weiß")
    path = tmp_path / "gross.csv"
    path.write_bytes("\r\n".join(lines).encode("cp1252") + b"\r\n")
    assert path.stat().st_size > 1_000_000

    assert open_member_file(path).format == "member list (CSV, Windows-1252, semicolons)"
    plan = import_file(db, path)
    assert plan.counts[RowOutcome.ADDED] == len(lines) - 1
    assert plan.counts[RowOutcome.REJECTED] == 0
    last = store.find_member(db, "letzte@example.org")
    assert last is not None
    assert (last.first_name, last.last_name) == ("Jörg", "Weiß")


def test_utf8_with_and_without_bom_read_alike(db: store.Database, tmp_path: Path) -> None:
    text = "email,name\ngrete@example.org,Grete Möller\n"
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "plain.csv").write_bytes(text.encode("utf-8"))
    assert (
        open_member_file(tmp_path / "bom.csv").format == "member list (CSV, UTF-8 with BOM, commas)"
    )
    assert open_member_file(tmp_path / "plain.csv").format == "member list (CSV, UTF-8, commas)"
    import_file(db, tmp_path / "bom.csv", "a")
    import_file(db, tmp_path / "plain.csv", "b")
    assert stored(db) == [
        ("grete@example.org", "", "", "Grete Möller", "a", "subscribed", "membership"),
        ("grete@example.org", "", "", "Grete Möller", "b", "subscribed", "membership"),
    ]


def test_invalid_and_duplicate_addresses_are_reported_and_the_rest_imported(
    db: store.Database,
) -> None:
    plan = import_file(db, FIXTURES / "invalid-and-duplicates.csv")
    assert counts(plan) == {
        "added": 3, "updated": 0, "unchanged": 0, "suppressed": 0, "rejected": 6,
    }  # fmt: skip
    where_and_why = [
        (row.where.split()[-1], row.reason) for row in plan.with_outcome(RowOutcome.REJECTED)
    ]
    assert where_and_why == [
        ("3", "same address as line 2"),
        ("4", "An email address cannot have two periods in a row."),
        ("5", "An email address must have an @-sign."),
        ("8", "same address as line 7"),
        ("9", "no address given"),
        ("10", "The part after the @-sign is not valid. It should have a period."),
    ]
    assert [row[:4] for row in stored(db)] == [
        ("max@example.org", "", "", "Max Muster"),
        ("oe@xn--bcher-kva.example", "", "", "Oe"),
        ("ö@xn--bcher-kva.example", "", "", "Ö Öztürk"),
    ]


# ---------------------------------------------------------------- workbooks


def test_xlsx_first_sheet_with_numbers_blank_rows_and_padding(
    db: store.Database, tmp_path: Path
) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Mitglieder"
    sheet.append(["E-Mail", "Vorname", "Nachname", "PLZ"])
    sheet.append(["eva@example.org", "Eva", "Öztürk", 12345])
    sheet.append([None, None, None, None])
    sheet.append(["  Tom@Example.NET ", "Tom", None, 54321.0])
    sheet.append(["kaputt@", "K", "Aputt", None])
    workbook.create_sheet("Notizen").append(["ignored@example.org"])
    path = tmp_path / "mitglieder.xlsx"
    workbook.save(path)

    assert open_member_file(path).format == "member list (Excel workbook, first sheet)"
    plan = import_file(db, path)
    assert counts(plan) == {
        "added": 2, "updated": 0, "unchanged": 0, "suppressed": 0, "rejected": 1,
    }  # fmt: skip
    assert reasons(plan.with_outcome(RowOutcome.REJECTED)) == [
        ("mitglieder.xlsx line 5", "kaputt@", "There must be something after the @-sign."),
    ]
    assert stored(db) == [
        ("eva@example.org", "Eva", "Öztürk", "", "mitglieder", "subscribed", "membership"),
        ("tom@example.net", "Tom", "", "", "mitglieder", "subscribed", "membership"),
    ]


def test_an_old_xls_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "alt.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(MemberError) as raised:
        open_member_file(path)
    assert str(raised.value) == (
        'alt.xls is an old Excel file (.xls); open it in Excel and save it as "Excel '
        'workbook (.xlsx)" or as CSV'
    )


# ---------------------------------------------------------------- exports of other tools


def test_mailchimp_zip_brings_consent_and_its_opt_outs_as_suppressions(
    db: store.Database, mailchimp_zip: Path
) -> None:
    # Known members: Emil (cleaned in Mailchimp) is on another list, Dora on this one.
    import_file(db, _csv(mailchimp_zip.parent, "emil.berg@example.net\n"), "vorstand")
    import_file(db, _csv(mailchimp_zip.parent, "dora.fuchs@example.org\n"), "newsletter")

    member_file = open_member_file(mailchimp_zip)
    assert member_file.format == "Mailchimp export (zip with 3 CSV files)"
    plan = import_file(db, mailchimp_zip, "newsletter")
    assert counts(plan) == {
        "added": 2, "updated": 0, "unchanged": 0, "suppressed": 4, "rejected": 0,
    }  # fmt: skip
    assert plan.basis is Basis.CONSENT
    prefix = "members_export_8f3a2c.zip: "
    assert reasons(plan.with_outcome(RowOutcome.SUPPRESSED)) == [
        (f"{prefix}unsubscribed_members_export_8f3a2c.csv line 2", "dora.fuchs@example.org",
         "unsubscribed in the Mailchimp export"),
        (f"{prefix}unsubscribed_members_export_8f3a2c.csv line 3", "Clara.Hahn@example.org",
         "unsubscribed in the Mailchimp export"),
        (f"{prefix}cleaned_members_export_8f3a2c.csv line 2", "emil.berg@example.net",
         "bounced (cleaned) in the Mailchimp export"),
        (f"{prefix}subscribed_members_export_8f3a2c.csv line 4", "clara.hahn@example.org",
         "opted out in this file"),
    ]  # fmt: skip
    assert stored(db) == [
        ("ben.vogel@example.net", "Ben", "Vogel", "", "newsletter", "subscribed", "consent"),
        ("dora.fuchs@example.org", "", "", "", "newsletter", "unsubscribed", "membership"),
        ("emil.berg@example.net", "", "", "", "vorstand", "bounced", "membership"),
        ("lisa.kaiser@example.org", "Lisa", "Kaiser", "", "newsletter", "subscribed", "consent"),
    ]
    lisa = _subscription(db, "lisa.kaiser@example.org")
    assert lisa.subscribed_at == datetime(2021, 3, 4, 18, 25, 41, tzinfo=UTC)  # CONFIRM_TIME
    assert lisa.consent_ip == "203.0.113.5"
    assert lisa.consent_source == "import of members_export_8f3a2c.zip"
    ben = _subscription(db, "ben.vogel@example.net")
    assert ben.subscribed_at == datetime(2022, 1, 10, 8, 0, tzinfo=UTC)  # no confirm: OPTIN_TIME
    assert ben.consent_ip == "198.51.100.8"
    # Clara never became a member: she is only a hash that keeps her off this list.
    assert store.find_member(db, "clara.hahn@example.org") is None
    assert [(s.reason, s.list_name) for s in _suppressions(db, "clara.hahn@example.org")] == [
        (SuppressionReason.UNSUBSCRIBED, "newsletter")
    ]
    assert [(s.reason, s.list_name) for s in _suppressions(db, "emil.berg@example.net")] == [
        (SuppressionReason.BOUNCED, None)
    ]


def test_a_single_mailchimp_unsubscribed_csv_adds_nobody(db: store.Database) -> None:
    path = FIXTURES / "mailchimp" / "unsubscribed_members_export_8f3a2c.csv"
    plan = import_file(db, path, "newsletter")
    assert counts(plan) == {
        "added": 0, "updated": 0, "unchanged": 0, "suppressed": 2, "rejected": 0,
    }  # fmt: skip
    assert stored(db) == []
    assert len(_suppressions(db, "dora.fuchs@example.org")) == 1


def test_listmonk_export_blocklisted_is_suppressed_and_disabled_skipped(db: store.Database) -> None:
    plan = import_file(db, FIXTURES / "listmonk-export.csv", "newsletter")
    assert open_member_file(FIXTURES / "listmonk-export.csv").format == (
        "listmonk export (CSV, UTF-8, commas)"
    )
    assert counts(plan) == {
        "added": 2, "updated": 0, "unchanged": 0, "suppressed": 1, "rejected": 1,
    }  # fmt: skip
    assert plan.basis is Basis.CONSENT
    assert reasons(plan.rows)[1:3] == [
        ("listmonk-export.csv line 3", "felix.roth@example.net", "blocklisted in the listmonk export"),
        ("listmonk-export.csv line 4", "ida.sommer@example.org",
         "disabled in the listmonk export (not imported)"),
    ]  # fmt: skip
    assert stored(db) == [
        ("hanna.lang@example.org", "", "", "Hanna Lang", "newsletter", "subscribed", "consent"),
        ("jonas.wolf@example.org", "", "", "Jonas Wolf", "newsletter", "subscribed", "consent"),
    ]
    hanna = _subscription(db, "hanna.lang@example.org")
    assert hanna.subscribed_at == datetime(2023, 5, 2, 12, 3, 27, tzinfo=UTC)
    assert [(s.reason, s.list_name) for s in _suppressions(db, "felix.roth@example.net")] == [
        (SuppressionReason.UNSUBSCRIBED, None)
    ]


def test_basis_option_wins_over_the_default(db: store.Database) -> None:
    plan = import_file(db, FIXTURES / "listmonk-export.csv", basis=Basis.MEMBERSHIP)
    assert plan.basis is Basis.MEMBERSHIP
    assert {row[-1] for row in stored(db)} == {"membership"}


# ---------------------------------------------------------------- columns


def test_column_override_by_header_or_number(db: store.Database, tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "Mail dienstlich;Mail privat;Rufname\nchef@firma.example;karl@example.org;Karl\n",
        encoding="utf-8",
    )
    overrides = parse_column_overrides(["email=mail privat", "first_name=3"])
    plan = import_file(db, path, overrides=overrides)
    assert plan.counts[RowOutcome.ADDED] == 1
    assert stored(db) == [
        ("karl@example.org", "Karl", "", "", "mitglieder", "subscribed", "membership")
    ]


def test_a_file_without_header_is_read_from_its_first_row(
    db: store.Database, tmp_path: Path
) -> None:
    path = tmp_path / "adressen.txt"
    path.write_text("a@example.org\nb@example.org\n", encoding="utf-8")
    assert import_file(db, path).counts[RowOutcome.ADDED] == 2


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["mail"], '--column expects FIELD=COLUMN, got "mail"'),
        (["phone=Telefon"], '--column expects FIELD=COLUMN, got "phone=Telefon"'),
    ],
)
def test_bad_column_overrides(specs: list[str], message: str) -> None:
    with pytest.raises(MemberError) as raised:
        parse_column_overrides(specs)
    assert raised.value.message == message


def test_override_naming_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("E-Mail;Vorname\na@example.org;A\n", encoding="utf-8")
    with pytest.raises(MemberError) as raised:
        open_member_file(path, {Field.EMAIL: "Mail privat"})
    assert str(raised.value) == (
        'm.csv: there is no column "Mail privat" (columns: "E-Mail", "Vorname"); '
        "use one of these names, or the column's number counted from 1"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Vorname;Nachname\nAnna;Schmidt\n",
         'm.csv: no e-mail column found (columns: "Vorname", "Nachname"); name it "E-Mail", '
         'or tell which column it is: --column "email=COLUMN"'),
        (b"", "m.csv is empty; export the member list again"),
        (b"\n\n", "m.csv is empty; export the member list again"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "m.csv is a PNG image, not a member list; a member list is "
         "a CSV or Unicode text file (from Excel or any other program), an .xlsx workbook, a "
         "Mailchimp export zip or a listmonk export: export the members as one of these"),
    ],
)  # fmt: skip
def test_files_that_cannot_be_used_at_all(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(content)
    with pytest.raises(MemberError) as raised:
        open_member_file(path)
    assert str(raised.value) == message


# ---------------------------------------------------------------- re-imports


def test_reimport_counts_unchanged_and_updated_and_keeps_known_names(
    db: store.Database, tmp_path: Path
) -> None:
    import_file(db, FIXTURES / "excel-cp1252.csv")
    again = _csv(
        tmp_path,
        "anna.schmidt@example.org;Anna;Schmidt\n"
        "petra.mueller@example.net;Petra;Müller-Lang\n"
        "karin@example.org;;\n"
        "neu@example.org;Neu;Mitglied\n",
    )
    plan = import_file(db, again)
    assert counts(plan) == {
        "added": 1, "updated": 1, "unchanged": 2, "suppressed": 0, "rejected": 0,
    }  # fmt: skip
    petra = store.find_member(db, "petra.mueller@example.net")
    karin = store.find_member(db, "karin@example.org")
    assert petra is not None and petra.last_name == "Müller-Lang"
    assert karin is not None and (karin.first_name, karin.last_name) == ("Karin", "Hoff mann")


def test_unsubscribed_address_is_not_added_again_by_a_later_import(db: store.Database) -> None:
    import_file(db, FIXTURES / "excel-cp1252.csv")
    unsubscribe_address(db, "ANNA.Schmidt@example.org", now=NOW)

    plan = import_file(db, FIXTURES / "excel-cp1252.csv")
    assert counts(plan) == {
        "added": 0, "updated": 0, "unchanged": 4, "suppressed": 2, "rejected": 2,
    }  # fmt: skip
    assert reasons(plan.with_outcome(RowOutcome.SUPPRESSED)) == [
        ("excel-cp1252.csv line 2", "anna.schmidt@example.org", "unsubscribed earlier"),
        ("excel-cp1252.csv line 6", "anna.schmidt@example.org", "unsubscribed earlier"),
    ]
    # Into another list neither: an unsubscribe from all lists holds everywhere.
    other = import_file(db, FIXTURES / "excel-cp1252.csv", "newsletter")
    assert other.counts[RowOutcome.SUPPRESSED] == 2
    assert [row[4:6] for row in stored(db) if row[0] == "anna.schmidt@example.org"] == [
        ("mitglieder", "unsubscribed")
    ]


def test_forget_then_importing_the_punycode_spelling_adds_nobody(
    db: store.Database, tmp_path: Path
) -> None:
    import_file(db, _csv(tmp_path, "anna@bücher.de;Anna;Buch\n"), "mitglieder")
    import_file(db, _csv(tmp_path, "anna@bücher.de;Anna;Buch\n"), "newsletter")
    result = forget_address(db, "anna@bücher.de", now=NOW)
    assert (result.was_member, result.subscriptions) == (True, 2)

    plan = import_file(db, _csv(tmp_path, "ANNA@xn--bcher-kva.de;Anna;Buch\n"))
    assert counts(plan) == {
        "added": 0, "updated": 0, "unchanged": 0, "suppressed": 1, "rejected": 0,
    }  # fmt: skip
    assert plan.rows[0].reason == "erased on request (forget) earlier"
    assert stored(db) == []
    everything = "\n".join(dump(db)).lower()
    assert "anna" not in everything and "bcher" not in everything and "buch" not in everything
    assert [(s.reason, s.list_name) for s in _suppressions(db, "anna@xn--bcher-kva.de")] == [
        (SuppressionReason.FORGOTTEN, None)
    ]


def test_a_failing_import_leaves_the_database_unchanged(db: store.Database) -> None:
    import_file(db, FIXTURES / "listmonk-export.csv", "newsletter")
    # A real failure half-way through the writes: the database itself refuses one row.
    db.execute(
        """
        CREATE TRIGGER refuse_karin BEFORE INSERT ON members
        WHEN NEW.email = 'karin@example.org' BEGIN SELECT RAISE(ABORT, 'disk trouble'); END
        """
    )
    before = dump(db)
    with pytest.raises(sqlite3.IntegrityError):
        import_file(db, FIXTURES / "excel-cp1252.csv", "newsletter")
    with pytest.raises(sqlite3.IntegrityError):
        import_file(db, FIXTURES / "excel-cp1252.csv", "neue-liste")
    assert dump(db) == before
    assert store.find_list(db, "neue-liste") is None


def test_the_store_refuses_a_suppressed_address_the_plan_did_not_know_about(
    db: store.Database, tmp_path: Path
) -> None:
    # An unsubscribe that arrives (from the web) between planning and writing still wins.
    from newsletter.members.applier import apply_import
    from newsletter.members.manage import plan_file_import

    path = _csv(tmp_path, "spaet@example.org;Spät;Abmelder\n")
    plan = plan_file_import(db, open_member_file(path), "mitglieder", None)
    unsubscribe_address(db, "spaet@example.org", now=NOW)
    result = apply_import(db, plan, source="import of m.csv", now=NOW)
    assert result.subscribed == 0
    assert stored(db) == []


# ---------------------------------------------------------------- helpers


def _csv(folder: Path, rows: str, header: str = "E-Mail;Vorname;Nachname\n") -> Path:
    path = folder / f"liste-{len(list(folder.glob('liste-*.csv')))}.csv"
    path.write_text(header + rows, encoding="utf-8")
    return path


def _subscription(db: store.Database, email: str) -> Subscription:
    member = store.find_member(db, email)
    assert member is not None
    (subscription,) = store.subscriptions_of(db, member.id)
    return subscription


def _suppressions(db: store.Database, email: str) -> list[Suppression]:
    return store.suppressions_of(db, email)


def test_subscription_status_words_are_the_specs() -> None:
    assert [s.value for s in SubscriptionStatus] == ["subscribed", "unsubscribed", "bounced"]
