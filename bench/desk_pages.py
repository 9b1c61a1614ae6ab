"""The desk's pages with 100,000 members (goal: each loads in under 300 ms).

Run: .venv/bin/python bench/desk_pages.py [ROWS] [--runs N]

Builds the demo workspace, imports ROWS members the way bench/members_import.py does
(an Excel-style CSV through `newsletter members import`), a tenth of them onto a second
list too, renders the demo issue (edited and summarised for sending: every member is a
recipient) and a copy of it recorded as sent to everyone (the journal filled as a send
leaves it, one in 500 failed), then starts
`newsletter desk --no-browser` in its own process on 127.0.0.1 and loads every page
over real HTTP, RUNS times each after one warm-up load. A page's time is from the request
to the last byte of the answer, as a browser waits for it. Prints median and max per page
against the goal.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from members_import import write_members

ROWS = 100_000
RUNS = 7
GOAL_MS = 300.0
SLUG = "2026-11"  # the demo issue: rendered, not sent
SENT = "2026-10"  # a copy of it, sent to everyone
SECOND_LIST = "vorstand"


def cli(workspace: Path, *arguments: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "newsletter", "--workspace", str(workspace), *arguments],
        check=True,
        capture_output=True,
    )


def prepare(folder: Path, rows: int) -> Path:
    import shutil

    from newsletter import clock, store
    from newsletter.deliver import journal
    from newsletter.demo import demo_workspace
    from newsletter.issue import SentMark, write_sent_mark
    from newsletter.keys import load_keys
    from newsletter.render.build import build_hash
    from newsletter.rendering import build_issue
    from newsletter.workspace import Workspace

    workspace = demo_workspace(folder / "ws", 2525)  # nothing is sent: the port is unused
    members = folder / "mitglieder.csv"
    write_members(members, rows)
    cli(workspace.root, "members", "import", str(members))
    few = folder / "vorstand.csv"
    lines = members.read_bytes().split(b"\r\n")
    few.write_bytes(b"\r\n".join(lines[: 1 + rows // 10]) + b"\r\n")
    cli(workspace.root, "members", "import", str(few), "--list", SECOND_LIST)
    workspace = Workspace(workspace.root)
    shutil.copytree(workspace.issues_dir / SLUG, workspace.issues_dir / SENT)
    for slug in (SLUG, SENT):
        build_issue(workspace, workspace.issues_dir / slug, load_keys(workspace).unsubscribe)
    frozen = build_hash(workspace.issues_dir / SENT)
    now = clock.utc_now()
    write_sent_mark(workspace.issues_dir / SENT, SentMark(now, frozen))
    with store.open_database(workspace.database_path) as db:
        listed = store.require_list(db, "mitglieder")
        journal.prepare(db, SENT, listed.id, frozen, now)
        finished = store.iso_time(now)
        with db.transaction():
            db.execute(
                "UPDATE deliveries SET status = 'sent', attempts = 1, finished_at = ?"
                " WHERE issue = ?",
                (finished, SENT),
            )
            db.execute(
                "UPDATE deliveries SET status = 'failed', permanent = 1,"
                " reply = '550 5.1.1 user unknown' WHERE issue = ? AND id % 500 = 0",
                (SENT,),
            )
    return workspace.root


def pages(email: str) -> list[tuple[str, str]]:
    local = email.split("@")[0]
    return [
        ("Übersicht", "/"),
        ("Mitglieder, first page", "/mitglieder"),
        ("search by name", "/mitglieder?q=" + quote("Öztürk")),
        ("search by address", "/mitglieder?q=" + quote(local)),
        ("a later page (1,000)", "/mitglieder?seite=1000"),
        ("last page", "/mitglieder?seite=100000"),
        (f"list {SECOND_LIST} (its count)", f"/mitglieder?liste={SECOND_LIST}"),
        ("Ausgabe bearbeiten", f"/ausgaben/{SLUG}"),
        ("Versand summary", f"/ausgaben/{SLUG}/versand"),
        ("Status (sent issue)", f"/ausgaben/{SENT}/status"),
    ]


def measure(url: str, token: str, email: str, runs: int) -> list[tuple[str, list[float]]]:
    figures = []
    with httpx.Client(base_url=url, timeout=60) as client:
        assert client.get(f"/?token={token}").status_code == 303
        for label, path in pages(email):
            answer = client.get(path)  # warm-up: the first load of a page imports its code
            assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200, path
            figures.append((label, times))
    return figures


def main() -> None:
    arguments = sys.argv[1:]
    runs = RUNS
    if "--runs" in arguments:
        at = arguments.index("--runs")
        runs = int(arguments[at + 1])
        del arguments[at : at + 2]
    rows = int(arguments[0]) if arguments else ROWS
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        start = time.perf_counter()
        root = prepare(folder, rows)
        print(f"workspace with {rows:,} members ready in {time.perf_counter() - start:.0f} s")
        email = next(
            line.split(";")[0]
            for line in (folder / "mitglieder.csv").read_text("cp1252").splitlines()[5000:]
        )
        desk = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "--workspace", str(root), "desk", "--no-browser"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert desk.stdout is not None
            link = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", desk.stdout.readline())
            assert link, "the desk printed no link"
            figures = measure(link.group(1), link.group(2), email, runs)
        finally:
            desk.terminate()
            desk.wait(30)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average {load}")
    print(f"{'page':32} {'median':>8} {'max':>8}  (ms, {runs} runs, goal < {GOAL_MS:.0f} ms)")
    for label, times in figures:
        median, worst = statistics.median(times), max(times)
        verdict = "ok" if worst < GOAL_MS else "MISSED"
        print(f"{label:32} {median:8.0f} {worst:8.0f}  {verdict}")


if __name__ == "__main__":
    main()
