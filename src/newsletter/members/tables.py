"""Spreadsheet-like files as tables of text cells: CSV in any office encoding, .xlsx, zips.

Encoding and delimiter are decided from the whole file: an Excel CSV whose only umlaut
sits in its last row is still read as Windows-1252, not as UTF-8 that breaks at the end.
Every record keeps the line (or sheet row) where it starts, for error messages.

A member file is untrusted input: besides its size on disk, each reader limits the work
it may cause (bytes unpacked per zip member and their ratio, rows and columns actually
read, physical line length), and every way a file can be broken ends in one MemberError.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from newsletter.errors import MemberError

Record = tuple[int, list[str]]

_DELIMITERS = (";", ",", "\t", "|")
_DELIMITER_NAMES = {";": "semicolons", ",": "commas", "\t": "tabs", "|": "bars"}
_ZIP_MAGIC = b"PK\x03\x04"
_OLD_EXCEL_MAGIC = b"\xd0\xcf\x11\xe0"

# Limits on work. A 100,000-member Mailchimp export is about 30 MB unpacked; CSV and
# spreadsheet XML pack 3 to 20 times, so a thousandfold is a bomb, not an export.
MAX_FILE_BYTES = 100_000_000
MAX_UNPACKED_BYTES = 100_000_000  # per zip member, and for all of a zip's members together
MAX_RATIO = 1000
_RATIO_FROM_BYTES = 1_000_000  # small members may pack as well as they like
MAX_ROWS = 1_048_576  # Excel's own last row
MAX_COLUMNS = 1000
MAX_LINE_CHARS = 1_000_000  # one physical line: bounds the cells of a record
_UNPACKED_MOST = f"{MAX_UNPACKED_BYTES // 2**20} MB"  # as import_too_big words its limit
FORMATS = (
    "a member list is a CSV or Unicode text file (from Excel or any other program), an .xlsx "
    "workbook, a Mailchimp export zip or a listmonk export: export the members as one of these"
)
# What offices mistake for a member list, by the bytes it starts with.
_NOT_MEMBER_LISTS = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
_ZIP_KINDS = (
    ("word/document.xml", "a Word document"),
    ("ppt/presentation.xml", "a PowerPoint presentation"),
)
_ODS = b"application/vnd.oasis.opendocument.spreadsheet"
# Control characters no text file has (tab, line breaks, form feed and DOS's end-of-file
# mark \x1a are fine); C1 controls are what binary bytes become in Latin-1.
_BINARY = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f\x7f-\x9f]")
UNICODE_TEXT = "Unicode text (UTF-16)"
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
        kind = self.encoding if self.encoding == UNICODE_TEXT else f"CSV, {self.encoding}"
        return f"{kind}, {_DELIMITER_NAMES[self.delimiter]}"

    def records(self) -> Iterator[Record]:
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        start = 1
        try:
            for cells in reader:
                if len(cells) > MAX_COLUMNS:
                    raise _too_wide(self.label, "line", start, "save it again as CSV")
                if _has_content(cells):
                    yield start, cells
                start = reader.line_num + 1
        except csv.Error as error:
            raise MemberError(
                f"{self.label} line {start}: cannot read the CSV: {one_line(error)}",
                "open the file in a spreadsheet program and save it again as CSV",
                key="import_bad_csv",
                params={"file": self.label, "line": start},
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
        from openpyxl.worksheet._reader import WorkSheetParser

        with _workbook(self.label, self.path) as workbook:
            sheet = workbook.worksheets[0]
            # openpyxl's own row iterator pads every row to the size the sheet declares
            # ("A1:XFD1048576" in a 17 KB file) and yields every missing row between two
            # that exist. Its parser, which that iterator wraps, gives only the cells there
            # are, each with its row and column: the work follows the file's real content.
            try:
                with sheet._get_source() as source:
                    parser = WorkSheetParser(
                        source,
                        sheet._shared_strings,
                        data_only=True,
                        epoch=workbook.epoch,
                        date_formats=workbook._date_formats,
                        timedelta_formats=workbook._timedelta_formats,
                    )
                    for number, row in parser.parse():
                        cells = self._cells(number, row)
                        if any(cells):
                            yield number, cells
            except MemberError:
                raise
            except Exception as error:  # openpyxl's parser, on a broken sheet: see _workbook
                raise _unreadable_workbook(self.label, error) from None

    def _cells(self, number: int, row: list[dict[str, Any]]) -> list[str]:
        if number > MAX_ROWS:
            raise MemberError(
                f"{self.label} has more than {MAX_ROWS:,} rows",
                "that is more than Excel itself allows: save the member list again "
                "from your spreadsheet program",
                key="import_too_many_rows",
                params={"file": self.label, "most": MAX_ROWS},
            )
        width = max((cell["column"] for cell in row), default=0)
        cells = [""] * min(width, MAX_COLUMNS)
        for cell in row:
            column, value = cell["column"], cell["value"]
            if 1 <= column <= MAX_COLUMNS:
                cells[column - 1] = _cell_text(value)
            elif column > MAX_COLUMNS and value is not None:
                # Formatted but empty cells far to the right are common; content is not.
                raise _too_wide(
                    self.label,
                    "row",
                    number,
                    "copy its columns into a new workbook, or save it as CSV",
                )
        return cells


def _too_wide(label: str, place: str, line: int, fix: str) -> MemberError:
    """``place`` is "line" (of a CSV) or "row" (of a sheet)."""
    return MemberError(
        f"{label} {place} {line} has more than {MAX_COLUMNS:,} columns",
        f"a member list has a few: {fix}",
        key="import_too_wide",
        params={"file": label, "line": line, "most": MAX_COLUMNS},
    )


@contextmanager
def _workbook(label: str, path: Path) -> Iterator[Any]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # see _unreadable_workbook
        raise _unreadable_workbook(label, error) from None
    try:
        if not workbook.worksheets:
            raise MemberError(
                f"{label}: the workbook has no sheet",
                key="import_no_sheet",
                params={"file": label},
            )
        yield workbook
    finally:
        workbook.close()


def _unreadable_workbook(label: str, error: Exception) -> MemberError:
    # openpyxl reports a broken workbook with whatever its parsing happens to meet
    # (ParseError, KeyError, ValueError, TypeError, zlib.error, ...): all of them mean
    # the file, never our code, so all of them are this one line.
    detail = one_line(error, 200) or type(error).__name__
    return MemberError(
        f"{label}: cannot read the Excel workbook: {detail}",
        "open it in your spreadsheet program and save it again as .xlsx or CSV",
        key="import_bad_workbook",
        params={"file": label},
    )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    # Excel stores whole numbers as floats; a postcode 12345 must not become "12345.0".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


def one_line(text: object, limit: int = 80) -> str:
    """Text from a file as an error message may quote it: one line, not too long."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def not_a_member_list(label: str, what: str) -> MemberError:
    return MemberError(
        f"{label} is {what}, not a member list",
        FORMATS,
        key="import_not_a_list",
        params={"file": label},
    )


