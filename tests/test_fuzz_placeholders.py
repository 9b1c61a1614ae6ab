"""Fuzz: whatever content holds, a member's data goes only where the templates put it.

Every field that comes from content or staff (subject, preheader, editorial, each post's
title, address, summary, image address, alt text and caption, categories) gets arbitrary
text mixed with the old markers and lookalikes; the issue is rendered and filled for a
member the way ``send`` does it. The token and the greeting appear once in each part,
and no member value appears in an address on another host than the web side's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.errors import NewsletterError
from newsletter.issue import Issue
from newsletter.members.tokens import sign_token
from newsletter.messages.template import build_template
from newsletter.post import Image, Post
from newsletter.render.email import render_email
from newsletter.render.salutation import FIRST_NAME, split_salutation
from newsletter.store.records import Recipient as Member
from newsletter.workspace import Workspace
from tests.fuzz_support import Budget, outcome
from tests.placeholder_support import (
    LOOKALIKES,
    TRACKER,
    assert_no_member_value_leaves,
    html_addresses,
    member_values,
    parts,
    text_addresses,
)
from tests.render_support import KEY, render_workspace

pytestmark = pytest.mark.fuzz

DATE = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
MEMBER = Member(
    subscription_id="Fuzz-Member-00000000000",
    member_id=1,
    email="quirinus.zwetschke@example.org",
    first_name="Quirinus",
    last_name="Zwetschke",
    name="Quirinus Zwetschke",
)
TOKEN = sign_token(KEY, MEMBER.subscription_id)
VALUES = member_values(MEMBER.first_name, MEMBER.email, TOKEN)

_FRAGMENTS = st.sampled_from(
    [*LOOKALIKES, TRACKER, "https://tracker.example.net/?u=", "&", "<", '"', "'", "%", "\n"]
)
# Any character, controls and lone surrogates too: the render drops what XML forbids.
_TEXT = st.text(st.characters(), max_size=30)
content = st.lists(st.one_of(_TEXT, _FRAGMENTS), max_size=6).map("".join)
addresses = st.one_of(
    content,
    st.builds(
        lambda path, query: f"https://tracker.example.net/{path}?u={query}", content, content
    ),
)


@st.composite
def posts(draw: st.DrawFn) -> Post:
    image = draw(st.none() | st.builds(Image, url=addresses, alt=content, caption=content))
    return Post(
        id=draw(content),
        title=draw(content),
        url=draw(addresses),
        date=draw(st.none() | st.just(DATE)),
        summary=draw(content),
        image=image,
        categories=tuple(draw(st.lists(content, max_size=2))),
    )


issues = st.builds(
    Issue,
    slug=st.just("2026-11"),
    subject=content,
    preheader=content,
    date=st.just(DATE),
    list_name=st.just("mitglieder"),
    posts=st.lists(posts(), max_size=3).map(tuple),
    editorial=st.one_of(content, st.builds(lambda a, b: f"{a} [x]({b}) <{b}>", content, addresses)),
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return render_workspace(tmp_path_factory.mktemp("fuzz-placeholders"))


def _message(workspace: Workspace, issue: Issue) -> bytes:
    email = render_email(issue, workspace.settings, workspace.templates_dir).email
    template = build_template(
        email,
        workspace.settings.newsletter,
        issue=issue.slug,
        list_name="mitglieder",
        unsubscribe_key=KEY,
    )
    return template.message(MEMBER, date=DATE)


@given(issue=issues)
def test_no_content_gets_a_member_value_anywhere_else(workspace: Workspace, issue: Issue) -> None:
    message = outcome(lambda: _message(workspace, issue), Budget(seconds=10))
    if isinstance(message, NewsletterError):
        return
    headers, text, html = parts(message)
    # An editorial with its own salutation greets without the name, unless it asks for it.
    salutation, _ = split_salutation(issue.editorial)
    named = salutation is None or FIRST_NAME in salutation
    for part in (text, html):
        assert part.count(TOKEN) == 1
        assert part.count(MEMBER.first_name) == (1 if named else 0)
    assert_no_member_value_leaves(html_addresses(html), VALUES, require_foreign=False)
    assert_no_member_value_leaves(text_addresses(text), VALUES, require_foreign=False)
    assert MEMBER.first_name not in str(headers["Subject"])


def test_the_fuzz_workspace_is_the_render_fixture(workspace: Workspace) -> None:
    # The checks above compare hosts with the web side of this very workspace.
    assert workspace.settings.newsletter.web_url == "https://newsletter.example.org"
    assert Path(workspace.templates_dir, "email.mjml").is_file()
