"""Reading all sources at once: each in a process of its own, where the system can fork.

Parsing a big feed is pure Python (feedparser), so threads would only take turns on one
core; processes use every core and overlap the waits for slow servers as well. A forked
worker shares everything the parent has loaded and starts in milliseconds. Without fork
(Windows; macOS, whose system libraries do not survive it) a worker would start Python and
import everything again, which costs more than it saves on the small feeds of an office,
so there the sources are read one after the other.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from collections.abc import Iterator, Sequence
from datetime import datetime
from multiprocessing.pool import AsyncResult, Pool
from types import TracebackType

from newsletter.sources.contract import Source, SourceResult

# Sources are a handful; beyond this many they wait for a free worker.
MAX_WORKERS = 8


def can_read_in_parallel() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"


def _ignore_interrupt() -> None:
    # Ctrl-C reaches the whole process group; the parent alone answers it and ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class SourceReader:
    """Starts reading every source on entry; ``results()`` gives them in the sources' order.

    Enter it before any thread is started (a progress bar's, for one): a fork copies only
    the thread that calls it. Leaving it ends workers still running, so an error in one
    source or Ctrl-C does not leave the others fetching in the background.
    """

    def __init__(self, sources: Sequence[Source], since: datetime | None) -> None:
        self.sources = tuple(sources)
        self.since = since
        self._pool: Pool | None = None
        self._jobs: list[AsyncResult[SourceResult]] = []

    def __enter__(self) -> SourceReader:
        if len(self.sources) > 1 and can_read_in_parallel():
            workers = min(len(self.sources), MAX_WORKERS)
            context = multiprocessing.get_context("fork")
            self._pool = context.Pool(workers, initializer=_ignore_interrupt)
            self._jobs = [
                self._pool.apply_async(source.collect, (self.since,)) for source in self.sources
            ]
        return self

    def results(self) -> Iterator[tuple[Source, SourceResult]]:
        """Each source with what it gave; a source's error is raised here, in this process."""
        if self._pool is None:
            for source in self.sources:
                yield source, source.collect(self.since)
            return
        for source, job in zip(self.sources, self._jobs, strict=True):
            yield source, job.get()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            # terminate, not close: after an error nobody waits for the other sources.
            self._pool.terminate()
            self._pool.join()
