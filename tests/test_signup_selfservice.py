"""Self-service from the unsubscribe link: choosing the public lists, changing the address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsletter.mailsink import MailSink
from newsletter.workspace import Workspace
from tests.test_signup_flow import Site, consents, start_site, text_part, with_signup
from tests.web_support import database_rows, recipients, subscribe


@pytest.fixture
def site(workspace: Workspace, mail_sink: MailSink) -> Iterator[Site]:
    ws = with_signup(workspace, mail_sink, '["newsletter", "termine"]')
    yield from start_site(ws, mail_sink)


def test_the_unsubscribe_page_offers_the_public_lists_and_saves_a_choice(site: Site) -> None:
    token = subscribe(site.workspace, "anna@example.org", "newsletter", "mitglieder")["newsletter"]
    page = site.client.get("/abmelden", params={"token": token}).text
    assert '<input type="checkbox" name="lists" value="newsletter" checked>' in page
    assert '<input type="checkbox" name="lists" value="termine">' in page
    assert 'value="mitglieder"' not in page  # the members' list is not the public's to choose
    title = page.split("<title>")[1].split("</title>")[0]
    assert "<" not in title and title.count("lists") == 0  # the forms are in the body only

    saved = site.client.post(
        "/abmelden/auswahl", params={"token": token}, data={"lists": "termine"}
    )

    assert saved.status_code == 200 and "Gespeichert" in saved.text
    assert recipients(site.workspace, "newsletter") == set()
    assert recipients(site.workspace, "termine") == {"anna@example.org"}
    assert recipients(site.workspace, "mitglieder") == {"anna@example.org"}
    termine = next(
        c for c in consents(site.workspace, "anna@example.org") if c.list_name == "termine"
    )
    assert (termine.basis, termine.source, termine.ip) == (
        "consent",
        "preferences page",
        "127.0.0.1",
    )
    assert termine.text and termine.text_version


def test_a_forged_link_changes_no_choice(site: Site) -> None:
    subscribe(site.workspace, "anna@example.org", "newsletter")
    before = database_rows(site.workspace)
    answer = site.client.post(
        "/abmelden/auswahl", params={"token": "x.y"}, data={"lists": "termine"}
    )
    assert answer.status_code == 400
    assert database_rows(site.workspace) == before


def test_a_new_address_is_confirmed_by_a_link_sent_to_it_before_anything_changes(
    site: Site,
) -> None:
    token = subscribe(site.workspace, "anna@example.org", "newsletter")["newsletter"]
    asked = site.client.post(
        "/abmelden/adresse", params={"token": token}, data={"email": "Anna.Neu@Example.org"}
    )
    assert asked.status_code == 200 and "neue Adresse" in asked.text

    [mail] = site.mails(1)
    assert mail["To"] == "anna.neu@example.org"
    link = site.link_of(mail)
    assert site.client.get(link).status_code == 200
    assert recipients(site.workspace, "newsletter") == {"anna@example.org"}  # not yet

    assert site.client.post(link).status_code == 200

    assert recipients(site.workspace, "newsletter") == {"anna.neu@example.org"}
    assert consents(site.workspace, "anna@example.org") == []
    assert [c.list_name for c in consents(site.workspace, "anna.neu@example.org")] == ["newsletter"]
    # The old link still names the same subscription, now at the new address.
    assert site.client.get("/abmelden", params={"token": token}).status_code == 200


def test_a_confirmed_address_change_is_told_to_the_old_address(site: Site) -> None:
    """Whoever holds a forwarded newsletter holds its link: the old address must learn of a
    change it did not make, without advertising, with the new address only hinted at."""
    token = subscribe(site.workspace, "anna@example.org", "newsletter")["newsletter"]
    site.client.post("/abmelden/adresse", params={"token": token}, data={"email": "x@evil.example"})
    [ask] = site.mails(1)
    assert site.client.post(site.link_of(ask)).status_code == 200

    notice = site.mails(2)[1]

    assert notice["To"] == "anna@example.org"
    assert notice["From"] == "Grüne Musterstadt <newsletter@example.org>"
    assert notice["Reply-To"] == "kv@example.org"
    assert notice["List-Unsubscribe"] is None
    body = text_part(notice)
    assert "x***@evil.example" in body and "x@evil.example" not in body
    assert "Grüne Musterstadt" in body and "26. November 2026" in body
    assert "kv@example.org" in body  # whom to tell if it was not them
    assert "https://www.example.org/impressum" in body
    assert "/anmelden/bestaetigen" not in body and "/abmelden" not in body
    html = next(p for p in notice.walk() if p.get_content_type() == "text/html")
    assert "x***@evil.example" in html.get_content()
    assert recipients(site.workspace, "newsletter") == {"x@evil.example"}


def test_an_address_change_to_a_taken_address_answers_and_mails_like_any_other(
    site: Site,
) -> None:
    """The requester cannot learn that berta@ is a member, and Berta gets only what an
    unknown address would get: the confirmation mail, and the same page when she confirms."""
    anna = subscribe(site.workspace, "anna@example.org", "newsletter")["newsletter"]
    dora = subscribe(site.workspace, "dora@example.org", "newsletter")["newsletter"]
    subscribe(site.workspace, "berta@example.org", "newsletter")

    taken = site.client.post(
        "/abmelden/adresse", params={"token": anna}, data={"email": "berta@example.org"}
    )
    free = site.client.post(
        "/abmelden/adresse", params={"token": dora}, data={"email": "carla@example.org"}
    )

    assert (taken.status_code, taken.content) == (free.status_code, free.content)
    assert [(k, v) for k, v in taken.headers.items() if k != "date"] == [
        (k, v) for k, v in free.headers.items() if k != "date"
    ]
    to_berta, to_carla = sorted(site.mails(2), key=lambda m: str(m["To"]))
    assert (to_berta["To"], to_carla["To"]) == ("berta@example.org", "carla@example.org")
    assert to_berta["Subject"] == to_carla["Subject"]
    assert text_part(to_berta).replace(site.link_of(to_berta), "") == text_part(to_carla).replace(
        site.link_of(to_carla), ""
    )

    confirmed_taken = site.client.post(site.link_of(to_berta))
    confirmed_free = site.client.post(site.link_of(to_carla))

    assert confirmed_taken.content == confirmed_free.content
    notice = site.mails(3)[2]
    assert notice["To"] == "dora@example.org"  # the one change that happened
    site.settled()
    assert len(site.sink.received) == 3  # nothing to Anna, nothing more to Berta
    assert recipients(site.workspace, "newsletter") == {
        "anna@example.org",
        "berta@example.org",
        "carla@example.org",
    }
