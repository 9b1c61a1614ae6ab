"""Übersicht over real HTTP: every issue with its state, and Neue Ausgabe."""

from __future__ import annotations

import re
from pathlib import Path

from newsletter.demo import demo_workspace
from newsletter.issue import SentMark, write_sent_mark
from newsletter.keys import load_keys
from newsletter.rendering import build_issue
from tests.desk_support import desk_running
from tests.web_support import NOW


def state_of(page: str, slug: str) -> str:
    row = page.split(f'<th scope="row">{slug}</th>')[1].split("</tr>")[0]
    return row.split('class="state')[1].split(">")[1].split("<")[0]


def test_issues_show_their_state_as_they_move_from_draft_to_sent(tmp_path: Path) -> None:
    workspace = demo_workspace(tmp_path / "ws", 2525)
    folder = workspace.issues_dir / "2026-11"
    with desk_running(workspace.root) as desk:
        client = desk.client()
        assert state_of(client.get("/").text, "2026-11") == "Entwurf"
        build_issue(workspace, folder, load_keys(workspace).unsubscribe)
        assert state_of(client.get("/").text, "2026-11") == "gerendert"
        write_sent_mark(folder, SentMark(NOW, "0" * 64))
        page = client.get("/").text
        assert state_of(page, "2026-11") == "gesendet"
        assert 'href="/ausgaben/2026-11"' not in page  # a sent issue is not edited


def test_neue_ausgabe_gathers_with_the_cli_default_date_and_opens_the_new_issue(
    tmp_path: Path,
) -> None:
    workspace = demo_workspace(tmp_path / "ws", 2525)
    with desk_running(workspace.root) as desk:
        client = desk.client()
        page = client.get("/").text
        assert 'type="date" id="since" name="since" value="20' in page
        answer = desk.post(client, "/ausgaben/neu", since="2000-01-01", slug="2026-12")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/ausgaben/2026-12"
        text = (workspace.issues_dir / "2026-12" / "issue.md").read_text(encoding="utf-8")
        assert "Radweg" in text
        assert state_of(client.get("/").text, "2026-12") == "Entwurf"
        again = desk.post(client, "/ausgaben/neu", since="not a day")
        assert again.status_code == 400
        assert "ist kein Datum" in again.text


def test_the_demo_ends_with_how_to_open_its_workspace_in_the_desk(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from newsletter.cli import app

    result = CliRunner().invoke(app, ["demo", "--keep", str(tmp_path / "demo")])
    assert result.exit_code == 0, result.output
    assert f"newsletter --workspace {tmp_path / 'demo' / 'workspace'} desk" in result.stdout


def test_an_issue_whose_file_cannot_be_read_shows_why_and_the_fix_in_its_row(
    tmp_path: Path,
) -> None:
    workspace = demo_workspace(tmp_path / "ws", 2525)
    issue_md = workspace.issues_dir / "2026-11" / "issue.md"
    text = issue_md.read_text(encoding="utf-8")
    # A subject with a quote opened and never closed: the front matter is not YAML.
    broken = re.sub(r"(?m)^subject: .*$", 'subject: "Grüne: im November', text, count=1)
    assert broken != text
    issue_md.write_text(broken, encoding="utf-8")
    with desk_running(workspace.root) as desk:
        page = desk.client().get("/").text
    row = page.split('<th scope="row">2026-11</th>')[1].split("</tr>")[0]
    assert "Der Kopf der Datei ist nicht lesbar" in row
    assert "So beheben Sie es:</strong> Enthält ein Text dort" in row
