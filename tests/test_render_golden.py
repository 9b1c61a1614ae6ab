"""Golden files of the sample issue: the diff of a template change is the review.

Regenerate after an intended change, then read the diff:
    NEWSLETTER_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/test_render_golden.py
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.render.build import load_build
from newsletter.render.placeholders import LEGACY_MARKERS
from newsletter.rendering import build_issue
from tests.golden_support import GOLDEN, assert_matches_golden
from tests.render_support import KEY, issue_dir, render_workspace

# What changes on every render of the same issue: the send date, the Message-ID, the
# MIME boundary, and the per-member markers (shown as the fixed ones of older versions).
_VOLATILE = [
    (re.compile(r"^Date: .*$", re.MULTILINE), "Date: <masked>"),
    (re.compile(r"^Message-ID: .*$", re.MULTILINE), "Message-ID: <masked>"),
    (re.compile(r"={15}\d+=="), "===============<boundary>=="),
]


def masked(text: str) -> str:
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workspace = render_workspace(tmp_path_factory.mktemp("golden"))
    return build_issue(workspace, issue_dir(workspace), KEY).folder


@pytest.mark.parametrize("name", ["email.html", "email.txt", "preview.eml"])
def test_output_matches_golden_file(build_dir: Path, name: str) -> None:
    markers = load_build(build_dir.parent).markers
    actual = masked((build_dir / name).read_text(encoding="utf-8"))
    actual = actual.replace(markers.greeting, LEGACY_MARKERS.greeting)
    actual = actual.replace(markers.token, LEGACY_MARKERS.token)
    assert_matches_golden(actual, GOLDEN / "render" / name)


def test_masking_leaves_the_rest_alone() -> None:
    header = "Date: Tue, 03 Nov 2026 08:00:00 +0000\nSubject: Date: x\n"
    assert masked(header) == "Date: <masked>\nSubject: Date: x\n"
