"""Office PC + web server (web_remote = true): two workspaces, a real server, real sync."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from newsletter import store
from newsletter.errors import WebError
from newsletter.members.tokens import new_subscription_id
from newsletter.render.build import load_build
from newsletter.store.events import EventKind, WebEvent
from newsletter.store.syncstate import last_sync, record_sync, require_recent_sync
from newsletter.web.archive import public_html
from newsletter.web.config import web_config
from newsletter.web.protocol import ACK_PATH
from newsletter.web.secret import sync_secret
from newsletter.web.sync import run_sync, sync_client
from newsletter.workspace import Workspace
from tests.conftest import CliRun
from tests.web_support import (
    NOW,
    database_rows,
    local_client,
    mark_sent,
    new_workspace,
    recipients,
    render_sample,
    serving,
    subscribe,
    web_app,
    with_settings,
)

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


@dataclass(frozen=True)
class Pair:
    office: Workspace
    server: Workspace
    url: str
    tokens: dict[str, str]  # anna's, per list
    client: httpx.Client  # a member's browser, or their mail provider

    def click(self, token: str, **extra: str) -> None:
        response = self.client.post(
            "/abmelden", params={"token": token}, data={**ONE_CLICK, **extra}
        )
        assert response.status_code == 200, response.text


def set_up_pair(office: Workspace, server_root: Path, **settings: bool) -> Iterator[Pair]:
    office = with_settings(office, web_remote=True, **settings)
    server = with_settings(new_workspace(server_root), web_remote=True, **settings)
    # The one setup step of docs/web-setup.md: the office's keys go to the server.
    shutil.copyfile(office.secrets_file, server.secrets_file)
    tokens = subscribe(office, "anna@example.org", "mitglieder", "aktive")
    subscribe(office, "ben@example.org", "mitglieder")
    with serving(web_app(server)) as url, local_client(url) as client:
        yield Pair(with_settings(office, web_url=url), server, url, tokens, client)


@pytest.fixture
def pair(workspace: Workspace, tmp_path: Path) -> Iterator[Pair]:
    yield from set_up_pair(workspace, tmp_path / "server")


def test_an_unsubscribe_on_the_server_stops_the_offices_next_send(pair: Pair, cli: CliRun) -> None:
    pair.click(pair.tokens["mitglieder"])
    pair.click(pair.tokens["mitglieder"])  # clicked twice: still one event
    assert len(database_rows(pair.server)["web_events"]) == 1
    assert recipients(pair.office) == {"anna@example.org", "ben@example.org"}

    result = cli("sync")

    assert result.exit_code == 0, result.output
    assert "1 unsubscribe brought in (1 ended a subscription)" in result.stdout
    assert recipients(pair.office) == {"ben@example.org"}
    assert recipients(pair.office, "aktive") == {"anna@example.org"}
    assert database_rows(pair.server)["web_events"] == []  # acknowledged, so forgotten
    require_recent_sync(pair.office, last_sync(pair.office) or NOW)


def test_from_all_lists_reaches_the_office_too(pair: Pair, cli: CliRun) -> None:
    pair.click(pair.tokens["aktive"], scope="all")
    assert cli("sync").exit_code == 0
    assert recipients(pair.office) == {"ben@example.org"}
    assert recipients(pair.office, "aktive") == set()


class LostAcknowledgement(httpx.HTTPTransport):
    """The line goes dead at the acknowledgement, before or after the server got it."""

    def __init__(self, server_got_it: bool) -> None:
        super().__init__()
        self.server_got_it = server_got_it

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != ACK_PATH:
            return super().handle_request(request)
        if self.server_got_it:
            super().handle_request(request)
        raise httpx.ReadTimeout("the connection went dead", request=request)


@pytest.mark.parametrize("server_got_it", [False, True], ids=["ack lost", "answer lost"])
def test_an_interrupted_sync_loses_nothing_and_applies_each_event_once(
    pair: Pair, server_got_it: bool
) -> None:
    pair.click(pair.tokens["mitglieder"])
    settings = pair.office.settings.newsletter
    secret = sync_secret(pair.office)

    with (
        sync_client(settings, secret, LostAcknowledgement(server_got_it)) as client,
        pytest.raises(WebError, match="nothing was lost"),
    ):
        run_sync(pair.office, client)

    assert last_sync(pair.office) is None  # send still insists on a sync
    assert recipients(pair.office) == {"ben@example.org"}
    applied = database_rows(pair.office)
    assert len(database_rows(pair.server)["web_events"]) == (0 if server_got_it else 1)

    with sync_client(settings, secret) as client:
        report = run_sync(pair.office, client)

    assert (report.events, report.applied) == ((0, 0) if server_got_it else (1, 0))
    assert database_rows(pair.office) == applied  # nothing applied twice
    assert database_rows(pair.server)["web_events"] == []
    assert last_sync(pair.office) is not None
    assert recipients(pair.office) == {"ben@example.org"}


def test_many_events_come_in_batches(pair: Pair) -> None:
    pair.click(pair.tokens["mitglieder"])
    with store.open_database(pair.server.database_path) as db:
        for _ in range(4):  # links of members the office has since forgotten
            store.record_web_event(
                db, WebEvent.new(EventKind.UNSUBSCRIBE, new_subscription_id(), NOW)
            )
    with sync_client(pair.office.settings.newsletter, sync_secret(pair.office)) as client:
        report = run_sync(pair.office, client, batch=2)
    assert (report.events, report.applied, report.ended) == (5, 5, 1)
    assert database_rows(pair.server)["web_events"] == []
    assert recipients(pair.office) == {"ben@example.org"}


def test_a_server_that_cannot_be_reached_loses_nothing(pair: Pair, cli: CliRun) -> None:
    pair.click(pair.tokens["mitglieder"])
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}"
    with_settings(pair.office, web_url=nowhere)  # the web server is down

    result = cli("sync")
    assert result.exit_code == 1
    assert "cannot reach the web server" in result.stderr and "nothing was lost" in result.stderr
    assert len(database_rows(pair.server)["web_events"]) == 1
    assert recipients(pair.office) == {"anna@example.org", "ben@example.org"}
    assert last_sync(pair.office) is None


def test_a_wrong_sync_secret_is_refused(pair: Pair, cli: CliRun) -> None:
    pair.click(pair.tokens["mitglieder"])
    result = cli("sync", env={"NEWSLETTER_SYNC_SECRET": "x" * 64})
    assert result.exit_code == 1
    assert "refused the sync secret" in result.stderr
    assert len(database_rows(pair.server)["web_events"]) == 1


def test_the_sync_endpoints_need_the_secret(pair: Pair) -> None:
    for method, path in (("GET", "/sync/events"), ("POST", "/sync/ack"), ("GET", "/sync/archive")):
        response = pair.client.request(method, path, headers={"Authorization": "Bearer no"})
        assert response.status_code == 401, path
        assert response.json() == {"error": "wrong sync secret"}


def test_the_server_takes_only_well_formed_archive_pages(pair: Pair) -> None:
    secret = {"Authorization": f"Bearer {sync_secret(pair.office)}"}
    page = {"slug": "2026-11", "subject": "S", "sent_at": NOW.isoformat(), "html": "<p>x</p>"}
    for slug, body in (
        ("2026-11", {**page, "sent_at": "gestern"}),
        ("2026-11", {**page, "slug": "..%2F2026-11"}),
        ("other", page),
    ):
        response = pair.client.put(f"/sync/archive/{slug}", json=body, headers=secret)
        assert response.status_code == 400, (slug, body)
    bad_json = pair.client.put("/sync/archive/2026-11", content=b"{", headers=secret)
    assert bad_json.status_code == 400
    assert pair.client.get("/sync/archive", headers=secret).json() == {"pages": {}}


def test_sync_needs_https_except_to_this_machine(workspace: Workspace) -> None:
    plain = with_settings(workspace, web_url="http://newsletter.example.org").settings.newsletter
    with pytest.raises(WebError, match="needs https"):
        sync_client(plain, "s" * 64)
    secure = with_settings(workspace, web_url="https://newsletter.example.org").settings.newsletter
    sync_client(secure, "s" * 64).close()


def test_sync_on_one_machine_says_there_is_nothing_to_sync(cli: CliRun) -> None:
    result = cli("sync")
    assert result.exit_code == 1
    assert "nothing to sync" in result.stderr


def test_a_web_server_without_the_offices_keys_refuses_to_start(tmp_path: Path) -> None:
    server = with_settings(new_workspace(tmp_path / "server"), web_remote=True)
    server.secrets_file.unlink()
    with pytest.raises(WebError, match=r"copy secrets\.toml from the office"):
        web_config(server, environ={})


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_sample(tmp_path_factory.mktemp("render"), archive=True)


@pytest.fixture
def archive_pair(workspace: Workspace, tmp_path: Path) -> Iterator[Pair]:
    yield from set_up_pair(workspace, tmp_path / "server", archive=True)


def test_sync_pushes_the_archive_and_takes_it_back_when_it_is_off(
    archive_pair: Pair, rendered: Path, cli: CliRun
) -> None:
    pair = archive_pair
    mark_sent(pair.office, rendered, "2026-11")
    page = "/archiv/2026-11"
    assert pair.client.get(page).status_code == 404

    assert "1 page pushed, 0 removed" in cli("sync").stdout
    response = pair.client.get(page)
    assert response.status_code == 200
    assert response.text == public_html(load_build(rendered))
    assert "0 pages pushed, 0 removed" in cli("sync").stdout

    with_settings(pair.office, archive=False)
    assert "0 pages pushed, 1 removed" in cli("sync").stdout
    assert pair.client.get(page).status_code == 404


def test_send_wants_a_sync_from_the_last_ten_minutes(workspace: Workspace) -> None:
    require_recent_sync(workspace, NOW)  # web_remote = false: nothing to check
    remote = with_settings(workspace, web_remote=True)
    with pytest.raises(WebError, match="never"):
        require_recent_sync(remote, NOW)
    record_sync(remote, NOW)
    require_recent_sync(remote, NOW + timedelta(minutes=9, seconds=59))
    with pytest.raises(WebError, match=r"11 minutes ago.*--offline"):
        require_recent_sync(remote, NOW + timedelta(minutes=11))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 200_000, id="200,000 deep"),
        pytest.param(
            b'{"ids": ' + b"[" * 2_000 + b"]" * 2_000 + b"}", id="2,000 deep, well formed"
        ),
    ],
)
def test_deeply_nested_json_is_a_clear_400_not_a_500(pair: Pair, body: bytes) -> None:
    pair.click(pair.tokens["mitglieder"])
    before = database_rows(pair.server)
    secret = {"Authorization": f"Bearer {sync_secret(pair.office)}"}
    for method, path in (("POST", "/sync/ack"), ("PUT", "/sync/archive/2026-11")):
        response = pair.client.request(method, path, content=body, headers=secret)
        assert response.status_code == 400, (path, response.text[:200])
        assert "nested" in response.json()["error"]
    assert database_rows(pair.server) == before


def test_brackets_inside_json_strings_are_text_not_nesting(pair: Pair) -> None:
    secret = {"Authorization": f"Bearer {sync_secret(pair.office)}"}
    deep_looking = "[{" * 50_000 + '\\""'
    response = pair.client.post("/sync/ack", json={"ids": [deep_looking]}, headers=secret)
    assert response.status_code == 200, response.text[:200]
    page = {"slug": "2026-11", "subject": "[[[", "sent_at": NOW.isoformat(), "html": "{" * 9_000}
    response = pair.client.put("/sync/archive/2026-11", json=page, headers=secret)
    assert response.status_code == 200, response.text[:200]


@pytest.mark.parametrize("limit", ["²", "٣", "0", "501", "-1", "1e3", ""])
def test_an_odd_events_limit_is_a_400(pair: Pair, limit: str) -> None:
    secret = {"Authorization": f"Bearer {sync_secret(pair.office)}"}
    response = pair.client.get("/sync/events", params={"limit": limit}, headers=secret)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "limit must be from 1 to 500"}
