"""The sending engine: ``concurrency`` SMTP connections driven from one event loop.

One thread does everything, one event at a time: taking the next message, the rate
limit, retries with backoff, the relay guard, the journal, the progress callback, and
the SMTP conversations themselves (each connection a state machine, ``SmtpConnection``'s
``begin`` and ``readable``, MAIL, RCPT and DATA pipelined where the server offers it).
No message is handed from thread to thread: on loopback, the hand-over and getting the
GIL back cost more than the SMTP itself (bench/README.md). The journal's commits happen
in the same thread, one for every connection that is free at that moment.

The crash-safety rule is easy to see: a message is marked ``sending`` (and committed)
before its transaction begins, and recorded after its reply, so a kill at any moment
leaves at most ``concurrency`` messages whose fate is unknown.
"""

from __future__ import annotations

import heapq
import itertools
import math
import queue
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from newsletter.deliver.faults import FaultHook
from newsletter.deliver.guard import Pause, RelayGuard
from newsletter.deliver.policy import Policy
from newsletter.deliver.ratelimit import SendRateLimiter
from newsletter.deliver.replies import Stage, Verdict, classify
from newsletter.deliver.timer import SystemTimer, Timer
from newsletter.deliver.transport import Attempt, SmtpConnection, Transport
from newsletter.errors import DeliveryError
from newsletter.settings import Security, SmtpSettings
from newsletter.wire import Envelope


@dataclass(frozen=True)
class Outgoing:
    """One message for one member, ready for the wire."""

    key: int  # the journal's delivery id
    envelope: Envelope
    message_id: str = ""


class Result(StrEnum):
    ACCEPTED = "accepted"  # the server took it (250): not "delivered"
    DEFERRED = "deferred"  # not sent yet: tried again later in this run or by the next send
    FAILED = "failed"  # permanently refused for this recipient
    BOUNCED = "bounced"  # permanently: no such user (5.1.x); the address is to be suppressed
    GAVE_UP = "gave up"  # still refused temporarily after every try of this run


@dataclass(frozen=True)
class Outcome:
    result: Result
    reason: str  # the SMTP reply, or why we could not ask
    uncertain: bool = False  # the connection was lost after the message went out


class DeliveryLog(Protocol):
    """Where a run records what happens (the journal; a list in tests)."""

    def starting(self, messages: Sequence[Outgoing]) -> None:
        """The messages are about to go out; must be durable when this returns."""

    def finished(self, message: Outgoing, outcome: Outcome) -> None:
        """How one try ended; may be made durable later (at the next ``starting``)."""

    def close(self) -> None:
        """The run is over: make everything durable."""


@dataclass(frozen=True)
class Progress:
    accepted: int
    failed: int
    retrying: int  # waiting for another try in this run
    pause: Pause | None  # the relay guard's pause (``until`` in the clock's time), if any


@dataclass(frozen=True)
class Failure:
    recipient: str
    reason: str
    result: Result


@dataclass(frozen=True)
class RunSummary:
    accepted: int
    failures: tuple[Failure, ...]
    # Sent again after the connection was lost between their end and the server's reply:
    # these members may have the message twice (with the same Message-ID).
    uncertain: tuple[str, ...]


ProgressCallback = Callable[[Progress], None]
# A progress bar redraws ten times a second; reporting every reply (ten thousand a run)
# would only cost time. A pause starting or ending is reported at once.
REPORT_EVERY = 0.1


def send_run(
    smtp: SmtpSettings,
    password: str | None,
    messages: Iterable[Outgoing],
    log: DeliveryLog,
    *,
    progress: ProgressCallback | None = None,
    policy: Policy | None = None,
    clock: Timer | None = None,
    tls: ssl.SSLContext | None = None,
    faults: FaultHook | None = None,
    transport: Callable[[], Transport] | None = None,
) -> RunSummary:
    """Send every message; return what happened, or raise DeliveryError when the run had to stop.

    ``transport`` makes one connection (``smtp.concurrency`` are made); by default an
    SmtpConnection to ``smtp``'s server.

    ``messages`` is read lazily, one message per free connection, so it may build each
    message on demand. A KeyboardInterrupt lets the messages in flight finish and be
    recorded, then goes on up. When the run stops (login refused, TLS, 5xx to MAIL FROM,
    paused too long) everything not accepted stays pending in the log.
    """
    run = _Run(
        smtp,
        password,
        iter(messages),
        log,
        progress=progress or (lambda _: None),
        policy=policy or Policy(),
        clock=clock or SystemTimer(),
        tls=tls,
        faults=faults or FaultHook.from_environment(),
        transport=transport,
    )
    return run.run()


