"""The double opt-in over real HTTP with a real SMTP server (aiosmtpd): sign-up, the
mail, the link's page, the confirmation, and the limits around it."""

from __future__ import annotations

import email
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, Message
from email.policy import default
from urllib.parse import urlsplit

import httpx
import pytest

from newsletter import store
from newsletter.mailsink import MailSink
from newsletter.members import manage
from newsletter.settings import RateWindow
from newsletter.signup.service import purge_regularly
from newsletter.store import signups
from newsletter.store.signup_records import ConsentDetails, Request, RequestKind
from newsletter.web.app import create_app
from newsletter.web.config import web_config
from newsletter.workspace import Workspace
from tests.conftest import CliRun
from tests.web_support import NOW, local_client, recipients, serving, subscribe, with_settings

SIGNUP = "/anmelden"


def with_signup(
    workspace: Workspace, sink: MailSink, lists: str = '["newsletter"]', extra: str = ""
) -> Workspace:
    """[signup] on, and [smtp] pointing at the test's mail sink."""
    path = workspace.settings_file
    text = re.sub(r"\[smtp\]\n(.*\n)*?\n", "", path.read_text(encoding="utf-8") + "\n")
    text += (
        f'\n[smtp]\nhost = "127.0.0.1"\nport = {sink.port}\nsecurity = "none"\n'
        f"\n[signup]\nlists = {lists}\n{extra}"
    )
    path.write_text(text, encoding="utf-8")
    return Workspace(workspace.root)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Site:
    workspace: Workspace
    sink: MailSink
    client: httpx.Client
    clock: Clock

    def sign_up(self, address: str, **fields: str | list[str]) -> httpx.Response:
        return self.client.post(SIGNUP, data={"email": address, **fields})

    def mails(self, count: int) -> list[EmailMessage]:
        """The first ``count`` mails received, waiting for the server's background work."""
        deadline = time.monotonic() + 10
        while len(self.sink.received) < count:
            assert time.monotonic() < deadline, f"{len(self.sink.received)} mails, not {count}"
            time.sleep(0.02)
        parsed = [email.message_from_bytes(m.data, policy=default) for m in self.sink.received]
        assert all(isinstance(m, EmailMessage) for m in parsed)
        return [m for m in parsed[:count] if isinstance(m, EmailMessage)]

    def settled(self) -> None:
        """Background work of the answers so far is done (one more request is answered
        after it: the server runs one task at a time per connection)."""
        self.client.get("/style.css")
        time.sleep(0.2)

    def link_of(self, message: Message) -> str:
        text = text_part(message)
        found = re.search(r"https?://\S+/anmelden/bestaetigen\?token=\S+", text)
        assert found, text
        parts = urlsplit(found.group(0))
        return f"{parts.path}?{parts.query}"


def text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode("utf-8")
    raise AssertionError("no text part")


def start_site(workspace: Workspace, sink: MailSink, **changes: object) -> Iterator[Site]:
    clock = Clock()
    config = replace(web_config(workspace), **changes)  # type: ignore[arg-type]
    with serving(create_app(config, clock)) as url, local_client(url) as client:
        yield Site(workspace, sink, client, clock)


@pytest.fixture
def site(workspace: Workspace, mail_sink: MailSink) -> Iterator[Site]:
    yield from start_site(with_signup(workspace, mail_sink), mail_sink)


def consents(workspace: Workspace, address: str) -> list[ConsentDetails]:
    with store.open_database(workspace.database_path) as db:
        member = store.find_member(db, address)
        return signups.consent_details(db, member.id) if member else []


def waiting(workspace: Workspace) -> list[tuple[object, ...]]:
    with store.open_database(workspace.database_path) as db:
        return db.execute("SELECT * FROM signup_requests ORDER BY id").fetchall()


def test_sign_up_mail_get_changes_nothing_post_confirms_and_the_next_send_reaches_them(
    site: Site,
) -> None:
    page = site.client.get(SIGNUP)
    assert page.status_code == 200
    assert "Ja, ich möchte den Newsletter von Grüne Musterstadt" in page.text
    assert 'name="website"' in page.text and "https://www.example.org/datenschutz" in page.text

    answer = site.sign_up("Nora@Example.org", first_name="Nora")
    assert answer.status_code == 200
    assert "bitte schau in dein Postfach" in answer.text

    [mail] = site.mails(1)
    assert mail["To"] == "nora@example.org"
    assert mail["From"] == "Grüne Musterstadt <newsletter@example.org>"
    assert mail["List-Unsubscribe"] is None  # a request, not a newsletter
    body = text_part(mail)
    assert body.startswith("Hallo Nora,")
    assert "Musterstraße 1, 12345 Musterstadt" in body and "/impressum" in body
    link = site.link_of(mail)
    before = waiting(site.workspace)

    shown = site.client.get(link)
    assert shown.status_code == 200 and '<form method="post"' in shown.text
    assert waiting(site.workspace) == before  # a link scanner's GET changes nothing
    assert consents(site.workspace, "nora@example.org") == []

    confirmed = site.client.post(link)
    assert confirmed.status_code == 200 and "Danke, bestätigt" in confirmed.text

    [record] = consents(site.workspace, "nora@example.org")
    assert (record.list_name, record.status, record.basis) == (
        "newsletter",
        "subscribed",
        "consent",
    )
    assert (record.method, record.source, record.ip) == ("double_opt_in", "web form", "127.0.0.1")
    assert record.text and record.text.startswith("Ja, ich möchte den Newsletter")
    assert record.text_version and len(record.text_version) == 16
    assert record.requested_at == NOW and record.confirmed_at == NOW
    assert recipients(site.workspace, "newsletter") == {"nora@example.org"}
    assert waiting(site.workspace) == []  # applied on this machine: nothing kept

    again = site.client.post(link)  # the same link twice: the same page, nothing more
    assert again.content == confirmed.content
    assert consents(site.workspace, "nora@example.org") == [record]


