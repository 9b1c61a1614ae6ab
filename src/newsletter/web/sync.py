"""``newsletter sync`` at the office: bring the web server's events in, push the archive.

Each step can fail without losing anything: events stay on the server until they are
acknowledged, an event id is applied at most once (recorded in the same transaction as
the unsubscribe), and archive pages are compared by digest and pushed again until the
server has them. So a failed sync is simply run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from newsletter import __version__, store
from newsletter.errors import WebError
from newsletter.settings import NewsletterSettings, is_loopback
from newsletter.signup.apply import AddressChanged, apply_and_tell
from newsletter.signup.mail import Mailer, SignupMails
from newsletter.signup.service import tell_old_address
from newsletter.store.events import WebEvent
from newsletter.store.syncstate import record_sync
from newsletter.web.archive import SLUG, IssueArchive
from newsletter.web.protocol import ACK_PATH, ARCHIVE_PATH, BATCH, EVENTS_PATH
from newsletter.web.unsubscribe import apply_unsubscribe
from newsletter.workspace import Workspace

TIMEOUT_SECONDS = 30.0
_AGAIN = 'nothing was lost: run "newsletter sync" again'


@dataclass(frozen=True)
class SyncReport:
    events: int  # pulled from the server
    applied: int  # new to this office (not applied by an earlier, interrupted sync)
    ended: int  # that ended a subscription (the rest were clicked twice, or forgotten)
    pages_pushed: int
    pages_removed: int
    signups: int = 0  # confirmed sign-ups and self-service changes applied now
    unsent_notices: int = 0  # old addresses of a change of address that could not be told


def sync_client(
    settings: NewsletterSettings, secret: str, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """A client for the web server at ``web_url``: HTTPS, or plain HTTP to this machine."""
    parts = urlsplit(settings.web_url)
    if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
        raise WebError(
            f"web_url is {settings.web_url}: sync sends the shared secret and members' "
            "unsubscribes, so it needs https (plain http only to this machine)",
            "put the web server behind HTTPS and write web_url with https://",
            key="sync_needs_https",
            params={"url": settings.web_url},
        )
    return httpx.Client(
        base_url=settings.web_url,
        headers={"Authorization": f"Bearer {secret}", "User-Agent": f"newsletter/{__version__}"},
        timeout=TIMEOUT_SECONDS,
        follow_redirects=False,
        transport=transport,
    )


def run_sync(
    workspace: Workspace,
    client: httpx.Client,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    batch: int = BATCH,
) -> SyncReport:
    started = clock()
    pulled = applied = ended = requests = 0
    signup = workspace.settings.signup
    public_lists = signup.lists if signup else ()
    seen: set[str] = set()
    changes: list[AddressChanged] = []
    with store.open_database(workspace.database_path) as db:
        while True:
            events = _pull(client, batch)
            if events and seen.issuperset(event.id for event in events):
                # Acknowledged, yet sent again: pulling on would never end.
                raise WebError(
                    "the web server does not forget acknowledged events",
                    "update newsletter on the web server to the version the office runs",
                    key="sync_events_again",
                )
            seen.update(event.id for event in events)
            for event in events:
                outcome, changed = _apply_once(db, event, public_lists, clock())
                if changed is not None:
                    changes.append(changed)
                if event.request is not None:
                    requests += outcome is not None
                    continue
                applied += outcome is not None
                ended += bool(outcome)
            _request(client, "POST", ACK_PATH, json={"ids": [event.id for event in events]})
            pulled += len(events)
            if len(events) < batch:
                break
    # Every event up to ``started`` is in: that is what send's freshness check needs.
    record_sync(workspace, started)
    unsent = _tell_old_addresses(workspace, changes, clock())
    pushed, removed = _push_archive(workspace, client)
    return SyncReport(pulled, applied, ended, pushed, removed, requests, unsent)


def _tell_old_addresses(workspace: Workspace, changes: list[AddressChanged], now: datetime) -> int:
    """Send the change-of-address notices (only the office knows the old address); how
    many could not be sent. The change stands either way: a lost mailbox is the usual
    reason for it."""
    smtp = workspace.settings.smtp
    if not changes:
        return 0
    if smtp is None:
        return len(changes)
    settings = workspace.settings.newsletter
    mails = SignupMails(workspace.templates_dir, settings)
    mailer = Mailer(smtp, settings)
    return sum(not tell_old_address(mails, mailer, changed, now) for changed in changes)


def _pull(client: httpx.Client, batch: int) -> list[WebEvent]:
    data = _request(client, "GET", EVENTS_PATH, params={"limit": batch})
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise WebError(
            f"the web server's answer to {EVENTS_PATH} has no list of events",
            key="sync_bad_answer",
            params={"where": EVENTS_PATH},
        )
    return [WebEvent.from_json(event) for event in events]


def _apply_once(
    db: store.Database, event: WebEvent, public_lists: tuple[str, ...], now: datetime
) -> tuple[bool | None, AddressChanged | None]:
    """Whether the event changed something (an unsubscribe: ended a subscription); None
    when an earlier sync applied it. With it, a change of address made now."""
    address = None
    with db.transaction():
        if store.web_event_applied(db, event.id):
            return None, None
        if event.request is not None:
            changed, address = apply_and_tell(db, event.request, public_lists, event.at)
        else:
            changed = apply_unsubscribe(db, event.kind, event.subscription_id, event.at)
        store.mark_web_event_applied(db, event.id, now)
    return changed, address


def _push_archive(workspace: Workspace, client: httpx.Client) -> tuple[int, int]:
    """Make the server's archive the office's sent issues; with the archive off, empty."""
    local = (
        {page.slug: page for page in IssueArchive(workspace).pages()}
        if workspace.settings.newsletter.archive
        else {}
    )
    data = _request(client, "GET", ARCHIVE_PATH)
    remote = data.get("pages") if isinstance(data, dict) else None
    if not isinstance(remote, dict):
        raise WebError(
            f"the web server's answer to {ARCHIVE_PATH} has no pages",
            key="sync_bad_answer",
            params={"where": ARCHIVE_PATH},
        )
    changed = [page for page in local.values() if remote.get(page.slug) != page.digest]
    for page in changed:
        _request(client, "PUT", _page_path(page.slug), json=page.to_json())
    extra = [slug for slug in remote if slug not in local and SLUG.fullmatch(str(slug))]
    for slug in extra:
        _request(client, "DELETE", _page_path(slug))
    return len(changed), len(extra)


def _page_path(slug: str) -> str:
    return f"{ARCHIVE_PATH}/{quote(slug, safe='')}"


def _request(client: httpx.Client, method: str, path: str, **options: Any) -> Any:
    """One call to the web server; every failure is one WebError line."""
    where = str(client.base_url).rstrip("/") + path
    try:
        response = client.request(method, path, **options)
    except httpx.HTTPError as error:
        raise WebError(
            f"cannot reach the web server ({method} {where}): {error}",
            _AGAIN,
            key="sync_unreachable",
            params={"where": where, "reason": str(error)},
        ) from None
    if response.status_code == 401:
        raise WebError(
            "the web server refused the sync secret",
            "both machines need the same secrets.toml (or the same NEWSLETTER_SYNC_SECRET); "
            'see web-setup.md ("newsletter docs" shows where)',
            key="sync_secret_refused",
        )
    if response.status_code == 404 and path == EVENTS_PATH:
        raise WebError(
            f"the web server at {client.base_url} does not offer sync",
            'set web_remote = true in its newsletter.toml and restart "newsletter serve" there',
            key="sync_not_offered",
            params={"url": client.base_url},
        )
    if response.status_code != 200:
        raise WebError(
            f"the web server answered {response.status_code} to {method} {where}: "
            f"{response.text[:200].strip()}",
            _AGAIN,
            key="sync_answered",
            params={"status": response.status_code, "where": where},
        )
    try:
        return response.json()
    except ValueError:
        raise WebError(
            f"the web server's answer to {method} {where} is not JSON",
            _AGAIN,
            key="sync_bad_answer",
            params={"where": where},
        ) from None
