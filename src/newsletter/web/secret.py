"""The shared secret that authenticates ``newsletter sync`` to the web server.

``NEWSLETTER_SYNC_SECRET`` when set (the same on both machines), else derived from the
workspace's unsubscribe key. The web server needs that key anyway to check the links
members click, so copying the office's secrets file to the server (the one setup step)
gives both machines the same sync secret without a second thing to keep in step. The
derivation is an HMAC with its own label: knowing the secret reveals nothing of the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from newsletter.errors import WebError
from newsletter.keys import load_keys
from newsletter.workspace import Workspace

SYNC_SECRET_ENV = "NEWSLETTER_SYNC_SECRET"  # noqa: S105 - the name of the variable
_MIN_CHARS = 32
_LABEL = b"newsletter-sync-secret-v1"


def sync_secret(workspace: Workspace, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    given = env.get(SYNC_SECRET_ENV)
    if given is not None:
        if len(given) < _MIN_CHARS:
            raise WebError(
                f"{SYNC_SECRET_ENV} is shorter than {_MIN_CHARS} characters",
                'make one with: python -c "import secrets; print(secrets.token_hex(32))"',
                key="sync_secret_short",
                params={"name": SYNC_SECRET_ENV, "most": _MIN_CHARS},
            )
        return given
    key = load_keys(workspace, environ=env).unsubscribe
    return hmac.new(key, _LABEL, hashlib.sha256).hexdigest()
