"""Reading all sources at once: each in a process of its own, where the system can fork.

Parsing a big feed is pure Python (feedparser), so threads would only take turns on one
core; processes use every core and overlap the waits for slow servers as well. Without
fork (see forking.py) the sources are read one after the other.

A worker is also a limit on work: a source still being read after ``TIME_BUDGET`` seconds
(an input no structural limit foresaw) is ended, and gather says which one. So even a
single source is read in a worker where the system can fork.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType

from newsletter.errors import SourceError
from newsletter.forking import become_worker, can_fork
from newsletter.sources.contract import Source, SourceResult


def can_read_in_parallel() -> bool:
    return can_fork()


# Per source, from the start of the gather: past the 60 s download deadline (fetch.py)
# and the few seconds a 20 MB feed or a folder of thousands of posts takes to read.
TIME_BUDGET = 120.0


def _read(source: Source, since: datetime | None, answer: Connection, parent: int) -> None:
    """In the worker: the source's result or its exception, whichever it comes to."""
    become_worker(parent)
    outcome: SourceResult | BaseException
    try:
        outcome = source.collect(since)
    except BaseException as error:  # every failure is the parent's to raise
        outcome = error
    # One that cannot be pickled does not arrive: the parent reports the worker's end.
    with suppress(Exception):
        answer.send(outcome)
    answer.close()


class SourceReader:
    """Starts reading every source on entry; ``results()`` gives them in the sources' order.

    Enter it before any thread is started (a progress bar's, for one): a fork copies only
    the thread that calls it; and in the thread that stays until the results are read: on
    Linux, workers end with the thread that forked them. Leaving it ends workers still
    running, so an error in one source or Ctrl-C does not leave the others fetching in the
    background.
    """

    def __init__(
        self, sources: Sequence[Source], since: datetime | None, budget: float = TIME_BUDGET
    ) -> None:
        self.sources = tuple(sources)
        self.since = since
        self.budget = budget
        self._deadline = 0.0
        self._workers: list[tuple[BaseProcess, Connection]] = []

    def __enter__(self) -> SourceReader:
        if can_read_in_parallel():
            self._deadline = time.monotonic() + self.budget
            context = multiprocessing.get_context("fork")
            for source in self.sources:
                receive, send = context.Pipe(duplex=False)
                worker = context.Process(target=_read, args=(source, self.since, send, os.getpid()))
                worker.start()
                send.close()  # the worker's end: EOF here once the worker is gone
                self._workers.append((worker, receive))
        return self

    def results(self) -> Iterator[SourceResult]:
        """Each source's result; a source's error is raised here, in this process."""
        if not self._workers:
            for source in self.sources:
                yield source.collect(self.since)
            return
        for source, (worker, receive) in zip(self.sources, self._workers, strict=True):
            if not receive.poll(max(0.0, self._deadline - time.monotonic())):
                worker.kill()
                raise SourceError(
                    f'reading the source "{source.label}" took longer than {self.budget:g} '
                    "seconds, so it was stopped",
                    "it is far too big or broken: check it, or leave it out of newsletter.toml "
                    "for now",
                    key="source_too_slow",
                    params={"label": source.label, "seconds": f"{self.budget:g}"},
                )
            try:
                value = receive.recv()
            except EOFError:
                worker.join()
                raise SourceError(
                    f'reading the source "{source.label}" stopped unexpectedly '
                    f"(exit code {worker.exitcode})",
                    "run gather again; if it happens again, report it with --verbose",
                    key="source_stopped",
                    params={"label": source.label, "code": worker.exitcode},
                ) from None
            if isinstance(value, BaseException):
                raise value
            yield value

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for worker, receive in self._workers:
            # After an error nobody waits for the other sources.
            if worker.is_alive():
                worker.kill()
            worker.join()
            receive.close()
