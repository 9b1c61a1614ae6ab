"""The real `newsletter send` command, end to end, next to Postfix's smtp-source.

Run: .venv/bin/python bench/send_command.py [--members 10000] [--concurrency 4]

send_smtp_sink.py measures the sending engine with one prepared message; this one runs
the whole command a member list gets: a workspace with the sample issue rendered and
N members imported, `newsletter send ISSUE --yes` as its own process (start-up, summary,
snapshot, each member's message filled from the per-issue template, journal, SMTP) to
smtp-sink on 127.0.0.1, then smtp-source with messages of the same size over the same
number of connections. Needs the Debian package postfix (the daemon is never started).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from newsletter.demo import demo_workspace
from send_smtp_sink import _free_port, _sink, _theirs

ISSUE = "2026-11"


def _run(workspace: Path, *args: str) -> None:
    command = [sys.executable, "-m", "newsletter", "--workspace", str(workspace), *args]
    subprocess.run(command, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    options = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        workspace = demo_workspace(Path(folder) / "ws", port)
        settings = workspace.settings_file.read_text(encoding="utf-8")
        settings = re.sub(r'(?m)^rate = ".*"$', 'rate = "1000000/s"', settings)
        settings = re.sub(
            r"(?m)^concurrency = \d+$", f"concurrency = {options.concurrency}", settings
        )
        workspace.settings_file.write_text(settings, encoding="utf-8")
        members = workspace.root / "members.csv"
        members.write_text(
            "email,name\n"
            + "".join(
                f"mitglied{n:06d}@example.org,Erika Muster\n" for n in range(options.members)
            ),
            encoding="utf-8",
        )
        _run(workspace.root, "members", "import", str(members))
        _run(workspace.root, "render", ISSUE)
        size = len((workspace.issues_dir / ISSUE / "build" / "preview.eml").read_bytes())
        sink = _sink(port)
        try:
            started = time.perf_counter()
            _run(workspace.root, "send", ISSUE, "--yes")
            ours = options.members / (time.perf_counter() - started)
            theirs = options.members / _theirs(port, options.concurrency, options.members, size)
        finally:
            sink.kill()
    print(
        f"{options.members} members, messages of about {size} bytes, {options.concurrency} "
        f"connections: newsletter send {ours:.0f} msg/s, smtp-source {theirs:.0f} msg/s, "
        f"{100 * ours / theirs:.0f} %"
    )


if __name__ == "__main__":
    main()
