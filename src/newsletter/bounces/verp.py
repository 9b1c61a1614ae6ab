"""The per-message envelope sender (VERP): ``local+<code>@domain``.

A hoster's relay accepts every recipient and reports failures later, to the envelope
sender. With one envelope sender per message, the bounce names the message it is
about whatever its format: ``<code>`` is ``k`` + the journal row of the delivery (issue
and subscription) in base 36, ``-``, and 64 bits of an HMAC over row, issue and
subscription keyed with the workspace's unsubscribe key under a purpose of its own. So
the code cannot be guessed or altered to name another member, and it reveals nothing.
The mailbox behind ``envelope_from`` must accept ``local+anything@domain`` (plus
addressing, "subaddressing"): the guide bounces.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

_PURPOSE = b"newsletter-verp-v1:"
_MAC_HEX = 16
# A local part may hold 64 characters (RFC 5321); the code takes at most 1 + 14 + 1 + 16.
_MAX_LOCAL = 64
CODE = re.compile(r"\+k([0-9a-z]{1,13})-([0-9a-f]{16})@", re.IGNORECASE)


@dataclass(frozen=True)
class VerpCode:
    """A code found in a bounce; ``mac`` still has to be checked against the journal."""

    delivery_id: int
    mac: str


def _mac(key: bytes, delivery_id: int, issue: str, subscription_id: str) -> str:
    data = f"{delivery_id}\0{issue}\0{subscription_id}".encode()
    return hmac.new(key, _PURPOSE + data, hashlib.sha256).hexdigest()[:_MAC_HEX]


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def verp_sender(
    envelope_from: str, key: bytes, *, delivery_id: int, issue: str, subscription_id: str
) -> str:
    """``envelope_from`` with the delivery's code after a "+" in the local part.

    An address whose local part has no room for the code is returned as it is: its
    bounces are matched by Message-ID and address instead.
    """
    local, at, domain = envelope_from.rpartition("@")
    code = f"k{_base36(delivery_id)}-{_mac(key, delivery_id, issue, subscription_id)}"
    if not at or len(local) + 1 + len(code) > _MAX_LOCAL:
        return envelope_from
    return f"{local}+{code}@{domain}"


def find_codes(text: str) -> list[VerpCode]:
    """The VERP codes in a text (headers, a report), in order, each once."""
    found = dict.fromkeys(
        VerpCode(int(match.group(1), 36), match.group(2).lower()) for match in CODE.finditer(text)
    )
    return list(found)


def verify(key: bytes, code: VerpCode, issue: str, subscription_id: str) -> bool:
    expected = _mac(key, code.delivery_id, issue, subscription_id)
    return hmac.compare_digest(expected.encode(), code.mac.encode())
