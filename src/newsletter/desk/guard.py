"""Who may drive the desk: the browser that opened the printed link, and nobody else.

Every request passes here before any page or action sees it:
- the Host header must name this server (127.0.0.1:PORT or localhost:PORT), else 400,
  so a web page cannot reach it through a name it rebinds to 127.0.0.1;
- the first visit with ``?token=`` sets an HttpOnly SameSite=Strict cookie and redirects
  to the same address without the token; without that cookie every answer is 403;
- a request that may change something (anything but GET and HEAD) must come from a page
  of this server (Origin), else 403. The form's CSRF token is checked by ``actions``
  (it is in the body, which this guard does not read).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN_PARAMETER = "token"  # noqa: S105 (the query parameter's name)
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class DeskKeys:
    """The secrets of one start of the desk: the link's token and the forms' CSRF token."""

    port: int
    token: str
    csrf: str

    @classmethod
    def new(cls, port: int) -> DeskKeys:
        return cls(port, secrets.token_urlsafe(32), secrets.token_urlsafe(32))

    @property
    def cookie(self) -> str:
        # Cookies do not tell ports apart: two desks on one machine need two names.
        return f"newsletter-desk-{self.port}"

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    def link(self) -> str:
        return f"http://127.0.0.1:{self.port}/?{urlencode({TOKEN_PARAMETER: self.token})}"

    def csrf_matches(self, given: object) -> bool:
        return isinstance(given, str) and hmac.compare_digest(given, self.csrf)


Refusal = Callable[[Request, int], Awaitable[Response]]


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class Guard:
    """ASGI middleware applying the rules above; ``refuse`` renders the refusal page."""

    def __init__(self, app: ASGIApp, keys: DeskKeys, refuse: Refusal) -> None:
        self.app = app
        self.keys = keys
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        response = await self._check(request)
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    async def _check(self, request: Request) -> Response | None:
        host = request.headers.get("host", "")
        if host not in self.keys.hosts:
            return await self.refuse(request, 400)
        given = request.query_params.get(TOKEN_PARAMETER)
        if given is not None and request.method in SAFE_METHODS:
            if not _same(given, self.keys.token):
                return await self.refuse(request, 403)
            return self._welcome(request)
        if not _same(request.cookies.get(self.keys.cookie), self.keys.token):
            return await self.refuse(request, 403)
        if request.method not in SAFE_METHODS and request.headers.get("origin") != f"http://{host}":
            return await self.refuse(request, 403)
        return None

    def _welcome(self, request: Request) -> Response:
        """The link's visit: the cookie, and the address without the token in it."""
        query = [(k, v) for k, v in request.query_params.multi_items() if k != TOKEN_PARAMETER]
        clean = URL(path=request.url.path, query=urlencode(query))
        response = RedirectResponse(str(clean), status_code=303)
        response.set_cookie(
            self.keys.cookie,
            self.keys.token,
            httponly=True,
            samesite="strict",
            path="/",
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
