"""Members × lists written out for people and for other programs (``members export``).

One set of columns and status words everywhere (SPEC: Members). What differs is only
the container: CSV with commas for pipes, CSV with semicolons and a BOM where German
Excel opens it by double-click, or a real .xlsx workbook. Cells are data, never
programs: CSV cells that Excel would run as a formula are neutralised, and workbook
cells are stored as text. Files are private to their owner: they hold personal data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from newsletter.files import write_bytes_atomic
from newsletter.settings import Locale
from newsletter.store.records import MemberListing

COLUMNS = (
    "email", "first_name", "last_name", "name", "list", "status", "basis", "subscribed_at",
    # The consent record (issue 17): how and from where, and for a web sign-up the
    # consent text with its version, the times and the confirming IP address.
    "consent_method", "consent_source", "consent_text_version", "consent_requested_at",
    "consent_confirmed_at", "consent_ip", "consent_text",
)  # fmt: skip
# What makes Excel (and LibreOffice) read a cell as a formula, also after a tab or CR.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A CSV cell that Excel shows as the text it is instead of running it (OWASP's way)."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def cells(item: MemberListing) -> tuple[str, ...]:
    consent = item.consent
    return (
        item.email, item.first_name, item.last_name, item.name, item.list_name,
        item.status.value, item.basis.value, item.subscribed_at.isoformat(),
    ) + (
        (
            consent.method, consent.source, consent.text_version or "",
            consent.requested_at.isoformat() if consent.requested_at else "",
            consent.confirmed_at.isoformat() if consent.confirmed_at else "",
            consent.ip or "", consent.text or "",
        )
        if consent is not None
        else ("",) * 7
    )  # fmt: skip


def write_csv(listings: Iterable[MemberListing], target: TextIO, delimiter: str = ",") -> int:
    """Write the header and one row per listing; returns the number of rows."""
    writer = csv.writer(target, delimiter=delimiter, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = 0
    for item in listings:
        writer.writerow([neutralise(cell) for cell in cells(item)])
        rows += 1
    return rows


def csv_delimiter(locale: Locale) -> str:
    """German Excel splits CSV at semicolons (the comma is its decimal sign)."""
    return ";" if locale is Locale.DE else ","


def export_file(listings: Iterable[MemberListing], path: Path, locale: Locale) -> int:
    """Write ``path`` as a workbook (.xlsx) or a CSV for Excel, atomically and private."""
    if path.suffix.lower() == ".xlsx":
        data, rows = _workbook(listings)
    else:
        text = io.StringIO()
        rows = write_csv(listings, text, csv_delimiter(locale))
        # The BOM makes Excel read UTF-8 (else it guesses Windows-1252 and garbles umlauts).
        data = text.getvalue().encode("utf-8-sig")
    write_bytes_atomic(path, data, private=True)
    return rows


def _workbook(listings: Iterable[MemberListing]) -> tuple[bytes, int]:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Mitglieder")

    def text_cells(values: Iterable[str]) -> list[WriteOnlyCell]:
        row = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            # openpyxl makes any text starting with "=" a formula; these are all text.
            cell.data_type = "s"
            row.append(cell)
        return row

    sheet.append(text_cells(COLUMNS))
    rows = 0
    for item in listings:
        sheet.append(text_cells(cells(item)))
        rows += 1
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), rows
