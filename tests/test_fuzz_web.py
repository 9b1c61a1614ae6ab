"""Fuzz the web side: every answer is a proper page (2xx, 3xx or 4xx, never 500, never a
traceback), within a time budget, and a refused request changes nothing in the database.

Most requests go to the Starlette app in-process (quick); a few go over real HTTP to the
server `serve` runs, as raw bytes, so uvicorn's parsing and the read deadlines are in it.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from newsletter.keys import load_keys
from newsletter.members.tokens import sign_token
from newsletter.web.secret import sync_secret
from newsletter.web.server import ReadDeadlines
from newsletter.workspace import Workspace
from tests.fuzz_support import Budget, outcome
from tests.web_support import (
    database_rows,
    mark_sent,
    new_workspace,
    render_sample,
    serving,
    subscribe,
    web_app,
    with_settings,
)

pytestmark = pytest.mark.fuzz

BUDGET = Budget(seconds=3.0, megabytes=100.0)
SLUG = "2026-11"


@dataclass(frozen=True)
class Site:
    workspace: Workspace
    app: Starlette
    tokens: list[str]  # real links of members
    secret: str  # the sync secret (web server only)

    def token(self, kind: str) -> str:
        """A real token, a forged one (signed with another key), or ``kind`` itself."""
        if kind == "REAL":
            return self.tokens[0]
        if kind == "FORGED":
            return sign_token(b"k" * 32, self.tokens[0].partition(".")[0])
        return kind


def _site(root: Path, rendered: Path, remote: bool) -> Site:
    workspace = with_settings(new_workspace(root), archive=True, web_remote=remote)
    tokens = [subscribe(workspace, f"m{n}@example.org", "mitglieder")["mitglieder"] for n in (1, 2)]
    mark_sent(workspace, rendered, SLUG)
    secret = sync_secret(workspace) if remote else ""
    return Site(workspace, web_app(workspace), tokens, secret)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_sample(tmp_path_factory.mktemp("render"), archive=True)


@pytest.fixture(scope="module")
def one_machine(tmp_path_factory: pytest.TempPathFactory, rendered: Path) -> Site:
    return _site(tmp_path_factory.mktemp("one"), rendered, remote=False)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory, rendered: Path) -> Site:
    site = _site(tmp_path_factory.mktemp("server"), rendered, remote=True)
    load_keys(site.workspace)  # the keys exist: web_remote needs the office's file
    return site


def ask(app: Starlette, method: str, path: str, **options: object) -> httpx.Response:
    """One request to the app in-process, as uvicorn would hand it over."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(
            app=app, raise_app_exceptions=False, client=("192.0.2.1", 40000)
        )
        async with httpx.AsyncClient(
            transport=transport, base_url="http://newsletter.example.org"
        ) as client:
            return await client.request(method, path, **options)  # type: ignore[arg-type]

    return asyncio.run(go())


def check(site: Site, call: Callable[[], httpx.Response]) -> httpx.Response:
    """Run the request in the budget; a proper answer, and a refusal changed nothing."""
    before = database_rows(site.workspace)
    response = outcome(call, BUDGET)
    assert isinstance(response, httpx.Response)
    event(f"status {response.status_code}")  # --hypothesis-show-statistics shows the mix
    assert 200 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        assert database_rows(site.workspace) == before
    return response


# ------------------------------------------------------------------ what requests are made of

printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
anything = st.text(max_size=60)
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
PATHS = st.one_of(
    st.sampled_from(
        [
            "/abmelden",
            "/abmelden/",
            "/archiv",
            "/archiv/",
            f"/archiv/{SLUG}",
            "/archiv/..",
            "/archiv/%2e%2e%2fnewsletter.db",
            "/archiv/" + "a" * 300,
            "/style.css",
            "/",
            "//abmelden",
            "/sync/events",
            "/sync/ack",
            "/sync/archive",
            f"/sync/archive/{SLUG}",
            "/sync/archive/..%2F..%2Fsecrets",
            "/%00",
        ]
    ),
    printable.map(lambda text: "/" + text.lstrip("/")),
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=xyz",
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded; charset=utf-16",
        "",
    ]
)
FIELD_NAMES = st.one_of(st.sampled_from(["List-Unsubscribe", "scope", "token"]), anything)
FIELD_VALUES = st.one_of(st.sampled_from(["One-Click", "all", "one-click ", ""]), anything)
ONE_CLICK = ("List-Unsubscribe", "One-Click")
# Half of the forms end with the one-click field (of two fields of one name the last
# counts; more than 8 fields are refused), so real unsubscribes are made too.
FIELDS = st.tuples(st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES), max_size=9), st.booleans()).map(
    lambda drawn: [*drawn[0], ONE_CLICK] if drawn[1] else drawn[0]
)
TOKENS = st.one_of(st.sampled_from(["REAL", "REAL", "FORGED", ""]), anything)


