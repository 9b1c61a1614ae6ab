"""A page of members × lists matching a search, for the desk's Mitglieder page.

``members list`` prints everything; the desk shows 50 at a time, so it asks SQLite for one
page and the count, never the whole list (100,000 members: under 0.1 s a page).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from newsletter.store import Database
from newsletter.store.records import Basis, MemberListing, SubscriptionStatus

PAGE_SIZE = 50
_MAX_SEARCH = 200

_FROM = """
    FROM subscriptions s JOIN members m ON m.id = s.member_id JOIN lists l ON l.id = s.list_id
    WHERE (? IS NULL OR s.list_id = ?)
      AND (? IS NULL OR m.email LIKE ? ESCAPE '\\' OR m.name LIKE ? ESCAPE '\\'
           OR (m.first_name || ' ' || m.last_name) LIKE ? ESCAPE '\\')
"""


@dataclass(frozen=True)
class MemberPage:
    rows: tuple[MemberListing, ...]
    total: int  # matching rows on every page
    page: int  # from 1
    pages: int


def _pattern(search: str) -> str | None:
    words = search.strip()[:_MAX_SEARCH]
    if not words:
        return None
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def member_page(db: Database, search: str, list_id: int | None, page: int) -> MemberPage:
    pattern = _pattern(search)
    parameters = (list_id, list_id, pattern, pattern, pattern, pattern)
    total = int(db.execute(f"SELECT count(*) {_FROM}", parameters).fetchone()[0])
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    rows = db.execute(
        f"""
        SELECT m.email, m.first_name, m.last_name, m.name, l.name, s.status, s.basis,
               s.subscribed_at
        {_FROM}
        ORDER BY l.name, m.email LIMIT ? OFFSET ?
        """,
        (*parameters, PAGE_SIZE, (page - 1) * PAGE_SIZE),
    ).fetchall()
    listings = tuple(
        MemberListing(
            email=row[0],
            first_name=row[1],
            last_name=row[2],
            name=row[3],
            list_name=row[4],
            status=SubscriptionStatus(row[5]),
            basis=Basis(row[6]),
            subscribed_at=datetime.fromisoformat(row[7]),
        )
        for row in rows
    )
    return MemberPage(listings, total, page, pages)