def read_tables(path: Path) -> list[Table]:
    """The tables in a file: one, or the CSVs of a Mailchimp zip (opt-outs first).

    Raises MemberError when the file cannot be used at all.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES and path.is_file():
            raise MemberError(
                f"{path.name} has {size:,} bytes, more than the {MAX_FILE_BYTES:,} "
                "a member file may have",
                "split it into several files and import them one after the other",
                key="import_too_big",
                params={"file": path.name, "most": f"{MAX_FILE_BYTES // 2**20} MB"},
            )
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
            key="import_old_excel",
            params={"file": path.name},
        )
    for magic, what in _NOT_MEMBER_LISTS:
        if data.startswith(magic):
            raise not_a_member_list(path.name, what)
    if data.startswith(_ZIP_MAGIC):
        return _zip_tables(path, data)
    return [csv_table(path.name, data)]


def _zip_tables(path: Path, data: bytes) -> list[Table]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as error:
        raise MemberError(
            f"{path.name} is a damaged zip or workbook file ({one_line(error)})",
            "download or export it again",
            key="import_damaged",
            params={"file": path.name},
        ) from None
    if "xl/workbook.xml" in infos:
        check_unpacked(
            path.name, infos.values(), lambda info: one_line(info.filename),
            "this is not a workbook as Excel writes it: open it in your spreadsheet program "
            "and save it again", len(data),
        )  # fmt: skip
        return [_xlsx_table(path)]
    for member, what in _ZIP_KINDS:
        if member in infos:
            raise not_a_member_list(path.name, what)
    if "mimetype" in infos:
        check_unpacked(path.name, [infos["mimetype"]], _shown_name, "export it again", len(data))
    if "mimetype" in infos and _ODS in _read_member(path.name, archive, infos["mimetype"]):
        raise MemberError(
            f"{path.name} is an OpenDocument spreadsheet (.ods)",
            'save it as "Excel 2007-365 (.xlsx)" or as CSV and import that',
            key="import_ods",
            params={"file": path.name},
        )
    parts = sorted(
        (name for name in infos if _MAILCHIMP_PART.fullmatch(PurePosixPath(name).name)),
        key=lambda name: _MAILCHIMP_ORDER[mailchimp_part_kind(name) or "subscribed"],
    )
    if not parts:
        raise MemberError(
            f"{path.name} is a zip without a Mailchimp export in it (no subscribed, "
            "unsubscribed or cleaned CSV)",
            "unpack it and import the CSV file itself",
            key="import_zip_without_export",
            params={"file": path.name},
        )
    check_unpacked(
        path.name, [infos[name] for name in parts], _shown_name,
        "this is not an export as Mailchimp writes it: unpack it and import the CSV itself",
        len(data),
    )  # fmt: skip
    return [
        csv_table(
            f"{path.name}: {_member_name(name)}",
            _read_member(path.name, archive, infos[name]),
        )
        for name in parts
    ]


def check_unpacked(
    label: str,
    infos: Iterable[zipfile.ZipInfo],
    shown: Callable[[zipfile.ZipInfo], str],
    fix: str,
    archive_bytes: int,
) -> None:
    """Refuse, before unpacking anything, zip members that unpack too far or are locked.

    The sizes are the central directory's; zipfile never unpacks more than they say.
    """
    total = 0
    for info in infos:
        name = shown(info)
        if info.compress_size > archive_bytes:
            # zipfile would try to read (and allocate) that much for it.
            raise MemberError(
                f"{label}: {name} is damaged (bigger than the zip it is in)",
                "download or export it again",
                key="import_damaged_part",
                params={"file": label, "part": name},
            )
        if info.flag_bits & 0x1:
            raise MemberError(
                f"{label}: {name} is password-protected",
                "unpack it with the password and import the CSV file itself",
                key="import_locked",
                params={"file": label, "part": name},
            )
        if info.file_size > MAX_UNPACKED_BYTES:
            raise MemberError(
                f"{label}: {name} unpacks to {info.file_size:,} bytes, more than the "
                f"{MAX_UNPACKED_BYTES:,} a member file may have",
                fix,
                key="import_part_too_big",
                params={"file": label, "part": name, "most": _UNPACKED_MOST},
            )
        if info.file_size > _RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise MemberError(
                f"{label}: {name} unpacks to {info.file_size:,} bytes, over {MAX_RATIO:,} "
                "times its packed size",
                fix,
                key="import_packed_oddly",
                params={"file": label, "part": name},
            )
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise MemberError(
                f"{label} unpacks to more than the {MAX_UNPACKED_BYTES:,} bytes "
                "a member file may have",
                fix,
                key="import_unpacks_too_big",
                params={"file": label, "most": _UNPACKED_MOST},
            )


def _read_member(label: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    name = _member_name(info.filename)
    try:
        return archive.read(info)
    except RuntimeError:  # zipfile's word for a password it was not given
        raise MemberError(
            f"{label}: {name} is password-protected",
            "unpack it with the password and import the CSV file itself",
            key="import_locked",
            params={"file": label, "part": name},
        ) from None
    # ValueError: a local header whose name is not UTF-8 though it says so, among others.
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
    ) as error:
        raise MemberError(
            f"{label}: {name} is damaged ({one_line(error)})",
            "download or export it again",
            key="import_damaged_part",
            params={"file": label, "part": name},
        ) from None


def _shown_name(info: zipfile.ZipInfo) -> str:
    return _member_name(info.filename)


def _member_name(name: str) -> str:
    return one_line(PurePosixPath(name).name)


def mailchimp_part_kind(name: str) -> str | None:
    """'subscribed', 'unsubscribed' or 'cleaned' for a Mailchimp export file name."""
    match = _MAILCHIMP_PART.fullmatch(PurePosixPath(name.rpartition(": ")[2]).name)
    return match.group(1).lower() if match else None


def _xlsx_table(path: Path) -> XlsxTable:
    with _workbook(path.name, path) as workbook:
        rows = workbook.worksheets[0].max_row or 0
    return XlsxTable(label=path.name, path=path, row_count=min(rows, MAX_ROWS))


def csv_table(label: str, data: bytes) -> CsvTable:
    text, encoding = decode(label, data)
    _check_text(label, text)
    delimiter, count = detect_delimiter(label, text)
    return CsvTable(label=label, text=text, encoding=encoding, delimiter=delimiter, row_count=count)


def _check_text(label: str, text: str) -> None:
    """Refuse what decoded but is no text (an image, a program) and lines no list has."""
    sample = text[:65536]
    if len(_BINARY.findall(sample)) > max(2, len(sample) // 100):
        raise not_a_member_list(label, "not a text file")
    start = 0
    line = 1
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if end - start > MAX_LINE_CHARS:
            raise MemberError(
                f"{label} line {line} is longer than {MAX_LINE_CHARS:,} characters",
                "a member list has short lines: check that this is the right file, "
                "or save it again as CSV",
                key="import_long_line",
                params={"file": label, "line": line, "most": MAX_LINE_CHARS},
            )
        start = end + 1
        line += 1


def decode(label: str, data: bytes) -> tuple[str, str]:
    """The text of a file and the name of its encoding, judged from all of its bytes."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError as error:
            raise MemberError(
                f"{label}: marked as UTF-8 but byte {error.start} is not UTF-8",
                "save the file again as CSV UTF-8, or as plain CSV",
                key="import_not_utf8",
                params={"file": label, "byte": error.start},
            ) from None
    utf16 = _utf16_codec(data)
    if utf16 is not None:
        # Excel's "Unicode text" export: UTF-16 with tabs.
        try:
            return data.decode(utf16), UNICODE_TEXT
        except UnicodeDecodeError as error:
            raise MemberError(
                f"{label}: marked as {UNICODE_TEXT} but byte {error.start} is not UTF-16",
                "save the file again as Unicode text or as CSV",
                key="import_not_utf16",
                params={"file": label, "byte": error.start},
            ) from None
    if b"\x00" in data:
        raise not_a_member_list(label, "not a text file")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        # Five bytes are undefined in Windows-1252; Latin-1 reads them (as control characters).
        return data.decode("latin-1"), "Latin-1"


