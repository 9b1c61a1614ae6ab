"""Confirmation links: ``<request id>.<expiry>.<signature>``, valid for ``VALID_FOR``.

Signed with the workspace's confirmation key (not the unsubscribe key: a leaked
unsubscribe link must not confirm anything). The expiry is inside what is signed, so a
link stops working after seven days even where its request is still stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from newsletter.store.signup_records import VALID_FOR

_PURPOSE = b"newsletter-confirm-v1:"
_ID = re.compile(r"[A-Za-z0-9_-]{22}")
_EXPIRY = re.compile(r"[0-9]{1,12}")


def new_request_id() -> str:
    return secrets.token_urlsafe(16)


def sign_link(key: bytes, request_id: str, requested_at: datetime) -> str:
    expires = str(int((requested_at + VALID_FOR).timestamp()))
    return f"{request_id}.{expires}.{_signature(key, request_id, expires)}"


def verify_link(key: bytes, token: str, now: datetime) -> str | None:
    """The request id a valid, unexpired link names; None for anything else."""
    request_id, expires, signature = [*token.strip().split("."), "", ""][:3]
    if not _ID.fullmatch(request_id) or not _EXPIRY.fullmatch(expires):
        return None
    expected = _signature(key, request_id, expires).encode("ascii")
    if not hmac.compare_digest(signature.encode("utf-8"), expected):
        return None
    if now >= datetime.fromtimestamp(int(expires), UTC):
        return None
    return request_id


def _signature(key: bytes, request_id: str, expires: str) -> str:
    message = _PURPOSE + f"{request_id}.{expires}".encode("ascii")
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
