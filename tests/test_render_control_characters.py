"""Characters that XML forbids (controls, U+FFFE) in any content never break a render.

They reach the MJML document from a post (a Markdown file, a page export, staff's own
edits in issue.md) and made mjml-python's parse fail, reported as a broken template.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from newsletter.issue import Issue, load_issue
from newsletter.post import Image
from newsletter.render.email import render_email
from newsletter.workspace import Workspace
from tests.render_support import issue_dir, render_workspace

FORBIDDEN = "\x00\x01\x08\x0b\x0c\x0e\x1f\x7f\ufffe\uffff\ud800"


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return render_workspace(tmp_path_factory.mktemp("controls"))


@pytest.fixture(scope="module")
def issue(ws: Workspace) -> Issue:
    return load_issue(issue_dir(ws))


def soiled(text: str) -> str:
    return f"{FORBIDDEN[:5]}{text}{FORBIDDEN[5:]}"


def test_content_with_forbidden_characters_renders_without_them(
    ws: Workspace, issue: Issue
) -> None:
    first, *rest = issue.posts
    dirty = replace(
        first,
        title=soiled("Radweg"),
        summary=soiled("Der Radweg ist fertig."),
        image=Image(
            url=first.image.url if first.image else "", alt=soiled("Foto"), caption=soiled("Bild")
        ),
        categories=(soiled("Verkehr"),),
    )
    result = render_email(
        replace(
            issue,
            subject=soiled("Betreff"),
            preheader=soiled("Vorschau"),
            editorial=soiled("Liebe Mitglieder") + "\n\n" + soiled("Neues."),
            posts=(dirty, *rest),
        ),
        ws.settings,
        ws.templates_dir,
    )
    for part in (result.email.html, result.email.text):
        assert not set(FORBIDDEN) & set(part)
        assert "Radweg" in part
        assert "Neues." in part
