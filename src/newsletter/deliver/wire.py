"""A message's bytes as they go after DATA: CRLF line ends, dot-stuffed, terminated.

Making the block costs more CPU than everything else about sending a 50 KB message
(see bench/README.md), so it is meant to be done once per issue, on the message
template, with each member's fields filled into the block afterwards. That is sound as
long as no field can begin a line: only a line's first character is ever stuffed.
"""

from __future__ import annotations

_CRLF = b"\r\n"
BLOCK_END = b"\r\n.\r\n"


def data_block(message: bytes) -> bytes:
    """The message as the DATA block: what the server reads up to and including ``.``."""
    if message.count(b"\n") != message.count(_CRLF):
        # Bare LF line ends (a file saved on Unix): normalise them all.
        message = message.replace(_CRLF, b"\n").replace(b"\n", _CRLF)
    # RFC 5321 4.5.2: a line that starts with "." gets one more.
    stuffed = message.replace(b"\r\n.", b"\r\n..")
    if stuffed.startswith(b"."):
        stuffed = b"." + stuffed
    if not stuffed.endswith(_CRLF):
        stuffed += _CRLF
    return stuffed + b".\r\n"
