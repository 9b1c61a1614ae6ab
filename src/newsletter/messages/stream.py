"""Many members' messages in order, their DKIM signatures made beside the sending.

An RSA-2048 signature costs about 0.21 ms of OpenSSL, more than everything else the
sending loop does for a message, so signing in the loop's own thread capped a signed
send at 41 % of smtp-source's speed. Here the signatures of the next batches are made
while the loop sends this one: in a forked worker process where the system can fork
(forking.py), else in a thread (cryptography 47 and later lets go of the GIL while
OpenSSL signs; the thread still takes turns with the loop for the rest, so a process
does better: bench/README.md has the figures).

The worker has the template (skeleton and keys) from the fork itself; per batch it gets
only the members' slot values (a few hundred bytes each) and answers with the
signatures' header lines. (Hashing here and sending the worker only the 32-byte hashes
to sign was measured slower: the sending process is the one that must not wait.) If
the worker breaks or does not answer within ``WORKER_TIMEOUT``, the rest is signed in
this process: a message is never sent unsigned, nor twice.

Messages are filled at most ``AHEAD`` batches before they are taken, one for each one
taken, so the loop never stops for a whole batch; what was filled and not taken when
the taking stops is dropped (the journal knows only what the sender took).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

from newsletter.errors import MessageError
from newsletter.forking import become_worker, can_fork
from newsletter.messages.template import MemberMessage, MessageTemplate
from newsletter.store.records import Recipient

T = TypeVar("T")

# 16 signatures are about 4 ms of OpenSSL: few hand-overs, and the first message waits little.
BATCH = 16
# Batches filled before their messages are taken. The worker shares two cores with this
# process and the mail server: with 4 batches in hand it can sign whenever it gets a
# core, and the loop rarely waits for it (measured: 3.3-3.4 s for 10,000 messages
# against 3.6-3.7 s with 2; 8 was no better). 64 messages of 43 KB: 2.8 MB.
AHEAD = 4
# A batch takes milliseconds; a worker silent this long is stuck, not busy.
WORKER_TIMEOUT = 10.0

Values = list[bytes]  # one message's slot values: MessageTemplate.fill_unsigned


@dataclass
class _Filled(Generic[T]):
    item: T
    message: MemberMessage | MessageError
    values: Values | None  # None: nothing to sign


@dataclass
class _Batch(Generic[T]):
    filled: deque[_Filled[T]] = field(default_factory=deque)
    values: list[Values] | None = None  # set when handed over to be signed
    signing: Future[list[bytes]] | None = None  # None: to be signed here
    signatures: list[bytes] | None = None  # reversed: the next one is at the end


def fill_all(
    template: MessageTemplate,
    items: Iterable[T],
    recipient: Callable[[T], Recipient],
    *,
    date: Callable[[], datetime],
) -> Iterator[tuple[T, MemberMessage | MessageError]]:
    """Each item's member's message (``template.fill(recipient(item), date=date())``),
    or the MessageError that member's message cannot be built for, in the items' order."""
    if template.signer is None:
        for item in items:
            try:
                yield item, template.fill(recipient(item), date=date())
            except MessageError as error:
                yield item, error
        return
    pending: Iterator[T] | None = iter(items)
    batches: deque[_Batch[T]] = deque([_Batch()])
    ahead = 0  # filled, not taken
    with _Signer(template) as signer:
        while True:
            while pending is not None and ahead < AHEAD * BATCH:
                item = next(pending, _END)
                if item is _END:
                    pending = None
                    break
                batches[-1].filled.append(_fill(template, item, recipient, date))
                ahead += 1
                if len(batches[-1].filled) == BATCH:
                    signer.hand_over(batches[-1])
                    batches.append(_Batch())
            first = batches[0]
            if not first.filled:
                return
            if first.values is None:  # the items ran out before the batch was full
                signer.hand_over(first)
            filled = first.filled.popleft()
            ahead -= 1
            if not first.filled:
                batches.popleft()
                if not batches:
                    batches.append(_Batch())
            if filled.values is None:
                assert isinstance(filled.message, MessageError)
                yield filled.item, filled.message
                continue
            assert isinstance(filled.message, MemberMessage)
            yield filled.item, filled.message.signed(signer.next_signature(first))


_END: Any = object()


def _fill(
    template: MessageTemplate,
    item: T,
    recipient: Callable[[T], Recipient],
    date: Callable[[], datetime],
) -> _Filled[T]:
    try:
        message, values = template.fill_unsigned(recipient(item), date=date())
    except MessageError as error:
        return _Filled(item, error, None)
    return _Filled(item, message, values)


class _Signer:
    """Signs batches beside this thread: in a forked worker, else in a thread; here
    when the worker broke or is stuck."""

    def __init__(self, template: MessageTemplate) -> None:
        self._template = template
        self._executor: Executor | None = None

    def __enter__(self) -> _Signer:
        if can_fork():
            self._executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=(self._template, os.getpid()),
            )
        else:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dkim")
        return self

    def hand_over(self, batch: _Batch[Any]) -> None:
        batch.values = [filled.values for filled in batch.filled if filled.values is not None]
        if isinstance(self._executor, ProcessPoolExecutor):
            try:
                batch.signing = self._executor.submit(_sign_in_worker, batch.values)
            except BrokenProcessPool:
                self._give_up()
        elif isinstance(self._executor, ThreadPoolExecutor):
            batch.signing = self._executor.submit(_sign, self._template, batch.values)

    def next_signature(self, batch: _Batch[Any]) -> bytes:
        """The DKIM-Signature lines of the batch's next message that has them."""
        if batch.signatures is None:
            batch.signatures = self._signatures(batch)
            batch.signatures.reverse()
        return batch.signatures.pop()

    def _signatures(self, batch: _Batch[Any]) -> list[bytes]:
        assert batch.values is not None
        if batch.signing is not None and self._executor is not None:
            try:
                return batch.signing.result(timeout=WORKER_TIMEOUT)
            except (BrokenProcessPool, TimeoutError):
                self._give_up()
        return _sign(self._template, batch.values)

    def _give_up(self) -> None:
        """The worker broke or is stuck: end it; the rest is signed in this process."""
        executor, self._executor = self._executor, None
        if executor is not None:
            _end(executor, wait=0.0)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            _end(self._executor, wait=WORKER_TIMEOUT)