def _utf16_codec(data: bytes) -> str | None:
    """The codec for UTF-16 text, with or without its byte-order mark; None for others."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # Without a mark: a list's mostly-ASCII text has a NUL in every other byte.
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 4:
        return None
    if sample[1::2].count(0) >= pairs * 0.9 and sample[0::2].count(0) < pairs * 0.1:
        return "utf-16-le"
    if sample[0::2].count(0) >= pairs * 0.9 and sample[1::2].count(0) < pairs * 0.1:
        return "utf-16-be"
    return None


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
                f"{label}: cannot read the CSV: {one_line(error)}",
                "open the file in a spreadsheet program and save it again as CSV",
                key="import_unreadable_csv",
                params={"file": label},
            ) from None
        records[delimiter] = sum(widths.values())
        if not widths:
            continue
        width, agreeing = widths.most_common(1)[0]
        if width >= 2 and (best is None or agreeing > best[0]):
            best = (agreeing, delimiter)
    chosen = best[1] if best else candidates[0]
    if records[chosen] == 0:
        raise MemberError(
            f"{label} is empty",
            "export the member list again",
            key="import_empty",
            params={"file": label},
        )
    return chosen, records[chosen]


def _has_content(cells: list[str]) -> bool:
    return any(map(str.strip, cells))
