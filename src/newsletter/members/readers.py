"""Member files as offices have them, read into one kind of row.

A file is opened as tables (``tables.py``); each table's header decides which reader
interprets it: a Mailchimp export, a listmonk export, or any other list with German or
English headers. Every reader keeps the same contract: ``recognises(header)`` and
``rows(...)`` yielding ``ImportRow``s. A new export format is a new reader in
``READERS``, not a new ``if`` in the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import ClassVar, NamedTuple, Protocol

from newsletter.errors import MemberError
from newsletter.members.tables import Table, mailchimp_part_kind, one_line, read_tables
from newsletter.store.records import SuppressionReason


class Field(StrEnum):
    """The columns an import uses; ``--column FIELD=COLUMN`` names one of these."""

    EMAIL = "email"
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    NAME = "name"


@dataclass(frozen=True)
class OptOut:
    """A row the export marks as opted out or bouncing: it becomes a suppression."""

    reason: SuppressionReason
    all_lists: bool
    note: str


class ImportRow(NamedTuple):
    """One record of a member file, as the file has it.

    A NamedTuple rather than a frozen dataclass: there is one per row of a 100,000-row
    file, and a tuple is ten times cheaper to build (bench/members_import.py).
    """

    part: str  # the file it comes from (zips hold several)
    line: int  # where the record starts
    email: str  # as given
    first_name: str = ""
    last_name: str = ""
    name: str = ""
    opted_in_at: datetime | None = None
    opt_in_ip: str | None = None
    opt_out: OptOut | None = None
    skip_reason: str | None = None

    @property
    def where(self) -> str:
        return f"{self.part} line {self.line}"


# Header spellings, compared after casefolding and dropping everything but letters and
# digits: "E-Mail-Adresse", "e_mail adresse" and "EMailAdresse" are one header.
_ALIASES: dict[Field, frozenset[str]] = {
    Field.EMAIL: frozenset(
        {"email", "emailadresse", "emailaddress", "mail", "mailadresse", "emailadr", "emails"}
    ),
    Field.FIRST_NAME: frozenset({"vorname", "firstname", "fname", "givenname", "rufname"}),
    Field.LAST_NAME: frozenset(
        {"nachname", "lastname", "lname", "surname", "familienname", "zuname"}
    ),
    Field.NAME: frozenset({"name", "fullname", "vollername", "vollständigername"}),
}
_NOT_ALNUM = re.compile(r"[\W_]+")
_EXPORT_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?"
)


def header_key(cell: str) -> str:
    return _NOT_ALNUM.sub("", cell.casefold())


def parse_export_time(text: str) -> datetime | None:
    """Times as Mailchimp ("2024-03-01 09:15:00", UTC) and listmonk (Go's format) write them."""
    match = _EXPORT_TIME.match(text.strip())
    if not match:
        return None
    date, clock, offset = match.groups()
    if offset and offset != "Z" and ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    try:
        moment = datetime.fromisoformat(
            f"{date}T{clock}{'+00:00' if offset in (None, 'Z') else offset}"
        )
    except ValueError:
        return None
    return moment.astimezone(UTC)


def parse_column_overrides(specs: Sequence[str]) -> dict[Field, str]:
    """``["email=Mail privat"]`` → {Field.EMAIL: "Mail privat"}."""
    overrides: dict[Field, str] = {}
    fields = ", ".join(field.value for field in Field)
    for spec in specs:
        field, equals, column = spec.partition("=")
        key = field.strip().lower().replace("-", "_")
        if not equals or not column.strip() or key not in set(Field):
            raise MemberError(
                f'--column expects FIELD=COLUMN, got "{spec}"',
                f'FIELD is one of {fields}; e.g. --column "email=E-Mail privat"',
            )
        overrides[Field(key)] = column.strip()
    return overrides


@dataclass(frozen=True)
class Columns:
    """Where each field sits in a table's records (indexes into the cells)."""

    fields: Mapping[Field, int]
    extra: Mapping[str, int]  # every header by its key, for format-specific columns
    has_header: bool

    def get(self, cells: Sequence[str], field: Field) -> str:
        index = self.fields.get(field)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    def get_extra(self, cells: Sequence[str], key: str) -> str:
        index = self.extra.get(key)
        return cells[index].strip() if index is not None and index < len(cells) else ""


def find_columns(label: str, header: Sequence[str], overrides: Mapping[Field, str]) -> Columns:
    """Match the header row to our fields; ``--column`` choices win over the spellings."""
    keys = [header_key(cell) for cell in header]
    fields: dict[Field, int] = {}
    for field, aliases in _ALIASES.items():
        for index, key in enumerate(keys):
            if key in aliases:
                fields[field] = index
                break
    for field, wanted in overrides.items():
        fields[field] = _override_index(label, header, wanted)
    extra = {key: index for index, key in reversed(list(enumerate(keys)))}
    if Field.EMAIL in fields:
        return Columns(fields, extra, has_header=True)
    # No header at all: a first row that holds an address is data, not a header.
    for index, cell in enumerate(header):
        if "@" in cell:
            return Columns({Field.EMAIL: index}, {}, has_header=False)
    raise MemberError(
        f"{label}: no e-mail column found (columns: {_shown_columns(header)})",
        'name it "E-Mail", or tell which column it is: --column "email=COLUMN"',
        key="import_no_email_column",
        params={"file": label, "columns": _shown_columns(header)},
    )


def _shown_columns(header: Sequence[str], with_empty: bool = False) -> str:
    """The header row as a message quotes it: on one line, at most 20 columns."""
    cells = [cell for cell in header if with_empty or cell.strip()]
    shown = ", ".join(f'"{one_line(cell, 40)}"' for cell in cells[:20])
    more = f" and {len(cells) - 20} more" if len(cells) > 20 else ""
    return (shown + more) or "none"


def _override_index(label: str, header: Sequence[str], wanted: str) -> int:
    for index, cell in enumerate(header):
        if cell.strip().casefold() == wanted.casefold():
            return index
    for index, cell in enumerate(header):
        if header_key(cell) == header_key(wanted) and header_key(wanted):
            return index
    if wanted.isdigit() and 1 <= int(wanted) <= len(header):
        return int(wanted) - 1
    raise MemberError(
        f'{label}: there is no column "{wanted}" (columns: {_shown_columns(header, True)})',
        "use one of these names, or the column's number counted from 1",
        key="import_no_such_column",
        params={"file": label, "column": wanted, "columns": _shown_columns(header, True)},
    )


class RowReader(Protocol):
    """Interprets the records of one table as member rows."""

    name: ClassVar[str]
    carries_opt_in: ClassVar[bool]

    @staticmethod
    def recognises(keys: frozenset[str], label: str) -> bool: ...

    @staticmethod
    def row(part: str, line: int, cells: Sequence[str], columns: Columns) -> ImportRow: ...


def _plain_row(part: str, line: int, cells: Sequence[str], columns: Columns) -> ImportRow:
    return ImportRow(
        part=part,
        line=line,
        email=columns.get(cells, Field.EMAIL),
        first_name=columns.get(cells, Field.FIRST_NAME),
        last_name=columns.get(cells, Field.LAST_NAME),
        name=columns.get(cells, Field.NAME),
    )


class PlainReader:
    """Any list with an address column: Excel CSVs, workbooks, ``email,name`` files."""

    name: ClassVar[str] = "member list"
    carries_opt_in: ClassVar[bool] = False

    @staticmethod
    def recognises(keys: frozenset[str], label: str) -> bool:
        return True

    @staticmethod
    def row(part: str, line: int, cells: Sequence[str], columns: Columns) -> ImportRow:
        return _plain_row(part, line, cells, columns)


_MAILCHIMP_OPT_OUTS = {
    "unsubscribed": OptOut(
        SuppressionReason.UNSUBSCRIBED, all_lists=False, note="unsubscribed in the Mailchimp export"
    ),
    "cleaned": OptOut(
        SuppressionReason.BOUNCED, all_lists=True, note="bounced (cleaned) in the Mailchimp export"
    ),
}


class MailchimpReader:
    """Mailchimp's audience export: subscribed, unsubscribed and cleaned CSVs."""

    name: ClassVar[str] = "Mailchimp export"
    carries_opt_in: ClassVar[bool] = True

    @staticmethod
    def recognises(keys: frozenset[str], label: str) -> bool:
        return "emailaddress" in keys and bool({"optintime", "confirmtime"} & keys)

    @staticmethod
    def row(part: str, line: int, cells: Sequence[str], columns: Columns) -> ImportRow:
        kind = mailchimp_part_kind(part)
        if "unsubtime" in columns.extra:
            kind = "unsubscribed"
        elif "cleantime" in columns.extra:
            kind = "cleaned"
        confirmed = columns.get_extra(cells, "confirmtime")
        return ImportRow(
            part=part,
            line=line,
            email=columns.get(cells, Field.EMAIL),
            first_name=columns.get(cells, Field.FIRST_NAME),
            last_name=columns.get(cells, Field.LAST_NAME),
            name=columns.get(cells, Field.NAME),
            opted_in_at=parse_export_time(confirmed or columns.get_extra(cells, "optintime")),
            opt_in_ip=columns.get_extra(cells, "confirmip" if confirmed else "optinip") or None,
            opt_out=_MAILCHIMP_OPT_OUTS.get(kind or ""),
        )


_LISTMONK_BLOCKLISTED = OptOut(
    SuppressionReason.UNSUBSCRIBED, all_lists=True, note="blocklisted in the listmonk export"
)


class ListmonkReader:
    """listmonk's subscriber export: uuid, email, name, attributes, status, created_at."""

    name: ClassVar[str] = "listmonk export"
    carries_opt_in: ClassVar[bool] = True

    @staticmethod
    def recognises(keys: frozenset[str], label: str) -> bool:
        return {"uuid", "email", "status", "createdat"} <= keys

    @staticmethod
    def row(part: str, line: int, cells: Sequence[str], columns: Columns) -> ImportRow:
        status = columns.get_extra(cells, "status").lower()
        return ImportRow(
            part=part,
            line=line,
            email=columns.get(cells, Field.EMAIL),
            name=columns.get(cells, Field.NAME),
            opted_in_at=parse_export_time(columns.get_extra(cells, "createdat")),
            opt_out=_LISTMONK_BLOCKLISTED if status == "blocklisted" else None,
            skip_reason=(
                "disabled in the listmonk export (not imported)" if status == "disabled" else None
            ),
        )


READERS: tuple[type[RowReader], ...] = (MailchimpReader, ListmonkReader, PlainReader)


@dataclass(frozen=True)
class _Part:
    table: Table
    reader: type[RowReader]
    columns: Columns


@dataclass(frozen=True)
class MemberFile:
    """A member file, opened and understood, ready to yield its rows."""

    path: Path
    parts: tuple[_Part, ...]

    @property
    def format(self) -> str:
        """What the file was read as, for the summary."""
        reader = self.parts[0].reader
        if len(self.parts) > 1:
            return f"{reader.name} (zip with {len(self.parts)} CSV files)"
        return f"{reader.name} ({self.parts[0].table.description})"

    @property
    def carries_opt_in(self) -> bool:
        return all(part.reader.carries_opt_in for part in self.parts)

    @property
    def row_count(self) -> int:
        return sum(part.table.row_count - part.columns.has_header for part in self.parts)

    def rows(self) -> Iterator[ImportRow]:
        for part in self.parts:
            records = part.table.records()
            if part.columns.has_header:
                next(records, None)
            label = part.table.label
            for line, cells in records:
                yield part.reader.row(label, line, cells, part.columns)


def open_member_file(path: Path, overrides: Mapping[Field, str] | None = None) -> MemberFile:
    """Open ``path`` as a member file; MemberError when it cannot be used at all."""
    parts = []
    for table in read_tables(path):
        first = next(table.records(), None)
        if first is None:
            raise MemberError(
                f"{table.label} is empty",
                "export the member list again",
                key="import_empty",
                params={"file": table.label},
            )
        header = first[1]
        keys = frozenset(header_key(cell) for cell in header)
        reader = next(r for r in READERS if r.recognises(keys, table.label))
        columns = find_columns(table.label, header, overrides or {})
        parts.append(_Part(table, reader, columns))
    return MemberFile(path=path, parts=tuple(parts))
