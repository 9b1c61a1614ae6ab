"""Security headers on every response of the web side.

Our own pages load nothing but our own stylesheet; an archive page (the email as a web
page) also needs its inline styles and the images from the office's own hosts. No page
may be framed, and no request from it tells another site where it came from (the
unsubscribe page's address holds the member's token).
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def archive_policy(hosts: Iterable[str]) -> str:
    """An email shown as a page: its inline styles, images from ``hosts``, no scripts."""
    images = " ".join(["'self'", "data:", *sorted(hosts)])
    return (
        f"default-src 'none'; style-src 'unsafe-inline'; img-src {images}; "
        "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


_ALWAYS = {
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Pages hold tokens in their address or answer for one member: no cache may keep them.
_DEFAULTS = {"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-store"}


class SecurityHeaders:
    """Adds the headers to every response; a route may set its own CSP and caching."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS.items():
                    headers[name] = value
                for name, value in _DEFAULTS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
