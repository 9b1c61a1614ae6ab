"""The per-member fields of a rendered email, and how they are filled in.

Rendering happens once per issue; what differs between members (the greeting with
their name, the token in the unsubscribe link) is left in the HTML and the text as
markers. Content (feeds, posts, page exports, everything in issue.md) reaches the same
text, so the markers must be impossible for it to produce: each render picks its own
at random (``Markers.new``), after the content was gathered, and fill replaces only
those. A feed that writes ``[[token]]`` or any guess at a marker into a link gets that
text shown as it is, never a member's token or name. The build keeps the markers it
was rendered with (``email.json``), so a resumed send fills the same ones.

Markers are lower-case letters and digits only, so MJML, premailer (which
percent-encodes spaces and braces inside ``href``), HTML escaping, Jinja's
``wordwrap`` (which breaks at hyphens) and quoted-printable all leave them alone. Fill
them in the decoded text, before the message is encoded: quoted-printable may split a
marker across lines in the encoded bytes.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass
from urllib.parse import quote

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


@dataclass(frozen=True)
class Markers:
    """The two markers of one render; see the module's docstring."""

    greeting: str
    token: str

    @classmethod
    def new(cls) -> Markers:
        # 128 random bits, drawn after the content was gathered: no content can hold them.
        nonce = secrets.token_hex(16)
        return cls(greeting=f"nlgreeting{nonce}", token=f"nltoken{nonce}")

    def unsubscribe_url(self, web_url: str) -> str:
        """The unsubscribe link as the rendered email holds it, with the token still open."""
        return _unsubscribe_prefix(web_url) + self.token

    def fill_html(self, document: str, fields: MemberFields) -> str:
        return document.replace(self.greeting, html.escape(fields.greeting)).replace(
            self.token, quote(fields.token, safe="")
        )

    def fill_text(self, document: str, fields: MemberFields) -> str:
        return document.replace(self.greeting, fields.greeting).replace(
            self.token, quote(fields.token, safe="")
        )


# What builds rendered before markers were random hold. Only a sent issue's build is
# still filled with them (a resumed send delivers what its first part did); content
# could write these, so a build that holds them is never sent fresh (build.py).
LEGACY_MARKERS = Markers(greeting="[[greeting]]", token="[[token]]")  # noqa: S106
