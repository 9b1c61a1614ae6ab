"""Self-service from the unsubscribe link: choosing the public lists, changing the address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsletter.mailsink import MailSink
from newsletter.workspace import Workspace
from tests.test_signup_flow import Site, consents, start_site, with_signup
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
