"""build/preview.eml scored by SpamAssassin's local rules, as a spam filter would."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.rendering import build_issue
from tests.render_support import KEY, issue_dir, render_workspace

pytestmark = pytest.mark.spamassassin


def score(spamassassin: str, message: Path) -> tuple[float, list[str]]:
    report = subprocess.run(
        [spamassassin, "-L", "-t"],
        input=message.read_bytes(),
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode("utf-8", "replace")
    status = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", report, re.MULTILINE)
    assert status, report
    rules = re.findall(
        r"^\s*-?\d+\.\d+\s+([A-Z0-9_]+)\s", report.split("Content analysis")[-1], re.MULTILINE
    )
    return float(status.group(1)), rules


def test_preview_scores_under_one_with_no_mime_or_missing_header_rule(
    tmp_path: Path, need_program: Callable[[str], str]
) -> None:
    spamassassin = need_program("spamassassin")
    workspace = render_workspace(tmp_path)
    build = build_issue(workspace, issue_dir(workspace), KEY)
    points, rules = score(spamassassin, build.folder / "preview.eml")
    assert rules, "no rules parsed from the report"
    assert points < 1.0, f"score {points}, rules: {rules}"
    bad = [rule for rule in rules if rule.startswith(("MIME_", "MISSING_"))]
    assert not bad, f"rules hit: {rules}"


def test_the_scorer_notices_a_broken_message(
    tmp_path: Path, need_program: Callable[[str], str]
) -> None:
    # Guards the test above: a message without Date and Message-ID must show MISSING_ rules.
    broken = tmp_path / "broken.eml"
    broken.write_bytes(b"From: a@example.org\nTo: b@example.org\nSubject: x\n\nHallo\n")
    _, rules = score(need_program("spamassassin"), broken)
    assert "MISSING_DATE" in rules and "MISSING_MID" in rules
