"""A person signs up in headless Chromium: the form, the mail, the link, the button."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from newsletter.browser import chromium, keep_on_this_machine
from newsletter.mailsink import MailSink
from newsletter.web.app import create_app
from newsletter.web.config import web_config
from newsletter.web.server import bind, make_server
from newsletter.workspace import Workspace
from tests.server_support import running
from tests.test_signup_flow import Clock, Site, consents, with_signup
from tests.web_support import local_client, recipients, with_settings


@pytest.mark.chromium
def test_a_person_signs_up_in_the_browser_and_confirms_from_the_mail(
    workspace: Workspace, mail_sink: MailSink, need_program: Callable[[str], str]
) -> None:
    need_program("chromium")
    sock = bind("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    workspace = with_signup(
        with_settings(workspace, web_url=url), mail_sink, '["newsletter", "termine"]'
    )
    clock = Clock()
    with (
        running(make_server(create_app(web_config(workspace), clock)), sock),
        local_client(url) as client,
    ):
        site = Site(workspace, mail_sink, client, clock)
        blocked: list[str] = []
        console_errors: list[str] = []
        with chromium() as browser:
            context = browser.new_context()
            keep_on_this_machine(context, blocked)
            page = context.new_page()
            page.on(
                "console", lambda m: console_errors.append(m.text) if m.type == "error" else None
            )
            page.goto(f"{url}/anmelden")
            assert page.locator("html").get_attribute("lang") == "de"
            page.get_by_label("E-Mail-Adresse").fill("nora@example.org")
            page.get_by_label("Vorname (freiwillig)").fill("Nora")
            page.get_by_label("termine").check()
            page.get_by_role("button", name="Anmelden").click()
            page.get_by_role(
                "heading", name="Fast geschafft: bitte schau in dein Postfach"
            ).wait_for()

            [mail] = site.mails(1)
            page.goto(url + site.link_of(mail))
            assert consents(workspace, "nora@example.org") == []
            page.get_by_role("button", name="Jetzt bestätigen").click()
            page.get_by_role("heading", name="Danke, bestätigt").wait_for()

    assert recipients(workspace, "termine") == {"nora@example.org"}
    [record] = consents(workspace, "nora@example.org")
    assert (record.list_name, record.ip) == ("termine", "127.0.0.1")
    assert blocked == []  # the pages load nothing from anywhere else
    assert console_errors == []
