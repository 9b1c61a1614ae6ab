"""When the office last synced with its web server, and the check ``send`` makes of it.

With ``web_remote = true`` a member's unsubscribe reaches the office's database only
through ``newsletter sync``; sending on a stale copy could mail someone who has just
unsubscribed. So ``send`` refuses to start when the last complete pull of events is
older than ``MAX_SYNC_AGE`` (unless the staff say ``--offline``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from newsletter.errors import WebError
from newsletter.files import write_text_atomic
from newsletter.workspace import Workspace

SYNC_STATE_FILE = "sync.json"
MAX_SYNC_AGE = timedelta(minutes=10)


def last_sync(workspace: Workspace) -> datetime | None:
    """When the last sync started that pulled, applied and acknowledged every event."""
    path = workspace.state_dir / SYNC_STATE_FILE
    try:
        when = datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["last_sync"])
    except (OSError, ValueError, KeyError, TypeError):
        # Missing or damaged: as if never synced, which the next sync puts right.
        return None
    return when if when.tzinfo is not None else None


def record_sync(workspace: Workspace, when: datetime) -> None:
    write_text_atomic(
        workspace.state_dir / SYNC_STATE_FILE,
        json.dumps({"last_sync": when.isoformat()}) + "\n",
    )


def require_recent_sync(workspace: Workspace, now: datetime) -> None:
    """Raise unless unsubscribes from the web server are at most ``MAX_SYNC_AGE`` old.

    Nothing to check when the web side runs on this machine (``web_remote = false``).
    ``send --offline`` skips this call.
    """
    if not workspace.settings.newsletter.web_remote:
        return
    hint = (
        'run "newsletter sync" first (or send with --offline if the web server cannot be reached)'
    )
    last = last_sync(workspace)
    if last is None:
        raise WebError(
            "the web server's unsubscribes have never been brought in (web_remote = true)",
            hint,
            key="sync_never",
        )
    age = now - last
    if age > MAX_SYNC_AGE:
        minutes = int(age.total_seconds() // 60)
        raise WebError(
            f"the last sync with the web server was {minutes} minutes ago; unsubscribes since "
            "then would be missed",
            hint,
            key="sync_too_old",
            params={"minutes": minutes},
        )
