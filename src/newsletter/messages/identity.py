"""Message-IDs that are the same every time one issue goes to one member.

A message sent again (after a crash, or a resumed send) carries the Message-ID of the
first try, so the member's mail program and the journal recognise it as the same
message. The id is an HMAC of issue and subscription with the workspace's unsubscribe
key (under a purpose of its own), so it reveals neither and cannot be forged.
"""

from __future__ import annotations

import hashlib
import hmac

_PURPOSE = b"newsletter-message-id-v1:"


class MessageIds:
    """The Message-IDs of one issue's messages, under the sender's ``domain``."""

    def __init__(self, key: bytes, issue: str, domain: str) -> None:
        # Keyed once per issue; each member's id continues a copy of it.
        self._issue_mac = hmac.new(key, _PURPOSE + issue.encode() + b"\0", hashlib.sha256)
        self._domain = domain

    def for_subscription(self, subscription_id: str) -> str:
        mac = self._issue_mac.copy()
        mac.update(subscription_id.encode())
        # 128 bits as 32 hex digits: unique enough, and nothing a msg-id forbids.
        return f"<{mac.digest()[:16].hex()}@{self._domain}>"
