"""The web application: one-click unsubscribe, the archive, and (on a web server of
its own) the sync endpoints. Starlette; ``server.py`` runs it with uvicorn.

``/abmelden?token=...`` is the address in every email's link and List-Unsubscribe
header. GET only shows a page with the buttons; POST with ``List-Unsubscribe=One-Click``
(RFC 8058: urlencoded or multipart, no CSRF token, answered 200 without a redirect)
unsubscribes at once. Every signed token gets the same answers whether or not its
subscription still exists, so nothing tells anyone whether an address is on a list.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from newsletter import clock
from newsletter.errors import TokenError
from newsletter.members.tokens import verify_token
from newsletter.render.context import ARCHIVE_PATH
from newsletter.render.placeholders import UNSUBSCRIBE_PATH
from newsletter.store.events import EventKind
from newsletter.web.config import WebConfig
from newsletter.web.headers import SecurityHeaders, archive_policy
from newsletter.web.limits import (
    FORM_BODY_LIMIT,
    SYNC_BODY_LIMIT,
    BodyLimit,
    RateLimiter,
    client_key,
)
from newsletter.web.pages import ERROR_STATUSES, STYLE_PATH, Preferences
from newsletter.web.protocol import SYNC_PREFIX
from newsletter.web.signup import signup_routes
from newsletter.web.syncapi import sync_routes
from newsletter.web.unsubscribe import ONE_CLICK_FIELD, ONE_CLICK_VALUE, SCOPE_ALL, SCOPE_FIELD

_MAX_FORM_FIELDS = 8


def _now() -> datetime:
    return clock.utc_now()


def create_app(config: WebConfig, clock: Callable[[], datetime] = _now) -> Starlette:
    pages = config.pages
    limiter = RateLimiter(config.post_limit.count, config.post_limit.seconds)

    def verified(token: str) -> str | None:
        try:
            return verify_token(config.unsubscribe_key, token)
        except TokenError:
            return None

    async def unsubscribe(request: Request) -> Response:
        token = request.query_params.get("token", "")
        subscription_id = verified(token)
        if subscription_id is None:
            if request.method == "POST":
                # Only links that are not ours are limited: a mail provider relays many
                # members' one-clicks from one address after a send, and a signed link's
                # unsubscribe is always taken (each subscription's once, so a flood of
                # real links cannot fill the database either).
                wait = limiter.wait(client_key(request.client.host if request.client else ""))
                if wait:
                    raise HTTPException(429, headers={"Retry-After": str(math.ceil(wait))})
            return HTMLResponse(pages.invalid_link(), 400)
        if request.method != "POST":
            preferences = None
            if config.signup is not None:
                current = await run_in_threadpool(config.signup.current_lists, subscription_id)
                preferences = Preferences(config.signup.public_lists, current)
            return HTMLResponse(pages.unsubscribe(token, preferences))
        form = await request.form(max_files=0, max_fields=_MAX_FORM_FIELDS)
        if form.get(ONE_CLICK_FIELD) != ONE_CLICK_VALUE:
            raise HTTPException(400)
        everywhere = form.get(SCOPE_FIELD) == SCOPE_ALL
        kind = EventKind.UNSUBSCRIBE_ALL if everywhere else EventKind.UNSUBSCRIBE
        await run_in_threadpool(config.unsubscribes.record, kind, subscription_id, clock())
        return HTMLResponse(pages.unsubscribed(everywhere))

    async def archive_index(request: Request) -> Response:
        if config.archive is None:
            raise HTTPException(404)
        return HTMLResponse(pages.archive(await run_in_threadpool(config.archive.pages)))

    async def archive_page(request: Request) -> Response:
        found = None
        if config.archive is not None:
            found = await run_in_threadpool(config.archive.page, request.path_params["slug"])
        if found is None:
            raise HTTPException(404)
        policy = archive_policy(config.image_hosts)
        return HTMLResponse(found.html, headers={"Content-Security-Policy": policy})

    async def style(request: Request) -> Response:
        cache = {"Cache-Control": "public, max-age=3600"}
        return Response(pages.style(), media_type="text/css", headers=cache)

    async def error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
        if request.url.path.startswith(SYNC_PREFIX):
            detail = exc.detail if isinstance(exc, HTTPException) else "server error"
            return JSONResponse({"error": detail}, status, headers)
        shown = status if status in ERROR_STATUSES else (500 if status >= 500 else 400)
        return HTMLResponse(pages.error(shown), status, headers)

    async def gone(request: Request, exc: Exception) -> Response:
        # The client left (or missed the body deadline, server.py): nobody to answer.
        return Response(status_code=400)

    routes = [
        Route(UNSUBSCRIBE_PATH, unsubscribe, methods=["GET", "POST"]),
        Route(ARCHIVE_PATH, archive_index, methods=["GET"]),
        Route(ARCHIVE_PATH + "/{slug}", archive_page, methods=["GET"]),
        Route(STYLE_PATH, style, methods=["GET"]),
    ]
    if config.signup is not None:
        signup_limiter = RateLimiter(config.signup_limit.count, config.signup_limit.seconds)
        routes += signup_routes(config.signup, pages, signup_limiter, clock, verified)
    if config.sync is not None:
        routes += sync_routes(config.sync.secret, config.database_path, config.sync.pushed)

    def body_limit(path: str) -> int:
        return SYNC_BODY_LIMIT if path.startswith(SYNC_PREFIX) else FORM_BODY_LIMIT

    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders), Middleware(BodyLimit, limit_for=body_limit)],
        exception_handlers={HTTPException: error, ClientDisconnect: gone, Exception: error},
    )
