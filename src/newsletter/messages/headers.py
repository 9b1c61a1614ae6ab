"""The per-member header lines, written directly in the cases that are simple.

The email package folds a header in about a millisecond, more than all the rest of a
member's message; these lines are plain text in the common cases (ASCII, short) and
an RFC 2047 encoded word for a name with umlauts or emoji. Anything else goes through the
stdlib's folding with compose.py's policy, so every line decodes as compose_message's.
No line passes SMTP's 998 octets: ``compose.mail_address`` cuts display names to
``MAX_DISPLAY_NAME`` characters, which the stdlib can always fold.
"""

from __future__ import annotations

import base64
from email.headerregistry import Address
from email.policy import EmailPolicy
from functools import lru_cache
from typing import Any

from newsletter.messages.compose import POLICY, UNFOLDED_HEADERS, UTF8_POLICY

_MAX_LINE = 998  # RFC 5322's hard limit, CRLF not counted
_FOLD_AT = POLICY.max_line_length or 78  # RFC 5322's recommended limit, as compose folds
_MAX_WORD = 75  # RFC 2047 section 2: an encoded word's length
_WORD_FRAME = len("=?utf-8?b??=")


def folded(name: str, value: object, policy: EmailPolicy = POLICY) -> bytes:
    """The header as the stdlib writes it with compose.py's policy (the slow, general way)."""
    return policy.fold_binary(name, _header_class(policy, name)(name, value))


@lru_cache(maxsize=32)
def _header_class(policy: EmailPolicy, name: str) -> Any:
    # The stdlib's header registry makes a new class for every header it parses; those
    # live until a full garbage collection, so a send's memory grew with its members.
    return policy.header_factory[name]  # type: ignore[index]


def header_line(name: str, value: str) -> bytes:
    """``Name: value`` as one line, when that is what the stdlib would write too."""
    line = f"{name}: {value}"
    limit = _MAX_LINE if name.lower() in UNFOLDED_HEADERS else _FOLD_AT
    if line.isascii() and len(line) <= limit and "\r" not in line and "\n" not in line:
        return (line + "\r\n").encode("ascii")
    return folded(name, value)


def address_line(name: str, address: Address) -> bytes:
    """An address header (its domain punycode, as ``compose.mail_address`` makes it); a
    name with umlauts or emoji becomes one base64 encoded word."""
    if not address.username.isascii():
        # A local part with umlauts has no ASCII spelling: such a message goes by SMTPUTF8,
        # whose headers are UTF-8 (RFC 6532), as the stdlib writes them too.
        utf8 = f"{name}: {address}\r\n".encode()
        # The limit is in octets, and an umlaut is two of them.
        return utf8 if len(utf8) <= _MAX_LINE + 2 else folded(name, address, UTF8_POLICY)
    if address.display_name.isascii():
        # The stdlib's own quoting of the name (str), on one line.
        return header_line(name, str(address))
    if "=?" in address.display_name:
        # The stdlib reads "=?...?=" in a name as an encoded word: it decides, as in compose.
        return folded(name, address)
    spec = f"<{address.addr_spec}>"
    encoded = base64.b64encode(address.display_name.encode("utf-8")).decode("ascii")
    if len(encoded) + _WORD_FRAME > _MAX_WORD:
        # A long name takes several encoded words: the stdlib splits them (rare enough
        # that its millisecond does not matter).
        return folded(name, address)
    line = f"{name}: =?utf-8?b?{encoded}?="
    if len(line) + 1 + len(spec) <= _FOLD_AT:
        return f"{line} {spec}\r\n".encode("ascii")
    return f"{line}\r\n {spec}\r\n".encode("ascii")
