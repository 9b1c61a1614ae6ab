"""Quoted-printable bodies cut at the per-member markers: encoded once, filled cheaply.

Encoding a whole body per member would cost a 50 KB encode each time, and filling the
encoded body instead is wrong: a marker may be split by a soft line break, and an
inserted name moves every line break after it. So the decoded body is cut at its
markers and each piece is encoded on its own, ending in a soft line break when it ends
inside a line. Every piece, including a member's field, then starts at column 0 and
keeps its lines within RFC 2045's 76 characters whatever is inserted around it;
decoding drops the soft breaks and gives exactly the filled text.
"""

from __future__ import annotations

import binascii
from email import quoprimime

_EOL = "\r\n"
_SOFT_BREAK = "=" + _EOL
_SOFT_BREAK_BYTES = _SOFT_BREAK.encode("ascii")
_MAX_LINE = 76  # RFC 2045, the "=" of a soft break included


def normal_lines(text: str) -> str:
    """``text`` with the line ends the stdlib's ``set_content`` gives a body: LF, one at the end."""
    return b"\n".join(text.encode("utf-8").splitlines()).decode("utf-8") + "\n"


def encode_piece(text: str) -> bytes:
    """``text`` (a part of a body) quoted-printable, with CRLF line ends, to be followed
    by anything: when it ends inside a line, it ends with a soft line break."""
    if not text:
        return b""
    if "\n" not in text:
        # A member's field is short and one line: binascii's encoder (in C) is ten times
        # faster than the email package's, and its result needs no line breaking.
        short = binascii.b2a_qp(text.encode("utf-8"))
        if len(short) < _MAX_LINE and b"\n" not in short:
            return short + _SOFT_BREAK_BYTES
    ends_line = text.endswith("\n")
    # The email package's encoder works on bytes spelled as latin-1 characters.
    encoded = quoprimime.body_encode(
        text.encode("utf-8").decode("latin-1"),
        # Room for the soft break's "=" after the last line.
        _MAX_LINE if ends_line else _MAX_LINE - 1,
        eol=_EOL,
    )
    return (encoded if ends_line else encoded + _SOFT_BREAK).encode("ascii")
