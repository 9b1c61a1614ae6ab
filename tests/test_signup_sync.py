"""Sign-ups with the web side on a server of its own (web_remote = true): they wait on
the server until `newsletter sync` has applied them, then the server forgets them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from newsletter import store
from newsletter.errors import WebError
from newsletter.mailsink import MailSink
from newsletter.signup.apply import apply_request
from newsletter.store import signups
from newsletter.web.secret import sync_secret
from newsletter.web.sync import run_sync, sync_client
from newsletter.workspace import Workspace
from tests.conftest import CliRun
from tests.test_signup_flow import Site, consents, start_site, text_part, waiting, with_signup
from tests.test_web_sync import LostAcknowledgement
from tests.web_support import (
    NOW,
    database_rows,
    new_workspace,
    recipients,
    subscribe,
    with_settings,
)


@dataclass(frozen=True)
class Pair:
    office: Workspace
    server: Workspace
    site: Site  # the server's web side, and a browser on it


def make_pair(
    workspace: Workspace, tmp_path: Path, mail_sink: MailSink, lists: str = '["newsletter"]'
) -> Iterator[Pair]:
    office = with_signup(with_settings(workspace, web_remote=True), mail_sink, lists)
    server = with_signup(
        with_settings(new_workspace(tmp_path / "server"), web_remote=True), mail_sink, lists
    )
    shutil.copyfile(office.secrets_file, server.secrets_file)
    for site in start_site(server, mail_sink):
        url = str(site.client.base_url).rstrip("/")
        yield Pair(with_settings(office, web_url=url), server, site)


@pytest.fixture
def pair(workspace: Workspace, tmp_path: Path, mail_sink: MailSink) -> Iterator[Pair]:
    yield from make_pair(workspace, tmp_path, mail_sink)


@pytest.fixture
def pair_of_two(workspace: Workspace, tmp_path: Path, mail_sink: MailSink) -> Iterator[Pair]:
    yield from make_pair(workspace, tmp_path, mail_sink, '["newsletter", "termine"]')


def confirmed_on_the_server(pair: Pair, address: str) -> None:
    pair.site.sign_up(address, first_name="Nora")
    [mail] = pair.site.mails(1)
    assert pair.site.client.post(pair.site.link_of(mail)).status_code == 200


def test_a_confirmed_sign_up_waits_on_the_server_until_sync_applies_it(
    pair: Pair, cli: CliRun
) -> None:
    confirmed_on_the_server(pair, "nora@example.org")
    [kept] = waiting(pair.server)
    assert "nora@example.org" in kept and "127.0.0.1" in kept
    assert consents(pair.office, "nora@example.org") == []

    result = cli("sync")

    assert result.exit_code == 0, result.output
    assert "1 sign-up and self-service change applied" in result.stdout
    [record] = consents(pair.office, "nora@example.org")
    assert (record.list_name, record.status, record.basis) == (
        "newsletter",
        "subscribed",
        "consent",
    )
    assert (record.source, record.ip, record.confirmed_at) == ("web form", "127.0.0.1", NOW)
    assert recipients(pair.office, "newsletter") == {"nora@example.org"}
    assert waiting(pair.server) == []  # acknowledged, so the server forgot the person


@pytest.mark.parametrize("server_got_it", [False, True], ids=["ack lost", "answer lost"])
def test_an_interrupted_sync_loses_no_sign_up_and_applies_it_once(
    pair: Pair, server_got_it: bool
) -> None:
    confirmed_on_the_server(pair, "nora@example.org")
    settings = pair.office.settings.newsletter
    secret = sync_secret(pair.office)
    with (
        sync_client(settings, secret, LostAcknowledgement(server_got_it)) as client,
        pytest.raises(WebError, match="nothing was lost"),
    ):
        run_sync(pair.office, client)
    applied = database_rows(pair.office)
    assert len(waiting(pair.server)) == (0 if server_got_it else 1)

    with sync_client(settings, secret) as client:
        report = run_sync(pair.office, client)

    assert report.signups == 0  # pulled again, perhaps, but applied before
    assert database_rows(pair.office) == applied
    assert waiting(pair.server) == []
    assert recipients(pair.office, "newsletter") == {"nora@example.org"}


def test_a_sign_up_applied_twice_changes_nothing(pair: Pair) -> None:
    confirmed_on_the_server(pair, "nora@example.org")
    with store.open_database(pair.server.database_path) as db:
        [request] = signups.confirmed_requests(db, 10)
    with store.open_database(pair.office.database_path) as db:
        assert apply_request(db, request, ("newsletter",), NOW) is True
        once = database_rows(pair.office)
        assert apply_request(db, request, ("newsletter",), NOW) is False
    assert database_rows(pair.office) == once


def test_a_sign_up_for_a_list_the_office_did_not_open_is_not_applied(pair: Pair) -> None:
    confirmed_on_the_server(pair, "nora@example.org")
    with store.open_database(pair.server.database_path) as db:
        [request] = signups.confirmed_requests(db, 10)
    forged = replace(request, lists=("mitglieder",))
    with store.open_database(pair.office.database_path) as db:
        assert apply_request(db, forged, ("newsletter",), NOW) is False
    assert consents(pair.office, "nora@example.org") == []


def test_preferences_and_a_new_address_on_the_server_reach_the_office(
    pair: Pair, cli: CliRun
) -> None:
    token = subscribe(pair.office, "anna@example.org", "newsletter")["newsletter"]
    page = pair.site.client.get("/abmelden", params={"token": token}).text
    # The server has no members: it cannot know the choice, so it asks per list.
    assert 'name="list:newsletter" value="keep" checked' in page
    asked = pair.site.client.post(
        "/abmelden/adresse", params={"token": token}, data={"email": "anna.neu@example.org"}
    )
    assert asked.status_code == 200
    [mail] = pair.site.mails(1)
    assert pair.site.client.post(pair.site.link_of(mail)).status_code == 200
    chosen = pair.site.client.post(
        "/abmelden/auswahl", params={"token": token}, data={"list:newsletter": "end"}
    )
    assert chosen.status_code == 200
    assert recipients(pair.office, "newsletter") == {"anna@example.org"}

    result = cli("sync")

    assert result.exit_code == 0, result.output
    assert "2 sign-ups and self-service changes applied" in result.stdout
    assert recipients(pair.office, "newsletter") == set()  # the choice: no public list
    assert [c.status for c in consents(pair.office, "anna.neu@example.org")] == ["unsubscribed"]
    assert waiting(pair.server) == []


def test_the_office_tells_the_old_address_of_a_change_made_on_the_server(
    pair: Pair, cli: CliRun
) -> None:
    """Only the office knows the old address: it sends the notice when sync applies it."""
    token = subscribe(pair.office, "anna@example.org", "newsletter")["newsletter"]
    pair.site.client.post(
        "/abmelden/adresse", params={"token": token}, data={"email": "x@evil.example"}
    )
    [ask] = pair.site.mails(1)
    assert pair.site.client.post(pair.site.link_of(ask)).status_code == 200
    assert len(pair.site.sink.received) == 1  # the server cannot know whom to tell

    assert cli("sync").exit_code == 0

    notice = pair.site.mails(2)[1]
    assert notice["To"] == "anna@example.org"
    assert "x***@evil.example" in text_part(notice)
    assert recipients(pair.office, "newsletter") == {"x@evil.example"}
    assert cli("sync").exit_code == 0  # nothing new: nobody is told twice
    assert len(pair.site.sink.received) == 2


def test_on_a_web_server_a_member_who_adds_a_list_keeps_the_others(
    pair_of_two: Pair, cli: CliRun
) -> None:
    """The server cannot show which lists a member has: unticked must not mean "end"."""
    pair = pair_of_two
    token = subscribe(pair.office, "anna@example.org", "newsletter")["newsletter"]
    page = pair.site.client.get("/abmelden", params={"token": token}).text
    for name in ("newsletter", "termine"):
        assert f'name="list:{name}" value="keep" checked' in page
        assert f'name="list:{name}" value="start">' in page
        assert f'name="list:{name}" value="end">' in page

    def choose(**fields: str) -> None:
        data = {f"list:{name}": value for name, value in fields.items()}
        answer = pair.site.client.post("/abmelden/auswahl", params={"token": token}, data=data)
        assert answer.status_code == 200
        assert cli("sync").exit_code == 0

    choose(termine="start", newsletter="keep")
    assert recipients(pair.office, "newsletter") == {"anna@example.org"}
    assert recipients(pair.office, "termine") == {"anna@example.org"}

    choose()  # nothing chosen: nothing changes
    assert recipients(pair.office, "newsletter") == {"anna@example.org"}
    assert recipients(pair.office, "termine") == {"anna@example.org"}

    choose(newsletter="end")
    assert recipients(pair.office, "newsletter") == set()
    assert recipients(pair.office, "termine") == {"anna@example.org"}


def test_on_a_web_server_the_old_checkbox_form_only_adds(pair_of_two: Pair, cli: CliRun) -> None:
    """A page from before (or a workspace's own old template) posts ticked boxes: on the
    server they can only start lists, never end the unticked ones."""
    token = subscribe(pair_of_two.office, "anna@example.org", "newsletter")["newsletter"]
    answer = pair_of_two.site.client.post(
        "/abmelden/auswahl", params={"token": token}, data={"lists": "termine"}
    )
    assert answer.status_code == 200
    assert cli("sync").exit_code == 0
    assert recipients(pair_of_two.office, "newsletter") == {"anna@example.org"}
    assert recipients(pair_of_two.office, "termine") == {"anna@example.org"}
