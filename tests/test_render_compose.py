"""The reference message builder and the per-member fields it fills."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from newsletter.errors import IssueError, MessageError
from newsletter.messages.compose import (
    ONE_CLICK,
    Addressee,
    compose_message,
    list_id,
    needs_smtputf8,
)
from newsletter.render.build import load_build
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import Greeting, Markers, MemberFields, first_name_of
from newsletter.rendering import build_issue
from newsletter.settings import NewsletterSettings
from newsletter.workspace import Workspace
from tests.render_support import KEY, issue_dir, render_workspace

DATE = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
TOKEN_VALUE = "AbCdEfGhIjKlMnOpQrStUv.signature_-"
MARKERS = Markers.new()
GREETING, TOKEN = MARKERS.greeting, MARKERS.token
fill_html, fill_text = MARKERS.fill_html, MARKERS.fill_text
EMAIL = RenderedEmail(
    subject="Newsletter November: Grünkohl",
    html=f'<p>{GREETING}</p><a href="{MARKERS.unsubscribe_url("https://newsletter.example.org")}">ab</a>\n',
    text=f"{GREETING}\n\nAbmelden: {MARKERS.unsubscribe_url('https://newsletter.example.org')}\n",
    greeting=Greeting(named="Hallo {first_name},", anonymous="Hallo,"),
    markers=MARKERS,
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return render_workspace(tmp_path_factory.mktemp("compose"))


@pytest.fixture(scope="module")
def settings(workspace: Workspace) -> NewsletterSettings:
    return workspace.settings.newsletter


def compose(settings: NewsletterSettings, recipient: Addressee, **kwargs: str) -> EmailMessage:
    return compose_message(
        EMAIL,
        recipient,
        TOKEN_VALUE,
        settings,
        list_name="mitglieder",
        date=DATE,
        message_id="<test@example.org>",
        **kwargs,
    )


def reparsed(message: EmailMessage) -> EmailMessage:
    parsed = message_from_bytes(message.as_bytes(), policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_greeting_uses_first_name_else_first_word_else_fallback() -> None:
    greeting = EMAIL.greeting
    assert greeting.for_member("Erika", "Erika Mustermann") == "Hallo Erika,"
    assert greeting.for_member("", "Hans Peter Müller") == "Hallo Hans,"
    assert greeting.for_member("", "") == "Hallo,"
    assert greeting.for_member("  ", " ") == "Hallo,"


def test_first_name_drops_control_characters() -> None:
    assert first_name_of("Eri\r\nka", "") == "Eri"
    assert first_name_of("\x00Jo", "") == "Jo"


def test_fill_escapes_html_but_not_text() -> None:
    fields = MemberFields(greeting="Hallo <Jo> & Co,", token="a b/c")
    assert fill_html(EMAIL.html, fields).startswith("<p>Hallo &lt;Jo&gt; &amp; Co,</p>")
    assert "token=a%20b%2Fc" in fill_html(EMAIL.html, fields)
    assert fill_text(EMAIL.text, fields).startswith("Hallo <Jo> & Co,\n")
    assert GREETING not in fill_text(EMAIL.text, fields) and TOKEN not in fill_text(
        EMAIL.text, fields
    )


def test_headers_of_a_member_message(settings: NewsletterSettings) -> None:
    message = reparsed(compose(settings, Addressee("erika@example.org", "Erika Müller")))
    assert message["From"] == "Grüne Musterstadt <newsletter@example.org>"
    assert message["To"] == "Erika Müller <erika@example.org>"
    assert message["Reply-To"] == "kv@example.org"
    assert message["Subject"] == "Newsletter November: Grünkohl"
    assert message["Date"] == "Tue, 03 Nov 2026 08:00:00 +0000"
    assert message["Message-ID"] == "<test@example.org>"
    assert message["List-Id"] == "Grüne Musterstadt <mitglieder.newsletter.example.org>"
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    link = f"https://newsletter.example.org/abmelden?token={TOKEN_VALUE}"
    assert message["List-Unsubscribe"] == (
        f"<{link}>, <mailto:abmelden@example.org?subject=unsubscribe%20{TOKEN_VALUE}>"
    )


def test_umlauts_in_headers_are_encoded_and_list_unsubscribe_is_not(
    settings: NewsletterSettings,
) -> None:
    raw = compose(settings, Addressee("erika@example.org", "Erika Müller")).as_bytes()
    raw.decode("ascii")  # every header and body byte is 7-bit
    headers = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "From: =?utf-8?q?Gr=C3=BCne?= Musterstadt <newsletter@example.org>" in headers
    assert "\r\nList-Unsubscribe: <https://newsletter.example.org/abmelden?token=" in headers
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_multipart_alternative_with_filled_text_and_html(settings: NewsletterSettings) -> None:
    message = reparsed(compose(settings, Addressee("erika@example.org", "Erika Mustermann")))
    assert message.get_content_type() == "multipart/alternative"
    text, html = list(message.iter_parts())
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    fields = MemberFields("Hallo Erika,", TOKEN_VALUE)
    # Sent with CRLF line ends; decoded, the lines are the filled text and HTML.
    assert text.get_content().replace("\r\n", "\n") == fill_text(EMAIL.text, fields)
    assert html.get_content().replace("\r\n", "\n") == fill_html(EMAIL.html, fields)


def test_quoted_printable_lines_stay_within_76(settings: NewsletterSettings) -> None:
    long_email = RenderedEmail(
        EMAIL.subject, "<p>" + "ä" * 500 + "</p>", "x" * 300, EMAIL.greeting, MARKERS
    )
    message = compose_message(
        long_email,
        Addressee("e@example.org"),
        TOKEN_VALUE,
        settings,
        list_name="mitglieder",
        date=DATE,
        message_id="<m@example.org>",
    )
    body = message.as_bytes().split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in body.split(b"\r\n")) <= 76


def test_line_breaks_in_names_never_make_a_header(settings: NewsletterSettings) -> None:
    recipient = Addressee("erika@example.org", "Erika\r\nBcc: evil@example.com")
    message = compose(settings, recipient, subject_prefix="[TEST] \n")
    raw = message.as_bytes()
    assert b"\r\nBcc:" not in raw
    assert reparsed(message)["To"] == '"Erika Bcc: evil@example.com" <erika@example.org>'
    assert reparsed(message)["Subject"] == "[TEST] Newsletter November: Grünkohl"


def test_international_domain_goes_out_as_punycode(settings: NewsletterSettings) -> None:
    message = compose(settings, Addressee("erika@müller.example"))
    assert reparsed(message)["To"] == "erika@xn--mller-kva.example"


def test_non_ascii_local_part_makes_a_utf8_message(settings: NewsletterSettings) -> None:
    ascii_message = compose(settings, Addressee("erika@example.org"))
    assert not needs_smtputf8(ascii_message)
    message = compose(settings, Addressee("jörg@example.org", "Jörg Weiß"))
    assert needs_smtputf8(message)
    assert "To: Jörg Weiß <jörg@example.org>\r\n".encode() in message.as_bytes()


def test_no_mailto_without_unsubscribe_mailto(tmp_path: Path) -> None:
    workspace = render_workspace(tmp_path, ('unsubscribe_mailto = "abmelden@example.org"\n', ""))
    message = compose(workspace.settings.newsletter, Addressee("e@example.org"))
    assert message["List-Unsubscribe"] == (
        f"<https://newsletter.example.org/abmelden?token={TOKEN_VALUE}>"
    )


def test_not_an_address_is_a_delivery_error(settings: NewsletterSettings) -> None:
    with pytest.raises(MessageError, match='"kein-at-zeichen" is not an e-mail address'):
        compose(settings, Addressee("kein-at-zeichen"))


def test_list_id_is_a_dot_atom_under_the_web_host(settings: NewsletterSettings) -> None:
    assert list_id(settings, "Vorstand & Aktive") == "<vorstand-aktive.newsletter.example.org>"


def test_preview_is_for_the_sample_member_with_a_valid_token(workspace: Workspace) -> None:
    from newsletter.members.tokens import verify_token

    email = build_issue(workspace, issue_dir(workspace), KEY).result.email
    preview = message_from_bytes(
        (issue_dir(workspace) / "build" / "preview.eml").read_bytes(), policy=default
    )
    assert isinstance(preview, EmailMessage)
    assert preview["To"] == "Erika Mustermann <erika.mustermann@example.org>"
    token = preview["List-Unsubscribe"].split("token=")[1].split(">")[0]
    assert verify_token(KEY, token) == "Beispiel-Erika-0000000"
    text = preview.get_body(("plain",))
    assert text is not None and isinstance(text, EmailMessage)
    assert text.get_content().startswith("Hallo Erika,\n")
    assert f"abmelden?token={token}" in text.get_content()
    html = preview.get_body(("html",))
    assert html is not None and isinstance(html, EmailMessage)
    filled = email.markers.fill_html(email.html, MemberFields("Hallo Erika,", token))
    assert html.get_content() == filled


def test_load_build_gives_back_what_render_wrote(workspace: Workspace) -> None:
    built = build_issue(workspace, issue_dir(workspace), KEY).result.email
    assert load_build(issue_dir(workspace)) == built


def test_load_build_before_render_says_what_to_run(tmp_path: Path) -> None:
    workspace = render_workspace(tmp_path)
    with pytest.raises(IssueError, match='run "newsletter render 2026-11"'):
        load_build(issue_dir(workspace))
