"""Reading sources at once, each in a worker process, and what the gather sees of it."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from newsletter.errors import SourceError
from newsletter.sources.contract import SourceResult
from newsletter.sources.reading import SourceReader, can_read_in_parallel

from .test_gather_support import FeedServer, feed_source, make_workspace

parallel = pytest.mark.skipif(
    not can_read_in_parallel(), reason="sources are read one by one where there is no fork"
)


@dataclass(frozen=True)
class WhoReads:
    """A source that says which process read it, or fails as a real one would."""

    label: str
    fails: bool = False
    dies: bool = False
    sleeps: float = 0.0

    def collect(self, since: datetime | None = None) -> SourceResult:
        time.sleep(self.sleeps)
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


@parallel
def test_one_source_is_read_by_a_worker_too() -> None:
    (result,) = read(WhoReads("a"))
    assert result.warnings[0] != f"read by {os.getpid()}"


def test_without_fork_sources_are_read_right_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("newsletter.sources.reading.can_read_in_parallel", lambda: False)
    results = read(WhoReads("a"), WhoReads("b"))
    assert [result.warnings[0] for result in results] == [f"read by {os.getpid()}"] * 2


@parallel
def test_a_source_over_its_time_budget_is_stopped_and_named() -> None:
    started = time.monotonic()
    sources = [WhoReads("a"), WhoReads("zäh", sleeps=30)]
    with pytest.raises(SourceError) as caught, SourceReader(sources, None, budget=1.0) as reader:
        list(reader.results())
    assert time.monotonic() - started < 5
    assert str(caught.value) == (
        'reading the source "zäh" took longer than 1 seconds, so it was stopped; it is far '
        "too big or broken: check it, or leave it out of newsletter.toml for now"
    )
    assert multiprocessing.active_children() == []


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


def _children(pid: int) -> set[int]:
    """Live processes whose parent is ``pid`` (Linux: from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            # "pid (name) state ppid ...": the name may hold spaces, so split after ")".
            state, ppid = stat.read_text().rpartition(")")[2].split()[:2]
            if int(ppid) == pid and state != "Z":
                found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits for a parent


@parallel
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_end_with_a_gather_killed_by_kill_9(tmp_path: Path) -> None:
    with FeedServer(delay=30.0) as slow:
        ws = make_workspace(
            tmp_path / "ws",
            feed_source(slow.url("slow/rss20.xml")),
            feed_source(slow.url("slow/atom.xml")),
        )
        gather = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "--workspace", str(ws.root), "gather"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while len(workers := _children(gather.pid)) < 2 or len(slow.requests) < 2:
                assert time.monotonic() < deadline, "gather did not start its workers"
                assert gather.poll() is None, "gather ended before it was killed"
                time.sleep(0.05)
            os.kill(gather.pid, signal.SIGKILL)
            gather.wait()
            deadline = time.monotonic() + 5
            while alive := {pid for pid in workers if _alive(pid)}:
                assert time.monotonic() < deadline, f"workers {alive} outlived their gather"
                time.sleep(0.05)
        finally:
            if gather.poll() is None:
                gather.kill()
                gather.wait()
