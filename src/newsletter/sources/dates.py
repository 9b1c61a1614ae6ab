"""Dates as sources give them, made timezone-aware.

A date without an offset (front matter, page exports, sloppy feeds) is local time of
the office: Europe/Berlin. On Windows zoneinfo needs the ``tzdata`` package for that.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

# 30.06.23, 30.06.2023, 30.6.2023 14:05
_GERMAN = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?:\s*Uhr)?)?$")


def aware(value: datetime | date) -> datetime:
    """A datetime with an offset; a plain date is the start of that day in Berlin."""
    if not isinstance(value, datetime):
        return start_of_day(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=BERLIN)


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=BERLIN)


def days_before(now: datetime, days: int) -> datetime:
    """The start of the day ``days`` days before ``now``, in Berlin."""
    return start_of_day(now.astimezone(BERLIN).date() - timedelta(days=days))


def german_date(text: str) -> datetime | None:
    """``30.06.23`` or ``30.06.2023`` (optionally ``14:05``), as page exports write them."""
    match = _GERMAN.match(text.strip())
    if not match:
        return None
    day, month, year, hour, minute = match.groups()
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    try:
        return datetime(
            full_year, int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=BERLIN
        )
    except ValueError:
        return None


def in_range(value: datetime) -> datetime | None:
    """``value``, when it can be compared and converted: 9999-12-31 at -23:59 is not."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        return None
    return value


def parse_date(text: str) -> datetime | None:
    """ISO 8601, RFC 822 (RSS) or German day.month.year; None when it is none of them."""
    text = text.strip()
    if not text:
        return None
    try:
        return in_range(aware(datetime.fromisoformat(text.replace("Z", "+00:00"))))
    except ValueError:
        pass
    try:
        return in_range(aware(parsedate_to_datetime(text)))
    # OverflowError: an offset of "+999999999999999999" hours.
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    return german_date(text)


def from_utc_tuple(parts: tuple[int, ...]) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC struct_time), when it could not keep the offset."""
    if len(parts) < 6:
        return None
    year, month, day, hour, minute, second = parts[:6]
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC).astimezone(BERLIN)
    except (ValueError, OverflowError):
        return None