@dataclass(frozen=True)
class _Task:
    message: Outgoing
    ticket: int  # from the relay guard: was it sent before or after a pause?
    tries: int  # this is try number ``tries`` of the message in this run


@dataclass(order=True, frozen=True)
class _Waiting:
    due: float
    order: int
    message: Outgoing
    tries: int  # tries made so far


class _Run:
    def __init__(
        self,
        smtp: SmtpSettings,
        password: str | None,
        messages: Iterator[Outgoing],
        log: DeliveryLog,
        *,
        progress: ProgressCallback,
        policy: Policy,
        clock: Timer,
        tls: ssl.SSLContext | None,
        faults: FaultHook,
        transport: Callable[[], Transport] | None = None,
    ) -> None:
        self._fresh: Iterator[Outgoing] | None = messages
        self._log = log
        self._progress = progress
        self._policy = policy
        self._clock = clock
        self._faults = faults
        self._where = f"{smtp.host}:{smtp.port}"
        self._limiter = SendRateLimiter(smtp.rate)
        self._guard = RelayGuard(policy)
        if transport is None:
            # Each SMTP server greeting carries our name; looking it up once, not per connection.
            hostname = socket.getfqdn()
            if tls is None and smtp.security is not Security.NONE:
                tls = ssl.create_default_context()

            def transport() -> Transport:
                return SmtpConnection(smtp, password, tls=tls, local_hostname=hostname)

        self._connections = [transport() for _ in range(smtp.concurrency)]
        # The connection's message while its transaction runs.
        self._busy: dict[int, _Task] = {}
        self._timeout = smtp.timeout
        self._replies = _Replies(self._connections, self._busy, smtp.timeout)
        self._waiting: list[_Waiting] = []
        self._order = itertools.count()
        self._stop: DeliveryError | None = None
        self._crash: Exception | None = None
        self._connect_failures = 0
        self._accepted = 0
        self._failures: list[Failure] = []
        self._uncertain: list[str] = []
        # Permanent refusals while the relay has accepted nothing yet: see _hold.
        self._held: list[tuple[_Task, str]] = []
        self._reported: tuple[float, Pause | None] = (-math.inf, None)  # when, which pause

    # ------------------------------------------------------------ the loop

    def run(self) -> RunSummary:
        try:
            self._loop()
        except KeyboardInterrupt:
            self._stop = self._stop or DeliveryError("interrupted")
            self._drain()
            raise
        finally:
            for connection in self._connections:
                connection.close()
            # A run that ended normally had a relay that works: what it refused, it
            # refused for those members. A stopped run leaves them for the next send.
            for task, reason in self._held:
                if self._stop is None:
                    self._fail(task, Result.FAILED, reason)
                else:
                    self._defer(task, reason)
            self._report(final=True)
            self._log.close()
        if self._crash is not None:
            raise self._crash
        if self._stop is not None:
            raise self._stop
        return RunSummary(self._accepted, tuple(self._failures), tuple(self._uncertain))

    def _loop(self) -> None:
        while True:
            self._dispatch()
            if not self._busy and (self._stop is not None or self._all_done):
                return
            number = self._clock.wait(self._replies, self._next_wake())
            # Every connection with replies, before handing out more: the next dispatch
            # then covers all free connections with one journal commit.
            while number is not None:
                self._readable(number)
                number = self._poll()
            self._report()

    def _poll(self) -> int | None:
        try:
            return self._replies.get(block=False)
        except queue.Empty:
            return None

    def _readable(self, number: int) -> None:
        connection = self._connections[number]
        if number in self._replies.silent and isinstance(connection, SmtpConnection):
            self._replies.silent.discard(number)
            self._replies.taken = None
            self._handle(self._busy.pop(number), connection.give_up(self._timeout))
            return
        attempt = self._read(number)
        self._replies.taken = None
        if attempt is not None:
            self._handle(self._busy.pop(number), attempt)
            return
        connection = self._connections[number]
        if isinstance(connection, SmtpConnection) and connection.data_sent:
            # The message is out, its reply not read: a crash now leaves it uncertain.
            self._faults.reached("after-data")

    def _read(self, number: int) -> Attempt | Exception | None:
        connection = self._connections[number]
        try:
            if isinstance(connection, SmtpConnection):
                return connection.readable()
            return None
        except Exception as error:  # decided by _handle, as a failure of the run
            return error

    def _drain(self) -> None:
        """Let the messages in flight finish, so the journal knows their fate. A second
        Ctrl-C (or a server that does not answer) leaves them ``sending`` in the
        journal, and the next send sends them again as uncertain, as after a crash."""
        if self._replies.taken is not None:
            # Handed out, never read: nobody knows where its conversation stands.
            self._busy.pop(self._replies.taken, None)
            self._connections[self._replies.taken].close()
        deadline = time.monotonic() + self._timeout
        try:
            while self._busy and time.monotonic() < deadline:
                number = self._poll()
                if number is None:
                    number = self._clock.wait(self._replies, 0.5)
                if number is not None:
                    self._readable(number)
        except (KeyboardInterrupt, Exception):
            return

    @property
    def _idle(self) -> int:
        return len(self._connections) - len(self._busy)

    @property
    def _all_done(self) -> bool:
        return self._fresh is None and not self._waiting

    def _dispatch(self) -> None:
        now = self._clock.now()
        batch: list[_Task] = []
        while self._idle > len(batch) and self._stop is None:
            if self._guard.delay(now) > 0 or self._limiter.delay(now) > 0:
                break
            taken = self._take(now)
            if taken is None:
                break
            message, tries = taken
            self._limiter.record(now)
            batch.append(_Task(message, self._guard.ticket(), tries + 1))
        if not batch:
            return
        # Durable before any of them can reach the server.
        self._log.starting([task.message for task in batch])
        self._faults.reached("before-data")
        free = (n for n in range(len(self._connections)) if n not in self._busy)
        for number, task in zip(free, batch, strict=False):
            attempt = self._begin(number, task)
            if attempt is None:
                self._busy[number] = task
                self._replies.heard(number)
            else:
                self._handle(task, attempt)

    def _begin(self, number: int, task: _Task) -> Attempt | Exception | None:
        connection = self._connections[number]
        try:
            if isinstance(connection, SmtpConnection):
                return connection.begin(task.message.envelope)
            # Another Transport (a test's, the demo's) answers at once.
            return connection.send(task.message.envelope)
        except Exception as error:  # decided by _handle, as a failure of the run
            return error

    def _take(self, now: float) -> tuple[Outgoing, int] | None:
        """The next message to try and its tries so far: a retry that is due, else a new one."""
        if self._waiting and self._waiting[0].due <= now:
            waiting = heapq.heappop(self._waiting)
            return waiting.message, waiting.tries
        if self._fresh is not None:
            message = next(self._fresh, None)
            if message is not None:
                return message, 0
            self._fresh = None
        return None

    def _next_wake(self) -> float:
        """Seconds until there may be something to hand out; inf: wait for a reply."""
        if self._idle == 0 or self._stop is not None:
            return math.inf
        now = self._clock.now()
        if self._fresh is not None:
            ready = now
        elif self._waiting:
            ready = self._waiting[0].due
        else:
            return math.inf
        return max(ready - now, self._guard.delay(now), self._limiter.delay(now))

    def _report(self, *, final: bool = False) -> None:
        now = self._clock.now()
        pause = self._guard.pause if self._guard.delay(now) > 0 else None
        last, last_pause = self._reported
        if not final and pause == last_pause and now - last < REPORT_EVERY:
            return
        self._reported = (now, pause)
        self._progress(Progress(self._accepted, len(self._failures), len(self._waiting), pause))

    # ------------------------------------------------------------ one reply

    def _handle(self, task: _Task, attempt: Attempt | Exception) -> None:
        if isinstance(attempt, Exception):
            self._defer(task, str(attempt))
            if isinstance(attempt, DeliveryError):
                self._stop = self._stop or attempt
            else:
                self._crash = self._crash or attempt
                self._stop = self._stop or DeliveryError(f"internal error: {attempt!r}")
            return
        try:
            self._judge(task, attempt)
        except DeliveryError as error:  # the relay guard's pauses ran out
            self._defer(task, str(error))
            self._stop = self._stop or error

    def _judge(self, task: _Task, attempt: Attempt) -> None:
        if attempt.session_ended:
            # The relay's cap on one session: a new connection takes it, no try spent.
            reason = str(attempt.reply) if attempt.reply else f"session ended: {attempt.error}"
            self._requeue(task.message, task.tries - 1, self._clock.now(), reason)
            return
        if attempt.local is not None:
            self._fail(task, Result.FAILED, attempt.local)
            return
        if attempt.reply is None:
            self._lost(task, attempt)
            return
        verdict = classify(attempt.stage, attempt.reply)
        reason = str(attempt.reply)
        if verdict is Verdict.ACCEPTED:
            self._accept(task, reason)
        elif verdict is Verdict.RETRY:
            self._guard.temporary(attempt.reply, task.ticket, self._clock.now())
            self._retry(task, reason)
        elif verdict is Verdict.THROTTLED:
            self._guard.throttled(attempt.reply, task.ticket, self._clock.now())
            self._retry(task, reason)
        elif verdict is Verdict.FATAL:
            self._defer(task, reason)
            self._stop = self._stop or self._fatal(attempt.stage, reason)
        elif verdict is Verdict.FAILED and self._accepted == 0:
            self._hold(task, reason)
        else:
            result = Result.BOUNCED if verdict is Verdict.BOUNCED else Result.FAILED
            self._fail(task, result, reason)

    def _hold(self, task: _Task, reason: str) -> None:
        """A permanent refusal before the relay has accepted anything may be the relay
        refusing us ("relaying denied", "sender not allowed"), not this member: failing
        everyone for it would burn through the list. So such refusals wait for the first
        accepted message; if instead they reach the streak, the run stops, nobody failed."""
        self._held.append((task, reason))
        if len(self._held) < self._policy.same_reply_streak:
            return
        for held, why in self._held:
            self._defer(held, why)
        self._stop = self._stop or DeliveryError(
            f"the SMTP server {self._where} refused the first {len(self._held)} recipients "
            f"and accepted none ({reason})",
            "that is the server refusing us, not the members: check username and from in "
            "the settings; nobody was marked failed, everyone is still pending",
            key="send_recipients_refused",
            params={"server": self._where, "count": len(self._held), "reply": reason},
        )
        self._held.clear()

    def _accept(self, task: _Task, reason: str) -> None:
        self._faults.reached("after-250")
        for held, why in self._held:
            self._fail(held, Result.FAILED, why)
        self._held.clear()
        self._guard.accepted()
        self._connect_failures = 0
        self._accepted += 1
        self._log.finished(task.message, Outcome(Result.ACCEPTED, reason))

    def _lost(self, task: _Task, attempt: Attempt) -> None:
        reason = f"connection to {self._where} lost: {attempt.error}"
        if attempt.stage is Stage.CONNECT:
            self._connect_failures += 1
            if self._accepted == 0 or self._connect_failures >= self._policy.connect_failures:
                self._defer(task, reason)
                self._stop = self._stop or DeliveryError(
                    f"cannot connect to the SMTP server {self._where}: {attempt.error}",
                    "check host and port in [smtp] and the network",
                    key="send_no_connection",
                    params={"server": self._where, "reason": attempt.error},
                )
                return
            # Not the message's fault: wait as for a retry, without spending one of its tries.
            wait = self._policy.retry_wait(self._connect_failures) or self._policy.max_retry_wait
            self._requeue(task.message, task.tries - 1, self._clock.now() + wait, reason)
            return
        if attempt.data_sent:
            self._uncertain.append(task.message.envelope.recipient)
        self._guard.temporary(None, task.ticket, self._clock.now())
        self._retry(task, reason, uncertain=attempt.data_sent)

    def _retry(self, task: _Task, reason: str, *, uncertain: bool = False) -> None:
        now = self._clock.now()
        if self._guard.in_trouble:
            # The relay's trouble, not this recipient's: try again after the pause, for free.
            due = now + self._guard.delay(now)
            self._requeue(task.message, task.tries - 1, due, reason, uncertain=uncertain)
            return
        wait = self._policy.retry_wait(task.tries)
        if wait is None:
            self._fail(task, Result.GAVE_UP, reason, uncertain=uncertain)
            return
        self._requeue(task.message, task.tries, now + wait, reason, uncertain=uncertain)

    def _requeue(
        self, message: Outgoing, tries: int, due: float, reason: str, *, uncertain: bool = False
    ) -> None:
        self._log.finished(message, Outcome(Result.DEFERRED, reason, uncertain))
        heapq.heappush(self._waiting, _Waiting(due, next(self._order), message, tries))

    def _defer(self, task: _Task, reason: str) -> None:
        """Back to pending for the next send: this run is stopping."""
        self._log.finished(task.message, Outcome(Result.DEFERRED, reason))

    def _fail(self, task: _Task, result: Result, reason: str, *, uncertain: bool = False) -> None:
        recipient = task.message.envelope.recipient
        self._failures.append(Failure(recipient, reason, result))
        self._log.finished(task.message, Outcome(result, reason, uncertain))

    def _fatal(self, stage: Stage, reason: str) -> DeliveryError:
        if stage is Stage.MAIL:
            return DeliveryError(
                f"the SMTP server {self._where} refuses our sender address: {reason}",
                "check from and envelope_from in [newsletter]; the rest is still pending",
                key="send_sender_refused",
                params={"server": self._where, "reply": reason},
            )
        if stage is Stage.CONNECT:
            return DeliveryError(
                f"the SMTP server {self._where} refuses connections: {reason}",
                key="send_connections_refused",
                params={"server": self._where, "reply": reason},
            )
        return DeliveryError(
            f"the SMTP server {self._where} refuses to take more messages: {reason}",
            "the rest is still pending: run send again later (perhaps with a lower rate)",
            key="send_too_many",
            params={"server": self._where, "reply": reason},
        )


