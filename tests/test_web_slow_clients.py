"""Clients that never finish a request (slow-loris), over real sockets on 127.0.0.1.

`serve` gives each request a deadline for its headers and one for its body, and the
connections still being read do not count against the limit that answers 503.
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from newsletter.web.server import MAX_CONNECTIONS, MAX_PER_CLIENT, ReadDeadlines
from newsletter.workspace import Workspace
from tests.web_support import local_client, recipients, serving, subscribe, web_app

SHORT = ReadDeadlines(headers=1.0, body=1.0)
PARTIAL_HEADERS = b"GET /abmelden HTTP/1.1\r\nHost: newsletter.example.org\r\nUser-Agent: slow"


def address(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").partition(":")
    return host, int(port)


@contextmanager
def slow_clients(
    url: str, count: int, start: bytes = PARTIAL_HEADERS, source: str = "127.0.0.1"
) -> Iterator[list[socket.socket]]:
    """``count`` connections from ``source`` that each send ``start`` and then nothing more."""
    with ExitStack() as stack:
        sockets = []
        for _ in range(count):
            sock = stack.enter_context(
                socket.create_connection(address(url), timeout=10, source_address=(source, 0))
            )
            sock.sendall(start)
            sockets.append(sock)
        time.sleep(0.3)  # the server has accepted them all
        yield sockets


def closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sent before it closed ``sock``; fails if it is still open then."""
    sock.settimeout(seconds)
    received = b""
    deadline = time.monotonic() + seconds
    while chunk := sock.recv(4096):
        received += chunk
        assert time.monotonic() < deadline, "the server kept the connection open"
    return received


def test_slow_loris_connections_leave_everyone_else_served(workspace: Workspace) -> None:
    token = subscribe(workspace, "anna@example.org", "mitglieder")["mitglieder"]
    with serving(web_app(workspace)) as url, slow_clients(url, 205):
        with local_client(url) as client:
            started = time.monotonic()
            page = client.get("/abmelden", params={"token": token}, timeout=5)
            done = client.post(
                "/abmelden", params={"token": token}, data={"List-Unsubscribe": "One-Click"}
            )
        assert page.status_code == 200 and done.status_code == 200, page.text[:200]
        assert time.monotonic() - started < 2
    assert recipients(workspace) == set()
    assert MAX_CONNECTIONS > 205


def test_headers_not_finished_in_time_end_the_connection(workspace: Workspace) -> None:
    with serving(web_app(workspace), SHORT) as url, slow_clients(url, 3) as sockets:
        for sock in sockets:
            assert closed_within(sock, SHORT.headers + 2).startswith(b"HTTP/1.1 408 ")


def test_the_header_deadline_is_for_the_whole_header_not_each_read(workspace: Workspace) -> None:
    with (
        serving(web_app(workspace), SHORT) as url,
        socket.create_connection(address(url), timeout=10) as sock,
    ):
        started = time.monotonic()
        try:
            for byte in PARTIAL_HEADERS * 10:  # a byte every 0.1 s: never idle for long
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
        except OSError:
            pass  # the server closed it: what the test wants
        assert closed_within(sock, 2).startswith(b"HTTP/1.1 408 ")
        assert time.monotonic() - started < SHORT.headers + 2


def test_a_body_not_finished_in_time_ends_the_connection_and_changes_nothing(
    workspace: Workspace,
) -> None:
    token = subscribe(workspace, "anna@example.org", "mitglieder")["mitglieder"]
    body = b"List-Unsubscribe=One-Click"
    head = (
        f"POST /abmelden?token={token} HTTP/1.1\r\nHost: newsletter.example.org\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body) + 10}\r\n\r\n"
    ).encode()
    with (
        serving(web_app(workspace), SHORT) as url,
        slow_clients(url, 2, head + body) as sockets,
    ):
        for sock in sockets:
            assert closed_within(sock, SHORT.body + 2).startswith(b"HTTP/1.1 408 ")
    assert recipients(workspace) == {"anna@example.org"}


def test_a_kept_alive_connection_gets_the_deadline_for_its_next_request(
    workspace: Workspace,
) -> None:
    with (
        serving(web_app(workspace), SHORT) as url,
        socket.create_connection(address(url), timeout=10) as sock,
    ):
        sock.sendall(b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n" + PARTIAL_HEADERS)
        received = closed_within(sock, SHORT.headers + 2)
    assert received.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 408 " in received


def test_a_normal_request_is_not_cut_by_the_deadlines(workspace: Workspace) -> None:
    token = subscribe(workspace, "anna@example.org", "mitglieder")["mitglieder"]
    with serving(web_app(workspace), SHORT) as url, local_client(url) as client:
        for _ in range(3):
            assert client.get("/abmelden", params={"token": token}).status_code == 200
            time.sleep(0.5)  # within keep-alive; the deadline starts again each request
        done = client.post(
            "/abmelden", params={"token": token}, data={"List-Unsubscribe": "One-Click"}
        )
    assert done.status_code == 200
    assert recipients(workspace) == set()


def get_from(url: str, source: str) -> bytes:
    """A whole GET from the address ``source``: the status line of the answer."""
    with socket.create_connection(address(url), timeout=10, source_address=(source, 0)) as sock:
        sock.sendall(b"GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return closed_within(sock, 5).split(b"\r\n", 1)[0]


@pytest.mark.skipif(sys.platform != "linux", reason="127.0.0.2 is a local address on Linux")
def test_one_direct_client_cannot_hold_every_connection(workspace: Workspace) -> None:
    """Reached directly (not from the proxy on 127.0.0.1), a client gets MAX_PER_CLIENT."""
    with (
        serving(web_app(workspace), SHORT) as url,
        slow_clients(url, MAX_PER_CLIENT, source="127.0.0.2"),
    ):
        assert get_from(url, "127.0.0.2") == b"HTTP/1.1 503 Service Unavailable"
        assert get_from(url, "127.0.0.3") == b"HTTP/1.1 200 OK"  # another client
        assert get_from(url, "127.0.0.1") == b"HTTP/1.1 200 OK"  # the proxy is not limited
        time.sleep(SHORT.headers + 0.5)  # the slow ones are gone: the client may again
        assert get_from(url, "127.0.0.2") == b"HTTP/1.1 200 OK"


def test_a_request_answered_before_its_body_gets_no_second_answer(workspace: Workspace) -> None:
    token = subscribe(workspace, "anna@example.org", "mitglieder")["mitglieder"]
    head = (
        f"POST /abmelden?token={token} HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20000\r\n\r\n"
    ).encode()
    with serving(web_app(workspace), SHORT) as url, slow_clients(url, 1, head) as (sock,):
        received = closed_within(sock, SHORT.body + 2)
    assert received.startswith(b"HTTP/1.1 413 ")  # too long: refused before it came
    assert b" 408 " not in received
    assert recipients(workspace) == {"anna@example.org"}
