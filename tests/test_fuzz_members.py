"""Fuzz every member-file entry point through the library's import plan (issue 14).

Each generated file goes through ``open_member_file`` and ``plan_import``, the way
``members import`` reads it: the answer is a plan or a one-line NewsletterError, within
a time and memory budget (``fuzz_support.outcome``). Formats: CSV in the encodings
offices have, Excel's Unicode text (UTF-16), .xlsx workbooks (valid, hand-mangled XML,
flipped bytes), Mailchimp zips and listmonk exports, and bytes of anything.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.members.planner import ImportPlan, plan_import
from newsletter.members.readers import open_member_file
from newsletter.store.records import Basis

from .fuzz_support import Budget, outcome

pytestmark = pytest.mark.fuzz

BUDGET = Budget(seconds=5, megabytes=100)

_PIECES = [
    *";,\t|\"'\r\n @.-_=+", "ä", "ß", "€", "\x00", "\x1a", "\u202e", "😀", "\ufeff",
    "erika@example.org", "ANNA@Bücher.de", "x@[::1]", "@", "2024-03-01 09:15:00", "Z",
    "subscribed", "blocklisted", "disabled", "E-Mail", "Vorname", "=HYPERLINK(\"x\")",
]  # fmt: skip
_cell_text = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=6)), max_size=6).map(
    "".join
)

HEADERS = [
    "E-Mail;Vorname;Nachname",
    "email,name",
    "Email Address,First Name,Last Name,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP",
    "Email Address,First Name,UNSUB_TIME",
    "uuid,email,name,attributes,status,created_at,updated_at",
    "Mail privat\tVorname",
    "",
]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be"]


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(HEADERS))
    delimiter = draw(st.sampled_from([";", ",", "\t", "|"]))
    rows = draw(st.lists(st.lists(_cell_text, max_size=8), max_size=12))
    body = "\n".join(delimiter.join(cells) for cells in rows)
    return f"{header}\n{body}" if header else body


def plan(path: Path) -> ImportPlan:
    member_file = open_member_file(path)
    return plan_import(
        member_file.rows(),
        list_name="mitglieder",
        list_exists=False,
        basis=Basis.MEMBERSHIP,
        known={},
        suppressed={},
    )


def check(path: Path) -> None:
    result = outcome(lambda: plan(path), BUDGET)
    if isinstance(result, ImportPlan):
        # Every row is accounted for, and none is added without a valid address.
        assert all(row.member is None or "@" in row.member.email for row in result.rows)


def flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    mutable = bytearray(data)
    for position, value in flips:
        if mutable:
            mutable[position % len(mutable)] = value
    return bytes(mutable)


_flips = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8)


@given(text=csv_texts(), encoding=st.sampled_from(ENCODINGS), cut=st.integers(0, 3))
def test_csv_in_every_encoding(tmp_path: Path, text: str, encoding: str, cut: int) -> None:
    data = text.encode(encoding, errors="replace")
    path = tmp_path / "mitglieder.csv"
    path.write_bytes(data[: len(data) - cut] if cut else data)
    check(path)


@given(text=csv_texts(), bom=st.booleans())
def test_excel_unicode_text(tmp_path: Path, text: str, bom: bool) -> None:
    path = tmp_path / "Mitglieder.txt"
    data = text.replace("\n", "\r\n").encode("utf-16-le", errors="surrogatepass")
    path.write_bytes((codecs.BOM_UTF16_LE if bom else b"") + data)
    check(path)


@given(data=st.binary(max_size=3000), prefix=st.sampled_from([b"", b"PK\x03\x04", b"%PDF-1.4",
       codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b"\xd0\xcf\x11\xe0"]))  # fmt: skip
def test_any_bytes(tmp_path: Path, data: bytes, prefix: bytes) -> None:
    path = tmp_path / "mitglieder.csv"
    path.write_bytes(prefix + data)
    check(path)


_SHEET_MUTATIONS = [
    ("<dimension ref=", '<dimension ref="A1:XFD1048576"/><x '),
    ("</sheetData>", '<row r="1048576"/></sheetData>'),
    ("</sheetData>", '<row r="99999999"><c r="A99999999"><v>1</v></c></row></sheetData>'),
    ("</row>", '<c r="XFD1" t="inlineStr"><is><t>x</t></is></c></row>'),
    ("</row>", '<c r="C1" t="n"><v>zwölf</v></c></row>'),
    ("</row>", '<c r="D1" t="s"><v>99</v></c></row>'),
    ("</row>", '<c r="A0"><v>1</v></c></row>'),
    ("</row>", '<c r="E1" t="d"><v>gestern</v></c></row>'),
    ("</sheetData>", ""),
    ("<row ", "<row r='x' "),
]


@st.composite
def workbooks(draw: st.DrawFn) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["E-Mail", "Vorname", "Nachname"])
    for row in draw(st.lists(st.lists(_cell_text, max_size=4), max_size=8)):
        cleaned = [openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row]
        sheet.append([cell for cell in cleaned if not cell.startswith("=")])
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    mutations = draw(st.lists(st.sampled_from(_SHEET_MUTATIONS), max_size=3))
    cut = draw(st.integers(0, 200))
    if mutations or cut:
        source = zipfile.ZipFile(io.BytesIO(data))
        xml = source.read("xl/worksheets/sheet1.xml").decode("utf-8")
        for old, new in mutations:
            xml = xml.replace(old, new, 1)
        xml = xml[: len(xml) - cut]
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                content = source.read(info.filename)
                if info.filename == "xl/worksheets/sheet1.xml":
                    content = xml.encode("utf-8")
                target.writestr(info.filename, content)
        data = out.getvalue()
    return flip(data, draw(_flips))


@given(data=workbooks())
def test_xlsx_workbooks(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "mitglieder.xlsx"
    path.write_bytes(data)
    check(path)


_PART_NAMES = [
    "members_export/subscribed_members_export_1.csv",
    "unsubscribed_members_export_1.csv",
    "cleaned_members_export_1.csv",
    "readme.txt",
]


@st.composite
def mailchimp_zips(draw: st.DrawFn) -> bytes:
    out = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED]))
    with zipfile.ZipFile(out, "w", method) as archive:
        for name in draw(st.lists(st.sampled_from(_PART_NAMES), max_size=4, unique=True)):
            text = draw(csv_texts())
            archive.writestr(name, text.encode(draw(st.sampled_from(ENCODINGS)), "replace"))
        if draw(st.booleans()):
            # A thousandfold part: refused before it is unpacked.
            archive.writestr("subscribed_big.csv", b"Email Address,OPTIN_TIME\n" + b"a" * 3_000_000)
    return flip(out.getvalue(), draw(_flips))


@given(data=mailchimp_zips())
def test_mailchimp_zips(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "members_export.zip"
    path.write_bytes(data)
    check(path)


_LISTMONK_STATUS = st.sampled_from(["enabled", "disabled", "blocklisted", "", "ENABLED", "x"])
_TIMES = st.one_of(
    st.sampled_from(["2024-03-01 09:15:00.123+01:00", "2024-13-45 99:99:99", "9999-12-31 23:59:59 +9999", ""]),
    _cell_text,
)  # fmt: skip


@given(rows=st.lists(st.tuples(_cell_text, _cell_text, _LISTMONK_STATUS, _TIMES), max_size=10))
def test_listmonk_exports(tmp_path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    buffer = io.StringIO()
    import csv

    writer = csv.writer(buffer)
    writer.writerow(["uuid", "email", "name", "attributes", "status", "created_at", "updated_at"])
    for email, name, status, created in rows:
        writer.writerow(["0f6c2d1e", email, name, "{}", status, created, created])
    path = tmp_path / "subscribers.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    check(path)
