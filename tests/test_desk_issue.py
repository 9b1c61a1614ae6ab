"""Ausgabe bearbeiten over real HTTP: the draft form, Speichern writing issue.md as the CLI
flow does, the preview beside it, Beiträge neu sammeln and Test senden."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from pathlib import Path

import httpx

from newsletter.demo import demo_workspace
from newsletter.issue import format_issue, load_issue
from newsletter.mailsink import MailSink
from tests.desk_support import RunningDesk, desk_running

SLUG = "2026-11"


def form_of(page: str) -> dict[str, list[str]]:
    """The edit form's fields as the browser would send them (no button)."""
    form = page.split('id="bearbeiten"')[1].split("</form>")[0]
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(
        r'<input type="(?:hidden|text)"[^>]*?name="([^"]+)" value="([^"]*)"', form
    ):
        fields.setdefault(name, []).append(value)
    for name, value in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S
    ):
        fields.setdefault(name, []).append(value)
    import html

    return {k: [html.unescape(v) for v in vs] for k, vs in fields.items()}


def press(
    desk: RunningDesk, client: httpx.Client, page: str, step: str, **changes: str
) -> httpx.Response:
    fields = form_of(page)
    fields.update({k: [v] for k, v in changes.items()})
    fields["step"] = [step]
    fields["csrf"] = [desk.keys.csrf]
    return client.post(f"/ausgaben/{SLUG}", data=fields, headers={"Origin": desk.url})


def test_saving_writes_issue_md_as_the_cli_flow_does_and_the_preview_follows(
    tmp_path: Path,
) -> None:
    workspace = demo_workspace(tmp_path / "ws", 2525)
    folder = workspace.issues_dir / SLUG
    before = load_issue(folder)
    with desk_running(workspace.root) as desk:
        client = desk.client()
        page = client.get(f"/ausgaben/{SLUG}").text
        for label in (
            "Betreff",
            "Vorschautext",
            "Einleitung",
            "Speichern",
            "Beiträge neu sammeln",
            "Test-Adressen",
        ):
            assert label in page
        assert 'width="375"' in page and 'width="700"' in page

        moved = press(desk, client, page, "down:0")
        assert moved.status_code == 200
        assert "Noch nicht gespeichert" in moved.text
        assert load_issue(folder) == before  # a step writes nothing
        removed = press(desk, client, moved.text, "remove:2")
        restored = press(desk, client, removed.text, "restore:2")
        removed_again = press(desk, client, restored.text, "remove:2")

        saved = press(
            desk,
            client,
            removed_again.text,
            "save",
            subject="Neuer Betreff aus dem Desk",
            title_0="Geänderter Titel",
        )
        assert saved.status_code == 303
        after = load_issue(folder)
        assert after.subject == "Neuer Betreff aus dem Desk"
        order = [post.id for post in before.posts]
        expected = [order[1], order[0], *order[3:]]
        assert [post.id for post in after.posts] == expected
        assert after.posts[0].title == "Geänderter Titel"
        assert (folder / "issue.md").read_text(encoding="utf-8") == format_issue(after)

        shown = client.get(saved.headers["location"]).text
        assert "Gespeichert" in shown
        assert '<strong id="preview-subject">Neuer Betreff aus dem Desk</strong>' in shown
        email = client.get(f"/ausgaben/{SLUG}/email")
        assert "Geänderter Titel" in email.text
        assert "default-src 'none'" in email.headers["content-security-policy"]

        # Beiträge neu sammeln keeps the edits and the removal, as gather does.
        again = desk.post(client, f"/ausgaben/{SLUG}/sammeln")
        assert again.status_code == 303
        assert "Ihre Änderungen sind geblieben" in client.get(again.headers["location"]).text
        regathered = load_issue(folder)
        assert regathered.subject == "Neuer Betreff aus dem Desk"
        assert regathered.posts[0].title == "Geänderter Titel"
        assert order[2] not in [post.id for post in regathered.posts]


def test_a_test_send_renders_first_and_shows_what_the_relay_answered(
    tmp_path: Path, mail_sink: MailSink
) -> None:
    workspace = demo_workspace(tmp_path / "ws", mail_sink.port)
    with desk_running(workspace.root) as desk:
        client = desk.client()
        answer = desk.post(
            client, f"/ausgaben/{SLUG}/test", test_addresses="ich@example.org, du@example.org"
        )
        assert answer.status_code == 200, answer.text
        assert "2 Test-Mail(s) angenommen" in answer.text
        assert "Vorher neu gerendert" in answer.text
        assert len(mail_sink.received) == 2
        message = message_from_bytes(mail_sink.received[0].data, policy=policy.default)
        assert str(message["Subject"]).startswith("[TEST] ")
        # Remembered for the next time, per workspace.
        page = client.get(f"/ausgaben/{SLUG}").text
        assert 'value="ich@example.org, du@example.org"' in page
        bad = desk.post(client, f"/ausgaben/{SLUG}/test", test_addresses="kein@adresse@x")
        assert bad.status_code == 400
        assert len(mail_sink.received) == 2


def test_a_sent_issue_is_not_edited(tmp_path: Path) -> None:
    from newsletter.issue import SentMark, write_sent_mark
    from tests.web_support import NOW

    workspace = demo_workspace(tmp_path / "ws", 2525)
    write_sent_mark(workspace.issues_dir / SLUG, SentMark(NOW, "0" * 64))
    with desk_running(workspace.root) as desk:
        client = desk.client()
        assert client.get(f"/ausgaben/{SLUG}").status_code == 400
        answer = desk.post(client, f"/ausgaben/{SLUG}", step="save", subject="x")
        assert answer.status_code == 400
