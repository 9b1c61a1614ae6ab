"""The sign-up form, its confirmation link, and the self-service on the unsubscribe page.

Every answer to a sign-up is the same page, sent before any work that could differ:
the request is stored and mailed in a background task after the response, so neither
the page nor its timing says whether an address is new, subscribed, unsubscribed or
forgotten. A filled honeypot gets that page too, and nothing else happens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from newsletter.members.addresses import InvalidAddressError, clean_name, normalise_address
from newsletter.signup.service import CONFIRM_PATH, SignupService
from newsletter.web.limits import RateLimiter, client_key
from newsletter.web.pages import (
    ADDRESS_PATH,
    CHOICE_END,
    CHOICE_FIELD,
    CHOICE_START,
    PREFERENCES_PATH,
    SIGNUP_PATH,
    Pages,
    SignupForm,
)

HONEYPOT_FIELD = "website"
_MAX_FIELDS = 32
_MAX_NAME = 100


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _limited(limiter: RateLimiter, request: Request) -> None:
    wait = limiter.wait(client_key(_client(request)))
    if wait:
        raise HTTPException(429, headers={"Retry-After": str(math.ceil(wait))})


def _address(form: FormData) -> str | None:
    given = form.get("email")
    if not isinstance(given, str) or len(given) > 320:
        return None
    try:
        return normalise_address(given)
    except InvalidAddressError:
        return None


def _choice(
    form: FormData, lists: tuple[str, ...], remote: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The public lists to receive and to end.

    On one machine the page shows the member's lists ticked, so an unticked box means
    "end". A web server of its own cannot show them: it asks "keep / start / end" per
    list (``list:<name>``), keep unless the member picks another, and a ticked box from
    an older page there can only start a list, never end the others."""
    asked = {str(v) for v in form.getlist("lists")}
    choices = {name: form.get(f"{CHOICE_FIELD}{name}") for name in lists}
    wanted = tuple(n for n in lists if n in asked or choices[n] == CHOICE_START)
    if remote:
        ended = tuple(n for n in lists if choices[n] == CHOICE_END and n not in wanted)
    else:
        ended = tuple(n for n in lists if n not in wanted)
    return wanted, ended


def signup_routes(
    service: SignupService,
    pages: Pages,
    limiter: RateLimiter,
    clock: Callable[[], datetime],
    verified_unsubscribe: Callable[[str], str | None],
) -> list[Route]:
    lists = service.public_lists
    consent = service.consent.wording

    async def signup(request: Request) -> Response:
        if request.method != "POST":
            return HTMLResponse(pages.signup(SignupForm(lists, consent)))
        _limited(limiter, request)
        form = await request.form(max_files=0, max_fields=_MAX_FIELDS)
        typed_email = form.get("email")
        typed_name = form.get("first_name")
        first_name = clean_name(typed_name)[:_MAX_NAME] if isinstance(typed_name, str) else ""
        chosen: tuple[str, ...]
        if len(lists) == 1:
            chosen = lists
        else:
            asked = {str(v) for v in form.getlist("lists")}
            chosen = tuple(name for name in lists if name in asked)
        shown = SignupForm(
            lists, consent, typed_email if isinstance(typed_email, str) else "", first_name, chosen
        )
        email = _address(form)
        if email is None:
            return HTMLResponse(pages.signup(shown, pages.texts["signup_bad_address"]), 400)
        if not chosen:
            return HTMLResponse(pages.signup(shown, pages.texts["signup_no_list"]), 400)
        if form.get(HONEYPOT_FIELD):
            return HTMLResponse(pages.signup_sent())
        work = BackgroundTask(service.request_signup, email, first_name, chosen, clock())
        return HTMLResponse(pages.signup_sent(), background=work)

    async def confirm(request: Request) -> Response:
        token = request.query_params.get("token", "")
        now = clock()
        request_id = service.verify(token, now)
        if request_id is None:
            # An expired link is the moment its request must be gone at the latest.
            purge = BackgroundTask(service.purge, now)
            return HTMLResponse(pages.confirm_invalid(), 400, background=purge)
        if request.method != "POST":
            # Link scanners open links: showing the button changes nothing.
            return HTMLResponse(pages.confirm(token))
        confirmed = await run_in_threadpool(service.confirm, request_id, _client(request), now)
        work = BackgroundTask(service.mail_after, confirmed, now)
        return HTMLResponse(pages.confirmed(), background=work)

    async def preferences(request: Request) -> Response:
        subscription_id = verified_unsubscribe(request.query_params.get("token", ""))
        if subscription_id is None:
            return HTMLResponse(pages.invalid_link(), 400)
        # Each choice is kept on a web server until sync: a signed link must not fill it.
        _limited(limiter, request)
        form = await request.form(max_files=0, max_fields=_MAX_FIELDS)
        wanted, ended = _choice(form, lists, service.remote)
        await run_in_threadpool(
            service.choose_lists, subscription_id, wanted, ended, _client(request), clock()
        )
        return HTMLResponse(pages.preferences_saved(address=False))

    async def address(request: Request) -> Response:
        subscription_id = verified_unsubscribe(request.query_params.get("token", ""))
        if subscription_id is None:
            return HTMLResponse(pages.invalid_link(), 400)
        _limited(limiter, request)
        email = _address(await request.form(max_files=0, max_fields=_MAX_FIELDS))
        if email is None:
            raise HTTPException(400)
        work = BackgroundTask(service.request_address_change, subscription_id, email, clock())
        return HTMLResponse(pages.preferences_saved(address=True), background=work)

    return [
        Route(SIGNUP_PATH, signup, methods=["GET", "POST"]),
        Route(CONFIRM_PATH, confirm, methods=["GET", "POST"]),
        Route(PREFERENCES_PATH, preferences, methods=["POST"]),
        Route(ADDRESS_PATH, address, methods=["POST"]),
    ]
