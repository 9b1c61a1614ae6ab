"""The per-member fields of a rendered email, and how they are filled in.

Rendering happens once per issue; what differs between members (the greeting with
their name, the token in the unsubscribe link) is left in the HTML and the text as
markers. The markers are plain ASCII without spaces, quotes, braces, ``&``, ``<``,
``=`` or ``%``, so MJML, premailer (which percent-encodes spaces and braces inside
``href``), HTML escaping and quoted-printable all leave them alone. Fill them in the
decoded text, before the message is encoded: quoted-printable may split a marker
across lines in the encoded bytes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import quote

GREETING = "[[greeting]]"
TOKEN = "[[token]]"  # noqa: S105 - a placeholder, not a secret

UNSUBSCRIBE_PATH = "/abmelden"


@dataclass(frozen=True)
class Greeting:
    """The greeting's wording from the templates' texts; ``named`` holds ``{first_name}``."""

    named: str
    anonymous: str

    def for_member(self, first_name: str = "", full_name: str = "") -> str:
        name = first_name_of(first_name, full_name)
        return self.named.replace("{first_name}", name) if name else self.anonymous


@dataclass(frozen=True)
class MemberFields:
    """What one member's copy fills in: the finished greeting and the unsubscribe token."""

    greeting: str
    token: str


def first_name_of(first_name: str, full_name: str) -> str:
    """The first name, else the first word of the full name, else ""."""
    raw = first_name.strip() or full_name.strip()
    # Control characters (a CR/LF smuggled in through an import) never reach the email.
    printable = raw if raw.isprintable() else "".join(c if c.isprintable() else " " for c in raw)
    cleaned = " ".join(printable.split())
    return cleaned.split(" ", 1)[0] if cleaned else ""


def _unsubscribe_prefix(web_url: str) -> str:
    return f"{web_url.rstrip('/')}{UNSUBSCRIBE_PATH}?token="


def unsubscribe_url(web_url: str, token: str) -> str:
    """The member's one-click unsubscribe page; the same address goes into the header."""
    return _unsubscribe_prefix(web_url) + quote(token, safe="")


def unsubscribe_placeholder(web_url: str) -> str:
    """The unsubscribe link as the rendered email holds it, with the token still open."""
    return _unsubscribe_prefix(web_url) + TOKEN


def fill_html(document: str, fields: MemberFields) -> str:
    return document.replace(GREETING, html.escape(fields.greeting)).replace(
        TOKEN, quote(fields.token, safe="")
    )


def fill_text(document: str, fields: MemberFields) -> str:
    return document.replace(GREETING, fields.greeting).replace(TOKEN, quote(fields.token, safe=""))
