"""How fast the preview follows an edit, and how long `render --screenshots` adds.

Measures, on the repository's sample issue (2026-11) in a temporary copy:
- save of issue.md → the page in Chromium shows the new subject (goal: under 1.5 s;
  the page polls every 500 ms, so about 250 ms of it is waiting for the next poll);
- the three screenshots (375, 700, dark 375) with Chromium's start (goal: under 5 s).

Run: .venv/bin/python bench/preview_reload.py
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

from newsletter.browser import chromium, keep_on_this_machine
from newsletter.keys import load_keys
from newsletter.preview.content import render_preview, watched_files
from newsletter.preview.live import LiveBuild
from newsletter.preview.screenshots import take_screenshots
from newsletter.preview.server import bind_loopback, create_app, make_server, url_of
from newsletter.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
EDITS = 10


def sample_workspace(folder: Path) -> Path:
    for name in ("newsletter.toml", "templates", "issues/2026-11/issue.md"):
        source, target = ROOT / name, folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
    return folder / "issues" / "2026-11"


def reload_times(workspace: Workspace, issue_dir: Path) -> list[float]:
    key = load_keys(workspace).unsubscribe
    live = LiveBuild(
        partial(render_preview, workspace.root, issue_dir, key),
        partial(watched_files, workspace.root, issue_dir),
    )
    sock = bind_loopback(0)
    server = make_server(create_app(live, issue_dir.name))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    issue = issue_dir / "issue.md"
    original = issue.read_text(encoding="utf-8")
    times = []
    try:
        with chromium() as browser:
            context = browser.new_context()
            keep_on_this_machine(context, [])
            page = context.new_page()
            page.goto(url_of(sock))
            for n in range(EDITS):
                subject = f"Ausgabe Nummer {n}"
                page.wait_for_timeout(300)  # land the save at a random point of the poll cycle
                start = time.perf_counter()
                issue.write_text(
                    original.replace("subject: '", f"subject: '{subject} ", 1), encoding="utf-8"
                )
                page.wait_for_function(
                    "s => document.getElementById('subject')?.textContent.startsWith(s)",
                    arg=subject,
                    timeout=10_000,
                )
                times.append(time.perf_counter() - start)
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        issue_dir = sample_workspace(Path(tmp))
        workspace = Workspace(Path(tmp))
        times = reload_times(workspace, issue_dir)
        print(
            f"edit → page shows it: median {statistics.median(times) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms over {EDITS} edits (goal: < 1500 ms)"
        )
        html = render_preview(workspace.root, issue_dir, load_keys(workspace).unsubscribe).html
        start = time.perf_counter()
        take_screenshots(html, Path(tmp) / "shots")
        print(
            f"three screenshots with Chromium's start: {time.perf_counter() - start:.1f} s "
            "(goal: < 5 s)"
        )


if __name__ == "__main__":
    main()