class _Replies(queue.SimpleQueue[int]):
    """What the loop waits on (through the Timer, so a test's clock can stand in): the
    busy connections, handed out one at a time as they have something to read; ``get``
    raises queue.Empty after ``timeout`` without one.

    ``taken`` is the connection handed out and not yet read: a Ctrl-C right then leaves
    it in a state nobody knows, so the drain gives it up (its message stays ``sending``).
    A connection whose server has been silent for ``timeout`` seconds is handed out too,
    in ``silent``: its transaction is given up.
    """

    def __init__(
        self, connections: Sequence[Transport], busy: dict[int, _Task], timeout: float
    ) -> None:
        super().__init__()
        self._connections = connections
        self._busy = busy
        self._timeout = timeout
        self._ready: list[int] = []
        # When each busy connection last heard from its server: real time, not the
        # Timer's (a test's clock jumps).
        self._heard: dict[int, float] = {}
        self.silent: set[int] = set()
        self.taken: int | None = None

    def heard(self, number: int) -> None:
        self._heard[number] = time.monotonic()

    def get(self, block: bool = True, timeout: float | None = None) -> int:
        if not self._ready:
            self._select(timeout if block else 0)
        while self._ready:
            number = self._ready.pop(0)
            if number in self._busy:
                self.taken = number
                return number
        raise queue.Empty

    def _select(self, timeout: float | None) -> None:
        sockets: dict[socket.socket, int] = {}
        for number in self._busy:
            connection = self._connections[number]
            sock = connection.socket if isinstance(connection, SmtpConnection) else None
            if sock is not None:
                sockets[sock] = number
        if not sockets:
            # Nothing to read from; waiting is only for time to pass (a rate window).
            time.sleep(timeout or 0)
            return
        now = time.monotonic()
        last = {number: self._heard.get(number, now) for number in sockets.values()}
        silence = max(0.0, min(last.values()) + self._timeout - now)
        wait = silence if timeout is None else min(timeout, silence)
        readable, _, _ = select.select(list(sockets), [], [], wait)
        self._ready = [sockets[sock] for sock in readable]
        self.silent = set()
        now = time.monotonic()
        for number in self._ready:
            self._heard[number] = now
        if not self._ready:
            self.silent = {n for n, t in last.items() if now - t >= self._timeout}
            self._ready = sorted(self.silent)
