"""E-mail addresses and names as they come from spreadsheets, made safe and comparable.

An address is validated with email-validator (syntax only, no DNS) and normalised to
one spelling: lower case, internationalised domain as punycode. Two spellings of one
address (``ANNA@Bücher.de``, ``anna@xn--bcher-kva.de``) therefore meet in the same
member row and the same suppression hash.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

# A plain ASCII dot-atom local part: everything email-validator accepts without
# quoting or Unicode. Addresses made of it and an already validated domain skip the
# full validator, which costs ~70 µs per call and dominates a 100,000-row import;
# tests check that both paths agree.
_SIMPLE_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_MAX_LOCAL = 64
_MAX_ADDRESS = 254
_INVISIBLE = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Far beyond any real name, far below what breaks a header: a To: line must fit SMTP's
# 998 octets, and a 120,000-character name made the server refuse that member for good.
MAX_NAME = 200


class InvalidAddressError(ValueError):
    """The address cannot be used; ``str()`` says why, in a short sentence."""


def normalise_address(given: str) -> str:
    """Return the one spelling we store, or raise InvalidAddressError with the reason."""
    text = given.strip()
    if not text:
        raise InvalidAddressError("no address given")
    local, at, domain = text.rpartition("@")
    if at and len(local) <= _MAX_LOCAL and _SIMPLE_LOCAL.fullmatch(local):
        ascii_domain = _ascii_domain(domain)
        address = f"{local.lower()}@{ascii_domain}"
        if len(address) <= _MAX_ADDRESS:
            return address
    return _validate(text)


def _validate(text: str) -> str:
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidAddressError(str(error)) from None
    return f"{result.local_part.lower()}@{result.ascii_domain.lower()}"


@lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str:
    # Validating a domain once through a harmless local part checks everything the
    # full validator checks about it (labels, special-use names, IDNA).
    return _validate(f"postmaster@{domain}").partition("@")[2]


def clean_name(text: str) -> str:
    """A name fit for a header and a greeting: one line, no control or format characters.

    Line breaks and tabs become spaces; other control and format characters (a stray
    BEL, a right-to-left override) are dropped.
    """
    text = unicodedata.normalize("NFC", text)
    # isprintable() is False for every category we drop; most names need no more work.
    if not text.isprintable():
        text = "".join(
            char for char in text if char.isspace() or unicodedata.category(char) not in _INVISIBLE
        )
    return " ".join(text.split())


def name_too_long(label: str, text: str) -> str | None:
    """Why ``text`` cannot be a name (``label``: "first name", ...), or None when it can."""
    # len() first: cleaning every name of a 100,000-row import twice would show.
    if len(text) > MAX_NAME and len(clean_name(text)) > MAX_NAME:
        return f"the {label} is longer than {MAX_NAME} characters"
    return None
