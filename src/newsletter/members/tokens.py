"""Signed unsubscribe tokens: ``<subscription id>.<signature>``, URL-safe, never expiring.

The token names a subscription by its random id, never by the address, so a link in a
forwarded email reveals nothing about the member. The signature is HMAC-SHA256 with the
workspace's unsubscribe key; without the key nobody can make a valid token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from newsletter.errors import TokenError

_PURPOSE = b"newsletter-unsubscribe-v1:"
# 16 random bytes, base64url without padding: 22 characters, no "." in the alphabet.
_ID_BYTES = 16
_ID = re.compile(r"[A-Za-z0-9_-]{22}")


def new_subscription_id() -> str:
    """A fresh random id; 128 bits make a repeat practically impossible."""
    return secrets.token_urlsafe(_ID_BYTES)


def sign_token(key: bytes, subscription_id: str) -> str:
    return f"{subscription_id}.{_signature(key, subscription_id)}"


def verify_token(key: bytes, token: str) -> str:
    """Return the subscription id the token names, or raise TokenError."""
    subscription_id, dot, signature = token.strip().partition(".")
    if not dot or not _ID.fullmatch(subscription_id):
        raise TokenError(
            "this unsubscribe link is incomplete or damaged",
            "open the link from the newsletter email again, or copy it whole",
        )
    # Bytes, not str: compare_digest refuses non-ASCII str, and a tampered link may hold any.
    expected = _signature(key, subscription_id).encode("ascii")
    if not hmac.compare_digest(signature.encode("utf-8"), expected):
        raise TokenError(
            "this unsubscribe link was not issued by this newsletter (its signature does not match)",
            "open the link from the newsletter email again, or copy it whole",
        )
    return subscription_id


def _signature(key: bytes, subscription_id: str) -> str:
    digest = hmac.new(key, _PURPOSE + subscription_id.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
