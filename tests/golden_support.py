"""Golden files: what users see, compared byte for byte, regenerated on request.

    NEWSLETTER_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/test_render_golden.py tests/test_messages_golden.py

then review the diff: it is the review of the change.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("NEWSLETTER_REGENERATE_GOLDEN") == "1"


def assert_matches_golden(actual: str, golden: Path) -> None:
    if REGENERATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8", newline="\n")
    expected = golden.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{golden.name} differs from {golden}; if the change is intended, regenerate with "
        "NEWSLETTER_REGENERATE_GOLDEN=1 and review the diff"
    )
