"""The editorial as staff write it: line breaks, their own salutation, an empty issue."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from newsletter.errors import IssueError
from newsletter.issue import Issue, load_issue
from newsletter.render.email import RenderResult, render_email
from newsletter.render.salutation import split_salutation
from newsletter.workspace import Workspace
from tests.render_support import issue_dir, render_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return render_workspace(tmp_path_factory.mktemp("editorial"))


@pytest.fixture(scope="module")
def issue(ws: Workspace) -> Issue:
    return load_issue(issue_dir(ws))


def render(ws: Workspace, issue: Issue, editorial: str) -> RenderResult:
    return render_email(replace(issue, editorial=editorial), ws.settings, ws.templates_dir)


def test_a_single_line_break_is_a_line_break_in_html_and_text(ws: Workspace, issue: Issue) -> None:
    editorial = "Danke für ein gutes Jahr.\n\nFrohe Festtage wünscht euch\neure Geschäftsstelle"
    email = render(ws, issue, editorial).email
    assert re.search(r"Frohe Festtage wünscht euch<br ?/?>\s*eure Geschäftsstelle", email.html)
    assert "Frohe Festtage wünscht euch\neure Geschäftsstelle\n" in email.text


def filled_text(result: RenderResult, first_name: str) -> str:
    greeting = result.email.greeting.for_member(first_name)
    marker = result.email.markers.greeting
    assert result.email.text.count(marker) == 1
    return result.email.text.replace(marker, greeting)


def test_an_editorial_with_its_own_salutation_gets_no_second_greeting(
    ws: Workspace, issue: Issue
) -> None:
    result = render(ws, issue, "Liebe Mitglieder,\n\nwir haben Neuigkeiten.")
    text = filled_text(result, "Erika")
    assert text.startswith("Liebe Mitglieder,\n\nwir haben Neuigkeiten.\n")
    assert "Hallo" not in text
    assert text.count("Liebe Mitglieder,") == 1
    assert result.email.html.count("Liebe Mitglieder,") == 0  # it is the greeting now
    assert result.email.html.count(result.email.markers.greeting) == 1
    assert "Hallo" not in result.email.html


def test_the_own_salutation_may_name_the_member(ws: Workspace, issue: Issue) -> None:
    result = render(ws, issue, "Liebe {first_name},\n\nwir haben Neuigkeiten.")
    assert filled_text(result, "Erika").startswith("Liebe Erika,\n\nwir haben")
    # Without a first name, the templates' nameless greeting.
    assert filled_text(result, "").startswith("Hallo,\n\nwir haben")
    assert "{first_name}" not in result.email.html


def test_an_editorial_without_a_salutation_keeps_the_template_greeting(
    ws: Workspace, issue: Issue
) -> None:
    for editorial in (
        "Wir haben Neuigkeiten.",
        "Heute geht es um den Haushalt, den Radweg, die Bäume im Stadtpark und noch viel mehr,\n"
        "also lest bis zum Ende.",
        "",
    ):
        text = filled_text(render(ws, issue, editorial), "Erika")
        assert text.startswith("Hallo Erika,\n\n"), editorial


def test_an_issue_with_no_posts_and_no_editorial_is_refused(ws: Workspace, issue: Issue) -> None:
    empty = replace(issue, posts=(), editorial="  \n")
    with pytest.raises(IssueError) as raised:
        render_email(empty, ws.settings, ws.templates_dir)
    assert "\n" not in str(raised.value)
    assert "no posts and no editorial" in str(raised.value)
    # Either one is enough.
    render_email(replace(issue, posts=()), ws.settings, ws.templates_dir)
    render_email(replace(issue, editorial=""), ws.settings, ws.templates_dir)


@pytest.mark.parametrize("line", [",", " ,", "—,", "1,", "…,"])
def test_a_comma_without_words_is_no_salutation(line: str) -> None:
    assert split_salutation(f"{line}\n\nWir haben Neuigkeiten.") == (
        None,
        f"{line}\n\nWir haben Neuigkeiten.",
    )
