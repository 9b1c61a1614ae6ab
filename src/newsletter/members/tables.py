"""Spreadsheet-like files as tables of text cells: CSV in any office encoding, .xlsx, zips.

Encoding and delimiter are decided from the whole file: an Excel CSV whose only umlaut
sits in its last row is still read as Windows-1252, not as UTF-8 that breaks at the end.
Every record keeps the line (or sheet row) where it starts, for error messages.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from newsletter.errors import MemberError

Record = tuple[int, list[str]]

_DELIMITERS = (";", ",", "\t", "|")
_DELIMITER_NAMES = {";": "semicolons", ",": "commas", "\t": "tabs", "|": "bars"}
_ZIP_MAGIC = b"PK\x03\x04"
_OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0"
_MAILCHIMP_PART = re.compile(r"(unsubscribed|cleaned|subscribed)[^/]*\.csv", re.IGNORECASE)
# Opt-outs first: an address both unsubscribed and subscribed in one export stays out.
_MAILCHIMP_ORDER = {"unsubscribed": 0, "cleaned": 1, "subscribed": 2}


class Table(Protocol):
    """Rows of text cells from one file (or one file inside a zip)."""

    @property
    def label(self) -> str:
        """The file name as messages should show it."""

    @property
    def description(self) -> str:
        """What the file was read as, e.g. 'CSV, Windows-1252, semicolons'."""

    @property
    def row_count(self) -> int:
        """Non-empty records, header included (an estimate for workbooks)."""

    def records(self) -> Iterator[Record]:
        """Non-empty records with the line or sheet row where each starts."""


@dataclass(frozen=True)
class CsvTable:
    label: str
    text: str
    encoding: str
    delimiter: str
    row_count: int

    @property
    def description(self) -> str:
        return f"CSV, {self.encoding}, {_DELIMITER_NAMES[self.delimiter]}"

    def records(self) -> Iterator[Record]:
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        start = 1
        try:
            for cells in reader:
                if _has_content(cells):
                    yield start, cells
                start = reader.line_num + 1
        except csv.Error as error:
            raise MemberError(
                f"{self.label} line {start}: cannot read the CSV: {error}",
                "open the file in a spreadsheet program and save it again as CSV",
            ) from None


@dataclass(frozen=True)
class XlsxTable:
    label: str
    path: Path
    row_count: int

    @property
    def description(self) -> str:
        return "Excel workbook, first sheet"

    def records(self) -> Iterator[Record]:
        import openpyxl

        workbook = openpyxl.load_workbook(self.path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [_cell_text(value) for value in values]
                if any(cells):
                    yield number, cells
        finally:
            workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    # Excel stores whole numbers as floats; a postcode 12345 must not become "12345.0".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


def read_tables(path: Path) -> list[Table]:
    """The tables in a file: one, or the CSVs of a Mailchimp zip (opt-outs first).

    Raises MemberError when the file cannot be used at all.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MemberError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise MemberError(f"{path} is a folder, not a file") from None
    except OSError as error:
        raise MemberError(f"{path}: cannot read the file: {error.strerror}") from None
    if data.startswith(_OLD_EXCEL_MAGIC):
        raise MemberError(
            f"{path.name} is an old Excel file (.xls)",
            'open it in Excel and save it as "Excel workbook (.xlsx)" or as CSV',
        )
    if data.startswith(_ZIP_MAGIC):
        return _zip_tables(path, data)
    return [csv_table(path.name, data)]


def _zip_tables(path: Path, data: bytes) -> list[Table]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
    except zipfile.BadZipFile:
        raise MemberError(f"{path.name} is a damaged zip or workbook file") from None
    if "xl/workbook.xml" in names:
        return [_xlsx_table(path)]
    parts = sorted(
        (name for name in names if _MAILCHIMP_PART.fullmatch(PurePosixPath(name).name)),
        key=lambda name: _MAILCHIMP_ORDER[mailchimp_part_kind(name) or "subscribed"],
    )
    if not parts:
        raise MemberError(
            f"{path.name} is a zip without a Mailchimp export in it (no subscribed, "
            "unsubscribed or cleaned CSV)",
            "unpack it and import the CSV file itself",
        )
    return [
        csv_table(f"{path.name}: {PurePosixPath(name).name}", archive.read(name)) for name in parts
    ]


def mailchimp_part_kind(name: str) -> str | None:
    """'subscribed', 'unsubscribed' or 'cleaned' for a Mailchimp export file name."""
    match = _MAILCHIMP_PART.fullmatch(PurePosixPath(name.rpartition(": ")[2]).name)
    return match.group(1).lower() if match else None


def _xlsx_table(path: Path) -> XlsxTable:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise MemberError(f"{path.name}: cannot read the Excel workbook: {error}") from None
    try:
        if not workbook.worksheets:
            raise MemberError(f"{path.name}: the workbook has no sheet")
        rows = workbook.worksheets[0].max_row or 0
    finally:
        workbook.close()
    return XlsxTable(label=path.name, path=path, row_count=rows)


def csv_table(label: str, data: bytes) -> CsvTable:
    text, encoding = decode(label, data)
    delimiter, count = detect_delimiter(label, text)
    return CsvTable(label=label, text=text, encoding=encoding, delimiter=delimiter, row_count=count)


def decode(label: str, data: bytes) -> tuple[str, str]:
    """The text of a file and the name of its encoding, judged from all of its bytes."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError as error:
            raise MemberError(
                f"{label}: marked as UTF-8 but byte {error.start} is not UTF-8",
                "save the file again as CSV UTF-8, or as plain CSV",
            ) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export.
        return data.decode("utf-16"), "UTF-16"
    if b"\x00" in data:
        raise MemberError(
            f"{label} is not a text file (CSV), an .xlsx workbook or a Mailchimp zip",
            "open it in your spreadsheet program and save it as CSV or .xlsx",
        )
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        # Five bytes are undefined in Windows-1252; Latin-1 reads them (as control characters).
        return data.decode("latin-1"), "Latin-1"


def detect_delimiter(label: str, text: str) -> tuple[str, int]:
    """The delimiter that splits the most records into the same number of cells (at least 2).

    Returns it with the number of non-empty records. A one-column file has no delimiter
    to find; commas are as good as any then.
    """
    lines = text.count("\n") + 1
    # Only a character that occurs about once per line can be the delimiter; parsing the
    # file once per plausible candidate keeps a 100,000-row file fast.
    candidates = [d for d in _DELIMITERS if text.count(d) >= lines // 2] or [","]
    best: tuple[int, str] | None = None
    records: dict[str, int] = {}
    for delimiter in candidates:
        widths: Counter[int] = Counter()
        try:
            for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
                if _has_content(cells):
                    widths[len(cells)] += 1
        except csv.Error as error:
            raise MemberError(
                f"{label}: cannot read the CSV: {error}",
                "open the file in a spreadsheet program and save it again as CSV",
            ) from None
        records[delimiter] = sum(widths.values())
        if not widths:
            continue
        width, agreeing = widths.most_common(1)[0]
        if width >= 2 and (best is None or agreeing > best[0]):
            best = (agreeing, delimiter)
    chosen = best[1] if best else candidates[0]
    if records[chosen] == 0:
        raise MemberError(f"{label} is empty", "export the member list again")
    return chosen, records[chosen]


def _has_content(cells: list[str]) -> bool:
    return any(map(str.strip, cells))
