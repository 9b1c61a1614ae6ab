"""The one clock: every "now" the program reads comes from ``now()``.

Tests fix the time in one place, ``monkeypatch.setattr("newsletter.clock.now", ...)``,
so callers read it as ``clock.now()`` (an attribute looked up at each call), never as a
name imported on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from functools import cache

Clock = Callable[[], datetime]


@cache
def _local_zone() -> tzinfo | None:
    return datetime.now().astimezone().tzinfo


def now() -> datetime:
    """Now, aware, in the local zone.

    Asked once per message while sending: ``astimezone()`` would look the zone up each
    time (16 µs). The offset of the first call stays for the process, which keeps every
    instant right.
    """
    return datetime.now(_local_zone())


def utc_now() -> datetime:
    """Now in UTC, for what the database and the web side keep."""
    return now().astimezone(UTC)
