"""The per-member markers: new for every render, kept with the build, filled only there."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsletter.errors import IssueError
from newsletter.issue import SentMark, load_issue, save_issue, write_sent_mark
from newsletter.members.tokens import sign_token
from newsletter.messages.template import build_template
from newsletter.render.build import build_hash, check_build_current, load_build
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import LEGACY_MARKERS, Markers
from newsletter.rendering import build_issue
from newsletter.store.records import Recipient as Member
from newsletter.workspace import Workspace
from tests.placeholder_support import parts
from tests.render_support import KEY, issue_dir, render_workspace

DATE = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
MEMBER = Member("Marker-Member-000000000", 1, "erika@example.org", "Erika", "", "")
TOKEN = sign_token(KEY, MEMBER.subscription_id)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return render_workspace(tmp_path)


def filled(workspace: Workspace, email: RenderedEmail) -> tuple[str, str]:
    template = build_template(
        email, workspace.settings.newsletter, issue="2026-11", list_name="m", unsubscribe_key=KEY
    )
    _, text, html = parts(template.message(MEMBER, date=DATE))
    return text, html


def test_markers_are_letters_and_digits_and_new_every_time() -> None:
    drawn = [Markers.new() for _ in range(50)]
    assert len({m.token for m in drawn}) == len({m.greeting for m in drawn}) == 50
    for markers in drawn:
        assert markers.token.isalnum() and markers.token.isascii() and len(markers.token) >= 32
        assert markers.greeting.isalnum() and markers.greeting.isascii()
        assert markers.token not in markers.greeting and markers.greeting not in markers.token


def test_each_render_draws_its_markers_and_the_build_keeps_them(workspace: Workspace) -> None:
    first = build_issue(workspace, issue_dir(workspace), KEY).result.email.markers
    kept = load_build(issue_dir(workspace)).markers
    manifest = json.loads((issue_dir(workspace) / "build" / "email.json").read_text())
    assert kept == first
    assert manifest["markers"] == {"greeting": first.greeting, "token": first.token}
    second = build_issue(workspace, issue_dir(workspace), KEY).result.email.markers
    assert second.token != first.token and second.greeting != first.greeting
    assert load_build(issue_dir(workspace)).markers == second


def test_an_earlier_renders_markers_in_content_stay_text(workspace: Workspace) -> None:
    # Someone who saw one build's markers writes them into the next issue's content.
    old = build_issue(workspace, issue_dir(workspace), KEY).result.email.markers
    issue = load_issue(issue_dir(workspace))
    save_issue(
        issue_dir(workspace),
        dataclasses.replace(
            issue,
            subject=f"Betreff {old.greeting}",
            preheader=f"Vorspann {old.token}",
            editorial=f"{old.greeting} [Link](https://tracker.example.net/?u={old.token})",
        ),
    )
    email = build_issue(workspace, issue_dir(workspace), KEY).result.email
    text, html = filled(workspace, email)
    for part in (text, html):
        assert part.count(TOKEN) == 1 and part.count("Hallo Erika,") == 1
        assert old.greeting in part
    assert f"https://tracker.example.net/?u={old.token}" in text
    assert f'href="https://tracker.example.net/?u={old.token}"' in html


def _as_older_version(folder: Path) -> None:
    """The build as versions with the fixed markers wrote it: no markers in email.json."""
    build = folder / "build"
    markers = load_build(folder).markers
    for name in ("email.html", "email.txt"):
        path = build / name
        text = path.read_text(encoding="utf-8")
        text = text.replace(markers.greeting, LEGACY_MARKERS.greeting)
        path.write_text(text.replace(markers.token, LEGACY_MARKERS.token), encoding="utf-8")
    manifest = json.loads((build / "email.json").read_text(encoding="utf-8"))
    del manifest["markers"]
    (build / "email.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_a_build_of_an_older_version_is_not_sent_fresh(workspace: Workspace) -> None:
    build_issue(workspace, issue_dir(workspace), KEY)
    _as_older_version(issue_dir(workspace))
    with pytest.raises(IssueError, match="render again: newsletter render 2026-11"):
        check_build_current(workspace, issue_dir(workspace))


def test_a_sent_build_of_an_older_version_resumes_as_it_began(workspace: Workspace) -> None:
    # A send started before the update goes on with the markers its build holds.
    build_issue(workspace, issue_dir(workspace), KEY)
    _as_older_version(issue_dir(workspace))
    write_sent_mark(issue_dir(workspace), SentMark(DATE, build_hash(issue_dir(workspace))))
    email = load_build(issue_dir(workspace))
    assert email.markers == LEGACY_MARKERS
    text, html = filled(workspace, email)
    assert text.startswith("Hallo Erika,\r\n") and TOKEN in text and TOKEN in html
    assert "[[" not in text and "[[" not in html


@pytest.mark.parametrize(
    "markers",
    [
        {"greeting": "x", "token": "y"},
        {"greeting": "a" * 40, "token": "a" * 40},
        {"greeting": "nlgreeting" + "0" * 32, "token": "[[token]]"},
        {"greeting": "nlgreeting" + "0" * 32},
        "nlgreeting",
    ],
)
def test_damaged_markers_in_the_build_say_render_again(
    workspace: Workspace, markers: object
) -> None:
    build_issue(workspace, issue_dir(workspace), KEY)
    path = issue_dir(workspace) / "build" / "email.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["markers"] = markers
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IssueError, match="damaged") as caught:
        load_build(issue_dir(workspace))
    assert "\n" not in str(caught.value)
