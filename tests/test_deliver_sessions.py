"""The relay's session limits: a new connection after messages_per_connection, after a
"421 too many messages" and after a hang-up between messages, none of them a failure;
the rate windows held across all connections."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

import pytest

from newsletter.deliver.sender import Result, send_run
from newsletter.errors import DeliveryError
from newsletter.settings import RateWindow
from tests.deliver_support import (
    FakeClock,
    RecordingLog,
    ScriptedSink,
    outgoing,
    smtp_settings,
)

ADDRESSES = [f"mitglied{n:02d}@example.org" for n in range(1, 21)]


class CappedSink(ScriptedSink):
    """A relay that takes ``cap`` messages a session, then answers MAIL with ``answer``
    and hangs up (or only hangs up, when ``answer`` is None)."""

    def __init__(self, cap: int, answer: str | None, **options: Any) -> None:
        super().__init__(**options)
        self.cap, self.answer = cap, answer
        self.per_session: Counter[tuple[str, int]] = Counter()
        self.refused = 0

    def __enter__(self) -> CappedSink:
        self.start()
        return self

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.per_session[session.peer] >= self.cap:
            self.refused += 1
            if self.answer is not None:
                await server.push(self.answer)
            server.transport.close()
            return "421 never heard"
        self.per_session[session.peer] += 1
        return await super().handle_MAIL(server, session, envelope, address, options)


def _each_once(sink: ScriptedSink) -> None:
    assert Counter(r for m in sink.received for r in m.recipients) == Counter(ADDRESSES)


def test_a_new_connection_after_messages_per_connection() -> None:
    log = RecordingLog()
    with CappedSink(cap=1000, answer=None) as sink:
        settings = dataclasses.replace(
            smtp_settings(sink.port, concurrency=1), messages_per_connection=6
        )
        summary = send_run(settings, None, outgoing(ADDRESSES), log, clock=FakeClock())
    _each_once(sink)
    assert summary.accepted == 20 and summary.failures == ()
    # 6 + 6 + 6 + 2 messages: four sessions, none longer than the setting.
    assert sorted(sink.per_session.values()) == [2, 6, 6, 6]


@pytest.mark.parametrize(
    "answer", ["421 4.7.0 Too many messages in this session", None], ids=["421", "hang-up"]
)
def test_the_relays_session_cap_mid_run_is_a_reconnect_not_a_failure(answer: str | None) -> None:
    log = RecordingLog()
    clock = FakeClock()
    with CappedSink(cap=4, answer=answer) as sink:
        summary = send_run(
            smtp_settings(sink.port, concurrency=2), None, outgoing(ADDRESSES), log, clock=clock
        )
    _each_once(sink)
    assert summary.accepted == 20 and summary.failures == () and summary.uncertain == ()
    assert sink.refused >= 3
    assert max(sink.per_session.values()) == 4
    assert {o.result for o in log.final().values()} == {Result.ACCEPTED}
    # Neither a pause of the run nor a retry's backoff: the cap is no trouble.
    assert clock.waits == [] or max(clock.waits) < 1


def test_a_relay_that_refuses_every_session_at_once_is_still_trouble() -> None:
    """Only a session that carried messages ends without cost: a 421 to a fresh one is
    the relay refusing us, and the run backs off as before."""
    log = RecordingLog()
    clock = FakeClock()
    with (
        CappedSink(cap=0, answer="421 4.7.0 Too many messages in this session") as sink,
        pytest.raises(DeliveryError, match="keeps refusing to take more messages"),
    ):
        send_run(
            smtp_settings(sink.port, concurrency=1), None, outgoing(ADDRESSES[:2]), log,
            clock=clock,
        )  # fmt: skip
    assert sink.received == []
    # The run paused (and gave up), and nobody is marked failed: both stay pending.
    assert clock.waits and max(clock.waits) >= 60
    assert {o.result for o in log.final().values()} == {Result.DEFERRED}


def test_the_rate_windows_hold_across_four_connections() -> None:
    clock = FakeClock()
    sent_at: list[float] = []

    def mail(call: Any) -> None:
        sent_at.append(clock.now())
        return

    log = RecordingLog()
    with ScriptedSink(mail=mail) as sink:
        settings = smtp_settings(sink.port, concurrency=4, rate=(RateWindow(5, 1.0),))
        summary = send_run(settings, None, outgoing(ADDRESSES), log, clock=clock)
    _each_once(sink)
    assert summary.accepted == 20
    assert len(sink.connections) == 4
    # Any one second holds at most five of the twenty, whichever connection sent them.
    for start in sent_at:
        assert sum(start <= t < start + 1.0 for t in sent_at) <= 5
    assert max(sent_at) - min(sent_at) >= 3.0
