"""Hostile and broken mail in the bounce mailbox: a decision or a clear error, in budget.

Mutated corpus bounces (bytes flipped, cut, spliced) and generated MIME go through
``process.handle`` on a real database with members, as ``newsletter bounces`` runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from newsletter import store
from newsletter.bounces.process import Handled, Policy, handle
from newsletter.store.records import Basis, ConsentMethod, ConsentRecord, MemberData

from .fuzz_support import Budget, outcome

pytestmark = pytest.mark.fuzz

CORPUS = sorted((Path(__file__).parent / "fixtures" / "bounces").glob("*.eml"))
MAILS = [path.read_bytes() for path in CORPUS]
KEY = b"k" * 32
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
BUDGET = Budget(seconds=3.0, megabytes=80.0)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[store.Database]:
    path = tmp_path_factory.mktemp("fuzz") / "newsletter.db"
    with store.open_database(path) as database:
        mailing_list = store.create_list(database, "mitglieder", NOW)
        addresses = ["erika.beispiel@posteo.example", "kurt.weg@example.net"]
        store.insert_members(database, [MemberData(a, "", "", "") for a in addresses], NOW)
        consent = ConsentRecord(Basis.MEMBERSHIP, ConsentMethod.IMPORT, "test", NOW)
        store.subscribe(
            database,
            mailing_list.id,
            [(f"sub{n:019d}", a, consent) for n, a in enumerate(addresses)],
            NOW,
        )
        yield database


def nested(depth: int) -> bytes:
    head = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(depth)
    )
    return (
        f"From: MAILER-DAEMON@x\nMIME-Version: 1.0\n{head}Content-Type: text/plain\n\nx\n".encode()
    )


@given(
    mail=st.sampled_from(MAILS),
    cut=st.integers(min_value=0, max_value=10_000),
    flips=st.lists(
        st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=8)), max_size=8
    ),
)
@example(mail=MAILS[0], cut=0, flips=[])
def test_mutated_bounces(
    db: store.Database, mail: bytes, cut: int, flips: list[tuple[int, bytes]]
) -> None:
    data = bytearray(mail[: cut or None])
    for position, junk in flips:
        at = position % (len(data) + 1)
        data[at : at + len(junk)] = junk
    result = outcome(lambda: handle(db, bytes(data), KEY, Policy(), NOW), BUDGET)
    assert isinstance(result, Handled)


@given(body=st.binary(max_size=4000))
@example(body=nested(5000))  # minutes in the email package without the boundary limit
@example(body=b"From: MAILER-DAEMON@x\n" + b"Content-Type: message/rfc822\n\n" * 5000)
@example(body=b"Content-Type: message/delivery-status\n\nAction: failed\nStatus: 5.1.1\n")
@example(
    body=b"Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: message/rfc822\n\n"
)
@example(body=b"From: MAILER-DAEMON@x\nContent-Type: text/plain; charset=no-such\n\n\xff\xfe")
def test_arbitrary_bytes(db: store.Database, body: bytes) -> None:
    result = outcome(lambda: handle(db, body, KEY, Policy(), NOW), BUDGET)
    assert isinstance(result, Handled)