@st.composite
def multipart(draw: st.DrawFn) -> tuple[str, bytes]:
    """A multipart body, well formed or not: fields, files, odd boundaries, cut short."""
    boundary = draw(st.text(st.sampled_from("abcXYZ0123-_'()+,./:=?"), min_size=1, max_size=72))
    parts = []
    for name, value in draw(FIELDS):
        filename = draw(st.none() | st.just("a.txt"))
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        parts.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n".encode(
                "utf-8", "surrogatepass"
            )
        )
    body = b"".join(parts) + (f"--{boundary}--\r\n".encode() if draw(st.booleans()) else b"")
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]
    return f"multipart/form-data; boundary={boundary}", body


def urlencoded(fields: list[tuple[str, str]]) -> tuple[str, bytes]:
    text = urlencode(
        [
            (n.encode("utf-8", "surrogatepass"), v.encode("utf-8", "surrogatepass"))
            for n, v in fields
        ]
    )
    return "application/x-www-form-urlencoded", text.encode()


BODIES = st.one_of(
    FIELDS.map(urlencoded),
    multipart(),
    st.tuples(CONTENT_TYPES, st.binary(max_size=2_000)),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | anything,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(anything, inner, max_size=5),
    max_leaves=30,
)
HEADERS = st.dictionaries(
    st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-"), min_size=1, max_size=20).filter(
        lambda name: name not in ("content-length", "transfer-encoding", "host")
    ),
    printable,
    max_size=4,
)


# ------------------------------------------------------------------------------ the tests


@given(token=TOKENS, body=BODIES, scope_all=st.booleans())
def test_unsubscribe_posts(
    one_machine: Site, token: str, body: tuple[str, bytes], scope_all: bool
) -> None:
    content_type, content = body
    params = {"token": one_machine.token(token)}
    if scope_all:
        params["scope"] = "all"
    check(
        one_machine,
        lambda: ask(
            one_machine.app,
            "POST",
            "/abmelden",
            params=params,
            content=content,
            headers={"Content-Type": content_type},
        ),
    )


@given(method=METHODS, path=PATHS, token=TOKENS, headers=HEADERS, body=BODIES)
def test_any_request_to_the_one_machine_site(
    one_machine: Site,
    method: str,
    path: str,
    token: str,
    headers: dict[str, str],
    body: tuple[str, bytes],
) -> None:
    content_type, content = body
    response = check(
        one_machine,
        lambda: ask(
            one_machine.app,
            method,
            path,
            params={"token": one_machine.token(token)},
            content=content,
            headers={**headers, "Content-Type": content_type},
        ),
    )
    if method == "GET" and path == "/abmelden" and token in ("REAL", "FORGED"):
        assert response.status_code == (200 if token == "REAL" else 400)


SYNC_CALLS = st.one_of(
    st.sampled_from(
        [
            ("GET", "/sync/events"),
            ("POST", "/sync/ack"),
            ("GET", "/sync/archive"),
            ("PUT", f"/sync/archive/{SLUG}"),
            ("PUT", "/sync/archive/other"),
            ("DELETE", "/sync/archive/other"),
        ]
    ),
    st.tuples(METHODS, PATHS),
)


