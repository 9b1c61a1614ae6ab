"""Many members' messages in order, their DKIM signatures made beside the sending.

An RSA-2048 signature costs about 0.21 ms of OpenSSL, more than everything else the
sending loop does for a message, so signing in the loop's own thread capped a signed
send at 41 % of smtp-source's speed. Here the signatures of the next batches are made
while the loop sends this one: in a forked worker process where the system can fork
(forking.py), else in a thread (cryptography 47 and later lets go of the GIL while
OpenSSL signs; the thread still takes turns with the loop for the rest, so a process
does better: bench/README.md has the figures).

Everything but the private-key operation happens here (canonical forms, hashes,
headers: messages/signing.py); the worker has the keys from the fork itself, gets 32
bytes a message (the hash each key signs) and answers with the signatures. If it breaks
or does not answer within ``WORKER_TIMEOUT``, the rest is signed in this process: a
message is never sent unsigned, nor twice.

Messages are filled at most ``AHEAD`` batches before they are taken, one for each one
taken, so the loop never stops for a whole batch; what was filled and not taken when
the taking stops is dropped (the journal knows only what the sender took).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
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
from newsletter.messages.signing import DkimKey, SignRequest
from newsletter.messages.template import MemberMessage, MessageTemplate
from newsletter.store.records import Recipient

T = TypeVar("T")

# 16 signatures are about 4 ms of OpenSSL: few hand-overs, and the first message waits little.
BATCH = 16
AHEAD = 2
# A batch takes milliseconds; a worker silent this long is stuck, not busy.
WORKER_TIMEOUT = 10.0

Digests = tuple[bytes, ...]  # of one message: what each key signs (SignRequest.digests)
Signatures = tuple[bytes, ...]


@dataclass
class _Filled(Generic[T]):
    item: T
    message: MemberMessage | MessageError
    request: SignRequest | None  # None: nothing to sign


@dataclass
class _Batch(Generic[T]):
    filled: deque[_Filled[T]] = field(default_factory=deque)
    digests: list[Digests] | None = None  # set when handed over to be signed
    signing: Future[list[Signatures]] | None = None  # None: to be signed here
    signatures: list[Signatures] | None = None  # reversed: the next one is at the end


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
            if first.digests is None:  # the items ran out before the batch was full
                signer.hand_over(first)
            filled = first.filled.popleft()
            ahead -= 1
            if not first.filled:
                batches.popleft()
                if not batches:
                    batches.append(_Batch())
            if filled.request is None:
                assert isinstance(filled.message, MessageError)
                yield filled.item, filled.message
                continue
            assert isinstance(filled.message, MemberMessage)
            signed = filled.request.signed(signer.next_signatures(first))
            yield filled.item, filled.message.signed(signed)


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
    return _Filled(item, message, template.sign_request(values))


class _Signer:
    """Signs batches beside this thread: in a forked worker, else in a thread; here
    when the worker broke or is stuck."""

    def __init__(self, template: MessageTemplate) -> None:
        assert template.signer is not None
        self._keys = template.signer.keys
        self._executor: Executor | None = None

    def __enter__(self) -> _Signer:
        if can_fork():
            self._executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=(self._keys, os.getpid()),
            )
        else:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dkim")
        return self

    def hand_over(self, batch: _Batch[Any]) -> None:
        batch.digests = [f.request.digests for f in batch.filled if f.request is not None]
        if isinstance(self._executor, ProcessPoolExecutor):
            try:
                batch.signing = self._executor.submit(_sign_in_worker, batch.digests)
            except BrokenProcessPool:
                self._give_up()
        elif isinstance(self._executor, ThreadPoolExecutor):
            batch.signing = self._executor.submit(_sign, self._keys, batch.digests)

    def next_signatures(self, batch: _Batch[Any]) -> Signatures:
        """The signatures of the batch's next message that has them."""
        if batch.signatures is None:
            batch.signatures = self._signatures(batch)
            batch.signatures.reverse()
        return batch.signatures.pop()

    def _signatures(self, batch: _Batch[Any]) -> list[Signatures]:
        assert batch.digests is not None
        if batch.signing is not None and self._executor is not None:
            try:
                return batch.signing.result(timeout=WORKER_TIMEOUT)
            except (BrokenProcessPool, TimeoutError):
                self._give_up()
        return _sign(self._keys, batch.digests)

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
    # ProcessPoolExecutor has no public way to its processes before Python 3.14.
    processes: dict[int, BaseProcess] = getattr(executor, "_processes", None) or {}
    workers = list(processes.values())
    executor.shutdown(wait=False, cancel_futures=True)
    # Waited for on their sentinels, not joined: the executor's own thread joins them,
    # and two joining one process race for its exit status.
    connection.wait([worker.sentinel for worker in workers], timeout=wait)
    for worker in workers:
        if not connection.wait([worker.sentinel], timeout=0):
            worker.kill()
    executor.shutdown(wait=True)


# ------------------------------------------------------------------ in the worker

_WORKER_KEYS: list[DkimKey] = []


def _start_worker(keys: Sequence[DkimKey], parent: int) -> None:
    become_worker(parent)
    # Forked while another thread (a progress bar's) may have held the lock of stdout or
    # stderr: the worker writes nothing, and must not wait for those locks at its exit.
    sys.stdout = sys.stderr = Path(os.devnull).open("w", encoding="utf-8")  # noqa: SIM115
    _WORKER_KEYS.extend(keys)


def _sign_in_worker(batch: Sequence[Digests]) -> list[Signatures]:
    return _sign(_WORKER_KEYS, batch)


def _sign(keys: Sequence[DkimKey], batch: Sequence[Digests]) -> list[Signatures]:
    return [
        tuple(key.sign(digest) for key, digest in zip(keys, digests, strict=True))
        for digests in batch
    ]
