"""Envelope addresses as they go into MAIL FROM and RCPT TO.

An internationalised domain travels as punycode; a non-ASCII local part cannot be
written in ASCII at all and needs the server's SMTPUTF8 extension (RFC 6531).
"""

from __future__ import annotations

from dataclasses import dataclass

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
