"""Kill -9 the one-loop engine inside a pipelined batch: after the batch is committed and
before anything is written, and after a message's content is written and before its
reply is read. Resume; count what every member got (see test_deliver_crash.py)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_deliver_crash import (
    CONCURRENCY,
    MEMBERS,
    _assert_exactly_once_except_uncertain,
    _child,
    _finish,
    _kill_after,
    _status,
    database,
    pytestmark,
)
from tests.test_deliver_pipeline import PipeliningSink

__all__ = ["database", "pytestmark"]


@pytest.fixture
def sink() -> Iterator[PipeliningSink]:
    with PipeliningSink() as server:
        yield server


@pytest.mark.parametrize("fault", ["after-data:9", "before-data:6"])
def test_killed_inside_a_pipelined_batch_only_the_in_flight_are_uncertain(
    database: Path, sink: PipeliningSink, fault: str
) -> None:
    process = _child(database, sink, fault=fault)
    process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert set(sink.together) == {True}  # the batches were pipelined
    crashed = _status(database)
    assert 1 <= crashed.sending <= CONCURRENCY
    arrived = {message.recipients[0] for message in sink.received}
    final = _finish(database, sink)
    assert set(final.uncertain) == set(crashed.uncertain)
    _assert_exactly_once_except_uncertain(sink, set(final.uncertain))
    # Nobody skipped, nobody but the in-flight ones twice.
    assert {m.recipients[0] for m in sink.received} == set(MEMBERS)
    assert all(sink.count(a) == 1 for a in arrived - set(crashed.uncertain))


def test_killed_repeatedly_mid_run_then_resumed_everyone_gets_it_once(
    database: Path, sink: PipeliningSink
) -> None:
    left_sending = []
    for received in (3, 21, 44):
        _kill_after(_child(database, sink), sink, received)
        state = _status(database)
        assert state.sending <= CONCURRENCY
        left_sending.append(state.sending)
    final = _finish(database, sink)
    assert len(set(final.uncertain)) == sum(left_sending)
    _assert_exactly_once_except_uncertain(sink, set(final.uncertain))
