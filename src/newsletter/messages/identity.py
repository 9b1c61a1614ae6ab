"""Message-IDs that are the same every time one issue goes to one member.

A message sent again (after a crash, or a resumed send) carries the Message-ID of the
first try, so the member's mail program and the journal recognise it as the same
message. The id is a MAC of issue and subscription keyed with the workspace's
unsubscribe key (under a purpose of its own), so it reveals neither and cannot be
forged: keyed BLAKE2b (RFC 7693), a third of HMAC-SHA256's cost per member.
"""

from __future__ import annotations

import hashlib

_PURPOSE = b"nl-message-id-v1"  # BLAKE2b's personalisation: at most 16 bytes


class MessageIds:
    """The Message-IDs of one issue's messages, under the sender's ``domain``."""

    def __init__(self, key: bytes, issue: str, domain: str) -> None:
        # BLAKE2b takes keys up to 64 bytes; the workspace's may be longer.
        self._key = hashlib.sha256(key).digest()
        self._issue = issue.encode() + b"\0"
        self._domain = domain

    def for_subscription(self, subscription_id: str) -> str:
        mac = hashlib.blake2b(
            self._issue + subscription_id.encode(), key=self._key, digest_size=16, person=_PURPOSE
        )
        # 128 bits as 32 hex digits: unique enough, and nothing a msg-id forbids.
        return f"<{mac.hexdigest()}@{self._domain}>"
