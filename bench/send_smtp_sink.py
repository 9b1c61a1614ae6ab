"""Sending speed against Postfix's smtp-sink, compared with Postfix's own smtp-source.

    .venv/bin/python bench/send_smtp_sink.py [--messages 10000] [--concurrency 4] [--rounds 3]
    .venv/bin/python bench/send_smtp_sink.py --memory

Both senders deliver the same number of messages of the same size over the same number
of connections to one smtp-sink on 127.0.0.1, in alternating rounds; each is timed as
a whole process (ours: Python start-up, opening the database, snapshotting the list,
the journal's commits, the SMTP conversations). The message is the sample issue's
build/preview.eml as one prepared DATA block (filling in each member's fields is the
message stage's benchmark). ``--memory`` compares the peak memory of sending to 1,000
and to 100,000 members. Needs smtp-sink and smtp-source (Debian package postfix; the
Postfix daemon is not started).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from newsletter import store
from newsletter.deliver import journal
from newsletter.deliver.sender import Outgoing, send_run
from newsletter.members.tokens import new_subscription_id
from newsletter.settings import RateWindow, Security, SmtpSettings
from newsletter.store.records import Basis, ConsentMethod, ConsentRecord, MemberData
from newsletter.wire import Envelope, data_block

REPO = Path(__file__).resolve().parents[1]
MESSAGE = REPO / "issues" / "2026-11" / "build" / "preview.eml"
SENDER = "bounces@example.org"
ISSUE = "2026-11"
LIST = "mitglieder"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _program(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        sys.exit(f"{name} is not installed (Debian package postfix)")
    return path


def _database(folder: Path, members: int) -> Path:
    path = folder / f"members-{members}.db"
    now = datetime.now(UTC)
    consent = ConsentRecord(Basis.MEMBERSHIP, ConsentMethod.IMPORT, "bench", now)
    emails = [f"mitglied{n:06d}@example.org" for n in range(members)]
    with store.open_database(path) as db, db.transaction():
        mailing_list = store.create_list(db, LIST, now)
        store.insert_members(
            db, (MemberData(e, "Erika", "Muster", "Erika Muster") for e in emails), now
        )
        store.subscribe(
            db, mailing_list.id, ((new_subscription_id(), e, consent) for e in emails), now
        )
    return path


def child(database: Path, port: int, concurrency: int) -> None:
    """One whole send, as ``newsletter send`` will run it; prints accepted and peak memory."""
    block = data_block(MESSAGE.read_bytes())
    smtp = SmtpSettings(
        "127.0.0.1", port, Security.NONE, None, None, (RateWindow(10**9, 1.0),), concurrency, 30.0
    )
    with store.open_database(database) as db:
        mailing_list = store.require_list(db, LIST)
        journal.prepare(db, ISSUE, mailing_list.id, "bench")
        messages = (
            Outgoing(d.id, Envelope(SENDER, d.recipient.email, block), f"<{d.id}@bench>")
            for d in journal.due(db, ISSUE)
        )
        summary = send_run(smtp, None, messages, journal.Journal(db, ISSUE))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(summary.accepted, peak_kib)


def _ours(database: Path, port: int, concurrency: int) -> tuple[float, int, int]:
    """Seconds, accepted messages and peak KiB of one whole send in a fresh process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(database), str(port), str(concurrency)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    accepted, peak = done.stdout.split()
    return seconds, int(accepted), int(peak)


def _theirs(port: int, concurrency: int, messages: int, size: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            _program("smtp-source"), "-s", str(concurrency), "-m", str(messages),
            "-l", str(size), "-f", SENDER, "-t", "mitglied@example.org", f"127.0.0.1:{port}",
        ],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - started


def _sink(port: int) -> subprocess.Popen[bytes]:
    # smtp-sink refuses to run as root without a user to switch to.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    sink = subprocess.Popen([_program("smtp-sink"), *user, f"127.0.0.1:{port}", "256"])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return sink
        except OSError:
            time.sleep(0.05)
    sink.kill()
    sys.exit("smtp-sink did not start")


def speed(messages: int, concurrency: int, rounds: int) -> None:
    size = len(data_block(MESSAGE.read_bytes()))
    port = _free_port()
    sink = _sink(port)
    ours, theirs = [], []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for number in range(1, rounds + 1):
                # A fresh journal each round: every round sends to all members.
                database = _database(Path(folder), messages)
                seconds, accepted, _ = _ours(database, port, concurrency)
                assert accepted == messages, f"only {accepted} of {messages} accepted"
                ours.append(messages / seconds)
                theirs.append(messages / _theirs(port, concurrency, messages, size))
                print(
                    f"round {number}: newsletter {ours[-1]:.0f}/s, smtp-source {theirs[-1]:.0f}/s"
                )
                database.unlink()
    finally:
        sink.terminate()
    mine, reference = statistics.median(ours), statistics.median(theirs)
    print(
        f"{messages} messages of {size} bytes, {concurrency} connections, median of {rounds}: "
        f"newsletter {mine:.0f} msg/s, smtp-source {reference:.0f} msg/s, "
        f"{100 * mine / reference:.0f} %"
    )


def memory(concurrency: int) -> None:
    port = _free_port()
    sink = _sink(port)
    peaks = {}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for members in (1_000, 100_000):
                seconds, accepted, peak = _ours(_database(Path(folder), members), port, concurrency)
                assert accepted == members
                peaks[members] = peak
                print(f"{members} members: {seconds:.1f} s, peak {peak / 1024:.1f} MiB")
    finally:
        sink.terminate()
    print(f"peak memory 100,000 / 1,000 members: {peaks[100_000] / peaks[1_000]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("DATABASE", "PORT", "CONCURRENCY"))
    options = parser.parse_args()
    if options.child:
        database, port, concurrency = options.child
        child(Path(database), int(port), int(concurrency))
    elif options.memory:
        memory(options.concurrency)
    else:
        speed(options.messages, options.concurrency, options.rounds)


if __name__ == "__main__":
    main()
