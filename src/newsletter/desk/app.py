"""The desk's web application: routes, the one error path, and the security headers.

Endpoints are plain functions of (Context, Request[, form]) that the wrappers here run in
a worker thread (they read files and SQLite): ``page`` for GET, ``action`` for POST, which
checks the form's CSRF token before the handler sees anything. A NewsletterError (bad
input we foresee) shows its message and fix; anything else is logged with its traceback
and shows a short message, and the desk goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from newsletter.desk.guard import DeskKeys, Guard
from newsletter.desk.views import Context
from newsletter.errors import NewsletterError

log = logging.getLogger("newsletter.desk")

POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'self'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: with it Chromium sends "Origin: null" on a form post, and the guard
    # could not tell the desk's own forms from another page's.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
}
# An upload (member file) larger than this is refused before it is read.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

PageHandler = Callable[[Context, Request], Response]
ActionHandler = Callable[[Context, Request, FormData], Response]


def html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status)


def message_page(context: Context, status: int, title: str, text: str, hint: str = "") -> Response:
    return html(
        context.render("message.html", title=title, text=text, hint=hint, status=status), status
    )


@dataclass
class Desk:
    """One running desk: the workspace folder, this start's keys, and what runs in it."""

    root: Path
    keys: DeskKeys
    state: dict[str, Any] = field(default_factory=dict)

    def stop_sends(self, timeout: float = 60.0) -> list[str]:
        """Anhalten for every send still running (the desk is closing): the messages in
        flight finish and are recorded, so the next send resumes without doubt. Returns
        the issues that were stopped."""
        from newsletter.desk.sending import SendJob

        jobs: dict[str, SendJob] = self.state.get("sends", {})
        running = [slug for slug, job in jobs.items() if job.active]
        for slug in running:
            jobs[slug].stop()
        for slug in running:
            jobs[slug].wait(timeout)
        return running

    def discard_uploads(self) -> None:
        for upload in self.state.pop("uploads", {}).values():
            upload.discard()

    def context(self) -> Context:
        return Context.load(self.root, self.keys.csrf)

    def page(self, handler: PageHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return await run_in_threadpool(self._call, handler, request, None)

        return endpoint

    def action(self, handler: ActionHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > MAX_UPLOAD_BYTES:
                return await self.refusal(request, 413)
            try:
                form = await request.form(max_files=1, max_fields=2000)
            except Exception:  # python-multipart's errors for a malformed body
                return await self.refusal(request, 400)
            if not self.keys.csrf_matches(form.get("csrf")):
                await form.close()
                return await self.refusal(request, 403)
            try:
                return await run_in_threadpool(self._call, handler, request, form)
            finally:
                await form.close()

        return endpoint

    def _call(
        self, handler: Callable[..., Response], request: Request, form: FormData | None
    ) -> Response:
        context = self.context()
        texts = context.texts["errors"]
        try:
            return handler(context, request) if form is None else handler(context, request, form)
        except NewsletterError as error:
            return message_page(
                context, 400, texts["expected_title"], error.message, error.hint or ""
            )
        except Exception:
            log.exception("unexpected error on %s %s", request.method, request.url.path)
            return message_page(context, 500, texts["unexpected_title"], texts["unexpected"])

    async def refusal(self, request: Request, status: int) -> Response:
        """The page for a refused request: in the workspace's language, with no navigation
        and no form (an empty CSRF token), and nothing read from the request."""
        context = await run_in_threadpool(Context.load, self.root, "")
        words = context.texts["refused"][str(status)]
        return html(
            context.render("refused.html", title=words["title"], text=words["text"]), status
        )


class SecurityHeaders:
    """The same headers on every answer, refusals and static files included."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(root: Path, keys: DeskKeys) -> Starlette:
    from newsletter.desk import routes

    desk = Desk(root, keys)
    app = Starlette(
        routes=[
            *routes.routes(desk),
            Mount("/static", StaticFiles(packages=[("newsletter.desk", "static")])),
        ],
        # The headers outside the guard, so its refusals carry them too.
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(Guard, keys=keys, refuse=desk.refusal),
        ],
    )
    app.state.desk = desk
    return app
