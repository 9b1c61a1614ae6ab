"""What in a bounce can name the message we sent: VERP codes and our Message-IDs.

A bounce to a VERP address carries the code in Delivered-To, To or the returned copy's
Return-Path. One to a plain address names our message only by the Message-ID of the
copy it returns (``message/rfc822``, ``text/rfc822-headers``, or a copy pasted into
the text as qmail, GMX and T-Online do), or in In-Reply-To/References (Microsoft 365,
Gmail). Pure functions; the journal decides which of them are ours.
"""

from __future__ import annotations

import re
from email.message import Message
from email.parser import HeaderParser

from newsletter.bounces.classify import header, parts, text_of
from newsletter.bounces.verp import VerpCode, find_codes

_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "X-Failed-Recipients")
_MESSAGE_ID = re.compile(r"^message-id:[ \t]*(<[^<>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE)
_ID = re.compile(r"<[^<>\s]{1,250}>")
_MAX_HEADER_CHARS = 64_000


def verp_codes(message: Message) -> list[VerpCode]:
    """Codes in the bounce's own envelope headers first, then in its parts."""
    texts = [header(message, name) for name in _ENVELOPE_HEADERS]
    for part in parts(message):
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/feedback-report"):
            texts.append(str(part)[:_MAX_HEADER_CHARS])
        elif kind == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                texts.append(header(inner, "Return-Path"))
        elif kind == "text/rfc822-headers" or (kind == "text/plain" and part is not message):
            texts.append(text_of(part)[:_MAX_HEADER_CHARS])
    if not message.is_multipart():
        texts.append(text_of(message))
    return list(dict.fromkeys(code for text in texts for code in find_codes(text)))


def message_ids(message: Message) -> list[str]:
    """Message-IDs of returned copies, then those the bounce replies to; never its own."""
    own = header(message, "Message-ID")
    found: list[str] = []
    for part in parts(message):
        kind = part.get_content_type()
        if kind == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                found.extend(_ID.findall(header(inner, "Message-ID"))[:1])
        elif kind == "text/rfc822-headers":
            headers = HeaderParser().parsestr(text_of(part)[:_MAX_HEADER_CHARS])
            found.extend(_ID.findall(header(headers, "Message-ID"))[:1])
        elif part.get_content_maintype() == "text" and kind != "text/html":
            found.extend(_MESSAGE_ID.findall(text_of(part)))
        elif kind == "message/delivery-status":
            found.extend(_ID.findall(_x_original_message_id(part)))
    for name in ("In-Reply-To", "References"):
        found.extend(_ID.findall(header(message, name)))
    return [item for item in dict.fromkeys(found) if item != own]


def _x_original_message_id(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return header(payload[0], "X-Original-Message-ID")
    return ""
