"""Limits that keep one client from filling the disk or the database: request body size
and a per-client rate of unsubscribe POSTs."""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_BODY_LIMIT = 16 * 1024  # an unsubscribe form is a few dozen bytes
SYNC_BODY_LIMIT = 8 * 1024 * 1024  # an archive page pushed by sync (an email is ~100 KB)


class BodyLimit:
    """Answers 413 when a body is longer than ``limit_for(path)``, declared or streamed."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        received = 0

        # Checked when the route reads the body: a route that reads none is not bothered,
        # and the 413 is answered by the app's own error page.
        async def limited_receive() -> Message:
            nonlocal received
            if not declared.isdigit() or int(declared) > limit:
                raise HTTPException(413)
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413)
            return message

        await self.app(scope, limited_receive, send)


def client_key(host: str) -> str:
    """Who counts as one client: an IPv4 address, or an IPv6 /64 (one household's
    network hands out a whole /64, so single IPv6 addresses would not limit anyone)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass
class RateLimiter:
    """At most ``count`` requests per client in any ``seconds``-long window.

    Used from the event loop only, so no lock. Remembers at most ``max_clients``
    clients; the one seen longest ago is dropped first.
    """

    count: int
    seconds: float
    clock: Callable[[], float] = time.monotonic
    max_clients: int = 10_000
    _hits: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict, repr=False)

    def wait(self, client: str) -> float:
        """0 when the request may go ahead (and is counted), else seconds until it may."""
        now = self.clock()
        hits = self._hits.pop(client, None) or deque()
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        self._hits[client] = hits
        if len(self._hits) > self.max_clients:
            self._hits.popitem(last=False)
        if len(hits) >= self.count:
            return hits[0] + self.seconds - now
        hits.append(now)
        return 0.0
