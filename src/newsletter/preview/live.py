"""Keeping the preview current: rebuild whenever a watched file has changed.

The check runs when the page asks (it polls twice a second), so there is no watcher
thread to start and stop; looking at the times of a dozen files costs well under a
millisecond. A failed build keeps the last good email and says what went wrong.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from newsletter import clock
from newsletter.errors import NewsletterError
from newsletter.preview.content import PreviewContent

log = logging.getLogger(__name__)

Stamp = tuple[tuple[str, int, int], ...]


def stamp(paths: Iterable[Path]) -> Stamp:
    """What changes when any of ``paths`` is edited, created or deleted."""
    marks = []
    for path in paths:
        try:
            status = path.stat()
        except FileNotFoundError:
            marks.append((str(path), -1, -1))
        else:
            marks.append((str(path), status.st_mtime_ns, status.st_size))
    return tuple(marks)


@dataclass(frozen=True)
class Snapshot:
    version: int
    built_at: datetime
    content: PreviewContent | None  # the last good build; None until one has worked
    error: str | None  # why the latest build failed; None when it worked
    problem: NewsletterError | None = None  # that failure, for a front end's own wording


class LiveBuild:
    """The current build of one issue; ``current()`` rebuilds when a watched file changed."""

    def __init__(
        self,
        build: Callable[[], PreviewContent],
        watched: Callable[[], Iterable[Path]],
        on_build: Callable[[Snapshot], None] = lambda snapshot: None,
    ) -> None:
        self._build, self._watched, self._on_build = build, watched, on_build
        self._lock = threading.Lock()
        self._stamp: Stamp | None = None
        self._snapshot = Snapshot(0, clock.now(), None, None)

    def current(self) -> Snapshot:
        # The lock keeps two polling tabs from building the same change twice.
        with self._lock:
            # Taken before building: an edit saved during the build triggers the next one.
            now = stamp(self._watched())
            if now != self._stamp:
                self._stamp = now
                self._snapshot = self._rebuild(self._snapshot)
                self._on_build(self._snapshot)
            return self._snapshot

    def _rebuild(self, last: Snapshot) -> Snapshot:
        content, error, failure = last.content, None, None
        try:
            content = self._build()
        except NewsletterError as problem:
            error, failure = str(problem), problem
        # The server must outlive a bug in a build, so that the next save can recover.
        except Exception as bug:
            log.exception("building the preview failed")
            error = (
                f"unexpected {type(bug).__name__}: {bug}. This is a bug in newsletter; "
                "please report it with what the terminal shows"
            )
        return Snapshot(last.version + 1, clock.now(), content, error, failure)