def _end(executor: Executor, *, wait: float) -> None:
    """Shut the executor down; a worker process still running after ``wait`` seconds is
    killed (its batch is signed here or no longer needed). A thread cannot be killed: a
    stuck one (never seen: OpenSSL does not hang) is left behind."""
    if not isinstance(executor, ProcessPoolExecutor):
        executor.shutdown(wait=wait > 0, cancel_futures=True)
        return
    # ProcessPoolExecutor has no public way to its processes and its thread before
    # Python 3.14; shutdown(wait=False) forgets them.
    processes: dict[int, BaseProcess] = getattr(executor, "_processes", None) or {}
    workers = list(processes.values())
    manager: threading.Thread | None = getattr(executor, "_executor_manager_thread", None)
    executor.shutdown(wait=False, cancel_futures=True)
    # Waited for on their sentinels, not joined: the executor's own thread joins them,
    # and two joining one process race for its exit status.
    connection.wait([worker.sentinel for worker in workers], timeout=wait)
    for worker in workers:
        if not connection.wait([worker.sentinel], timeout=0):
            worker.kill()
    if manager is not None:
        manager.join()


# ------------------------------------------------------------------ in the worker

_WORKER_TEMPLATE: list[MessageTemplate] = []


def _start_worker(template: MessageTemplate, parent: int) -> None:
    become_worker(parent)
    # Forked while another thread (a progress bar's) may have held the lock of stdout or
    # stderr: the worker writes nothing, and must not wait for those locks at its exit.
    sys.stdout = sys.stderr = Path(os.devnull).open("w", encoding="utf-8")  # noqa: SIM115
    _WORKER_TEMPLATE.append(template)


def _sign_in_worker(batch: Sequence[Values]) -> list[bytes]:
    return _sign(_WORKER_TEMPLATE[0], batch)


def _sign(template: MessageTemplate, batch: Sequence[Values]) -> list[bytes]:
    return [template.signature(values) for values in batch]
