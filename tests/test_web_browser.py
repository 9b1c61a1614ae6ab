"""A member's click, end to end: a message received over SMTP, its link in headless
Chromium, the button, and the member off the list."""

from __future__ import annotations

import html
import re
import smtplib
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from newsletter.browser import chromium, keep_on_this_machine
from newsletter.keys import load_keys
from newsletter.mailsink import MailSink
from newsletter.messages.compose import Addressee, compose_message, new_message_id
from newsletter.render.build import load_build
from newsletter.rendering import build_issue
from newsletter.workspace import Workspace
from tests.render_support import issue_dir, render_workspace
from tests.web_support import NOW, recipients, serving, subscribe, web_app, with_settings


def send_issue_to(workspace: Workspace, sink: MailSink, address: str, token: str) -> None:
    """What send will do for one member, with the reference composer and plain smtplib."""
    settings = workspace.settings.newsletter
    build_issue(workspace, issue_dir(workspace), load_keys(workspace).unsubscribe)
    message = compose_message(
        load_build(issue_dir(workspace)),
        Addressee(address, name="Anna Beispiel", first_name="Anna"),
        token,
        settings,
        list_name="mitglieder",
        date=NOW,
        message_id=new_message_id(settings),
    )
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        smtp.send_message(message)


def unsubscribe_link(received: bytes) -> str:
    message = message_from_bytes(received, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("html",))
    assert body is not None
    found = re.search(r'href="([^"]*/abmelden\?token=[^"]+)"', body.get_content())
    assert found, "the email has no unsubscribe link"
    link = html.unescape(found.group(1))
    assert message["List-Unsubscribe"].startswith(f"<{link}>")
    return link


@pytest.mark.chromium
def test_a_member_unsubscribes_with_the_button_behind_the_link_in_their_email(
    tmp_path: Path, mail_sink: MailSink, need_program: Callable[[str], str]
) -> None:
    need_program("chromium")
    workspace = render_workspace(tmp_path)
    token = subscribe(workspace, "anna@example.org", "mitglieder")["mitglieder"]
    subscribe(workspace, "ben@example.org", "mitglieder")
    with serving(web_app(workspace)) as url:
        workspace = with_settings(workspace, web_url=url)
        send_issue_to(workspace, mail_sink, "anna@example.org", token)
        link = unsubscribe_link(mail_sink.received[0].data)
        assert link.startswith(f"{url}/abmelden?token=")

        blocked: list[str] = []
        with chromium() as browser:
            context = browser.new_context()
            keep_on_this_machine(context, blocked)
            page = context.new_page()
            console_errors: list[str] = []  # a CSP violation would show here
            page.on(
                "console", lambda m: console_errors.append(m.text) if m.type == "error" else None
            )
            page.goto(link)
            assert page.locator("html").get_attribute("lang") == "de"
            assert recipients(workspace) == {"anna@example.org", "ben@example.org"}

            page.get_by_role("button", name="Newsletter abbestellen").click()
            page.get_by_role("heading", name="Du bist abgemeldet").wait_for()

    assert recipients(workspace) == {"ben@example.org"}
    assert blocked == []  # the pages load nothing from anywhere else
    assert console_errors == []
