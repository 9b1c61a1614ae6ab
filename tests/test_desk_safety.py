"""The desk's safety rules over real HTTP: only the browser holding the printed link drives
it, only through its own pages, and a refused request changes nothing."""

from __future__ import annotations

import signal

import httpx
import pytest

from newsletter.workspace import Workspace
from tests.desk_support import desk_process, desk_running
from tests.web_support import with_settings


def issue_folders(workspace: Workspace) -> list[str]:
    return (
        sorted(p.name for p in workspace.issues_dir.iterdir())
        if workspace.issues_dir.exists()
        else []
    )


def test_the_printed_link_sets_a_strict_http_only_cookie_and_leads_to_the_clean_address(
    workspace: Workspace,
) -> None:
    with desk_running(workspace.root) as desk:
        client = desk.client(signed_in=False)
        answer = client.get(f"/mitglieder?token={desk.keys.token}&seite=2")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/mitglieder?seite=2"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{desk.keys.cookie}={desk.keys.token};")
        assert "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        page = client.get("/")
        assert page.status_code == 200
        assert "Übersicht" in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_without_the_link_every_page_and_action_is_refused_with_a_page_that_says_what_to_do(
    workspace: Workspace,
) -> None:
    with desk_running(workspace.root) as desk:
        stranger = desk.client(signed_in=False)
        for path in ("/", "/mitglieder", "/static/desk.css", "/ausgaben/2026-11"):
            answer = stranger.get(path)
            assert answer.status_code == 403, path
            assert "newsletter desk" in answer.text
            assert "Traceback" not in answer.text
        wrong = stranger.get("/?token=not-the-token")
        assert wrong.status_code == 403
        assert "set-cookie" not in wrong.headers
        answer = desk.post(stranger, "/ausgaben/neu", since="2000-01-01")
        assert answer.status_code == 403
        assert issue_folders(workspace) == []


def test_another_host_name_is_refused_even_with_the_cookie(workspace: Workspace) -> None:
    with desk_running(workspace.root) as desk:
        client = desk.client()
        port = desk.keys.port
        assert client.get("/", headers={"Host": f"localhost:{port}"}).status_code == 200
        for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}", ""):
            answer = client.get("/", headers={"Host": host})
            assert answer.status_code == 400, host
        answer = client.post(
            "/ausgaben/neu",
            data={"csrf": desk.keys.csrf, "since": "2000-01-01"},
            headers={"Host": f"rebound.example:{port}", "Origin": f"http://rebound.example:{port}"},
        )
        assert answer.status_code == 400
        assert issue_folders(workspace) == []


def test_a_post_from_another_origin_or_without_one_is_refused_and_changes_nothing(
    workspace: Workspace,
) -> None:
    with desk_running(workspace.root) as desk:
        client = desk.client()
        data = {"csrf": desk.keys.csrf, "since": "2000-01-01"}
        for origin in ("http://evil.example", "null", f"http://localhost:{desk.keys.port}"):
            answer = client.post("/ausgaben/neu", data=data, headers={"Origin": origin})
            assert answer.status_code == 403, origin
        assert client.post("/ausgaben/neu", data=data).status_code == 403
        assert issue_folders(workspace) == []


def test_a_post_without_the_csrf_token_or_with_a_wrong_one_is_refused_and_changes_nothing(
    workspace: Workspace,
) -> None:
    with desk_running(workspace.root) as desk:
        client = desk.client()
        headers = {"Origin": desk.url}
        missing = client.post("/ausgaben/neu", data={"since": "2000-01-01"}, headers=headers)
        assert missing.status_code == 403
        wrong = client.post(
            "/ausgaben/neu", data={"csrf": "guess", "since": "2000-01-01"}, headers=headers
        )
        assert wrong.status_code == 403
        assert issue_folders(workspace) == []
        # The same post with the token goes through: the refusals above were the rules.
        answer = desk.post(client, "/ausgaben/neu", since="2000-01-01", slug="2026-11")
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/ausgaben/2026-11"
        assert issue_folders(workspace) == ["2026-11"]


def test_the_texts_follow_the_workspace_locale_and_the_workspace_may_reword_them(
    workspace: Workspace,
) -> None:
    english = with_settings(workspace, locale="en")
    texts = english.templates_dir / "texts" / "en.toml"
    texts.write_text(
        texts.read_text(encoding="utf-8") + '\n[desk.nav]\nmembers = "People"\n', encoding="utf-8"
    )
    with desk_running(english.root) as desk:
        page = desk.client().get("/")
        assert '<html lang="en">' in page.text
        assert "Overview" in page.text
        assert ">People<" in page.text
        assert "Übersicht" not in page.text


def test_a_broken_newsletter_toml_is_shown_on_the_overview_with_its_fix(
    workspace: Workspace,
) -> None:
    text = workspace.settings_file.read_text(encoding="utf-8")
    workspace.settings_file.write_text(text.replace("[newsletter]", "[newsletter]\nrate = 5"))
    with desk_running(workspace.root) as desk:
        page = desk.client().get("/")
        assert page.status_code == 200
        assert "Problem in newsletter.toml" in page.text
        assert "rate" in page.text


def test_an_unexpected_error_shows_a_short_message_is_logged_and_the_desk_goes_on(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    # A folder where issue.md should be: no reader expects that.
    (workspace.issues_dir / "2026-10" / "issue.md").mkdir(parents=True)
    with desk_running(workspace.root) as desk:
        client = desk.client()
        answer = client.get("/")
        assert answer.status_code == 500
        assert "Ein unerwarteter Fehler" in answer.text
        assert "Traceback" not in answer.text
        assert any(record.exc_info for record in caplog.records if record.name == "newsletter.desk")
        (workspace.issues_dir / "2026-10" / "issue.md").rmdir()
        assert client.get("/").status_code == 200


def test_ctrl_c_ends_the_desk_with_exit_code_0(workspace: Workspace) -> None:
    with desk_process(workspace.root) as (process, link):
        assert "?token=" in link
        assert httpx.get(link, timeout=10).status_code == 303  # serving by now
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0


def test_the_desk_listens_on_127_0_0_1_only(workspace: Workspace) -> None:
    with desk_running(workspace.root) as desk:
        assert desk.url.startswith("http://127.0.0.1:")
        assert desk.keys.link().startswith(f"{desk.url}/?token=")
