"""Helpers for the members tests: a real database file and imports through the library."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter import store
from newsletter.members.applier import apply_import
from newsletter.members.manage import plan_file_import
from newsletter.members.planner import ImportPlan
from newsletter.members.readers import Field, open_member_file
from newsletter.store.records import Basis

FIXTURES = Path(__file__).parent / "fixtures" / "members"
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[store.Database]:
    with store.open_database(tmp_path / "newsletter.db") as database:
        yield database


@pytest.fixture
def mailchimp_zip(tmp_path: Path) -> Path:
    """The three Mailchimp CSVs zipped as Mailchimp ships them (in a folder, any order)."""
    path = tmp_path / "members_export_8f3a2c.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for part in sorted((FIXTURES / "mailchimp").iterdir()):
            archive.write(part, f"members_export_8f3a2c/{part.name}")
    return path


def import_file(
    db: store.Database,
    path: Path,
    list_name: str = "mitglieder",
    *,
    basis: Basis | None = None,
    overrides: dict[Field, str] | None = None,
    now: datetime = NOW,
) -> ImportPlan:
    plan = plan_file_import(db, open_member_file(path, overrides), list_name, basis)
    apply_import(db, plan, source=f"import of {path.name}", now=now)
    return plan


def counts(plan: ImportPlan) -> dict[str, int]:
    return {outcome.value: count for outcome, count in plan.counts.items()}


def stored(db: store.Database, list_name: str | None = None) -> list[tuple[str, ...]]:
    """(email, first, last, name, list, status, basis) of every subscription, sorted."""
    list_id = store.require_list(db, list_name).id if list_name else None
    return sorted(
        (
            item.email, item.first_name, item.last_name, item.name, item.list_name,
            item.status.value, item.basis.value,
        )
        for item in store.iter_listings(db, list_id, None)
    )  # fmt: skip


def dump(db: store.Database) -> list[str]:
    """The whole database as SQL, to compare before and after."""
    return list(db.connection.iterdump())
