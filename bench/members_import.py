"""Importing 100,000 members (goal: under 10 s, peak memory under 200 MB).

Run: .venv/bin/python bench/members_import.py [ROWS]

Writes an Excel-style CSV (Windows-1252, semicolons, German headers and names) into a
temporary workspace, then runs `newsletter members import` on it in a fresh process,
twice: into an empty database, and again (every row unchanged). Each run reports its
wall time, its CPU time (the wall time when the machine is busy with other work says
little) and the process's peak resident memory (ru_maxrss), which includes Python
itself and every imported library.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = 100_000
FIRST = ["Anna", "Jürgen", "Özlem", "Max", "Lena", "Sören", "Fatma", "Jörg", "Käthe", "Paul"]
LAST = ["Müller", "Schäfer", "Weiß", "Becker", "Yılmaz", "König", "Groß", "Braun", "Öztürk"]
DOMAINS = ["example.org", "example.net", "gmx.example", "web.example", "bücher.example"]


def write_members(path: Path, rows: int) -> None:
    chooser = random.Random(2026)
    lines = ["E-Mail;Vorname;Nachname;Ort"]
    for number in range(rows):
        first, last = chooser.choice(FIRST), chooser.choice(LAST)
        local = f"{first}.{last}{number}".lower().encode("ascii", "ignore").decode()
        lines.append(f"{local}@{chooser.choice(DOMAINS)};{first};{last};Musterstadt")
    text = "\r\n".join(lines) + "\r\n"
    path.write_bytes(text.encode("cp1252", errors="replace"))


def child(workspace: str, members: str) -> None:
    """Run the real command in this process, then report time and peak memory."""
    from newsletter.cli import app

    start = time.perf_counter()
    try:
        app(["--workspace", workspace, "members", "import", members], standalone_mode=False)
    finally:
        seconds = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = usage.ru_utime + usage.ru_stime
        print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mib": usage.ru_maxrss / 1024}))


def run(workspace: Path, members: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(workspace), str(members)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else ROWS
    from newsletter.scaffold import create_workspace

    with tempfile.TemporaryDirectory() as folder:
        workspace = create_workspace(Path(folder) / "ws")
        members = Path(folder) / "mitglieder.csv"
        write_members(members, rows)
        size_mib = members.stat().st_size / 2**20
        for label in ("first import", "re-import (all unchanged)"):
            figures = run(workspace.root, members)
            print(
                f"{label}: {rows:,} rows ({size_mib:.1f} MiB) in {figures['seconds']:.1f} s "
                f"({figures['cpu']:.1f} s CPU), peak memory {figures['peak_mib']:.0f} MiB "
                "(goal: < 10 s, < 200 MB)"
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        main()
