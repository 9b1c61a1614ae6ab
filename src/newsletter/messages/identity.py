"""Message-IDs that are the same every time one issue goes to one member.

A message sent again (after a crash, or a resumed send) carries the Message-ID of the
first try, so the member's mail program and the journal recognise it as the same
message. The id is an HMAC of issue and subscription with the workspace's unsubscribe
key (under a purpose of its own), so it reveals neither and cannot be forged.
"""

from __future__ import annotations

import hmac

_PURPOSE = b"newsletter-message-id-v1:"


def stable_message_id(key: bytes, issue: str, subscription_id: str, domain: str) -> str:
    name = f"{issue}\0{subscription_id}".encode()
    # 128 bits as 32 hex digits: unique enough, and nothing a msg-id forbids.
    digest = hmac.digest(key, _PURPOSE + name, "sha256")[:16].hex()
    return f"<{digest}@{domain}>"
