"""The preview's web server: a Starlette app on 127.0.0.1, run by uvicorn.

Routes: ``/`` the page, ``/email`` the last good email (shown in the page's frames),
``/version`` the build number the page polls, ``/static/`` its script and styles.
Nothing on the page comes from elsewhere (Content-Security-Policy); the email may
load images and fonts from the office's own hosts only, as render's warnings demand.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from newsletter.preview.live import LiveBuild
from newsletter.preview.page import page_html
from newsletter.serving import listen, port_of, serve_until_interrupted

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

HOST = "127.0.0.1"

_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "frame-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def _host_source(host: str) -> str:
    """A CSP source for ``host`` on any port: render's warnings judge hosts, not ports,
    so an image from the site at :8080 must show here as it does in the email."""
    return f"[{host}]:*" if ":" in host else f"{host}:*"


def _email_policy(hosts: frozenset[str]) -> str:
    own = [_host_source(host) for host in sorted(hosts)]
    images = " ".join(["data:", *own])
    fonts = " ".join(own) or "'none'"
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src {images}; font-src {fonts}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    )


def _headers(policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


def create_app(live: LiveBuild, slug: str) -> Starlette:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.responses import HTMLResponse, PlainTextResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    # Plain (not async) endpoints: Starlette runs them in a thread, where a rebuild
    # may take its half second without holding up the server.
    def page(request: Request) -> Response:
        return HTMLResponse(page_html(slug, live.current()), headers=_headers(_PAGE_POLICY))

    def email(request: Request) -> Response:
        content = live.current().content
        if content is None:
            return PlainTextResponse("Not rendered yet.", 404, headers=_headers(_PAGE_POLICY))
        return HTMLResponse(content.html, headers=_headers(_email_policy(content.own_hosts)))

    def version(request: Request) -> Response:
        return PlainTextResponse(str(live.current().version), headers=_headers(_PAGE_POLICY))

    return Starlette(
        routes=[
            Route("/", page),
            Route("/email", email),
            Route("/version", version),
            Mount("/static", StaticFiles(packages=[("newsletter.preview", "static")])),
        ],
        # Another website cannot reach this server through DNS tricks (rebinding).
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=[HOST, "localhost"])],
    )


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1; port 0 picks a free one."""
    return listen(
        HOST, port, "choose another port with --port, or leave --port out to get a free one"
    )


def url_of(sock: socket.socket) -> str:
    return f"http://{HOST}:{port_of(sock)}/"


def make_server(app: Starlette) -> uvicorn.Server:
    import uvicorn

    # Quiet: the command prints its own lines; requests are the page polling.
    return uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )


def serve(app: Starlette, sock: socket.socket) -> None:
    """Serve until Ctrl-C, then return normally."""
    serve_until_interrupted(make_server(app), sock)
