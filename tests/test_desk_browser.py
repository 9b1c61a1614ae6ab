"""The desk end to end in headless Chromium against a real SMTP server, as staff use it:
every flow by its visible labels, and every page checked with axe-core (no serious or
critical violation), by keyboard, and for requests leaving the machine.

Set NEWSLETTER_DESK_SCREENSHOTS=FOLDER to keep a screenshot of each page (docs/desk.md).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from newsletter import store
from newsletter.browser import keep_on_this_machine
from newsletter.cli import app
from newsletter.demo import SAMPLE_MEMBERS, demo_workspace
from newsletter.mailsink import MailSink
from newsletter.members.manage import add_member
from newsletter.workspace import Workspace
from tests.deliver_support import Call, ScriptedSink
from tests.desk_support import RunningDesk, desk_running
from tests.test_desk_send import SLUG, members_on_list, sending_workspace

pytest_plugins = ["tests.preview_fixtures"]
pytestmark = [pytest.mark.chromium, pytest.mark.slow]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
SHOTS = os.environ.get("NEWSLETTER_DESK_SCREENSHOTS")


def check_page(page: Page, name: str) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    page.evaluate(AXE)
    violations = page.evaluate(
        """async () => (await axe.run(document, {
              iframes: false, resultTypes: ['violations'],
              runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}
           })).violations
           .filter(v => v.impact === 'serious' || v.impact === 'critical')
           .map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))"""
    )
    assert violations == [], f"{name}: {violations}"
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


@contextmanager
def desk_page(browser: Browser, desk: RunningDesk) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE")
    blocked: list[str] = []
    keep_on_this_machine(context, blocked)
    page = context.new_page()
    errors: list[str] = []  # a CSP violation or a script error shows here
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(desk.keys.link())
    try:
        yield page
    finally:
        context.close()
    # The only requests that would leave: the preview's email loading the office's own
    # pictures, as the email itself does (newsletter preview allows the same).
    own = Workspace(desk_root(desk)).settings.own_hosts
    assert [url for url in blocked if urlsplit(url).hostname not in own] == []
    # Left: script errors and CSP violations (not pages answered 4xx on purpose).
    expected = ("favicon", "ERR_BLOCKED_BY_CLIENT", "the server responded with a status of 4")
    assert [e for e in errors if not any(part in e for part in expected)] == []


def desk_root(desk: RunningDesk) -> Path:
    return desk.root


def wait_until(check: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_new_issue_from_gather_to_status(
    browser: Browser, tmp_path: Path, mail_sink: MailSink
) -> None:
    workspace = sending_workspace(tmp_path / "ws", mail_sink, "1000/s")
    count = members_on_list(workspace)
    with desk_running(workspace.root) as desk, desk_page(browser, desk) as page:
        expect(page.get_by_role("heading", name="Übersicht", level=1)).to_be_visible()
        assert page.url == f"{desk.url}/"  # the token is gone from the address
        check_page(page, "uebersicht")

        page.get_by_label("Beiträge ab").fill("2000-01-01")
        page.get_by_label("Name der Ausgabe").fill("2026-12")
        page.get_by_role("button", name="Neue Ausgabe anlegen").click()
        expect(page.get_by_role("heading", name="Ausgabe bearbeiten: 2026-12")).to_be_visible()
        check_page(page, "ausgabe-bearbeiten")

        page.get_by_label("Betreff").fill("Grüne Post im Dezember")
        page.get_by_role("button", name="Nach unten").first.click()
        expect(page.get_by_text("Noch nicht gespeichert")).to_be_visible()
        page.get_by_role("button", name="Speichern").first.click()
        expect(page.locator("#preview-subject")).to_have_text(
            "Grüne Post im Dezember", timeout=2000
        )
        phone = page.frame_locator('iframe[width="375"]')
        expect(phone.locator("body")).to_contain_text("Radweg", timeout=2000)

        page.get_by_label("Test-Adressen").fill("ich@example.org")
        page.get_by_role("button", name="Test senden").click()
        expect(page.get_by_text("1 Test-Mail(s) angenommen")).to_be_visible()
        test_mail = message_from_bytes(mail_sink.received[-1].data, policy=policy.default)
        assert str(test_mail["Subject"]) == "[TEST] Grüne Post im Dezember"
        assert mail_sink.received[-1].recipients == ("ich@example.org",)

        page.get_by_role("link", name="Übersicht").click()
        page.get_by_role("link", name="Versand 2026-12").click()
        expect(page.get_by_role("heading", name="Versand: 2026-12")).to_be_visible()
        check_page(page, "versand")
        page.get_by_role("button", name="Jetzt senden").click()
        expect(page.locator('[data-field="state_text"]')).to_have_text("Fertig.", timeout=30000)
        expect(page.locator('[data-field="sent"]')).to_have_text(str(count))
        check_page(page, "versand-fortschritt")
        assert len(mail_sink.received) == 1 + count

        page.get_by_role("link", name="Zum Status").click()
        expect(page.locator("#count-sent")).to_have_text(str(count))
        check_page(page, "status")
        page.get_by_role("link", name="Übersicht").click()
        row = page.get_by_role("row", name=re.compile("2026-12"))
        expect(row).to_contain_text("gesendet")


def test_members_upload_plan_apply_and_forget(browser: Browser, tmp_path: Path) -> None:
    workspace = demo_workspace(tmp_path / "ws", 2525)
    with desk_running(workspace.root) as desk, desk_page(browser, desk) as page:
        page.get_by_role("link", name="Mitglieder").click()
        check_page(page, "mitglieder-leer")
        page.get_by_role("link", name="Importieren").click()
        check_page(page, "importieren")
        page.get_by_label("Datei").set_input_files(str(workspace.root / SAMPLE_MEMBERS))
        page.get_by_role("button", name="Datei prüfen").click()
        expect(page.get_by_role("button", name="Übernehmen")).to_be_visible()
        check_page(page, "import-plan")
        assert members_on_list_or_zero(workspace) == 0  # the plan writes nothing
        page.get_by_role("button", name="Übernehmen").click()
        expect(page.get_by_role("status").first).to_contain_text("Import übernommen")
        imported = members_on_list(workspace)
        assert imported > 0
        check_page(page, "mitglieder")

        page.get_by_role("searchbox", name="Suche nach Name oder Adresse").fill("anna")
        page.get_by_role("button", name="Suchen").click()
        first = page.locator("td", has_text="@").first.inner_text()
        page.get_by_role("link", name=re.compile(f"Vergessen {re.escape(first)}")).click()
        expect(page.get_by_text("nicht rückgängig")).to_be_visible()
        check_page(page, "vergessen")
        page.get_by_role("button", name="Endgültig vergessen").click()
        expect(page.get_by_role("status").first).to_contain_text("gelöscht")
        with store.open_database(workspace.database_path) as db:
            assert store.find_member(db, first) is None
        assert members_on_list(workspace) == imported - 1


def members_on_list_or_zero(workspace: Workspace) -> int:
    with store.open_database(workspace.database_path) as db:
        found = store.find_list(db, "mitglieder")
        return 0 if found is None else len(list(store.iter_recipients(db, found.id)))


def test_a_send_stopped_with_anhalten_is_finished_by_the_cli(
    browser: Browser, tmp_path: Path, mail_sink: MailSink
) -> None:
    workspace = sending_workspace(tmp_path / "ws", mail_sink, "2/s")
    count = members_on_list(workspace)
    with desk_running(workspace.root) as desk, desk_page(browser, desk) as page:
        page.goto(f"{desk.url}/ausgaben/{SLUG}/versand")
        page.get_by_role("button", name="Jetzt senden").click()
        # The click's navigation to the progress page ends before the reload starts.
        expect(page.get_by_role("button", name="Anhalten")).to_be_visible()
        wait_until(lambda: len(mail_sink.received) >= 1)
        page.reload()  # the progress survives a reload
        expect(page.locator('[data-field="state_text"]')).to_have_text("Wird gesendet …")
        page.get_by_role("button", name="Anhalten").click()
        expect(page.locator('[data-field="state_text"]')).to_contain_text(
            "Angehalten", timeout=30000
        )
        assert len(mail_sink.received) < count
        page.get_by_role("link", name="Übersicht").click()
        expect(page.get_by_role("row", name=re.compile(SLUG))).to_contain_text("unterbrochen")

    result = CliRunner().invoke(app, ["--workspace", str(workspace.root), "send", SLUG, "--yes"])
    assert result.exit_code == 0, result.output
    assert len(mail_sink.received) == count
    assert len({m.recipients for m in mail_sink.received}) == count


def test_the_desk_works_by_keyboard_with_visible_focus(browser: Browser, tmp_path: Path) -> None:
    workspace = demo_workspace(tmp_path / "ws", 2525)
    with store.open_database(workspace.database_path) as db:
        add_member(db, "anna@example.org", "mitglieder", first_name="Anna")
    with desk_running(workspace.root) as desk:
        with desk_page(browser, desk) as page:
            page.keyboard.press("Tab")
            skip = page.get_by_role("link", name="Zum Inhalt springen")
            expect(skip).to_be_focused()
            page.keyboard.press("Tab")
            focused = page.locator(":focus")
            expect(focused).to_have_text("Übersicht")
            outline = focused.evaluate(
                "e => getComputedStyle(e).outlineStyle + ' ' + getComputedStyle(e).outlineWidth"
            )
            assert outline.startswith("solid") and not outline.endswith(" 0px"), outline
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            expect(page.get_by_role("heading", name="Mitglieder", level=1)).to_be_visible()
            for _ in range(40):
                page.keyboard.press("Tab")
                if page.locator(":focus").get_attribute("id") == "email":
                    break
            page.keyboard.type("ben@example.org")
            page.keyboard.press("Enter")
            expect(page.get_by_role("status").first).to_contain_text("ben@example.org")
            page.goto(f"{desk.url}/ausgaben/{SLUG}")
            check_page(page, "ausgabe-demo")
            page.goto(f"{desk.url}/ausgaben/{SLUG}/status")
            check_page(page, "status-leer")
            page.goto(f"{desk.url}/ausgaben/gibt-es-nicht")
            expect(page.get_by_role("heading", name="Das hat nicht geklappt")).to_be_visible()
            check_page(page, "fehler")
            page.goto(f"{desk.url}/mitglieder/abmelden?email=anna%40example.org")
            check_page(page, "abmelden")
        stranger = browser.new_context()
        try:
            page = stranger.new_page()
            page.goto(f"{desk.url}/")
            expect(page.get_by_role("heading", name="Kein Zugang")).to_be_visible()
            check_page(page, "kein-zugang")
        finally:
            stranger.close()


def test_a_send_that_stops_shows_why_and_the_fix_without_a_reload(
    browser: Browser, tmp_path: Path
) -> None:
    # The relay takes four messages, then refuses our sender: the send stops while the
    # progress page is open.
    def mail(call: Call) -> str | None:
        return "554 5.7.1 sender not allowed" if call.accepted >= 4 else None

    with ScriptedSink(mail=mail) as sink:
        workspace = sending_workspace(tmp_path / "ws", sink, "2/s")
        with desk_running(workspace.root) as desk, desk_page(browser, desk) as page:
            page.goto(f"{desk.url}/ausgaben/{SLUG}/versand")
            page.get_by_role("button", name="Jetzt senden").click()
            expect(page.get_by_role("button", name="Anhalten")).to_be_visible()
            error = page.locator('[data-field="error"]')
            assert error.is_hidden()
            expect(page.locator('[data-field="state_text"]')).to_contain_text(
                "Abgebrochen", timeout=30000
            )
            expect(error).to_be_visible()
            expect(error).to_contain_text("lehnt unsere Absenderadresse ab")
            expect(page.locator('[data-field="hint"]')).to_contain_text("Prüfen Sie from")
            expect(page.locator('[data-field="hint"]')).to_be_visible()
            assert "sender not allowed" in (error.text_content() or "")