def _prepare_the_four_kinds(workspace: Workspace) -> None:
    subscribe(workspace, "mitglied@example.org", "mitglieder")
    subscribe(workspace, "abo@example.org", "newsletter")
    subscribe(workspace, "weg@example.org", "newsletter")
    subscribe(workspace, "vergessen@example.org", "newsletter")
    with store.open_database(workspace.database_path) as db:
        manage.unsubscribe_address(db, "weg@example.org")
        manage.forget_address(db, "vergessen@example.org")


def test_new_subscribed_unsubscribed_and_forgotten_addresses_get_byte_identical_answers(
    site: Site,
) -> None:
    _prepare_the_four_kinds(site.workspace)
    answers = [
        site.sign_up(address)
        for address in (
            "neu@example.org", "abo@example.org", "weg@example.org", "vergessen@example.org"
        )
    ]  # fmt: skip
    first = answers[0]
    for answer in answers:
        assert answer.status_code == first.status_code == 200
        assert answer.content == first.content
        assert dict(answer.headers) | {"date": ""} == dict(first.headers) | {"date": ""}
    # Each of them gets the same mail: the work after the answer is the same too.
    assert len(site.mails(4)) == 4


def test_an_unsubscribed_or_forgotten_address_comes_back_only_by_confirming(site: Site) -> None:
    _prepare_the_four_kinds(site.workspace)
    site.sign_up("vergessen@example.org")
    site.sign_up("weg@example.org")
    mails = site.mails(2)
    assert recipients(site.workspace, "newsletter") == {"abo@example.org"}
    for mail in mails:
        assert site.client.post(site.link_of(mail)).status_code == 200
    assert recipients(site.workspace, "newsletter") == {
        "abo@example.org", "weg@example.org", "vergessen@example.org"
    }  # fmt: skip
    [record] = consents(site.workspace, "vergessen@example.org")
    assert record.source == "web form" and record.confirmed_at == NOW
    # Consent to the public list is not consent to the others: they stay suppressed.
    with store.open_database(site.workspace.database_path) as db:
        kept = {
            (s.list_name, s.reason.value)
            for s in store.suppressions_of(db, "vergessen@example.org")
        }
    assert kept == {("mitglieder", "forgotten")}


def test_one_confirmation_mail_per_address_per_24_hours(site: Site) -> None:
    site.sign_up("nora@example.org")
    site.mails(1)
    site.sign_up("NORA@example.org")
    site.settled()
    assert len(site.sink.received) == 1
    site.clock.now = NOW + timedelta(hours=24, seconds=1)
    site.sign_up("nora@example.org")
    assert len(site.mails(2)) == 2


def test_a_client_past_its_limit_gets_429_and_nothing_is_mailed(
    workspace: Workspace, mail_sink: MailSink
) -> None:
    limited = RateWindow(3, 3600.0)
    for site in start_site(with_signup(workspace, mail_sink), mail_sink, signup_limit=limited):
        answers = [site.sign_up(f"p{n}@example.org").status_code for n in range(4)]
        assert answers == [200, 200, 200, 429]
        site.mails(3)
        site.settled()
        assert len(mail_sink.received) == 3


def test_a_filled_honeypot_gets_the_same_page_and_nothing_happens(site: Site) -> None:
    robot = site.sign_up("robot@example.org", website="https://spam.example")
    person = site.sign_up("person@example.org")
    assert robot.content == person.content
    [mail] = site.mails(1)
    site.settled()
    assert len(site.sink.received) == 1 and mail["To"] == "person@example.org"
    assert all("robot@" not in str(row) for row in waiting(site.workspace))


def test_an_unconfirmed_sign_up_is_gone_after_7_days(site: Site) -> None:
    site.sign_up("spaet@example.org")
    link = site.link_of(site.mails(1)[0])
    assert len(waiting(site.workspace)) == 1
    site.clock.now = NOW + timedelta(days=7)
    assert site.client.get(link).status_code == 400
    assert site.client.post(link).status_code == 400
    site.settled()
    assert waiting(site.workspace) == []
    assert consents(site.workspace, "spaet@example.org") == []


