"""Member files that are broken, hostile or not member files at all (issues 13.18, 14.3, 14.4).

Each ends as one clear line (a MemberError) within a small budget of time and memory, or
is read as the real export format it is; nothing is written to the database either way.
"""

from __future__ import annotations

import codecs
import re
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest

from newsletter.errors import MemberError
from newsletter.members.readers import open_member_file

from .conftest import CliRun
from .fuzz_support import Budget, outcome

SMALL = Budget(seconds=5, megabytes=60)


def error_of(path: Path) -> str:
    """The one line a file ends in, read within the SMALL budget."""
    result = outcome(lambda: list(open_member_file(path).rows()), SMALL)
    assert isinstance(result, MemberError), f"read without an error: {result!r}"
    return str(result)


def rezip(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    """A copy of the zip ``source`` with some members' contents replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info.filename)))
    return target


def workbook(tmp_path: Path, rows: list[list[str]], name: str = "mitglieder.xlsx") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode("utf-8")


MEMBERS = [["E-Mail", "Vorname"], ["erika@example.org", "Erika"], ["hans@example.org", "Hans"]]


# ---------------------------------------------------------------- 13.18: not a member list


def test_a_pdf_named_csv_is_not_a_member_list(tmp_path: Path) -> None:
    path = tmp_path / "mitglieder.csv"
    path.write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    message = error_of(path)
    assert message.startswith("mitglieder.csv is a PDF document, not a member list;")
    assert "CSV" in message and ".xlsx" in message and "Mailchimp" in message


def test_a_binary_file_named_csv_is_not_a_member_list(tmp_path: Path) -> None:
    path = tmp_path / "mitglieder.csv"
    # Random-looking bytes without a NUL: they decode as Windows-1252 "text".
    path.write_bytes(bytes(range(1, 256)) * 20)
    message = error_of(path)
    assert message.startswith("mitglieder.csv is not a text file, not a member list;")
    assert "Unicode text" in message and ".xlsx" in message


def test_a_text_file_without_an_address_column_still_says_so(tmp_path: Path) -> None:
    path = tmp_path / "liste.csv"
    path.write_text("Vorname;Nachname\nErika;Mustermann\n", encoding="utf-8")
    assert error_of(path).startswith('liste.csv: no e-mail column found (columns: "Vorname"')


# ---------------------------------------------------------------- 14.4: UTF-16 text


def unicode_text(rows: list[list[str]], encoding: str = "utf-16-le", bom: bool = True) -> bytes:
    text = "\r\n".join("\t".join(row) for row in rows) + "\r\n"
    return (codecs.BOM_UTF16_LE if bom else b"") + text.encode(encoding)


def test_excel_unicode_text_is_read(tmp_path: Path) -> None:
    path = tmp_path / "Mitglieder.txt"
    path.write_bytes(unicode_text([["E-Mail", "Vorname"], ["jürgen@example.org", "Jürgen"]]))
    member_file = open_member_file(path)
    assert member_file.format == "member list (Unicode text (UTF-16), tabs)"
    assert [(r.email, r.first_name) for r in member_file.rows()] == [
        ("jürgen@example.org", "Jürgen")
    ]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_unicode_text_without_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "Mitglieder.txt"
    path.write_bytes(unicode_text([["E-Mail", "Name"], ["a@example.org", "Ä"]], encoding, False))
    assert [(r.email, r.name) for r in open_member_file(path).rows()] == [("a@example.org", "Ä")]


def test_broken_unicode_text_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "Mitglieder.txt"
    # Odd length, and a lone surrogate: not UTF-16 at all.
    path.write_bytes(codecs.BOM_UTF16_LE + "E-Mail\n".encode("utf-16-le") + b"\x00\xd8\x41")
    message = error_of(path)
    assert message.startswith("Mitglieder.txt: marked as Unicode text (UTF-16) but byte ")


# ---------------------------------------------------------------- 14.3 / 14.4: workbooks


def test_a_workbook_declaring_the_whole_sheet_reads_only_its_cells(tmp_path: Path) -> None:
    path = workbook(tmp_path, MEMBERS)
    xml = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', sheet_xml(path))
    # An empty last row, as a formatted sheet has it: every row between must be walked.
    xml = xml.replace("</sheetData>", '<row r="1048576"/></sheetData>')
    hostile = rezip(path, tmp_path / "gross.xlsx", {"xl/worksheets/sheet1.xml": xml.encode()})
    rows = outcome(lambda: list(open_member_file(hostile).rows()), SMALL)
    assert isinstance(rows, list)
    assert [(row.line, row.email) for row in rows] == [
        (2, "erika@example.org"),
        (3, "hans@example.org"),
    ]


def test_a_workbook_with_a_cell_in_its_last_column_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path, MEMBERS)
    far = '<c r="XFD2" t="inlineStr"><is><t>x</t></is></c></row><row r="3"'
    xml = sheet_xml(path).replace('</row><row r="3"', far)
    hostile = rezip(path, tmp_path / "breit.xlsx", {"xl/worksheets/sheet1.xml": xml.encode()})
    assert error_of(hostile) == (
        "breit.xlsx row 2 has more than 1,000 columns; "
        "a member list has a few: copy its columns into a new workbook, or save it as CSV"
    )


def test_a_workbook_with_rows_beyond_excels_last_row_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path, MEMBERS)
    far = '<row r="99999999"><c r="A99999999" t="inlineStr"><is><t>x</t></is></c></row>'
    xml = sheet_xml(path).replace("</sheetData>", far + "</sheetData>")
    hostile = rezip(path, tmp_path / "lang.xlsx", {"xl/worksheets/sheet1.xml": xml.encode()})
    assert error_of(hostile).startswith("lang.xlsx has more than 1,048,576 rows;")


def test_a_workbook_with_broken_xml_is_one_line(tmp_path: Path) -> None:
    path = workbook(tmp_path, MEMBERS)
    broken = sheet_xml(path)[:-40].encode()
    hostile = rezip(path, tmp_path / "kaputt.xlsx", {"xl/worksheets/sheet1.xml": broken})
    assert error_of(hostile).startswith("kaputt.xlsx: cannot read the Excel workbook:")


def test_a_value_error_while_reading_rows_is_one_line(tmp_path: Path) -> None:
    path = workbook(tmp_path, MEMBERS)
    # A number cell holding text: openpyxl raises ValueError from inside its row iterator.
    xml = sheet_xml(path).replace("</row>", '<c r="C2" t="n"><v>zwölf</v></c></row>', 1)
    hostile = rezip(path, tmp_path / "zahl.xlsx", {"xl/worksheets/sheet1.xml": xml.encode()})
    assert error_of(hostile).startswith("zahl.xlsx: cannot read the Excel workbook:")


def test_a_workbook_whose_sheet_inflates_too_much_is_refused(tmp_path: Path) -> None:
    path = workbook(tmp_path, MEMBERS)
    xml = sheet_xml(path).replace("<sheetData>", "<sheetData>" + " " * 20_000_000)
    hostile = rezip(path, tmp_path / "bombe.xlsx", {"xl/worksheets/sheet1.xml": xml.encode()})
    assert error_of(hostile).startswith("bombe.xlsx: xl/worksheets/sheet1.xml unpacks to ")


# ---------------------------------------------------------------- 14.3 / 14.4: zips


def mailchimp(tmp_path: Path, content: bytes, name: str = "export.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("members_export/subscribed_members_export_1.csv", content)
    return path


def test_a_mailchimp_zip_that_inflates_a_thousandfold_is_refused_before_unpacking(
    tmp_path: Path,
) -> None:
    # The shape of the 1 MB zip that peaked at 7.4 GB: one huge field.
    content = b"Email Address,First Name,OPTIN_TIME\n" + b'"' + b"a" * 30_000_000
    path = mailchimp(tmp_path, content)
    assert error_of(path) == (
        "export.zip: subscribed_members_export_1.csv unpacks to 30,000,037 bytes, "
        "over 1,000 times its packed size; "
        "this is not an export as Mailchimp writes it: unpack it and import the CSV itself"
    )


def test_an_encrypted_zip_is_one_line(tmp_path: Path) -> None:
    path = mailchimp(tmp_path, b"Email Address,OPTIN_TIME\na@example.org,\n")
    data = bytearray(path.read_bytes())
    # Set the "encrypted" flag in the local header and in the central directory entry.
    data[6] |= 1
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1
    path.write_bytes(bytes(data))
    assert error_of(path) == (
        "export.zip: subscribed_members_export_1.csv is password-protected; "
        "unpack it with the password and import the CSV file itself"
    )


def test_a_damaged_zip_is_one_line(tmp_path: Path) -> None:
    content = b"Email Address,OPTIN_TIME\n" + b"a@example.org,2024-01-01 10:00:00\n" * 200
    path = mailchimp(tmp_path, content)
    data = bytearray(path.read_bytes())
    header = struct.unpack("<HH", data[26:30])
    start = 30 + header[0] + header[1]
    data[start + 20 : start + 40] = b"\xff" * 20
    path.write_bytes(bytes(data))
    assert error_of(path).startswith("export.zip: subscribed_members_export_1.csv is damaged (")


def test_a_cli_import_of_a_broken_workbook_changes_nothing(cli: CliRun, tmp_path: Path) -> None:
    cli("members", "add", "alt@example.org", "--list", "mitglieder")
    before = cli("members", "export").stdout
    path = workbook(tmp_path, MEMBERS)
    xml = sheet_xml(path).replace("</row>", '<c r="C3" t="n"><v>x</v></c></row>', 2)
    hostile = rezip(path, tmp_path / "zahl.xlsx", {"xl/worksheets/sheet1.xml": xml.encode()})
    result = cli("members", "import", str(hostile), "--list", "mitglieder")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: zahl.xlsx: cannot read the Excel workbook:")
    assert result.stderr.count("\n") == 1
    assert cli("members", "export").stdout == before


def test_a_header_with_line_breaks_is_quoted_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "liste.csv"
    path.write_text('"Vor\nname";' + ";".join(f"Spalte {i}" for i in range(30)) + "\n", "utf-8")
    assert error_of(path) == (
        'liste.csv: no e-mail column found (columns: "Vor name", '
        + ", ".join(f'"Spalte {i}"' for i in range(19))
        + ' and 11 more); name it "E-Mail", or tell which column it is: --column "email=COLUMN"'
    )


def test_a_zip_whose_directory_claims_a_huge_packed_size_is_one_line(tmp_path: Path) -> None:
    # Found by fuzzing: zipfile would read (and allocate) the 100 MB the directory claims.
    path = mailchimp(tmp_path, b"Email Address,OPTIN_TIME\na@example.org,\n")
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 20 : central + 24] = struct.pack("<I", 100_000_000)
    path.write_bytes(bytes(data))
    assert error_of(path) == (
        "export.zip: subscribed_members_export_1.csv is damaged (bigger than the zip it is in); "
        "download or export it again"
    )


def test_a_zip_whose_local_header_name_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    # Found by fuzzing: zipfile raises UnicodeDecodeError reading such a member.
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("subscribed_ä.csv", b"Email Address,OPTIN_TIME\na@example.org,\n")
    data = bytearray(path.read_bytes())
    data[data.index("ä".encode())] = 0x9B  # in the local header, the first occurrence
    path.write_bytes(bytes(data))
    assert error_of(path).startswith("export.zip: subscribed_ä.csv is damaged (")
