"""One-click unsubscribe over real HTTP: the confirmation page, RFC 8058 POSTs, bad links."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from newsletter import store
from newsletter.keys import load_keys
from newsletter.members import manage
from newsletter.members.tokens import new_subscription_id, sign_token
from newsletter.settings import RateWindow
from newsletter.web.config import POST_LIMIT
from newsletter.workspace import Workspace
from tests.web_support import (
    database_rows,
    local_client,
    recipients,
    serving,
    subscribe,
    web_app,
    with_settings,
)

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@dataclass(frozen=True)
class Site:
    workspace: Workspace
    client: httpx.Client
    tokens: dict[str, str]  # anna's token per list

    def post(
        self, token: str, body: dict[str, str] = ONE_CLICK, **options: object
    ) -> httpx.Response:
        return self.client.post("/abmelden", params={"token": token}, data=body, **options)  # type: ignore[arg-type]


@pytest.fixture
def site(workspace: Workspace) -> Iterator[Site]:
    tokens = subscribe(workspace, "anna@example.org", "mitglieder", "aktive")
    subscribe(workspace, "ben@example.org", "mitglieder")
    with serving(web_app(workspace)) as url, local_client(url) as client:
        yield Site(workspace, client, tokens)


def test_the_confirmation_page_offers_both_buttons_and_changes_nothing(site: Site) -> None:
    before = database_rows(site.workspace)
    response = site.client.get("/abmelden", params={"token": site.tokens["mitglieder"]})
    assert response.status_code == 200
    assert '<html lang="de">' in response.text
    assert "Newsletter abbestellen" in response.text
    assert "Von allen Listen abmelden" in response.text
    assert 'name="List-Unsubscribe" value="One-Click"' in response.text
    assert database_rows(site.workspace) == before
    assert "anna@example.org" in recipients(site.workspace)


def test_a_urlencoded_one_click_post_unsubscribes_from_that_list_only(site: Site) -> None:
    response = site.post(site.tokens["mitglieder"])
    assert response.status_code == 200, response.text
    assert response.request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "Du bist abgemeldet" in response.text
    assert recipients(site.workspace) == {"ben@example.org"}
    assert recipients(site.workspace, "aktive") == {"anna@example.org"}


def test_a_multipart_one_click_post_unsubscribes_too(site: Site) -> None:
    response = site.client.post(
        "/abmelden",
        params={"token": site.tokens["mitglieder"]},
        files={"List-Unsubscribe": (None, "One-Click")},
    )
    assert response.request.headers["content-type"].startswith("multipart/form-data")
    assert response.status_code == 200, response.text
    assert recipients(site.workspace) == {"ben@example.org"}


def test_the_answer_is_200_and_never_a_redirect(site: Site) -> None:
    response = site.post(site.tokens["mitglieder"], follow_redirects=False)
    assert response.status_code == 200
    assert "location" not in response.headers


def test_from_all_lists_ends_every_subscription_of_the_member(site: Site) -> None:
    response = site.post(site.tokens["aktive"], {**ONE_CLICK, "scope": "all"})
    assert response.status_code == 200
    assert "keine Newsletter mehr" in response.text
    assert recipients(site.workspace) == {"ben@example.org"}
    assert recipients(site.workspace, "aktive") == set()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), id="signature changed"),
        pytest.param(lambda t: new_subscription_id() + t[22:], id="other subscription"),
        pytest.param(lambda t: t[:30], id="cut short"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: t + "ü", id="non-ascii"),
    ],
)
def test_a_tampered_token_gets_a_clear_400_page_and_changes_nothing(site: Site, tamper) -> None:  # type: ignore[no-untyped-def]
    token = tamper(site.tokens["mitglieder"])
    before = database_rows(site.workspace)
    for response in (site.client.get("/abmelden", params={"token": token}), site.post(token)):
        assert response.status_code == 400
        assert "Dieser Abmeldelink funktioniert nicht" in response.text
        assert "Es wurde nichts geändert" in response.text
    assert database_rows(site.workspace) == before


def test_a_post_without_the_one_click_field_changes_nothing(site: Site) -> None:
    before = database_rows(site.workspace)
    response = site.post(site.tokens["mitglieder"], {"List-Unsubscribe": "Please"})
    assert response.status_code == 400
    assert database_rows(site.workspace) == before


def test_the_same_token_twice_answers_200_and_changes_nothing_more(site: Site) -> None:
    first = site.post(site.tokens["mitglieder"])
    after_first = database_rows(site.workspace)
    second = site.post(site.tokens["mitglieder"])
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.text == first.text
    assert database_rows(site.workspace) == after_first


def test_after_forget_the_link_answers_200_and_changes_nothing(site: Site) -> None:
    with store.open_database(site.workspace.database_path) as db:
        manage.forget_address(db, "anna@example.org")
    before = database_rows(site.workspace)
    response = site.post(site.tokens["mitglieder"])
    assert response.status_code == 200
    assert "Du bist abgemeldet" in response.text
    assert database_rows(site.workspace) == before


def test_nothing_tells_whether_an_address_is_on_a_list(site: Site) -> None:
    """A signed token of a subscription that never existed gets the very same pages."""
    key = load_keys(site.workspace).unsubscribe
    nobody = sign_token(key, new_subscription_id())
    real = site.tokens["mitglieder"]
    page = site.client.get("/abmelden", params={"token": real}).text
    assert site.client.get("/abmelden", params={"token": nobody}).text == page.replace(real, nobody)
    assert site.post(nobody).text == site.post(real).text
    assert "anna" not in page.lower() and "mitglieder" not in page


def test_every_page_carries_the_security_headers(site: Site) -> None:
    for response in (
        site.client.get("/abmelden", params={"token": site.tokens["mitglieder"]}),
        site.client.get("/abmelden"),
        site.client.get("/nirgends"),
        site.post(site.tokens["mitglieder"]),
    ):
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "default-src 'none'" in policy
        assert "http" not in policy  # no other host: no third-party sources
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "server" not in response.headers


def test_the_stylesheet_is_our_own_and_the_page_loads_nothing_else(site: Site) -> None:
    page = site.client.get("/abmelden", params={"token": site.tokens["mitglieder"]}).text
    assert '<link rel="stylesheet" href="/style.css">' in page
    assert "<script" not in page and "<img" not in page
    css = site.client.get("/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "url(" not in css.text and "@import" not in css.text


def test_an_oversized_body_is_refused_and_changes_nothing(site: Site) -> None:
    before = database_rows(site.workspace)
    response = site.post(site.tokens["mitglieder"], {**ONE_CLICK, "padding": "x" * 20_000})
    assert response.status_code == 413
    assert database_rows(site.workspace) == before


def test_a_streamed_oversized_body_is_refused_too(site: Site) -> None:
    def body() -> Iterator[bytes]:  # chunked: no Content-Length to check first
        yield b"List-Unsubscribe=One-Click&padding="
        yield b"x" * 20_000

    response = site.client.post(
        "/abmelden",
        params={"token": site.tokens["mitglieder"]},
        content=body(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413
    assert "anna@example.org" in recipients(site.workspace)


def test_a_file_upload_is_refused(site: Site) -> None:
    response = site.client.post(
        "/abmelden",
        params={"token": site.tokens["mitglieder"]},
        data=ONE_CLICK,
        files={"attachment": ("a.txt", b"hello")},
    )
    assert response.status_code == 400
    assert "anna@example.org" in recipients(site.workspace)


def test_the_default_rate_limit_allows_at_least_ten_posts_a_minute(site: Site) -> None:
    assert POST_LIMIT.per_second * 60 >= 10
    responses = [site.post(site.tokens["mitglieder"]) for _ in range(10)]
    assert [r.status_code for r in responses] == [200] * 10


def forwarded_post(client: httpx.Client, token: str, client_address: str) -> httpx.Response:
    # uvicorn trusts X-Forwarded-For from a proxy on 127.0.0.1, as nginx would be.
    return client.post(
        "/abmelden",
        params={"token": token},
        data=ONE_CLICK,
        headers={"X-Forwarded-For": client_address},
    )


def test_forged_links_are_rate_limited_per_client_behind_the_proxy(workspace: Workspace) -> None:
    token = subscribe(workspace, "anna@example.org", "mitglieder")["mitglieder"]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    app = web_app(workspace, post_limit=RateWindow(3, 60.0))
    with serving(app) as url, local_client(url) as client:
        statuses = [forwarded_post(client, forged, "203.0.113.5").status_code for _ in range(4)]
        assert statuses == [400, 400, 400, 429]
        limited = forwarded_post(client, forged, "203.0.113.5")
        assert int(limited.headers["retry-after"]) > 0
        assert "Zu viele Anfragen" in limited.text
        assert forwarded_post(client, forged, "198.51.100.7").status_code == 400
        confirmation = client.get(
            "/abmelden", params={"token": token}, headers={"X-Forwarded-For": "203.0.113.5"}
        )
        assert confirmation.status_code == 200  # only the POST is limited
        # A real link from the limited client still unsubscribes: never lost to the limit.
        assert forwarded_post(client, token, "203.0.113.5").status_code == 200
    assert recipients(workspace) == set()


@pytest.mark.parametrize("remote", [False, True], ids=["one machine", "web server"])
def test_a_mail_providers_shared_address_never_loses_an_unsubscribe(
    workspace: Workspace, remote: bool
) -> None:
    """After a big send, one provider's relay POSTs the one-clicks of many members."""
    workspace = with_settings(workspace, web_remote=remote)
    addresses = [f"member{n}@example.org" for n in range(12)]
    tokens = [subscribe(workspace, a, "mitglieder")["mitglieder"] for a in addresses]
    app = web_app(workspace, post_limit=RateWindow(3, 60.0))
    with serving(app) as url, local_client(url) as client:
        statuses = [forwarded_post(client, t, "192.0.2.25").status_code for t in tokens]
        repeated = [forwarded_post(client, t, "192.0.2.25").status_code for t in tokens]
    assert statuses == [200] * len(tokens)
    assert repeated == [200] * len(tokens)
    if remote:  # each waits once for sync, however often it was clicked
        events = database_rows(workspace)["web_events"]
        assert sorted(str(row[2]) for row in events) == sorted(t.partition(".")[0] for t in tokens)
    else:
        assert recipients(workspace) == set()


def test_other_methods_are_not_allowed(site: Site) -> None:
    response = site.client.put("/abmelden", params={"token": site.tokens["mitglieder"]})
    assert response.status_code == 405
    assert "anna@example.org" in recipients(site.workspace)


def test_english_pages_with_locale_en(workspace: Workspace) -> None:
    workspace = with_settings(workspace, locale="en")
    token = subscribe(workspace, "anna@example.org", "mitglieder")["mitglieder"]
    with serving(web_app(workspace)) as url, local_client(url) as client:
        page = client.get("/abmelden", params={"token": token})
        done = client.post("/abmelden", params={"token": token}, data=ONE_CLICK)
    assert '<html lang="en">' in page.text and "Unsubscribe from all lists" in page.text
    assert "You are unsubscribed" in done.text
