"""Reading sources at once, each in a worker process, and what the gather sees of it."""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from datetime import datetime

import pytest

from newsletter.errors import SourceError
from newsletter.sources.contract import SourceResult
from newsletter.sources.reading import SourceReader, can_read_in_parallel

parallel = pytest.mark.skipif(
    not can_read_in_parallel(), reason="sources are read one by one where there is no fork"
)


@dataclass(frozen=True)
class WhoReads:
    """A source that says which process read it, or fails as a real one would."""

    label: str
    fails: bool = False
    dies: bool = False

    def collect(self, since: datetime | None = None) -> SourceResult:
        if self.dies:
            os._exit(3)
        if self.fails:
            raise SourceError(f'feed "{self.label}": answered 404 Not Found', "check the url")
        return SourceResult(self.label, (), (f"read by {os.getpid()}", str(since)))


def read(*sources: WhoReads, since: datetime | None = None) -> list[SourceResult]:
    with SourceReader(sources, since) as reader:
        return list(reader.results())


@parallel
def test_several_sources_are_read_by_other_processes_and_come_back_in_order() -> None:
    since = datetime(2026, 11, 1)
    results = read(WhoReads("a"), WhoReads("b"), WhoReads("c"), since=since)
    assert [result.label for result in results] == ["a", "b", "c"]
    readers = {result.warnings[0] for result in results}
    assert f"read by {os.getpid()}" not in readers
    assert {result.warnings[1] for result in results} == {str(since)}
    assert multiprocessing.active_children() == []


def test_one_source_is_read_right_here() -> None:
    (result,) = read(WhoReads("a"))
    assert result.warnings[0] == f"read by {os.getpid()}"


@parallel
def test_a_source_that_fails_fails_the_gather_here_with_its_own_message() -> None:
    with pytest.raises(SourceError) as caught:
        read(WhoReads("a"), WhoReads("kaputt", fails=True), WhoReads("c"))
    assert str(caught.value) == 'feed "kaputt": answered 404 Not Found; check the url'
    assert multiprocessing.active_children() == []


@parallel
def test_a_worker_that_dies_is_one_clear_error_not_a_hang() -> None:
    with pytest.raises(SourceError) as caught:
        read(WhoReads("a"), WhoReads("weg", dies=True))
    assert str(caught.value).startswith(
        'reading the source "weg" stopped unexpectedly (exit code 3); run gather again'
    )
    assert multiprocessing.active_children() == []