@given(
    call=SYNC_CALLS,
    authorised=st.sampled_from([True, True, True, False]),
    limit=st.one_of(st.none(), st.integers(-10, 10_000).map(str)),
    body=st.one_of(
        JSON.map(lambda data: json.dumps(data).encode()),
        st.fixed_dictionaries({"ids": st.lists(anything, max_size=600)}).map(
            lambda data: json.dumps(data).encode()
        ),
        st.integers(1, 100_000).map(lambda depth: b"[" * depth + b"]" * depth),
        st.binary(max_size=2_000),
    ),
)
def test_the_sync_endpoints(
    web_server: Site,
    call: tuple[str, str],
    authorised: bool,
    limit: str | None,
    body: bytes,
) -> None:
    method, path = call
    headers = {"Authorization": f"Bearer {web_server.secret if authorised else 'wrong'}"}
    params = {} if limit is None else {"limit": limit}
    response = check(
        web_server,
        lambda: ask(web_server.app, method, path, params=params, content=body, headers=headers),
    )
    if path.startswith("/sync/") and response.status_code >= 400 and method != "HEAD":
        assert "error" in response.json()  # the sync client reads JSON, even for errors


# ------------------------------------------------------------------------- over real HTTP


@pytest.fixture(scope="module")
def live(web_server: Site) -> Iterator[tuple[str, int]]:
    with serving(web_server.app, ReadDeadlines(headers=1.0, body=1.0)) as url:
        host, _, port = url.removeprefix("http://").partition(":")
        yield host, int(port)


def raw_exchange(where: tuple[str, int], request: bytes) -> bytes:
    """Send ``request`` as it is, then read until the server closes the connection."""
    with socket.create_connection(where, timeout=5) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


HEADER_LINES = st.lists(
    st.one_of(
        st.tuples(printable, printable).map(lambda pair: f"{pair[0]}: {pair[1]}"),
        st.sampled_from(
            [
                "Content-Length: 5",
                "Content-Length: -1",
                "Content-Length: 99999999999999999999",
                "Transfer-Encoding: chunked",
                "Content-Type: multipart/form-data; boundary=a",
                "Expect: 100-continue",
                "X-Forwarded-For: ::1, 203.0.113.7",
                "Connection: upgrade",
                "Upgrade: websocket",
            ]
        ),
    ),
    max_size=6,
)


@settings(max_examples=25)
@given(
    # Mostly well-formed request lines, so most requests reach the app.
    method=st.one_of(METHODS, METHODS, st.text(st.sampled_from("ABCGPTX \t"), max_size=8)),
    target=st.one_of(PATHS, PATHS, printable),
    version=st.sampled_from(["HTTP/1.1"] * 6 + ["HTTP/1.0", "HTTP/2", "", "HTTP/1.1 extra"]),
    lines=HEADER_LINES,
    body=st.binary(max_size=300),
)
def test_raw_requests_over_real_http(
    web_server: Site,
    live: tuple[str, int],
    method: str,
    target: str,
    version: str,
    lines: list[str],
    body: bytes,
) -> None:
    head = "\r\n".join([f"{method} {target} {version}", "Host: x", *lines, "Connection: close"])
    request = head.encode() + b"\r\n\r\n" + body
    before = database_rows(web_server.workspace)
    received = outcome(lambda: raw_exchange(live, request), BUDGET)
    assert isinstance(received, bytes)
    if not received:  # the server closed a request it could not read
        event("closed without an answer")
    else:
        status_line = received.split(b"\r\n", 1)[0]
        assert status_line.startswith(b"HTTP/1.1 "), status_line
        status = int(status_line.split()[1])
        event(f"status {status}")
        assert 200 <= status < 500, received[:300]
        assert b"Traceback" not in received
    assert database_rows(web_server.workspace) == before


@given(
    limit=st.one_of(
        anything,
        st.integers(-10, 10_000).map(str),
        st.sampled_from(["²", "٣", "0", "501", "1e3", " 5", "5 "]),  # isdigit() but not int()
    )
)
def test_the_events_limit(web_server: Site, limit: str) -> None:
    headers = {"Authorization": f"Bearer {web_server.secret}"}
    response = check(
        web_server,
        lambda: ask(
            web_server.app, "GET", "/sync/events", params={"limit": limit}, headers=headers
        ),
    )
    assert response.status_code == (
        200 if limit.isascii() and limit.isdigit() and 0 < int(limit) <= 500 else 400
    )
