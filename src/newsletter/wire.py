"""The wire-level records both messages and deliver use: the envelope and the DATA block.

A message's bytes as they go after DATA: CRLF line ends, dot-stuffed, terminated.

Making the block costs more CPU than everything else about sending a 50 KB message
(see bench/README.md), so it is meant to be done once per issue, on the message
template, with each member's fields filled into the block afterwards. That is sound as
long as no field can begin a line: only a line's first character is ever stuffed.
"""

from __future__ import annotations

from dataclasses import dataclass

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


# Envelope addresses as they go into MAIL FROM and RCPT TO.
# An internationalised domain travels as punycode; a non-ASCII local part cannot be
# written in ASCII at all and needs the server's SMTPUTF8 extension (RFC 6531).

# Characters that would end the address or the command line, or smuggle in another one.
_FORBIDDEN = frozenset("<>\r\n\0 \t")


class EnvelopeError(ValueError):
    """The address cannot be put on an SMTP command line; ``str()`` says why."""


@dataclass(frozen=True)
class EnvelopeAddress:
    text: str  # as written between the angle brackets
    needs_smtputf8: bool


def envelope_address(address: str) -> EnvelopeAddress:
    if _FORBIDDEN.intersection(address):
        raise EnvelopeError(f"the address {address!r} contains characters SMTP cannot carry")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise EnvelopeError(f"{address!r} is not an e-mail address")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise EnvelopeError(f"the domain of {address!r} is not a valid domain name") from None
    return EnvelopeAddress(f"{local}@{domain}", needs_smtputf8=not local.isascii())


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipient: str
    # The DATA block as ``wire.data_block`` makes it (CRLF, dot-stuffed, terminated), so
    # the work is done once per issue template rather than once per message.
    data: bytes

    def __post_init__(self) -> None:
        if not self.data.endswith(BLOCK_END):
            # A block without its end would leave the server waiting until the timeout.
            raise ValueError("Envelope.data must be a DATA block from wire.data_block()")