def test_a_bad_address_or_no_list_is_shown_on_the_form(
    workspace: Workspace, mail_sink: MailSink
) -> None:
    lists = '["newsletter", "termine"]'
    for site in start_site(with_signup(workspace, mail_sink, lists), mail_sink):
        form = site.client.get(SIGNUP).text
        assert form.count('type="checkbox" name="lists"') == 2
        bad = site.sign_up("kein-at-zeichen", lists=["newsletter"])
        assert bad.status_code == 400 and "können wir nicht verwenden" in bad.text
        none = site.sign_up("nora@example.org")
        assert none.status_code == 400 and "mindestens einen" in none.text
        chosen = site.sign_up("nora@example.org", lists=["termine"])
        assert chosen.status_code == 200
        assert site.client.post(site.link_of(site.mails(1)[0])).status_code == 200
        assert recipients(site.workspace, "termine") == {"nora@example.org"}
        assert consents(site.workspace, "nora@example.org")[0].list_name == "termine"


def test_forget_erases_a_sign_up_waiting_for_its_link(site: Site, cli: CliRun) -> None:
    site.sign_up("nora@example.org")
    site.mails(1)
    assert len(waiting(site.workspace)) == 1
    result = cli("members", "forget", "nora@example.org")
    assert result.exit_code == 0, result.output
    assert waiting(site.workspace) == []


def test_a_quiet_server_erases_expired_sign_ups_too(
    workspace: Workspace, mail_sink: MailSink
) -> None:
    service = web_config(with_signup(workspace, mail_sink)).signup
    assert service is not None
    old = datetime.now(UTC) - timedelta(days=7, minutes=1)
    with store.open_database(workspace.database_path) as db:
        signups.insert_request(
            db,
            Request(
                "o" * 22,
                RequestKind.SIGNUP,
                "alt@example.org",
                "",
                ("newsletter",),
                None,
                service.consent,
                old,
            ),
        )
    thread, stop = purge_regularly(service, every=0.05)
    try:
        deadline = time.monotonic() + 10
        while waiting(workspace):
            assert time.monotonic() < deadline, "the expired sign-up is still stored"
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_the_confirmation_mail_is_the_request_only_and_loads_nothing(site: Site) -> None:
    site.sign_up("nora@example.org")
    [mail] = site.mails(1)
    assert mail["Subject"] == "Bitte bestätige deine Anmeldung"
    html_part = mail.get_body(("html",))
    assert html_part is not None
    document = html_part.get_content()
    assert "<img" not in document and " src=" not in document and "@import" not in document
    links = set(re.findall(r'href="([^"]*)"', document))
    assert links == {
        "https://www.example.org/impressum",
        "https://www.example.org/datenschutz",
        "https://newsletter.example.org" + site.link_of(mail),
    }


def test_with_welcome_on_a_confirmed_sign_up_gets_a_welcome_mail(
    workspace: Workspace, mail_sink: MailSink
) -> None:
    for site in start_site(with_signup(workspace, mail_sink, extra="welcome = true\n"), mail_sink):
        site.sign_up("nora@example.org", first_name="Nora")
        site.client.post(site.link_of(site.mails(1)[0]))
        welcome = site.mails(2)[1]
        assert welcome["Subject"] == "Willkommen beim Newsletter von Grüne Musterstadt"
        assert text_part(welcome).startswith("Hallo Nora,\r\n\r\ndeine Anmeldung ist bestätigt.")


def test_in_english_the_form_and_the_mail_are_english(
    workspace: Workspace, mail_sink: MailSink
) -> None:
    english = with_signup(with_settings(workspace, locale="en"), mail_sink)
    for site in start_site(english, mail_sink):
        form = site.client.get(SIGNUP).text
        assert '<html lang="en">' in form
        assert "Yes, I want to receive the newsletter of Grüne Musterstadt" in form
        assert "please check your inbox" in site.sign_up("nora@example.org").text
        [mail] = site.mails(1)
        assert mail["Subject"] == "Please confirm your sign-up"
        assert text_part(mail).startswith("Hello,\r\n\r\nsomeone")
        assert "Confirm now" in site.client.get(site.link_of(mail)).text


def test_without_signup_there_is_no_form_and_the_unsubscribe_page_is_as_before(
    workspace: Workspace,
) -> None:
    token = subscribe(workspace, "anna@example.org", "mitglieder")["mitglieder"]
    config = web_config(workspace)
    assert config.signup is None
    with serving(create_app(config)) as url, local_client(url) as client:
        assert client.get(SIGNUP).status_code == 404
        assert client.post(SIGNUP, data={"email": "x@example.org"}).status_code == 404
        page = client.get("/abmelden", params={"token": token}).text
        assert 'name="lists"' not in page and "/abmelden/adresse" not in page
