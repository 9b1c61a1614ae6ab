"""The one-loop engine against a scripted aiosmtpd that offers PIPELINING (RFC 2920)
or not: MAIL, RCPT and DATA in one write, a 421 after N messages mid-batch, a server
that hangs up between a pipelined write and its replies."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from newsletter.deliver.sender import Result, send_run
from tests.deliver_support import (
    ACCEPT_THEN_DROP,
    DROP,
    Call,
    FakeClock,
    RecordingLog,
    ScriptedSink,
    outgoing,
    smtp_settings,
)

ADDRESSES = [f"mitglied{n:02d}@example.org" for n in range(1, 41)]


class PipeliningSink(ScriptedSink):
    """A ScriptedSink that offers PIPELINING (aiosmtpd does not by itself) and notes,
    at each MAIL, whether RCPT and DATA had arrived with it in one go."""

    def __init__(self, *, pipelining: bool = True, cap: int | None = None, **hooks: Any) -> None:
        super().__init__(**hooks)
        self.pipelining = pipelining
        self.cap = cap  # messages a session, then "421 too many messages" to MAIL
        self.together: list[bool] = []
        self.per_session: Counter[tuple[str, int]] = Counter()
        self.capped = 0

    def __enter__(self) -> PipeliningSink:
        self.start()
        return self

    async def handle_EHLO(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        waiting = bytes(server._reader._buffer)  # what the client sent after this MAIL
        self.together.append(b"RCPT TO:" in waiting and b"DATA\r\n" in waiting)
        if self.cap is not None and self.per_session[session.peer] >= self.cap:
            self.capped += 1
            await server.push("421 4.7.0 Too many messages in this session, closing")
            server.transport.close()
            return "421 never heard"
        self.per_session[session.peer] += 1
        return await super().handle_MAIL(server, session, envelope, address, options)


def _received(sink: ScriptedSink) -> Counter[str]:
    return Counter(r for message in sink.received for r in message.recipients)


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelining", "one-by-one"])
def test_each_message_arrives_once_with_and_without_pipelining(pipelining: bool) -> None:
    log = RecordingLog()
    with PipeliningSink(pipelining=pipelining) as sink:
        summary = send_run(
            smtp_settings(sink.port, concurrency=4), None, outgoing(ADDRESSES), log,
            clock=FakeClock(),
        )  # fmt: skip
    assert summary.accepted == len(ADDRESSES) and summary.failures == ()
    assert _received(sink) == Counter(ADDRESSES)
    # Pipelined: MAIL, RCPT and DATA came in one write, every time; else never.
    assert set(sink.together) == {pipelining}
    assert len(sink.connections) == 4


def test_a_refused_recipient_in_a_pipelined_batch_fails_alone() -> None:
    ghost = ADDRESSES[5]

    def rcpt(call: Call) -> str | None:
        return "550 5.1.1 User unknown" if call.address == ghost else None

    log = RecordingLog()
    with PipeliningSink(rcpt=rcpt) as sink:
        summary = send_run(
            smtp_settings(sink.port, concurrency=4), None, outgoing(ADDRESSES), log,
            clock=FakeClock(),
        )  # fmt: skip
    assert _received(sink) == Counter(a for a in ADDRESSES if a != ghost)
    [failure] = summary.failures
    assert (failure.recipient, failure.result) == (ghost, Result.BOUNCED)
    assert summary.accepted == len(ADDRESSES) - 1


def test_a_421_after_n_messages_mid_batch_reconnects_and_skips_nobody() -> None:
    log = RecordingLog()
    clock = FakeClock()
    with PipeliningSink(cap=3) as sink:
        summary = send_run(
            smtp_settings(sink.port, concurrency=4), None, outgoing(ADDRESSES), log, clock=clock
        )
    assert _received(sink) == Counter(ADDRESSES)
    assert summary.accepted == len(ADDRESSES)
    assert summary.failures == () and summary.uncertain == ()
    assert sink.capped >= 4 and max(sink.per_session.values()) == 3
    assert clock.waits == [] or max(clock.waits) < 1


def test_a_hang_up_between_the_written_messages_and_their_replies() -> None:
    """The server takes some messages and hangs up before its 250 (ACCEPT_THEN_DROP), or
    reads them and hangs up (DROP): those in flight are sent again and listed uncertain,
    nobody is skipped."""
    kept, lost = set(ADDRESSES[7:9]), set(ADDRESSES[20:22])

    def data(call: Call) -> str | None:
        if call.tries == 1 and call.address in kept:
            return ACCEPT_THEN_DROP
        if call.tries == 1 and call.address in lost:
            return DROP
        return None

    log = RecordingLog()
    with PipeliningSink(data=data) as sink:
        summary = send_run(
            smtp_settings(sink.port, concurrency=4), None, outgoing(ADDRESSES), log,
            clock=FakeClock(),
        )  # fmt: skip
    received = _received(sink)
    assert set(received) == set(ADDRESSES)
    assert {a for a, n in received.items() if n == 2} == kept
    assert set(summary.uncertain) == kept | lost
    assert summary.accepted == len(ADDRESSES) and summary.failures == ()
    uncertain = [o for _, o in log.outcomes if o.uncertain]
    assert len(uncertain) == 4 and {o.result for o in uncertain} == {Result.DEFERRED}


def test_a_server_that_stops_answering_ends_the_transaction_after_the_timeout() -> None:
    import threading

    silent = threading.Event()

    def rcpt(call: Call) -> str | None:
        if call.address == ADDRESSES[2] and call.tries == 1:
            silent.wait(3)  # longer than the timeout: the client gives up first
        return None

    log = RecordingLog()
    with PipeliningSink(rcpt=rcpt) as sink:
        settings = smtp_settings(sink.port, concurrency=1, timeout=1.0)
        summary = send_run(settings, None, outgoing(ADDRESSES[:5]), log, clock=FakeClock())
        silent.set()
    assert summary.accepted == 5
    assert _received(sink) == Counter(ADDRESSES[:5])
    assert any("no answer for 1 s" in o.reason for _, o in log.outcomes)
