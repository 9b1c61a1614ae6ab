"""The sender against a real aiosmtpd on 127.0.0.1 that misbehaves on cue.

The clock is the only thing replaced: retries, pauses and the rate limit wait in
test time, so a run that would take an hour in real life takes a moment here.
"""

from __future__ import annotations

import queue
import socket
import threading
from typing import TypeVar

import pytest

from newsletter.deliver.policy import Policy
from newsletter.deliver.sender import Outcome, Progress, Result, send_run
from newsletter.errors import DeliveryError
from newsletter.settings import RateWindow, parse_rate
from newsletter.wire import data_block
from tests.deliver_support import (
    ACCEPT_THEN_DROP,
    DROP,
    SENDER,
    Call,
    FakeClock,
    RecordingLog,
    ScriptedSink,
    outgoing,
    smtp_settings,
)

T = TypeVar("T")

ADDRESSES = [f"mitglied{n:02d}@example.org" for n in range(1, 21)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _received_once(sink: ScriptedSink, addresses: list[str]) -> None:
    counts = {address: sink.count(address) for address in addresses}
    assert counts == dict.fromkeys(addresses, 1)


def test_every_message_arrives_once_byte_for_byte_over_reused_connections(
    clock: FakeClock,
) -> None:
    body = "Hallo,\n\n.Punkt am Zeilenanfang\n..und zwei\n" + "Grüße aus Musterstadt. " * 400
    messages = outgoing(ADDRESSES, body)
    log = RecordingLog()
    seen: list[Progress] = []
    with ScriptedSink() as sink:
        summary = send_run(
            smtp_settings(sink.port, concurrency=3), None, messages, log,
            progress=seen.append, clock=clock,
        )  # fmt: skip
    assert summary.accepted == 20
    assert summary.failures == ()
    by_recipient = {m.recipients: m for m in sink.received}
    for message in messages:
        got = by_recipient[(message.envelope.recipient,)]
        assert got.mail_from == SENDER
        assert data_block(got.data) == message.envelope.data
    # One connection per worker, each reused for many messages.
    assert len(sink.connections) == 3
    assert sorted(log.started) == list(range(1, 21))
    assert {o.result for o in log.final().values()} == {Result.ACCEPTED}
    assert log.closed
    # Reports are throttled (this clock stands still), and the last one is exact.
    assert len(seen) <= 2
    assert seen[-1].accepted == 20


def test_451_is_retried_with_backoff_and_550_511_fails_only_that_recipient(
    clock: FakeClock,
) -> None:
    greylisted = set(ADDRESSES[3:6])
    ghost = "ghost@example.org"

    def rcpt(call: Call) -> str | None:
        if call.address == ghost:
            return "550 5.1.1 <ghost@example.org>: Recipient address rejected: User unknown"
        if call.address in greylisted and call.tries == 1:
            return "451 4.7.1 Greylisted, please try again later"
        return None

    log = RecordingLog()
    with ScriptedSink(rcpt=rcpt) as sink:
        summary = send_run(
            smtp_settings(sink.port), None, outgoing([*ADDRESSES, ghost]), log, clock=clock
        )
    _received_once(sink, ADDRESSES)
    assert all(sink.rcpt_tries[address] == 2 for address in greylisted)
    assert sink.count(ghost) == 0
    assert summary.accepted == 20
    [failure] = summary.failures
    assert (failure.recipient, failure.result) == (ghost, Result.BOUNCED)
    assert failure.reason.startswith("550 5.1.1")
    # The first retry came within 30 s; each refused transaction was reset.
    assert 0 < min(clock.waits) <= 30
    assert sink.resets >= len(greylisted) + 1
    deferred = [o for _, o in log.outcomes if o.result is Result.DEFERRED]
    assert len(deferred) == 3
    assert all("451 4.7.1 Greylisted" in o.reason for o in deferred)


def test_a_temporary_failure_that_never_ends_gives_up_after_the_cap(clock: FakeClock) -> None:
    stubborn = ADDRESSES[0]

    def rcpt(call: Call) -> str | None:
        return "452 4.2.2 Mailbox temporarily over quota" if call.address == stubborn else None

    policy = Policy(attempts=4)
    with ScriptedSink(rcpt=rcpt) as sink:
        summary = send_run(
            smtp_settings(sink.port), None, outgoing(ADDRESSES), RecordingLog(),
            policy=policy, clock=clock,
        )  # fmt: skip
    assert sink.rcpt_tries[stubborn] == 4
    [failure] = summary.failures
    assert (failure.recipient, failure.result) == (stubborn, Result.GAVE_UP)
    # The waits between tries grow: 15, 30, 60 s.
    assert [w for w in clock.waits if w >= 15] == [15.0, 30.0, 60.0]
    _received_once(sink, ADDRESSES[1:])


def test_a_connection_dropped_before_the_message_is_retried_on_a_new_connection(
    clock: FakeClock,
) -> None:
    victim = ADDRESSES[7]

    def rcpt(call: Call) -> str | None:
        return DROP if call.address == victim and call.tries == 1 else None

    with ScriptedSink(rcpt=rcpt) as sink:
        summary = send_run(
            smtp_settings(sink.port), None, outgoing(ADDRESSES), RecordingLog(), clock=clock
        )
    _received_once(sink, ADDRESSES)
    assert summary.uncertain == ()
    assert len(sink.connections) == 3  # two workers, one of them connected again


def test_a_connection_dropped_after_the_message_went_out_makes_it_uncertain(
    clock: FakeClock,
) -> None:
    victim = ADDRESSES[4]

    def data(call: Call) -> str | None:
        return ACCEPT_THEN_DROP if call.address == victim and call.tries == 1 else None

    log = RecordingLog()
    with ScriptedSink(data=data) as sink:
        summary = send_run(smtp_settings(sink.port), None, outgoing(ADDRESSES), log, clock=clock)
    # Sent again so nobody is skipped; listed because it may now be there twice.
    assert sink.count(victim) == 2
    _received_once(sink, [a for a in ADDRESSES if a != victim])
    assert summary.uncertain == (victim,)
    assert log.final()[5] == Outcome(Result.ACCEPTED, "250 2.0.0 Message accepted", False)
    assert any(key == 5 and o.uncertain for key, o in log.outcomes)


def test_limit_exceeded_pauses_the_whole_run_with_growing_waits_and_nobody_fails(
    clock: FakeClock,
) -> None:
    refusals = {"left": 5}

    def rcpt(call: Call) -> str | None:
        if call.accepted >= 6 and refusals["left"] > 0:
            refusals["left"] -= 1
            return "451 4.7.1 limit exceeded, try again later"
        return None

    seen: list[Progress] = []
    with ScriptedSink(rcpt=rcpt) as sink:
        summary = send_run(
            smtp_settings(sink.port), None, outgoing(ADDRESSES), RecordingLog(),
            progress=seen.append, clock=clock,
        )  # fmt: skip
    _received_once(sink, ADDRESSES)
    assert summary.failures == ()
    pauses = [p.pause for p in seen if p.pause is not None]
    assert pauses and all("451 4.7.1 limit exceeded" in p.reason for p in pauses)
    lengths = sorted({p.seconds for p in pauses})
    assert lengths[0] == 60.0 and len(lengths) >= 2  # it paused again, for longer
    assert seen[-1].pause is None  # and went on when the relay accepted again


def test_pausing_past_the_budget_stops_the_run_leaving_the_rest_pending(clock: FakeClock) -> None:
    def rcpt(call: Call) -> str | None:
        return "421 4.7.0 sending rate limit exceeded" if call.accepted >= 3 else None

    log = RecordingLog()
    with ScriptedSink(rcpt=rcpt) as sink, pytest.raises(DeliveryError) as caught:
        send_run(
            smtp_settings(sink.port, concurrency=1), None, outgoing(ADDRESSES), log,
            policy=Policy(pause_budget=600.0), clock=clock,
        )  # fmt: skip
    assert "keeps refusing" in str(caught.value)
    assert len(sink.received) == 3
    results = {o.result for o in log.final().values()}
    assert results == {Result.ACCEPTED, Result.DEFERRED}  # nobody failed
    assert len(log.started) < 20  # the rest was never tried


def test_the_same_4xx_for_ten_recipients_in_a_row_pauses_the_run(clock: FakeClock) -> None:
    def rcpt(call: Call) -> str | None:
        # The relay's spool is full for a while: every recipient gets the same answer.
        return "452 4.3.1 Insufficient system storage" if call.accepted == 2 and not done else None

    done = False
    seen: list[Progress] = []

    def watch(progress: Progress) -> None:
        nonlocal done
        seen.append(progress)
        done = done or progress.pause is not None

    with ScriptedSink(rcpt=rcpt) as sink:
        summary = send_run(
            smtp_settings(sink.port, concurrency=1), None, outgoing(ADDRESSES), RecordingLog(),
            progress=watch, clock=clock,
        )  # fmt: skip
    pause = next(p.pause for p in seen if p.pause is not None)
    assert pause.reason == "452 4.3.1 Insufficient system storage"
    assert sum(sink.rcpt_tries.values()) == 20 + 10  # paused at the tenth in a row
    _received_once(sink, ADDRESSES)
    assert summary.failures == ()


def test_smtputf8_is_used_for_a_non_ascii_local_part_when_offered(clock: FakeClock) -> None:
    umlaut = "jürgen@example.org"
    with ScriptedSink(smtputf8=True) as sink:
        summary = send_run(
            smtp_settings(sink.port), None, outgoing([umlaut, "anna@bücher.de"]), RecordingLog(),
            clock=clock,
        )  # fmt: skip
    assert summary.accepted == 2
    assert sink.count(umlaut) == 1
    assert sink.count("anna@xn--bcher-kva.de") == 1  # the domain as punycode
    assert ["SMTPUTF8", "BODY=8BITMIME"] in sink.mail_options
    assert ["BODY=8BITMIME"] in sink.mail_options  # the ASCII address went without


def test_without_smtputf8_that_recipient_fails_with_a_reason_and_the_run_goes_on(
    clock: FakeClock,
) -> None:
    umlaut = "jürgen@example.org"
    with ScriptedSink(smtputf8=False) as sink:
        summary = send_run(
            smtp_settings(sink.port), None, outgoing([umlaut, *ADDRESSES]), RecordingLog(),
            clock=clock,
        )  # fmt: skip
    _received_once(sink, ADDRESSES)
    [failure] = summary.failures
    assert failure.recipient == umlaut
    assert failure.result is Result.FAILED
    assert "SMTPUTF8" in failure.reason and "non-ASCII" in failure.reason


def test_a_5xx_to_mail_from_stops_the_run_with_one_clear_error(clock: FakeClock) -> None:
    log = RecordingLog()
    with (
        ScriptedSink(
            mail=lambda call: "553 5.7.1 Sender address rejected: not owned by user"
        ) as sink,
        pytest.raises(DeliveryError) as caught,
    ):
        send_run(smtp_settings(sink.port), None, outgoing(ADDRESSES), log, clock=clock)
    assert "refuses our sender address" in str(caught.value)
    assert "553 5.7.1" in str(caught.value)
    assert sink.received == []
    assert {o.result for o in log.final().values()} == {Result.DEFERRED}
    assert len(log.started) == 2  # one per connection, then it stopped


def test_a_relay_refusing_every_recipient_stops_the_run_and_fails_nobody(
    clock: FakeClock,
) -> None:
    """A 5xx for each recipient before anything was accepted is the relay refusing us
    (wrong login, sender not allowed): the list must not be burnt through as failed."""
    log = RecordingLog()
    with (
        ScriptedSink(rcpt=lambda call: "550 5.7.1 Relaying denied") as sink,
        pytest.raises(DeliveryError) as caught,
    ):
        send_run(smtp_settings(sink.port), None, outgoing(ADDRESSES), log, clock=clock)
    assert str(caught.value).startswith(
        f"the SMTP server 127.0.0.1:{sink.port} refused the first 10 recipients and accepted "
        "none (550 5.7.1 Relaying denied)"
    )
    assert sink.received == []
    assert {o.result for o in log.final().values()} == {Result.DEFERRED}


def test_refusals_before_the_first_accepted_message_still_fail_those_members(
    clock: FakeClock,
) -> None:
    refused = set(ADDRESSES[:3])

    def rcpt(call: Call) -> str | None:
        return "550 5.7.1 Recipient refused by policy" if call.address in refused else None

    with ScriptedSink(rcpt=rcpt) as sink:
        summary = send_run(
            smtp_settings(sink.port, concurrency=1), None, outgoing(ADDRESSES), RecordingLog(),
            clock=clock,
        )  # fmt: skip
    assert summary.accepted == 17
    assert sorted(f.recipient for f in summary.failures) == sorted(refused)
    assert {f.result for f in summary.failures} == {Result.FAILED}


def test_a_short_list_refused_whole_by_a_working_relay_fails_its_members(clock: FakeClock) -> None:
    with ScriptedSink(rcpt=lambda call: "550 5.7.1 Recipient refused by policy") as sink:
        summary = send_run(
            smtp_settings(sink.port), None, outgoing(ADDRESSES[:3]), RecordingLog(), clock=clock
        )
    assert summary.accepted == 0
    assert len(summary.failures) == 3


def test_an_unreachable_server_stops_at_once(clock: FakeClock) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(DeliveryError) as caught:
        send_run(smtp_settings(port), None, outgoing(ADDRESSES), RecordingLog(), clock=clock)
    assert f"cannot connect to the SMTP server 127.0.0.1:{port}" in str(caught.value)


def test_the_rate_limit_holds_across_all_connections(clock: FakeClock) -> None:
    starts: list[float] = []

    class TimedLog(RecordingLog):
        def starting(self, messages: object) -> None:
            starts.extend(clock.now() for _ in messages)  # type: ignore[attr-defined]

    with ScriptedSink() as sink:
        send_run(
            smtp_settings(sink.port, concurrency=4, rate=parse_rate("2/s, 5/min")), None,
            outgoing(ADDRESSES[:12]), TimedLog(), clock=clock,
        )  # fmt: skip
    assert len(sink.received) == 12
    for start in starts:
        assert sum(start <= t < start + 1 for t in starts) <= 2
        assert sum(start <= t < start + 60 for t in starts) <= 5
    assert max(starts) - min(starts) >= 120  # 12 messages at 5/min need two more minutes


def test_security_none_is_refused_for_a_remote_host() -> None:
    settings = smtp_settings(25, host="smtp.example.org", rate=(RateWindow(1, 1.0),))
    with pytest.raises(DeliveryError) as caught:
        send_run(settings, None, [], RecordingLog())
    assert "only allowed for a server on this machine" in str(caught.value)


class _CtrlCAfterTakingAReply(FakeClock):
    """Ctrl-C in the one place it loses a reply: just after the wait took it off the queue."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self.replies = 0
        self.after = after

    def wait(self, events: queue.SimpleQueue[T], seconds: float) -> T | None:
        event = super().wait(events, seconds)
        if event is not None:
            self.replies += 1
            if self.replies == self.after:
                raise KeyboardInterrupt
        return event


def test_ctrl_c_that_loses_a_reply_ends_the_send_and_leaves_that_message_uncertain() -> None:
    clock = _CtrlCAfterTakingAReply(after=3)
    messages = outgoing(ADDRESSES[:10])
    log = RecordingLog()
    ended: list[BaseException] = []

    def run(port: int) -> None:
        try:
            send_run(smtp_settings(port, concurrency=2), None, messages, log, clock=clock)
        except KeyboardInterrupt as interrupt:
            ended.append(interrupt)

    with ScriptedSink() as sink:
        # In a thread, so that a send waiting forever for the lost reply fails the test.
        sending = threading.Thread(target=run, args=(sink.port,), daemon=True)
        sending.start()
        sending.join(timeout=20)
        assert not sending.is_alive(), "the send hung after Ctrl-C"
    assert len(ended) == 1
    # What was recorded is right, and the lost message is left started without an
    # outcome (``sending`` in the journal): the next send sends it again, as uncertain.
    assert log.closed
    recorded = log.final()
    unrecorded = [key for key in log.started if key not in recorded]
    assert len(unrecorded) == 1
    assert all(outcome.result is Result.ACCEPTED for outcome in recorded.values())


def test_another_transport_runs_through_the_same_engine(clock: FakeClock) -> None:
    """The Transport protocol: what the engine needs of a connection is send and close, so
    a dry run, the demo or a test can hand messages elsewhere with the same retries,
    rate limit and journal. Here: no server at all; one address is refused for good."""
    from newsletter.deliver.replies import Reply, Stage
    from newsletter.deliver.transport import Attempt, Transport
    from newsletter.wire import Envelope

    delivered: list[tuple[str, bytes]] = []
    closed: list[int] = []

    class Memory:
        def send(self, envelope: Envelope) -> Attempt:
            if envelope.recipient == ADDRESSES[3]:
                return Attempt(Stage.RCPT, Reply(550, "5.1.1 no such user"))
            delivered.append((envelope.recipient, envelope.data))
            return Attempt(Stage.MESSAGE, Reply(250, "2.0.0 queued"), data_sent=True)

        def close(self) -> None:
            closed.append(1)

    def memory() -> Transport:
        return Memory()

    messages = outgoing(ADDRESSES)
    log = RecordingLog()
    # Port 9 (discard): nothing listens; the default transport would fail to connect.
    summary = send_run(
        smtp_settings(9, concurrency=3), None, messages, log, clock=clock, transport=memory
    )
    assert summary.accepted == len(ADDRESSES) - 1
    assert [failure.recipient for failure in summary.failures] == [ADDRESSES[3]]
    assert sorted(r for r, _ in delivered) == sorted(set(ADDRESSES) - {ADDRESSES[3]})
    assert all(data.endswith(b"\r\n.\r\n") for _, data in delivered)
    assert len(closed) == 3
    assert log.final()[messages[0].key].result is Result.ACCEPTED
