"""Gathering 1,000 posts from a folder plus a 5 MB feed (goal: under 2 s).

Run: .venv/bin/python bench/gather_sources.py [RUNS]   (Linux/macOS: it reads CPU times)

Writes a temporary workspace with 1,000 posts (900 Markdown files with front matter,
100 page exports) and a 5 MB RSS 2.0 feed with about 1,000 entries of escaped HTML,
served by a real HTTP server on 127.0.0.1. Then it runs `newsletter gather` in a fresh
process, so the time includes Python's start-up and every import: first with an empty
feed cache (a full download), then again (the server answers 304, the issue is
merged). Posts are spread over three years, so an issue takes a realistic few dozen.
"""

from __future__ import annotations

import hashlib
import html
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

POSTS = 1_000
PAGE_EXPORTS = 100
FEED_BYTES = 5 * 1024 * 1024
NOW = datetime(2026, 11, 20, 10, 0)
TOPICS = ["Radweg", "Haushalt", "Schulbau", "Stadtpark", "Bürgerbus", "Klimaschutz", "Wohnungen"]
PARAGRAPH = (
    "Der Kreisverband hat über die Verkehrswende in Musterstadt beraten und konkrete "
    "Vorschläge für sichere Radwege, bessere Busverbindungen und mehr Grün in den "
    "Straßen gemacht. Anwohnerinnen und Anwohner können sich beteiligen. "
)

SETTINGS = """\
[newsletter]
name = "Grüne Musterstadt"
site_url = "https://www.example.org"
from = "Grüne Musterstadt <newsletter@example.org>"
postal_address = "Musterstraße 1, 12345 Musterstadt"
impressum_url = "https://www.example.org/impressum"
privacy_url = "https://www.example.org/datenschutz"
responsible = "Erika Beispiel, Musterstraße 1, 12345 Musterstadt"
web_url = "https://newsletter.example.org"

[[sources]]
type = "folder"
path = "posts"

[[sources]]
type = "feed"
url = "{feed_url}"
"""


def write_posts(folder: Path) -> None:
    folder.mkdir(parents=True)
    for number in range(POSTS):
        when = NOW - timedelta(days=number, hours=number % 9)
        topic = TOPICS[number % len(TOPICS)]
        body = "\n\n".join(PARAGRAPH for _ in range(4))
        if number < PAGE_EXPORTS:
            text = (
                f"BÜNDNIS 90/DIE GRÜNEN\n\n{topic}: Meldung {number}\n\n{when:%d.%m.%y} –\n\n"
                f"{body}\n\nKategorie\n\n{topic} | Partei\n\nWir sind für Sie da!\n\n"
                "kv@remove-this.example.org\n"
            )
            (folder / f"export-{number:04}.txt").write_text(text, encoding="utf-8")
        else:
            text = (
                f"---\ntitle: '{topic}: Beitrag {number} über Grünflächen'\n"
                f"date: {when:%Y-%m-%d %H:%M}\nurl: /aktuelles/beitrag-{number}\n"
                f"image:\n  url: /bilder/{number}.jpg\n  alt: Ein Bild zu {topic}\n"
                f"categories: [{topic}, Stadtrat]\n---\n{body}\n\n"
                f"Mehr in unserer [Galerie](/galerie/{number}).\n"
            )
            (folder / f"beitrag-{number:04}.md").write_text(text, encoding="utf-8")


def feed_bytes() -> bytes:
    items, size, number = [], 0, 0
    content = html.escape(
        "".join(f"<p>{PARAGRAPH}<a href='/mehr/{n}'>Mehr</a></p>" for n in range(12))
    )
    while size < FEED_BYTES:
        when = NOW - timedelta(hours=8 * number)
        item = (
            f"<item><title>{TOPICS[number % len(TOPICS)]}: Feed-Beitrag {number}</title>"
            f"<link>https://www.example.org/feed/{number}</link>"
            f"<guid>https://www.example.org/feed/{number}</guid>"
            f"<pubDate>{when:%a, %d %b %Y %H:%M:%S} +0100</pubDate>"
            f"<category>Aktuelles</category><description>{content}</description></item>"
        )
        items.append(item)
        size += len(item.encode())
        number += 1
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed</title>'
    return (
        head + "<link>https://www.example.org/</link>" + "".join(items) + "</channel></rss>"
    ).encode()


def serve(data: bytes) -> tuple[ThreadingHTTPServer, str]:
    etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host!s}:{port}/rss.xml"


def gather_once(root: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one `newsletter gather` process."""
    # The posts are dated back from NOW, not from today: a fixed --since keeps the issue
    # the same size whenever the benchmark runs.
    since = (NOW - timedelta(days=30)).date().isoformat()
    command = [
        *(sys.executable, "-m", "newsletter", "--workspace", str(root)),
        *("gather", "--since", since),
    ]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"gather failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, _children_cpu() - cpu_before


def _children_cpu() -> float:
    # CPU time is what the goal is about when other work shares the two cores.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    data = feed_bytes()
    server, url = serve(data)
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        write_posts(root / "posts")
        (root / "newsletter.toml").write_text(SETTINGS.format(feed_url=url), encoding="utf-8")
        cold: list[tuple[float, float]] = []
        warm: list[tuple[float, float]] = []
        for _ in range(runs):
            shutil.rmtree(root / ".newsletter", ignore_errors=True)
            shutil.rmtree(root / "issues", ignore_errors=True)
            cold.append(gather_once(root))
            warm.append(gather_once(root))
        issue = next((root / "issues").glob("*/issue.md"))
        taken = issue.read_text(encoding="utf-8").count("\n- id: ")
    server.shutdown()
    print(f"{POSTS} posts in a folder + a {len(data) / 1024 / 1024:.1f} MB feed, {runs} runs")
    print(f"issue takes {taken} posts")
    for name, runs_of in (("cold cache (full download)", cold), ("warm cache (304)", warm)):
        wall = [w for w, _ in runs_of]
        cpu = [c for _, c in runs_of]
        print(
            f"{name}: wall median {statistics.median(wall):.2f} s (max {max(wall):.2f} s), "
            f"CPU median {statistics.median(cpu):.2f} s"
        )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} (2 cores)")


if __name__ == "__main__":
    main()
