"""Golden .eml of a filled message of the sample issue: the diff of a change is the review.

Regenerate after an intended change, then read the diff:
    NEWSLETTER_REGENERATE_GOLDEN=1 .venv/bin/pytest tests/test_messages_golden.py
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from newsletter.messages.template import build_template
from newsletter.render.build import load_build
from newsletter.rendering import build_issue
from newsletter.store.records import Recipient as Member
from tests.golden_support import GOLDEN, assert_matches_golden
from tests.render_support import KEY, issue_dir, render_workspace

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
    assert_matches_golden(masked(filled), GOLDEN / "messages" / "filled.eml")


def test_masking_leaves_the_rest_alone() -> None:
    text = 'boundary="=_0123456789abcdef0123456789abcdef"\n=_x\n'
    assert masked(text) == 'boundary="=_<boundary>"\n=_x\n'
