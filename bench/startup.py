"""How long `newsletter --help` takes as a whole process (goal: under 300 ms).

Run: .venv/bin/python bench/startup.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 20


def main() -> None:
    exe = shutil.which("newsletter", path=str(Path(sys.executable).parent))
    if exe is None:
        sys.exit("newsletter is not installed in this environment (make test installs it)")
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([exe, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    print(
        f"newsletter --help: median {statistics.median(times) * 1000:.0f} ms, "
        f"max {max(times) * 1000:.0f} ms over {RUNS} runs (goal: < 300 ms)"
    )


if __name__ == "__main__":
    main()
