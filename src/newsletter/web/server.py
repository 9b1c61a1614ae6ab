"""Running the web application with uvicorn, as ``newsletter serve`` and the tests do.

uvicorn reads a request for as long as the client takes: a connection that never
finishes its headers (slow-loris) is held for ever, and uvicorn's concurrency limit
counts it, so a few hundred of them made every other client get 503. ``GuardedH11``
gives each request a deadline for its headers and one for its body, limits the
connections of each client that reaches it directly, and the overall limit is set far
above what real traffic needs. The reverse proxy in front (web-setup.md among the guides) has its
own timeouts and limits; these hold when ``serve`` is reached directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

from newsletter.serving import listen, serve_until_interrupted
from newsletter.web.limits import client_key

# More than this many open connections get 503 at once instead of queueing up. It counts
# connections still being read too (uvicorn's rule), so it is set well above a burst of
# real clicks; the deadlines below free a slow connection's place within seconds.
MAX_CONNECTIONS = 1000
# Open connections of one client that reaches serve directly (a browser opens up to 6);
# the proxy in front (FORWARDED_ALLOW_IPS, 127.0.0.1 by default) limits its own clients.
MAX_PER_CLIENT = 50
# Request line and headers; the bodies have their own limits (limits.py).
MAX_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True)
class ReadDeadlines:
    """Seconds a client has to send a request's headers, then its body.

    The header deadline runs from the connection (or the previous response) on, the body
    deadline from the end of the headers: each for the whole part, not per read, so a
    byte every second does not keep a connection. 60 s is 8 MB (the largest body, a
    pushed archive page) at about 1 Mbit/s.
    """

    headers: float = 10.0
    body: float = 60.0


DEADLINES = ReadDeadlines()


_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 19\r\nConnection: close\r\n\r\nRequest not in time"
)


class Proxies:
    """The addresses uvicorn takes X-Forwarded-For from (its ``forwarded_allow_ips``)."""

    def __init__(self, allowed: list[str] | str) -> None:
        entries = allowed.split(",") if isinstance(allowed, str) else allowed
        self.networks = []
        self.anyone = False
        for entry in (e.strip() for e in entries):
            if entry == "*":
                self.anyone = True
            with contextlib.suppress(ValueError):  # a name or a socket path: not a peer
                self.networks.append(ipaddress.ip_network(entry, strict=False))

    def __contains__(self, host: str) -> bool:
        if self.anyone:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with read deadlines (see ``ReadDeadlines``) and a limit
    of connections per client that reaches it directly.

    It watches h11's view of the client after each event: IDLE is "reading headers",
    SEND_BODY "reading the body"; any other state needs no deadline.
    """

    deadlines: ClassVar[ReadDeadlines] = DEADLINES
    # Per server (guarded_protocol): open connections per direct client (limits.client_key).
    open_per_client: ClassVar[Counter[str]] = Counter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._reading: object = None  # h11's state of the client when last looked
        self._counted_as: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = self.client[0] if self.client else ""
        if peer not in Proxies(self.config.forwarded_allow_ips):
            self._counted_as = client_key(peer)
            self.open_per_client[self._counted_as] += 1
            if self.open_per_client[self._counted_as] > MAX_PER_CLIENT:
                # uvicorn answers the request with 503 as over its own limit.
                self.limit_concurrency = 0
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        if self._counted_as is not None:
            self.open_per_client[self._counted_as] -= 1
            if self.open_per_client[self._counted_as] <= 0:
                del self.open_per_client[self._counted_as]
            self._counted_as = None
        super().connection_lost(exc)

    def _watch(self) -> None:
        state = self.conn.their_state
        if state is self._reading:
            return
        self._stop()
        self._reading = state
        seconds = {h11.IDLE: self.deadlines.headers, h11.SEND_BODY: self.deadlines.body}.get(state)
        if seconds is not None and not self.transport.is_closing():
            self._deadline = self.loop.call_later(seconds, self._too_late)

    def _stop(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_late(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._reading is h11.SEND_BODY:
            if self.cycle.response_started:
                # Answered before its body came (413): only the rest of the body was
                # still awaited, and there is nothing more to say.
                self.transport.close()
                return
            # The app waits for the body: it sees a disconnect and answers nobody.
            self.cycle.disconnected = True
        self.transport.write(_TIMED_OUT)
        self.transport.close()


def guarded_protocol(deadlines: ReadDeadlines) -> type[GuardedH11]:
    return type("GuardedH11", (GuardedH11,), {"deadlines": deadlines, "open_per_client": Counter()})


def direct_reach_warning(host: str) -> str | None:
    """What ``serve`` says when it listens where clients reach it without the web server
    in front; None on a loopback address (the set-up web-setup.md describes)."""
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a name: it may be anything
    return (
        f"Listening on {host}, where clients reach serve directly: it ends requests whose "
        f"headers take over {DEADLINES.headers:.0f} s or body over {DEADLINES.body:.0f} s "
        f"and allows {MAX_PER_CLIENT} connections per client, but members' links need "
        'HTTPS from a web server in front (see web-setup.md; "newsletter docs" shows where)'
    )


def bind(host: str, port: int) -> socket.socket:
    return listen(host, port, "is another server using that port? choose another with --port")


def make_server(app: Starlette, deadlines: ReadDeadlines = DEADLINES) -> uvicorn.Server:
    # No access log: every unsubscribe address holds a member's token. Behind a reverse
    # proxy on this machine uvicorn takes the client's address from X-Forwarded-For
    # (FORWARDED_ALLOW_IPS names other proxies), which the rate limit counts by.
    config = uvicorn.Config(
        app,
        http=guarded_protocol(deadlines),
        ws="none",  # no WebSockets: an upgrade request is an ordinary request
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=True,
        server_header=False,
        limit_concurrency=MAX_CONNECTIONS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
    return uvicorn.Server(config)


def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve until Ctrl-C, then return. SIGTERM (a service manager) also shuts down
    gracefully; uvicorn then ends the process with that signal, as such managers expect."""
    serve_until_interrupted(make_server(app), sock)
