"""The sync protocol between the office (``newsletter sync``) and the web server.

JSON over HTTPS, authenticated by ``Authorization: Bearer <sync secret>``:

- ``GET /sync/events?limit=N``: the oldest unacknowledged events, ``{"events": [...]}``;
- ``POST /sync/ack`` with ``{"ids": [...]}``: the office applied these, forget them;
- ``GET /sync/archive``: the pushed archive pages, ``{"pages": {slug: digest}}``;
- ``PUT /sync/archive/<slug>`` with a page; ``DELETE /sync/archive/<slug>``.

An event stays on the server until acknowledged, and the office applies each event id
once, so any step may fail and the whole sync be run again.
"""

from __future__ import annotations

EVENTS_PATH = "/sync/events"
ACK_PATH = "/sync/ack"
ARCHIVE_PATH = "/sync/archive"
SYNC_PREFIX = "/sync/"
BATCH = 500  # events per pull, and at most this many ids per acknowledgement
