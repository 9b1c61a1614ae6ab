"""How long rendering a 10-post issue takes: in process after the first render (goal:
under 100 ms for the whole pipeline) and `newsletter render` as a whole process (goal:
under 1.5 s). In process it times the pipeline in memory (templates, MJML check,
mjml-python, premailer, text, warnings) and the whole build (reading issue.md, the
pipeline, the preview message and the four files written atomically with fsync).

Run: .venv/bin/python bench/render_issue.py
"""

from __future__ import annotations

import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from newsletter.bundled import sample_settings
from newsletter.issue import Issue, load_issue, save_issue
from newsletter.post import Image, Post
from newsletter.render.email import render_email
from newsletter.rendering import build_issue
from newsletter.scaffold import create_workspace

RUNS = 20
PROCESS_RUNS = 5
SLUG = "2026-11"
KEY = b"bench-unsubscribe-key-0123456789abcdef"


def ten_post_issue() -> Issue:
    start = datetime.fromisoformat("2026-11-20T18:00:00+01:00")
    summary = (
        "Der Kreistag hat über den Radweg am Südring beraten; unsere Fraktion hat sich für "
        "eine durchgehende, geschützte Führung bis zum Bahnhof eingesetzt. Ein Überblick über "
        "die Beschlüsse, die nächsten Schritte und wie ihr euch beteiligen könnt."
    )
    posts = tuple(
        Post(
            id=f"https://www.example.org/aktuelles/beitrag-{n}",
            title=f"Beitrag {n}: Grüne Politik für Musterstadt – Straßen, Schulen, Bäume",
            url=f"https://www.example.org/aktuelles/beitrag-{n}" if n != 7 else "",
            date=start - timedelta(days=2 * n),
            summary=summary,
            image=Image(f"https://www.example.org/bilder/{n}.jpg", f"Foto zu Beitrag {n}")
            if n % 3
            else None,
        )
        for n in range(1, 11)
    )
    return Issue(
        slug=SLUG,
        subject="Newsletter November: zehn Neuigkeiten aus dem Kreisverband",
        preheader="Radwege, Haushalt, Bäume und mehr",
        date=start,
        list_name=None,
        posts=posts,
        editorial="Liebe Freundinnen und Freunde,\n\nhier ist, was im **November** los war.",
    )


def timed(run: Callable[[], object]) -> str:
    # CPU time beside wall time: on a busy machine the wall time mostly measures the others.
    wall, cpu = [], []
    for _ in range(RUNS):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return (
        f"median {statistics.median(wall):.0f} ms (CPU {statistics.median(cpu):.0f} ms), "
        f"max {max(wall):.0f} ms over {RUNS} runs"
    )


def child_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    exe = shutil.which("newsletter", path=str(Path(sys.executable).parent))
    if exe is None:
        sys.exit("newsletter is not installed in this environment (make test installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        workspace = create_workspace(Path(tmp) / "ws")
        shutil.copyfile(sample_settings(), workspace.settings_file)
        folder = workspace.issues_dir / SLUG
        folder.mkdir(parents=True)
        save_issue(folder, ten_post_issue())

        start = time.perf_counter()
        first = build_issue(workspace, folder, KEY)
        first_ms = (time.perf_counter() - start) * 1000
        issue = load_issue(folder)
        pipeline = timed(lambda: render_email(issue, workspace.settings, workspace.templates_dir))
        build = timed(lambda: build_issue(workspace, folder, KEY))
        size = len(first.result.email.html.encode()) / 1024
        print(f"10 posts, {size:.0f} KB HTML; first build in this process: {first_ms:.0f} ms")
        print(f"  pipeline in memory: {pipeline} (goal: < 100 ms)")
        print(f"  whole build with files: {build}")

        process, process_cpu = [], []
        for _ in range(PROCESS_RUNS):
            start, start_cpu = time.perf_counter(), child_cpu_seconds()
            subprocess.run(
                [exe, "--workspace", str(workspace.root), "render", SLUG],
                check=True,
                capture_output=True,
            )
            process.append(time.perf_counter() - start)
            process_cpu.append(child_cpu_seconds() - start_cpu)
        print(
            f"newsletter render (whole process): median {statistics.median(process):.2f} s "
            f"(CPU {statistics.median(process_cpu):.2f} s), max {max(process):.2f} s "
            f"over {PROCESS_RUNS} runs (goal: < 1.5 s)"
        )


if __name__ == "__main__":
    main()
