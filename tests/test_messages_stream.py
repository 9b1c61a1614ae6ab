"""Many members' messages in order, signed beside the loop (messages/stream.py): the same
bytes as one fill at a time, and the worker that signs them never loses or holds up a
message, nor outlives its run."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.errors import MessageError
from newsletter.forking import can_fork
from newsletter.messages import stream
from newsletter.messages.stream import BATCH, Values, fill_all
from newsletter.messages.template import MemberMessage, MessageTemplate
from newsletter.store.records import Recipient as Member
from newsletter.workspace import Workspace
from tests.test_gather_reading import _alive
from tests.test_messages_dkim import DATE, dns_for, private_key, template, workspace

__all__ = ["private_key", "template", "workspace"]

REPO = Path(__file__).resolve().parents[1]
COUNT = 100  # several batches and a part of one
assert COUNT > 4 * BATCH and COUNT % BATCH

forked = pytest.mark.skipif(not can_fork(), reason="the signatures are made in a thread here")

_FIRST = ["Erika", "Jörg", "Anna", "Zoë", "Mehmet", ""]
_DOMAINS = ["example.org", "gmx.de", "bücher.example"]

Item = tuple[int, Member]  # items are not members: fill_all passes them through untouched
Result = tuple[Item, MemberMessage | MessageError]


def members(count: int = COUNT) -> list[Member]:
    return [
        Member(
            subscription_id=f"{n:022d}",
            member_id=n,
            # One non-ASCII local part: a message that needs SMTPUTF8 is signed the same.
            email=f"{'jörg' if n == 7 else 'm'}.{n}@{_DOMAINS[n % len(_DOMAINS)]}",
            first_name=_FIRST[n % len(_FIRST)],
            last_name="Müller",
            name="",
        )
        for n in range(count)
    ]


def items_of(people: Sequence[Member]) -> list[Item]:
    return list(enumerate(people))


def recipient(item: Item) -> Member:
    return item[1]


def fill(template: MessageTemplate, items: Sequence[Item]) -> Iterator[Result]:
    return fill_all(template, items, recipient, date=lambda: DATE)


def one_by_one(template: MessageTemplate, items: Sequence[Item]) -> list[Result]:
    """What fill_all must give: each member's ``template.fill``, or its MessageError."""
    results: list[Result] = []
    for item in items:
        try:
            results.append((item, template.fill(recipient(item), date=DATE)))
        except MessageError as error:
            results.append((item, error))
    return results


def comparable(results: Sequence[Result]) -> list[tuple[Item, MemberMessage | str]]:
    # An exception equals only itself: its text is what the sender reports.
    return [
        (item, f"MessageError: {message}" if isinstance(message, MessageError) else message)
        for item, message in results
    ]


def assert_verified(results: Sequence[Result], private_key: rsa.RSAPrivateKey) -> None:
    dnsfunc = dns_for(private_key)
    for item, message in results:
        if isinstance(message, MessageError):
            continue
        block = message.envelope.data
        assert block.startswith(b"DKIM-Signature: ")
        # Undo the DATA framing: the terminator and one dot at the start of stuffed lines.
        unframed = block.removesuffix(b".\r\n").replace(b"\r\n..", b"\r\n.")
        assert dkim.verify(unframed, dnsfunc=dnsfunc), item


def workers() -> list[int]:
    return [process.pid for process in multiprocessing.active_children() if process.pid]


def taken(messages: Iterator[Result]) -> tuple[list[Result], list[list[int]]]:
    """The results, and the worker processes alive as each was taken."""
    results, alive = [], []
    for result in messages:
        results.append(result)
        alive.append(workers())
    return results, alive


def assert_ended(*seen: list[int]) -> None:
    """The worker processes seen during a run have ended, and no other runs."""
    assert [pid for pid in {pid for pids in seen for pid in pids} if _alive(pid)] == []
    # At once: _end leaves the reaping to the executor and waits for it.
    assert multiprocessing.active_children() == []


