"""A 120,000-character name must not make a To: line the SMTP server refuses (issue 14.7).

Names are limited where they come in (an import rejects the row, ``members add`` refuses),
and the header builder cuts and folds whatever reaches it, so no line passes 998 octets.
"""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter import store
from newsletter.errors import MemberError
from newsletter.members.addresses import MAX_NAME
from newsletter.members.manage import add_member
from newsletter.members.planner import RowOutcome
from newsletter.messages.compose import MAX_DISPLAY_NAME, mail_address
from newsletter.messages.headers import address_line

from .members_support import db, import_file, stored

__all__ = ["db"]

LONG = "A" * 120_000


def test_an_import_rejects_a_row_whose_name_is_too_long(db: store.Database, tmp_path: Path) -> None:
    path = tmp_path / "mitglieder.csv"
    path.write_text(
        "E-Mail;Vorname;Nachname\n"
        "erika@example.org;Erika;Mustermann\n"
        f"lang@example.org;{LONG};Mustermann\n"
        f"auch@example.org;Hans;{'ü' * (MAX_NAME + 1)}\n",
        encoding="utf-8",
    )
    plan = import_file(db, path)
    assert [(row.where, row.given, row.reason) for row in plan.with_outcome(RowOutcome.REJECTED)] == [
        ("mitglieder.csv line 3", "lang@example.org", "the first name is longer than 200 characters"),
        ("mitglieder.csv line 4", "auch@example.org", "the last name is longer than 200 characters"),
    ]  # fmt: skip
    assert [row[0] for row in stored(db)] == ["erika@example.org"]


def test_add_refuses_a_name_that_is_too_long(db: store.Database) -> None:
    with pytest.raises(MemberError) as raised:
        add_member(db, "lang@example.org", "mitglieder", name=LONG)
    assert str(raised.value) == (
        "the name is longer than 200 characters; shorten it (a name shows in every message's To: line)"
    )
    assert stored(db) == []


def header_lines(raw: bytes) -> list[bytes]:
    assert raw.endswith(b"\r\n")
    return raw[:-2].split(b"\r\n")


def parses(raw: bytes, local: str) -> None:
    message = message_from_bytes(raw + b"\r\n", policy=default)
    assert not message.defects
    # UTF-8 headers (RFC 6532) come back from the parser as surrogate escapes.
    spec = message["To"].addresses[0].addr_spec.encode("utf-8", "surrogateescape").decode()
    assert spec == f"{local}@example.org"


@pytest.mark.parametrize(
    "name",
    [LONG, "Erika " * 20_000, "Ä" * 120_000, "=?utf-8?q?x?= " + "b" * 5000, "😀" * 5000],
)
@pytest.mark.parametrize("local", ["erika", "jürgen"])
def test_the_to_line_of_a_huge_name_fits_the_smtp_line_limit(name: str, local: str) -> None:
    raw = address_line("To", mail_address(name, f"{local}@example.org"))
    assert max(len(line) for line in header_lines(raw)) <= 998
    # 200 emoji are 800 bytes, base64 and split into encoded words of 75 characters.
    assert len(raw) < 8 * MAX_DISPLAY_NAME + 200
    parses(raw, local)


def test_a_cut_name_keeps_its_beginning() -> None:
    address = mail_address("Erika " + "x" * 500, "erika@example.org")
    assert address.display_name == ("Erika " + "x" * 500)[:MAX_DISPLAY_NAME]


@given(st.text(st.characters(codec="utf-8"), max_size=3000))
def test_no_to_line_passes_998_octets(name: str) -> None:
    for local in ("erika", "jürgen"):
        raw = address_line("To", mail_address(name, f"{local}@example.org"))
        assert max(len(line) for line in header_lines(raw)) <= 998
