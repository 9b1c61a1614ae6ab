"""The web server's side of sync (``web_remote = true``): see ``protocol.py``."""

from __future__ import annotations

import hmac
import json
import re
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from newsletter import store
from newsletter.errors import WebError
from newsletter.store import signups
from newsletter.store.events import WebEvent
from newsletter.web.archive import ArchivePage, PushedArchive
from newsletter.web.protocol import ACK_PATH, ARCHIVE_PATH, BATCH, EVENTS_PATH


def _pending(database_path: Path, limit: int) -> list[dict[str, Any]]:
    """Unsubscribes first (they must reach the office before the next send), then
    confirmed sign-ups and self-service changes."""
    with store.open_database(database_path) as db:
        events = store.pending_web_events(db, limit)
        if len(events) < limit:
            requests = signups.confirmed_requests(db, limit - len(events))
            events += [WebEvent.of_request(request) for request in requests]
        return [event.to_json() for event in events]


def _forget(database_path: Path, ids: list[str]) -> int:
    with store.open_database(database_path) as db:
        return store.delete_web_events(db, ids) + signups.delete_confirmed_requests(db, ids)


# Our bodies nest two levels ({"ids": [...]}, a page object); json.loads recurses once
# per level and a deep body ends in RecursionError, so depth is checked before parsing.
MAX_JSON_DEPTH = 16
# A string, or an unclosed one to the end: every quote starts a match that always
# succeeds, so the scan stays linear even for "\"\"\"... without an end.
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]")


def nested_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``body`` nests deeper than ``limit`` (or its brackets do not pair up).

    Strings are dropped first (brackets in them are text); each pass then removes the
    innermost pairs, so what is left after ``limit`` passes was nested deeper. Every
    step is a C-speed regex or translate, linear in the body.
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    brackets = brackets.replace(b"{", b"[").replace(b"}", b"]")
    for _ in range(limit):
        if not brackets:
            return False
        brackets = _INNERMOST.sub(b"", brackets)
    return bool(brackets)


async def _json(request: Request) -> Any:
    body = await request.body()
    if nested_too_deep(body):
        raise HTTPException(
            400, f"the body is not JSON nested at most {MAX_JSON_DEPTH} levels deep"
        )
    try:
        return json.loads(body)
    except ValueError:
        raise HTTPException(400, "the body is not JSON") from None


def sync_routes(secret: bytes, database_path: Path, pushed: PushedArchive) -> list[Route]:
    def authorise(request: Request) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), secret):
            raise HTTPException(401, "wrong sync secret", {"WWW-Authenticate": "Bearer"})

    async def events(request: Request) -> Response:
        authorise(request)
        limit = request.query_params.get("limit", str(BATCH))
        # isdigit() alone takes "²", which int() refuses.
        if not (limit.isascii() and limit.isdigit()) or not 0 < int(limit) <= BATCH:
            raise HTTPException(400, f"limit must be from 1 to {BATCH}")
        found = await run_in_threadpool(_pending, database_path, int(limit))
        return JSONResponse({"events": found})

    async def ack(request: Request) -> Response:
        authorise(request)
        data = await _json(request)
        ids = data.get("ids") if isinstance(data, dict) else None
        if (
            not isinstance(ids, list)
            or len(ids) > BATCH
            or not all(isinstance(i, str) for i in ids)
        ):
            raise HTTPException(400, f'expected {{"ids": [...]}} with at most {BATCH} ids')
        forgotten = await run_in_threadpool(_forget, database_path, ids)
        return JSONResponse({"forgotten": forgotten})

    async def archive(request: Request) -> Response:
        authorise(request)
        return JSONResponse({"pages": await run_in_threadpool(pushed.digests)})

    async def archive_page(request: Request) -> Response:
        authorise(request)
        slug = request.path_params["slug"]
        if request.method == "DELETE":
            await run_in_threadpool(pushed.remove, slug)
            return JSONResponse({"removed": slug})
        try:
            page = ArchivePage.from_json(await _json(request))
        except WebError as error:
            raise HTTPException(400, str(error)) from None
        if page.slug != slug:
            raise HTTPException(400, "the page's slug is not the one in the address")
        await run_in_threadpool(pushed.keep, page)
        return JSONResponse({"kept": slug})

    return [
        Route(EVENTS_PATH, events, methods=["GET"]),
        Route(ACK_PATH, ack, methods=["POST"]),
        Route(ARCHIVE_PATH, archive, methods=["GET"]),
        Route(ARCHIVE_PATH + "/{slug}", archive_page, methods=["PUT", "DELETE"]),
    ]