@pytest.fixture(autouse=True)
def _end_leftover_workers() -> Iterator[None]:
    """A test that failed leaves no worker to hang the session at its exit."""
    yield
    for process in multiprocessing.active_children():
        process.kill()
        process.join()


# ------------------------------------------------------------------ the messages


def test_signed_messages_are_the_ones_fill_makes_in_order_and_verify(
    template: MessageTemplate, private_key: rsa.RSAPrivateKey
) -> None:
    assert template.signer is not None
    items = items_of(members())
    results, alive = taken(fill(template, items))
    assert comparable(results) == comparable(one_by_one(template, items))
    assert_verified(results, private_key)
    if can_fork():
        assert len({tuple(pids) for pids in alive}) == 1 and len(alive[0]) == 1  # one worker
    assert_ended(*alive)


def test_signed_in_a_thread_where_there_is_no_fork_the_messages_are_the_same(
    template: MessageTemplate, private_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "can_fork", lambda: False)
    items = items_of(members())
    results = []
    for result in fill(template, items):
        assert workers() == []
        results.append(result)
    assert comparable(results) == comparable(one_by_one(template, items))
    assert_verified(results, private_key)


@pytest.mark.parametrize("path", ["fork", "thread"])
def test_a_member_without_a_usable_address_fails_in_its_place_and_the_rest_is_signed(
    template: MessageTemplate,
    private_key: rsa.RSAPrivateKey,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    if path == "thread":
        monkeypatch.setattr(stream, "can_fork", lambda: False)
    people = members()
    for position, address in ((0, "kein-at-zeichen"), (COUNT // 2, "a@b..example"), (-1, "@")):
        people[position] = replace(people[position], email=address)
    items = items_of(people)
    results, alive = taken(fill(template, items))
    failed = [n for n, (_, message) in enumerate(results) if isinstance(message, MessageError)]
    assert failed == [0, COUNT // 2, COUNT - 1]
    assert comparable(results) == comparable(one_by_one(template, items))
    assert_verified(results, private_key)
    assert_ended(*alive)


def test_without_a_signer_the_messages_are_fills_and_no_worker_starts(
    template: MessageTemplate,
) -> None:
    unsigned = replace(template, signer=None)
    items = items_of(members())
    results = []
    for result in fill(unsigned, items):
        assert workers() == []
        results.append(result)
    assert comparable(results) == comparable(one_by_one(unsigned, items))
    for _, message in results:
        assert isinstance(message, MemberMessage)
        assert b"DKIM-Signature:" not in message.envelope.data


# ------------------------------------------------------------------ a worker that misbehaves

_real_sign_in_worker = stream._sign_in_worker
_calls_in_this_process: list[None] = []  # the worker's own copy counts its calls


def _dies_on_the_third_call(batch: Sequence[Values]) -> list[bytes]:
    _calls_in_this_process.append(None)
    if len(_calls_in_this_process) == 3:
        os._exit(1)
    return _real_sign_in_worker(batch)


def _hangs_on_the_second_call(batch: Sequence[Values]) -> list[bytes]:
    _calls_in_this_process.append(None)
    if len(_calls_in_this_process) == 2:
        time.sleep(3600)
    return _real_sign_in_worker(batch)


def misbehaving(
    monkeypatch: pytest.MonkeyPatch, worker: Callable[[Sequence[Values]], list[bytes]]
) -> None:
    """The worker, forked after this, signs with ``worker``: the executor pickles the
    module's function by its name, which the forked test module has too."""
    _calls_in_this_process.clear()
    monkeypatch.setattr(stream, "_sign_in_worker", worker)


@forked
def test_a_worker_that_dies_mid_run_loses_no_message(
    template: MessageTemplate, private_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    misbehaving(monkeypatch, _dies_on_the_third_call)
    items = items_of(members())
    results, alive = taken(fill(template, items))
    assert len(alive[0]) == 1 and alive[-1] == []  # it did die, and was not replaced
    assert comparable(results) == comparable(one_by_one(template, items))
    assert_verified(results, private_key)
    assert_ended(*alive)


@forked
def test_a_stuck_worker_is_killed_and_the_rest_signed_here(
    template: MessageTemplate, private_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    misbehaving(monkeypatch, _hangs_on_the_second_call)
    monkeypatch.setattr(stream, "WORKER_TIMEOUT", 0.5)
    items = items_of(members())
    started = time.monotonic()
    results, alive = taken(fill(template, items))
    # It did hang (the timeout passed), and was ended long before the hour it sleeps.
    assert 0.5 < time.monotonic() - started < 3
    assert len(alive[0]) == 1 and alive[-1] == []
    assert comparable(results) == comparable(one_by_one(template, items))
    assert_verified(results, private_key)
    assert_ended(*alive)


# ------------------------------------------------------------------ the worker's life


@forked
def test_a_run_stopped_early_ends_its_worker_at_once(template: MessageTemplate) -> None:
    items = items_of(members())
    messages = fill(template, items)
    assert isinstance(messages, Generator)  # a sender stops it by closing it
    first = [next(messages) for _ in range(5)]
    assert comparable(first) == comparable(one_by_one(template, items[:5]))
    alive = workers()
    assert len(alive) == 1
    started = time.monotonic()
    messages.close()
    # Not after WORKER_TIMEOUT (10 s): the worker is told to end, and does.
    assert time.monotonic() - started < 2
    assert_ended(alive)


@forked
def test_ctrl_c_at_the_worker_leaves_it_to_the_parent_and_the_run_goes_on(
    template: MessageTemplate, private_key: rsa.RSAPrivateKey
) -> None:
    items = items_of(members())
    messages = fill(template, items)
    # The first message's signature came from the worker: it is past its start.
    results = [next(messages)]
    (worker,) = workers()
    try:
        # Likely while it signs the next batch, then surely while it waits for one.
        for _ in range(2):
            os.kill(worker, signal.SIGINT)
            time.sleep(0.1)
        for result in messages:
            results.append(result)
            if len(results) == COUNT:
                # The batches after the signal were signed by the same worker, not here.
                assert workers() == [worker]
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C at the worker came back to the run as KeyboardInterrupt")
    assert comparable(results) == comparable(one_by_one(template, items))
    assert_verified(results, private_key)
    assert_ended([worker])


# A sending process that has its worker, killed with no chance to end it.
_KILLED_PARENT = """
import multiprocessing, sys, time
from pathlib import Path

from newsletter.messages.signing import load_signer
from newsletter.messages.stream import fill_all
from newsletter.messages.template import build_template
from newsletter.render.build import load_build
from newsletter.settings import load_settings
from newsletter.workspace import Workspace
from tests.render_support import KEY, issue_dir
from tests.test_messages_dkim import DATE
from tests.test_messages_stream import items_of, members, recipient

workspace = Workspace(Path(sys.argv[1]))
settings = load_settings(workspace.settings_file)
template = build_template(
    load_build(issue_dir(workspace)),
    settings.newsletter,
    issue="2026-11",
    list_name="mitglieder",
    unsubscribe_key=KEY,
    signer=load_signer(settings.dkim),
)
messages = fill_all(template, items_of(members()), recipient, date=lambda: DATE)
next(messages)
(worker,) = multiprocessing.active_children()
print(worker.pid, flush=True)
time.sleep(60)
"""


@forked
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_the_worker_ends_with_a_run_killed_by_kill_9(workspace: Workspace) -> None:
    run = subprocess.Popen(
        [sys.executable, "-c", _KILLED_PARENT, str(workspace.root)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        line = run.stdout.readline()
        assert line, "the run ended before it printed its worker"
        worker = int(line)
        assert _alive(worker)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 3
        while _alive(worker):
            assert time.monotonic() < deadline, f"the worker {worker} outlived its run"
            time.sleep(0.05)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
