"""Golden .eml of a filled message of the sample issue: the diff of a change is the review.

Regenerate after an intended change, then read the diff:
    NEWSLETTER_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/test_messages_golden.py
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.members.records import Recipient as Member
from newsletter.messages.template import build_template
from newsletter.render.build import build_issue, load_build
from tests.render_support import KEY, issue_dir, render_workspace

GOLDEN = Path(__file__).parent / "golden" / "messages"
REGENERATE = os.environ.get("NEWSLETTER_REGENERATE_GOLDEN") == "1"
# The date is fixed here and the Message-ID is stable with the fixed key: only the MIME
# boundary changes from one template to the next.
_BOUNDARY = re.compile(r"=_[0-9a-f]{32}")
MEMBER = Member(
    subscription_id="Golden-Member-000000000",
    member_id=1,
    email="joerg.mueller@example.org",
    first_name="Jörg",
    last_name="Müller",
    name='Jörg "Jo" Müller <&>',
)


def masked(text: str) -> str:
    return _BOUNDARY.sub("=_<boundary>", text)


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> str:
    workspace = render_workspace(tmp_path_factory.mktemp("golden"))
    build_issue(workspace, issue_dir(workspace), KEY)
    template = build_template(
        load_build(issue_dir(workspace)),
        workspace.settings.newsletter,
        issue="2026-11",
        list_name="mitglieder",
        unsubscribe_key=KEY,
    )
    message = template.message(MEMBER, date=datetime(2026, 11, 3, 8, 0, tzinfo=UTC))
    # LF line ends, like build/preview.eml: a file for people and diffs.
    return message.replace(b"\r\n", b"\n").decode("ascii")


def test_filled_message_matches_golden_file(filled: str) -> None:
    actual = masked(filled)
    golden = GOLDEN / "filled.eml"
    if REGENERATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual, encoding="utf-8", newline="\n")
    expected = golden.read_text(encoding="utf-8")
    assert actual == expected, (
        f"the filled message differs from {golden}; if the change is intended, regenerate "
        "with NEWSLETTER_REGENERATE_GOLDEN=1 and review the diff"
    )


def test_masking_leaves_the_rest_alone() -> None:
    text = 'boundary="=_0123456789abcdef0123456789abcdef"\n=_x\n'
    assert masked(text) == 'boundary="=_<boundary>"\n=_x\n'
