"""For the office: the proof of a consent (`members show`), and the form for the website."""

from __future__ import annotations

import re
from datetime import timedelta

from newsletter import store
from newsletter.mailsink import MailSink
from newsletter.signup.apply import apply_request
from newsletter.signup.consent import consent_text
from newsletter.store.signup_records import Request, RequestKind
from newsletter.workspace import Workspace
from tests.conftest import CliRun
from tests.test_signup_flow import start_site, with_signup
from tests.web_support import NOW, recipients

CONSENT = consent_text("Ja, ich möchte den Newsletter bekommen.")


def confirmed(workspace: Workspace, address: str) -> Request:
    request = Request(
        "r" * 22, RequestKind.SIGNUP, address, "Nora", ("newsletter",), None, CONSENT,
        NOW - timedelta(hours=2), confirmed_at=NOW, ip="203.0.113.7", event_id="e",
    )  # fmt: skip
    with store.open_database(workspace.database_path) as db:
        apply_request(db, request, ("newsletter",), NOW)
    return request


def test_members_show_prints_the_whole_consent_record(workspace: Workspace, cli: CliRun) -> None:
    confirmed(workspace, "nora@example.org")
    result = cli("members", "show", "Nora@Example.org")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("nora@example.org (Nora)\n")
    assert "list newsletter: subscribed since 2026-11-26 09:00:00 UTC" in out
    assert "basis:         consent" in out
    assert "how:           double_opt_in, source web form" in out
    assert "requested at:  2026-11-26 07:00:00 UTC" in out
    assert "confirmed at:  2026-11-26 09:00:00 UTC" in out
    assert "confirmed from IP address 203.0.113.7" in out
    assert f"consent text (version {CONSENT.version}): {CONSENT.wording}" in out


def test_members_show_of_an_unknown_address_is_one_line(workspace: Workspace, cli: CliRun) -> None:
    result = cli("members", "show", "niemand@example.org")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "niemand@example.org is not a member" in result.stderr


def test_the_signup_form_for_the_website_posts_to_the_web_side(
    workspace: Workspace, mail_sink: MailSink, cli: CliRun
) -> None:
    with_signup(workspace, mail_sink, '["newsletter", "termine"]')
    result = cli("signup-form")
    assert result.exit_code == 0, result.output
    html = result.stdout
    assert '<form method="post" action="https://newsletter.example.org/anmelden"' in html
    assert "<script" not in html.lower() and " on" not in html.lower().replace("\n", " ")
    # Nothing loaded from anywhere: the only addresses are the form's and the privacy link.
    assert set(re.findall(r'(?:href|src|action)="([^"]*)"', html)) == {
        "https://newsletter.example.org/anmelden", "https://www.example.org/datenschutz"
    }  # fmt: skip
    assert html.count('type="checkbox" name="lists"') == 2 and 'name="website"' in html

    # Its fields are the ones the web side reads: posted as a browser would, it signs up.
    for site in start_site(workspace, mail_sink):
        answer = site.client.post(
            "/anmelden",
            data={"email": "nora@example.org", "first_name": "", "lists": "termine", "website": ""},
        )
        assert answer.status_code == 200
        assert site.client.post(site.link_of(site.mails(1)[0])).status_code == 200
        assert recipients(workspace, "termine") == {"nora@example.org"}


def test_without_signup_there_is_no_form(cli: CliRun) -> None:
    result = cli("signup-form")
    assert result.exit_code == 1
    assert "there is no [signup] table" in result.stderr


def test_members_export_carries_the_consent_columns(workspace: Workspace, cli: CliRun) -> None:
    import csv
    import io

    confirmed(workspace, "nora@example.org")
    result = cli("members", "export")
    assert result.exit_code == 0, result.output
    header, row = list(csv.reader(io.StringIO(result.stdout)))
    record = dict(zip(header, row, strict=True))
    assert record["email"] == "nora@example.org" and record["basis"] == "consent"
    assert record["consent_method"] == "double_opt_in"
    assert record["consent_source"] == "web form"
    assert record["consent_text_version"] == CONSENT.version
    assert record["consent_requested_at"] == "2026-11-26T07:00:00+00:00"
    assert record["consent_confirmed_at"] == "2026-11-26T09:00:00+00:00"
    assert record["consent_ip"] == "203.0.113.7"
    assert record["consent_text"] == CONSENT.wording


def test_serve_with_signup_but_no_smtp_says_the_web_side_sends_mail(
    workspace: Workspace, cli: CliRun
) -> None:
    text = workspace.settings_file.read_text(encoding="utf-8")
    text = re.sub(r"\[smtp\]\n(.*\n)*?\n", "", text) + '\n[signup]\nlists = ["newsletter"]\n'
    workspace.settings_file.write_text(text, encoding="utf-8")
    result = cli("serve", "--port", "0")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert (
        "[signup] needs an [smtp] table: the web side sends the confirmation mails" in result.stderr
    )
