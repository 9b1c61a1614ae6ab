"""The database: pragmas, migrations, CHECK constraints, storage warnings, the send query."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter import store
from newsletter.errors import DatabaseError
from newsletter.members.manage import (
    add_member,
    forget_address,
    recipients,
    unsubscribe_address,
    unsubscribe_everywhere,
    unsubscribe_subscription,
)
from newsletter.storage import storage_warning
from newsletter.store.records import Basis, ConsentMethod, SubscriptionStatus, SuppressionReason

from .members_support import NOW, db, stored

__all__ = ["db"]


def test_opening_sets_wal_foreign_keys_and_busy_timeout(db: store.Database) -> None:
    pragma = db.connection.execute
    assert pragma("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert pragma("PRAGMA foreign_keys").fetchone()[0] == 1
    assert pragma("PRAGMA busy_timeout").fetchone()[0] == store.BUSY_TIMEOUT_MS
    assert db.schema_version == len(store.MIGRATIONS)


def test_migration_from_the_first_schema_version_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.db"
    with store.open_database(path, store.MIGRATIONS[:1]) as first:
        assert first.schema_version == 1
        add_member(first, "erika@example.org", "mitglieder", first_name="Erika", now=NOW)
    later = store.Migration(
        "a later stage's table",
        ("CREATE TABLE journal (id INTEGER PRIMARY KEY, subscription_id TEXT NOT NULL)",),
    )
    with store.open_database(path, (*store.MIGRATIONS, later)) as upgraded:
        assert upgraded.schema_version == len(store.MIGRATIONS) + 1
        assert stored(upgraded) == [
            ("erika@example.org", "Erika", "", "", "mitglieder", "subscribed", "membership")
        ]
        upgraded.execute("INSERT INTO journal (subscription_id) VALUES ('x')")


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.db"
    with store.open_database(path) as current:
        add_member(current, "erika@example.org", "mitglieder", now=NOW)
    broken = store.Migration(
        "broken", ("CREATE TABLE half (x)", "INSERT INTO no_such_table VALUES (1)")
    )
    with pytest.raises(DatabaseError) as raised:
        store.open_database(path, (*store.MIGRATIONS, broken))
    assert str(raised.value).startswith(
        f"{path}: upgrading the database to version {len(store.MIGRATIONS) + 1} (broken) "
        "failed: no such table: no_such_table; the database was left as it was"
    )
    with store.open_database(path) as again:
        assert again.schema_version == len(store.MIGRATIONS)
        tables = {row[0] for row in again.execute("SELECT name FROM sqlite_master")}
        assert "half" not in tables
        assert len(stored(again)) == 1


def test_a_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.db"
    with store.open_database(path) as current:
        current.execute(f"PRAGMA user_version = {len(store.MIGRATIONS) + 5}")
    with pytest.raises(DatabaseError) as raised:
        store.open_database(path)
    assert "update newsletter" in str(raised.value)


def test_a_missing_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError) as raised:
        store.open_database(tmp_path / "nowhere" / "newsletter.db")
    assert str(raised.value) == (
        f"{tmp_path / 'nowhere' / 'newsletter.db'}: the folder {tmp_path / 'nowhere'} does not "
        "exist; create it, or change [database] path in newsletter.toml"
    )


@pytest.mark.parametrize(
    ("column", "values"),
    [
        ("status", SubscriptionStatus),
        ("basis", Basis),
        ("consent_method", ConsentMethod),
    ],
)
def test_check_constraints_mirror_the_enums(
    db: store.Database, column: str, values: type[SubscriptionStatus]
) -> None:
    add_member(db, "erika@example.org", "mitglieder", now=NOW)
    for value in values:
        db.execute(f"UPDATE subscriptions SET {column} = ?", (value.value,))
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        db.execute(f"UPDATE subscriptions SET {column} = 'something else'")


def test_suppression_reasons_are_checked_too(db: store.Database) -> None:
    for reason in SuppressionReason:
        db.execute(
            "INSERT INTO suppressions (address_hash, reason, source, created_at) VALUES (?, ?, 's', 't')",
            (reason.value, reason.value),
        )
    with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
        db.execute(
            "INSERT INTO suppressions (address_hash, reason, source, created_at) "
            "VALUES ('h', 'complained', 's', 't')"
        )


# ---------------------------------------------------------------- where the file lives


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("//server/share/newsletter.db", "is on a network share"),
        ("\\\\server\\share\\newsletter.db", "is on a network share"),
        ("/home/anna/Dropbox/kv/newsletter.db", 'is in a synced folder ("Dropbox")'),
        ("/home/anna/OneDrive - Grüne/newsletter.db", 'is in a synced folder ("OneDrive - Grüne")'),
        ("/home/anna/Nextcloud/newsletter.db", 'is in a synced folder ("Nextcloud")'),
        (
            "/Users/anna/Library/Mobile Documents/com~apple~CloudDocs/newsletter.db",
            'is in a synced folder ("Mobile Documents")',
        ),
        ("/home/anna/Google Drive/newsletter.db", 'is in a synced folder ("Google Drive")'),
    ],
)
def test_storage_warning_for_shares_and_synced_folders(
    tmp_path: Path, path: str, expected: str
) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/sda1 / ext4 rw 0 0\n", encoding="utf-8")
    warning = storage_warning(Path(path), mounts)
    assert warning is not None and expected in warning
    assert warning.endswith("keep it on a local disk: change [database] path in newsletter.toml")


def test_storage_warning_reads_network_mounts(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    share = tmp_path / "büro share"
    mounts.write_text(
        "/dev/sda1 / ext4 rw 0 0\n"
        f"//nas/kv {str(share).replace(' ', chr(92) + '040')} cifs rw 0 0\n",
        encoding="utf-8",
    )
    assert storage_warning(share / "newsletter.db", mounts) == (
        f"the database {share / 'newsletter.db'} is on a network file system (cifs); "
        "keep it on a local disk: change [database] path in newsletter.toml"
    )
    assert storage_warning(tmp_path / "local" / "newsletter.db", mounts) is None


# ---------------------------------------------------------------- for send and the web side


def test_recipients_are_subscribed_unsuppressed_and_come_in_pages(db: store.Database) -> None:
    from newsletter.members.applier import apply_import
    from newsletter.members.planner import plan_import
    from newsletter.members.readers import ImportRow

    rows = (ImportRow("m.csv", n + 2, f"m{n}@example.org", f"V{n}") for n in range(2500))
    plan = plan_import(
        rows, list_name="mitglieder", list_exists=False, basis=Basis.MEMBERSHIP, known={},
        suppressed={},
    )  # fmt: skip
    apply_import(db, plan, source="test", now=NOW)
    unsubscribe_address(db, "m7@example.org", now=NOW)
    # A suppression recorded without ending the subscription (e.g. synced from the web
    # side while a send was being prepared) must still keep the address out.
    db.execute(
        "INSERT INTO suppressions (address_hash, reason, source, created_at) "
        "VALUES (?, 'bounced', 'test', 't')",
        (_hash("m8@example.org"),),
    )
    found = list(recipients(db, "mitglieder"))
    assert len(found) == 2498
    assert len({r.subscription_id for r in found}) == 2498
    emails = {r.email for r in found}
    assert "m7@example.org" not in emails and "m8@example.org" not in emails
    assert found[0].email == "m0@example.org" and found[0].first_name == "V0"


def test_unsubscribe_subscription_is_idempotent_and_says_whether_it_changed(
    db: store.Database,
) -> None:
    add_member(db, "erika@example.org", "mitglieder", now=NOW)
    add_member(db, "erika@example.org", "newsletter", now=NOW)
    (first, second) = store.subscriptions_of(db, _member_id(db, "erika@example.org"))
    assert unsubscribe_subscription(db, first.id, now=NOW) is True
    assert unsubscribe_subscription(db, first.id, now=NOW) is False
    states = {s.list_name: s.status for s in store.subscriptions_of(db, first.member_id)}
    assert states == {
        first.list_name: SubscriptionStatus.UNSUBSCRIBED,
        second.list_name: SubscriptionStatus.SUBSCRIBED,
    }
    assert unsubscribe_everywhere(db, first.id, now=NOW) is True
    assert unsubscribe_everywhere(db, first.id, now=NOW) is False
    assert {s.status for s in store.subscriptions_of(db, first.member_id)} == {
        SubscriptionStatus.UNSUBSCRIBED
    }


def test_a_token_of_a_forgotten_member_changes_nothing(db: store.Database) -> None:
    add_member(db, "erika@example.org", "mitglieder", now=NOW)
    (subscription,) = store.subscriptions_of(db, _member_id(db, "erika@example.org"))
    forget_address(db, "erika@example.org", now=NOW)
    assert unsubscribe_subscription(db, subscription.id, now=NOW) is False
    assert unsubscribe_everywhere(db, subscription.id, now=NOW) is False
    assert unsubscribe_subscription(db, "never-issued-id-000000", now=NOW) is False


def test_add_refuses_a_suppressed_address_unless_they_asked_again(db: store.Database) -> None:
    from newsletter.errors import MemberError

    add_member(db, "erika@example.org", "mitglieder", now=NOW)
    unsubscribe_address(db, "Erika@Example.org", now=NOW)
    with pytest.raises(MemberError) as raised:
        add_member(db, "erika@example.org", "mitglieder", now=NOW)
    assert str(raised.value) == (
        "erika@example.org must not be re-added to mitglieder: unsubscribed before; add "
        "--resubscribe only if they asked you to receive the newsletter again"
    )
    later = datetime(2027, 1, 5, tzinfo=UTC)
    result = add_member(
        db, "erika@example.org", "mitglieder", basis=Basis.CONSENT, resubscribe=True, now=later
    )
    assert result.resubscribed
    (subscription,) = store.subscriptions_of(db, _member_id(db, "erika@example.org"))
    assert (subscription.status, subscription.basis, subscription.consent_method) == (
        SubscriptionStatus.SUBSCRIBED, Basis.CONSENT, ConsentMethod.MANUAL,
    )  # fmt: skip
    assert subscription.subscribed_at == later


def _member_id(db: store.Database, email: str) -> int:
    member = store.find_member(db, email)
    assert member is not None
    return member.id


def _hash(email: str) -> str:
    from newsletter.store.records import address_hash

    return address_hash(email)
