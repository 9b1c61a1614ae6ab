"""The SQLite database: opening it, its schema migrations, and every SQL statement.

One file on a local disk, in WAL mode so the web side can read and write while the
office sends. The schema grows only forward: ``MIGRATIONS`` is an ordered list, the
database's ``PRAGMA user_version`` says how many of them it has seen, and opening it
runs the missing ones, each in its own transaction. A later stage adds its tables by
appending a migration, never by editing one that has shipped.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from newsletter.errors import DatabaseError, MemberError
from newsletter.store.events import EventKind, WebEvent
from newsletter.store.records import (
    Basis,
    ConsentColumns,
    ConsentMethod,
    ConsentRecord,
    KnownMember,
    ListCounts,
    MailingList,
    Member,
    MemberData,
    MemberListing,
    Recipient,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    address_hash,
)

BUSY_TIMEOUT_MS = 10_000
_PAGE = 1000


@dataclass(frozen=True)
class Migration:
    """One step of the schema; its statements run in one transaction with the version bump."""

    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "members, lists, subscriptions and suppressions",
        (
            """
            CREATE TABLE lists (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(trim(name)) > 0),
                created_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE members (
                id INTEGER PRIMARY KEY,
                email TEXT NOT NULL UNIQUE,
                email_hash TEXT NOT NULL,
                first_name TEXT NOT NULL DEFAULT '',
                last_name TEXT NOT NULL DEFAULT '',
                name TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE subscriptions (
                id TEXT PRIMARY KEY,
                member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
                list_id INTEGER NOT NULL REFERENCES lists (id),
                status TEXT NOT NULL
                    CHECK (status IN ('subscribed', 'unsubscribed', 'bounced')),
                basis TEXT NOT NULL CHECK (basis IN ('membership', 'consent')),
                consent_method TEXT NOT NULL
                    CHECK (consent_method IN ('import', 'double_opt_in', 'manual')),
                consent_source TEXT NOT NULL,
                consent_ip TEXT,
                consent_text TEXT,
                subscribed_at TEXT NOT NULL,
                status_changed_at TEXT NOT NULL,
                UNIQUE (member_id, list_id)
            )
            """,
            "CREATE INDEX subscriptions_by_list ON subscriptions (list_id, status)",
            """
            CREATE TABLE suppressions (
                id INTEGER PRIMARY KEY,
                address_hash TEXT NOT NULL,
                list_id INTEGER REFERENCES lists (id),
                reason TEXT NOT NULL
                    CHECK (reason IN ('unsubscribed', 'bounced', 'forgotten')),
                source TEXT NOT NULL,
                created_at TEXT NOT NULL
            )
            """,
            # NULL list_id means "every list"; ifnull makes it count once in the index.
            """
            CREATE UNIQUE INDEX suppressions_once
                ON suppressions (address_hash, ifnull(list_id, 0))
            """,
        ),
    ),
    Migration(
        "delivery journal: sent issues, snapshots per issue and list, deliveries",
        (
            # An issue is frozen by its first real send: the hash of the build it sends.
            """
            CREATE TABLE issue_sends (
                issue TEXT PRIMARY KEY,
                build_hash TEXT NOT NULL,
                started_at TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE issue_snapshots (
                issue TEXT NOT NULL REFERENCES issue_sends (issue),
                list_id INTEGER NOT NULL REFERENCES lists (id),
                taken_at TEXT NOT NULL,
                PRIMARY KEY (issue, list_id)
            )
            """,
            # One row per issue × member, whatever list brought them in: nobody twice.
            # The member's fields are kept as snapshotted so a resumed send is identical;
            # forgetting the member erases the row with them.
            """
            CREATE TABLE deliveries (
                id INTEGER PRIMARY KEY,
                issue TEXT NOT NULL REFERENCES issue_sends (issue),
                member_id INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
                list_id INTEGER NOT NULL REFERENCES lists (id),
                subscription_id TEXT NOT NULL,
                email TEXT NOT NULL,
                first_name TEXT NOT NULL,
                last_name TEXT NOT NULL,
                name TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                uncertain INTEGER NOT NULL DEFAULT 0 CHECK (uncertain IN (0, 1)),
                permanent INTEGER NOT NULL DEFAULT 0 CHECK (permanent IN (0, 1)),
                reply TEXT,
                message_id TEXT,
                queued_at TEXT NOT NULL,
                attempted_at TEXT,
                finished_at TEXT,
                UNIQUE (issue, member_id)
            )
            """,
            "CREATE INDEX deliveries_by_status ON deliveries (issue, status)",
        ),
    ),
    Migration(
        "web side: events awaiting sync on the web server, events the office has applied",
        (
            # On the web server (web_remote): an unsubscribe waits here until the office
            # acknowledges it. The same click twice waits once.
            """
            CREATE TABLE web_events (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('unsubscribe', 'unsubscribe_all')),
                subscription_id TEXT NOT NULL,
                created_at TEXT NOT NULL,
                UNIQUE (kind, subscription_id)
            )
            """,
            # At the office: which events were applied, so one pulled again (its
            # acknowledgement lost) is applied only once. Event ids only, no person.
            """
            CREATE TABLE applied_web_events (
                id TEXT PRIMARY KEY,
                applied_at TEXT NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "delivery journal: no index on the status",
        (
            # Each message changes its row's status twice, and the index moved with it:
            # two more pages per journal commit, half the journal's time during a send.
            # Queries by status read one issue's rows through UNIQUE (issue, member_id).
            "DROP INDEX deliveries_by_status",
        ),
    ),
    # Issue 17; its SQL is in newsletter.store.signups.
    Migration(
        "sign-up: requests awaiting confirmation, the mail limit, consent details",
        (
            # What the consent record needs beyond the columns it had: the consent text's
            # version, when the sign-up was asked for and when its link was confirmed.
            "ALTER TABLE subscriptions ADD COLUMN consent_text_version TEXT",
            "ALTER TABLE subscriptions ADD COLUMN consent_requested_at TEXT",
            "ALTER TABLE subscriptions ADD COLUMN consent_confirmed_at TEXT",
            # A request lives until it is confirmed and applied (at once on one machine, at
            # the next sync on a web server), or until its link expires: then it is erased.
            """
            CREATE TABLE signup_requests (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('signup', 'address', 'preferences')),
                email TEXT NOT NULL,
                first_name TEXT NOT NULL,
                lists TEXT NOT NULL,
                subscription_id TEXT,
                consent_text TEXT NOT NULL,
                consent_version TEXT NOT NULL,
                requested_at TEXT NOT NULL,
                confirmed_at TEXT,
                ip TEXT,
                event_id TEXT UNIQUE
            )
            """,
            "CREATE INDEX signup_requests_by_time ON signup_requests (requested_at)",
            # One confirmation mail per address per MAIL_INTERVAL: the address's hash only.
            """
            CREATE TABLE signup_mails (
                address_hash TEXT PRIMARY KEY,
                sent_at TEXT NOT NULL
            )
            """,
        ),
    ),
    Migration(
        "bounces: every bounce mail applied, once",
        (
            # One row per bounce mail, keyed by its Message-ID (else a hash of the mail), so
            # reading a mailbox twice applies nothing twice. The person is named by the
            # address's hash only: forgetting them leaves no address here. The SQL that
            # reads and writes it is in newsletter.store.bounces.
            """
            CREATE TABLE bounces (
                id INTEGER PRIMARY KEY,
                mail_id TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL
                    CHECK (kind IN ('permanent', 'temporary', 'complaint', 'auto_reply')),
                decision TEXT NOT NULL
                    CHECK (decision IN ('bounced', 'counted', 'unsubscribed', 'ignored')),
                address_hash TEXT,
                subscription_id TEXT,
                issue TEXT,
                code TEXT NOT NULL DEFAULT '',
                text TEXT NOT NULL DEFAULT '',
                reported_at TEXT NOT NULL,
                processed_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX bounces_by_address ON bounces (address_hash, reported_at)",
            "CREATE INDEX bounces_by_issue ON bounces (issue)",
        ),
    ),
)


class Database:
    """An open database. Statements run in autocommit mode unless inside ``transaction()``."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing; nested uses join the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self.connection
            finally:
                self._depth -= 1
            return
        with _translated(self.path):
            # IMMEDIATE: take the write lock now, so a busy database fails before any work.
            self.connection.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        else:
            with _translated(self.path):
                self.connection.execute("COMMIT")
        finally:
            self._depth = 0

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> sqlite3.Cursor:
        with _translated(self.path):
            return self.connection.execute(sql, parameters)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> sqlite3.Cursor:
        with _translated(self.path):
            return self.connection.executemany(sql, rows)

    @property
    def schema_version(self) -> int:
        return int(self.connection.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    """SQLite's operational errors (locked, read-only, disk full) as one user-facing line."""
    try:
        yield
    except sqlite3.OperationalError as error:
        text = str(error)
        if "locked" in text or "busy" in text:
            raise DatabaseError(
                f"{path}: the database is busy (another newsletter command is writing to it)",
                "wait until it has finished, then run this again",
                key="database_busy",
                params={"file": path},
            ) from None
        if "readonly" in text or "disk" in text:
            raise DatabaseError(
                f"{path}: cannot write the database: {text}",
                key="database_not_writable",
                params={"file": path, "reason": text},
            ) from None
        raise


def open_database(path: Path, migrations: Sequence[Migration] = MIGRATIONS) -> Database:
    """Open (or create) the database and bring its schema up to date."""
    if path.parent and not path.parent.is_dir():
        raise DatabaseError(
            f"{path}: the folder {path.parent} does not exist",
            "create it, or change [database] path in newsletter.toml",
            key="database_folder_missing",
            params={"file": path, "folder": path.parent},
        )
    _create_private(path)
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as error:
        raise DatabaseError(
            f"{path}: cannot open the database: {error}",
            "check that the file is a newsletter database and that you may write to it",
            key="database_unreadable",
            params={"file": path, "reason": str(error)},
        ) from None
    database = Database(connection, path)
    try:
        _migrate(database, migrations)
    except BaseException:
        connection.close()
        raise
    return database


def _create_private(path: Path) -> None:
    """A database file readable by its owner only (new or older): it holds personal data.

    SQLite would create it following the umask (often rw-r--r--); its -wal and -shm files
    take the database file's mode, so they are private too. On Windows the mode only
    decides read-only, and the user's profile permissions apply as for every other file.
    """
    # OSError: it exists already, or SQLite is about to say why it cannot be created.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    if os.name == "nt":
        return
    # A database made before files were private (or copied in) is made private too.
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(OSError):  # gone, or someone else's: SQLite will tell
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:
                file.chmod(mode & 0o700)


def _migrate(database: Database, migrations: Sequence[Migration]) -> None:
    if database.schema_version > len(migrations):
        raise DatabaseError(
            f"{database.path}: the database has schema version {database.schema_version}, "
            f"but this newsletter version knows only up to {len(migrations)}",
            "update newsletter to the version that wrote it before using this database",
            key="database_too_new",
            params={
                "file": database.path,
                "version": database.schema_version,
                "known": len(migrations),
            },
        )
    for number, migration in enumerate(migrations, start=1):
        with database.transaction() as connection:
            # Read the version inside the write lock: another process may have just upgraded.
            if database.schema_version >= number:
                continue
            try:
                for statement in migration.statements:
                    connection.execute(statement)
            except sqlite3.Error as error:
                raise DatabaseError(
                    f"{database.path}: upgrading the database to version {number} "
                    f"({migration.name}) failed: {error}",
                    "the database was left as it was; report this with the output of --verbose",
                    key="database_upgrade_failed",
                    params={"file": database.path, "version": number, "reason": str(error)},
                ) from None
            connection.execute(f"PRAGMA user_version = {number}")


# ---------------------------------------------------------------- lists


def iso_time(value: datetime) -> str:
    """An instant as the database keeps it: UTC, ISO 8601, to the second."""
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _mailing_list(row: Any) -> MailingList:
    return MailingList(id=row[0], name=row[1], created_at=_parse_time(row[2]))


def find_list(db: Database, name: str) -> MailingList | None:
    row = db.execute("SELECT id, name, created_at FROM lists WHERE name = ?", (name,)).fetchone()
    return _mailing_list(row) if row else None


def all_lists(db: Database) -> list[MailingList]:
    rows = db.execute("SELECT id, name, created_at FROM lists ORDER BY name").fetchall()
    return [_mailing_list(row) for row in rows]


def require_list(db: Database, name: str) -> MailingList:
    found = find_list(db, name)
    if found is None:
        known = ", ".join(item.name for item in all_lists(db))
        raise MemberError(
            f'there is no list "{name}" (lists: {known or "none yet"})',
            'see "newsletter members lists", or create it with "newsletter members lists create"',
            key="list_unknown" if known else "list_unknown_no_lists",
            params={"name": name, "lists": known},
        )
    return found


def create_list(db: Database, name: str, now: datetime) -> MailingList:
    with db.transaction():
        if find_list(db, name) is not None:
            raise MemberError(f'the list "{name}" already exists')
        db.execute("INSERT INTO lists (name, created_at) VALUES (?, ?)", (name, iso_time(now)))
        return require_list(db, name)


def rename_list(db: Database, old: str, new: str) -> MailingList:
    with db.transaction():
        current = require_list(db, old)
        clash = find_list(db, new)
        if clash is not None and clash.id != current.id:
            raise MemberError(f'cannot rename "{old}": a list "{new}" already exists')
        db.execute("UPDATE lists SET name = ? WHERE id = ?", (new, current.id))
        return require_list(db, new)


def list_counts(db: Database) -> list[ListCounts]:
    rows = db.execute(
        """
        SELECT l.name,
               count(s.id) FILTER (WHERE s.status = 'subscribed'),
               count(s.id) FILTER (WHERE s.status = 'unsubscribed'),
               count(s.id) FILTER (WHERE s.status = 'bounced')
        FROM lists l LEFT JOIN subscriptions s ON s.list_id = l.id
        GROUP BY l.id ORDER BY l.name
        """
    ).fetchall()
    return [ListCounts(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]


# ---------------------------------------------------------------- members


_MEMBER_QUERY = """
    SELECT id, email, first_name, last_name, name, created_at FROM members
"""


def _member(row: Any) -> Member:
    return Member(
        id=row[0],
        email=row[1],
        first_name=row[2],
        last_name=row[3],
        name=row[4],
        created_at=_parse_time(row[5]),
    )


def find_member(db: Database, email: str) -> Member | None:
    row = db.execute(f"{_MEMBER_QUERY} WHERE email = ?", (email,)).fetchone()
    return _member(row) if row else None


def find_member_by_id(db: Database, member_id: int) -> Member | None:
    row = db.execute(f"{_MEMBER_QUERY} WHERE id = ?", (member_id,)).fetchone()
    return _member(row) if row else None


def known_members(db: Database, list_id: int | None) -> dict[str, KnownMember]:
    """Every member with their status on one list: what an import plan compares against."""
    rows = db.execute(
        """
        SELECT m.email, m.first_name, m.last_name, m.name, s.status
        FROM members m LEFT JOIN subscriptions s ON s.member_id = m.id AND s.list_id = ?
        """,
        (list_id,),
    )
    return {
        row[0]: KnownMember(row[1], row[2], row[3], SubscriptionStatus(row[4]) if row[4] else None)
        for row in rows
    }


def insert_members(db: Database, members: Iterable[MemberData], now: datetime) -> None:
    """Add members; addresses already present are left alone."""
    created = iso_time(now)
    db.executemany(
        """
        INSERT INTO members (email, email_hash, first_name, last_name, name, created_at)
        VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING
        """,
        (
            (m.email, address_hash(m.email), m.first_name, m.last_name, m.name, created)
            for m in members
        ),
    )


def update_member_names(db: Database, members: Iterable[MemberData]) -> None:
    db.executemany(
        "UPDATE members SET first_name = ?, last_name = ?, name = ? WHERE email = ?",
        ((m.first_name, m.last_name, m.name, m.email) for m in members),
    )


# ---------------------------------------------------------------- subscriptions


def subscribe(
    db: Database,
    list_id: int,
    entries: Iterable[tuple[str, str, ConsentRecord]],
    now: datetime,
) -> int:
    """Subscribe members (by normalised address) to a list, each with a new id and consent.

    ``entries`` are (subscription id, address, consent). Suppressed addresses and members
    already on the list are skipped here as well as in the plan: no import can undo an
    unsubscribe, even one that arrived from the web while the import was being read.
    Returns how many subscriptions were made.
    """
    with db.transaction():
        # One set-based INSERT from a scratch table is twice as fast as a lookup per row.
        db.execute(
            """
            CREATE TEMP TABLE IF NOT EXISTS incoming_subscriptions (
                id TEXT, email TEXT, basis TEXT, consent_method TEXT, consent_source TEXT,
                consent_ip TEXT, consent_text TEXT, subscribed_at TEXT
            )
            """
        )
        db.executemany(
            "INSERT INTO temp.incoming_subscriptions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (sid, email, c.basis.value, c.method.value, c.source, c.ip, c.text, iso_time(c.at))
                for sid, email, c in entries
            ),
        )
        made = db.execute(
            """
            INSERT INTO subscriptions (id, member_id, list_id, status, basis, consent_method,
                                       consent_source, consent_ip, consent_text, subscribed_at,
                                       status_changed_at)
            SELECT i.id, m.id, ?, 'subscribed', i.basis, i.consent_method, i.consent_source,
                   i.consent_ip, i.consent_text, i.subscribed_at, ?
            FROM temp.incoming_subscriptions i JOIN members m ON m.email = i.email
            WHERE NOT EXISTS (
                SELECT 1 FROM suppressions x
                WHERE x.address_hash = m.email_hash AND (x.list_id IS NULL OR x.list_id = ?)
            )
            ON CONFLICT (member_id, list_id) DO NOTHING
            """,
            (list_id, iso_time(now), list_id),
        ).rowcount
        db.execute("DELETE FROM temp.incoming_subscriptions")
    return made


_SUBSCRIPTION_QUERY = """
    SELECT s.id, s.member_id, s.list_id, l.name, s.status, s.basis, s.consent_method,
           s.consent_source, s.consent_ip, s.consent_text, s.subscribed_at, s.status_changed_at
    FROM subscriptions s JOIN lists l ON l.id = s.list_id
"""


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row[0],
        member_id=row[1],
        list_id=row[2],
        list_name=row[3],
        status=SubscriptionStatus(row[4]),
        basis=Basis(row[5]),
        consent_method=ConsentMethod(row[6]),
        consent_source=row[7],
        consent_ip=row[8],
        consent_text=row[9],
        subscribed_at=_parse_time(row[10]),
        status_changed_at=_parse_time(row[11]),
    )


def find_subscription(db: Database, subscription_id: str) -> Subscription | None:
    row = db.execute(f"{_SUBSCRIPTION_QUERY} WHERE s.id = ?", (subscription_id,)).fetchone()
    return _subscription(row) if row else None


def subscriptions_of(db: Database, member_id: int) -> list[Subscription]:
    rows = db.execute(
        f"{_SUBSCRIPTION_QUERY} WHERE s.member_id = ? ORDER BY l.name", (member_id,)
    ).fetchall()
    return [_subscription(row) for row in rows]


def delete_subscription(db: Database, subscription_id: str) -> None:
    db.execute("DELETE FROM subscriptions WHERE id = ?", (subscription_id,))


def resubscribe(db: Database, subscription_id: str, consent: ConsentRecord, now: datetime) -> None:
    """Put a subscription back to subscribed with a new consent record (staff asked to)."""
    db.execute(
        """
        UPDATE subscriptions
        SET status = 'subscribed', basis = ?, consent_method = ?, consent_source = ?,
            consent_ip = ?, consent_text = ?, subscribed_at = ?, status_changed_at = ?
        WHERE id = ?
        """,
        (
            consent.basis.value, consent.method.value, consent.source, consent.ip,
            consent.text, iso_time(consent.at), iso_time(now), subscription_id,
        ),
    )  # fmt: skip


# ---------------------------------------------------------------- suppressions


def suppress(
    db: Database,
    email: str,
    list_id: int | None,
    reason: SuppressionReason,
    source: str,
    now: datetime,
) -> bool:
    """Suppress a normalised address (``list_id`` None: on every list), ending its subscriptions.

    Only the address's hash is stored. Returns whether anything changed: a new
    suppression or a subscription ended.
    """
    digest = address_hash(email)
    with db.transaction():
        added = db.execute(
            """
            INSERT INTO suppressions (address_hash, list_id, reason, source, created_at)
            SELECT ?, ?, ?, ?, ?
            WHERE NOT EXISTS (
                SELECT 1 FROM suppressions WHERE address_hash = ? AND list_id IS ?
            )
            """,
            (digest, list_id, reason.value, source, iso_time(now), digest, list_id),
        ).rowcount
        status = (
            SubscriptionStatus.BOUNCED
            if reason is SuppressionReason.BOUNCED
            else SubscriptionStatus.UNSUBSCRIBED
        )
        ended = db.execute(
            """
            UPDATE subscriptions SET status = ?, status_changed_at = ?
            WHERE status = 'subscribed' AND (? IS NULL OR list_id = ?)
              AND member_id IN (SELECT id FROM members WHERE email = ?)
            """,
            (status.value, iso_time(now), list_id, list_id, email),
        ).rowcount
    return bool(added or ended)


def suppressions_of(db: Database, email: str) -> list[Suppression]:
    rows = db.execute(
        """
        SELECT x.address_hash, l.name, x.reason, x.source, x.created_at
        FROM suppressions x LEFT JOIN lists l ON l.id = x.list_id
        WHERE x.address_hash = ? ORDER BY x.created_at
        """,
        (address_hash(email),),
    ).fetchall()
    return [
        Suppression(
            address_hash=r[0],
            list_name=r[1],
            reason=SuppressionReason(r[2]),
            source=r[3],
            created_at=_parse_time(r[4]),
        )
        for r in rows
    ]


def suppressed_hashes(db: Database, list_id: int | None) -> dict[str, SuppressionReason]:
    """Hashes suppressed for every list or for ``list_id``, with the reason."""
    rows = db.execute(
        "SELECT address_hash, reason FROM suppressions WHERE list_id IS NULL OR list_id = ?",
        (list_id,),
    )
    return {str(row[0]): SuppressionReason(row[1]) for row in rows}


def lift_suppressions(db: Database, email: str, list_id: int) -> int:
    """Remove what keeps an address off one list (its own and the all-list suppressions)."""
    return db.execute(
        "DELETE FROM suppressions WHERE address_hash = ? AND (list_id IS NULL OR list_id = ?)",
        (address_hash(email), list_id),
    ).rowcount


def forget(db: Database, email: str, now: datetime) -> None:
    """Erase a person; what remains is one all-list suppression holding the hash only."""
    with db.transaction():
        db.execute("DELETE FROM members WHERE email = ?", (email,))
        # Earlier suppressions name lists and sources; one hashed record is all we keep.
        db.execute("DELETE FROM suppressions WHERE address_hash = ?", (address_hash(email),))
        # So do bounce decisions (issues, server texts): newsletter.store.bounces.
        db.execute("DELETE FROM bounces WHERE address_hash = ?", (address_hash(email),))
        suppress(db, email, None, SuppressionReason.FORGOTTEN, "forget", now)


# ---------------------------------------------------------------- reading many


def iter_listings(
    db: Database, list_id: int | None, status: SubscriptionStatus | None
) -> Iterator[MemberListing]:
    """Members × lists for ``list`` and ``export``, by list then address, read lazily."""
    cursor = db.execute(
        """
        SELECT m.email, m.first_name, m.last_name, m.name, l.name, s.status, s.basis,
               s.subscribed_at, s.consent_method, s.consent_source, s.consent_text_version,
               s.consent_requested_at, s.consent_confirmed_at, s.consent_ip, s.consent_text
        FROM subscriptions s JOIN members m ON m.id = s.member_id JOIN lists l ON l.id = s.list_id
        WHERE (? IS NULL OR s.list_id = ?) AND (? IS NULL OR s.status = ?)
        ORDER BY l.name, m.email
        """,
        (list_id, list_id, status and status.value, status and status.value),
    )
    for row in cursor:
        yield MemberListing(
            email=row[0],
            first_name=row[1],
            last_name=row[2],
            name=row[3],
            list_name=row[4],
            status=SubscriptionStatus(row[5]),
            basis=Basis(row[6]),
            subscribed_at=_parse_time(row[7]),
            consent=ConsentColumns(
                method=row[8],
                source=row[9],
                text_version=row[10],
                requested_at=_parse_time(row[11]) if row[11] else None,
                confirmed_at=_parse_time(row[12]) if row[12] else None,
                ip=row[13],
                text=row[14],
            ),
        )


# The subscribed members of a list (its id given twice) whom no suppression stops, as
# ``s`` (subscriptions) and ``m`` (members): what a send mails, in one place for the
# page-wise reading below and the journal's snapshot and counts.
RECIPIENTS = """
    FROM subscriptions s JOIN members m ON m.id = s.member_id
    WHERE s.list_id = ? AND s.status = 'subscribed'
      AND NOT EXISTS (
          SELECT 1 FROM suppressions x
          WHERE x.address_hash = m.email_hash AND (x.list_id IS NULL OR x.list_id = ?)
      )
"""


def iter_recipients(db: Database, list_id: int) -> Iterator[Recipient]:
    """The subscribed, non-suppressed members of a list, a page at a time.

    Each page is its own short query (keyed on the subscription's rowid), so memory stays
    flat for any list size and no read transaction is held open between pages.
    """
    after = 0
    while True:
        rows = db.execute(
            f"""
            SELECT s.rowid, s.id, m.id, m.email, m.first_name, m.last_name, m.name
            {RECIPIENTS} AND s.rowid > ?
            ORDER BY s.rowid LIMIT ?
            """,
            (list_id, list_id, after, _PAGE),
        ).fetchall()
        if not rows:
            return
        for row in rows:
            yield Recipient(
                subscription_id=row[1],
                member_id=row[2],
                email=row[3],
                first_name=row[4],
                last_name=row[5],
                name=row[6],
            )
        after = rows[-1][0]


# ---------------------------------------------------------------- web side events


def record_web_event(db: Database, event: WebEvent) -> bool:
    """Keep an event for the office; one already waiting (the same click again) is kept once."""
    return bool(
        db.execute(
            """
            INSERT INTO web_events (id, kind, subscription_id, created_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (kind, subscription_id) DO NOTHING
            """,
            (event.id, event.kind.value, event.subscription_id, iso_time(event.at)),
        ).rowcount
    )


def pending_web_events(db: Database, limit: int) -> list[WebEvent]:
    """The oldest events the office has not acknowledged yet."""
    rows = db.execute(
        """
        SELECT id, kind, subscription_id, created_at FROM web_events
        ORDER BY created_at, rowid LIMIT ?
        """,
        (limit,),
    ).fetchall()
    return [WebEvent(row[0], EventKind(row[1]), row[2], _parse_time(row[3])) for row in rows]


def delete_web_events(db: Database, ids: Sequence[str]) -> int:
    """Forget events the office has acknowledged; unknown ids are ignored."""
    with db.transaction():
        return sum(
            db.execute("DELETE FROM web_events WHERE id = ?", (event_id,)).rowcount
            for event_id in ids
        )


def web_event_applied(db: Database, event_id: str) -> bool:
    row = db.execute("SELECT 1 FROM applied_web_events WHERE id = ?", (event_id,)).fetchone()
    return row is not None


def mark_web_event_applied(db: Database, event_id: str, now: datetime) -> None:
    db.execute(
        "INSERT INTO applied_web_events (id, applied_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (event_id, iso_time(now)),
    )
