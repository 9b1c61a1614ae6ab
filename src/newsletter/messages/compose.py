"""The reference message builder: one member's complete email, with the stdlib.

A pure function of the rendered email, the member, their token and the settings;
the date and Message-ID are passed in, so the same inputs give the same message
(only the MIME boundary is random). ``build/preview.eml`` is made with it, and the
Messages stage proves its fast path equal to it.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, EmailPolicy
from email.utils import format_datetime, make_msgid, parseaddr
from functools import lru_cache
from urllib.parse import quote, urlsplit

from newsletter.errors import MessageError
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import MemberFields, unsubscribe_url
from newsletter.settings import NewsletterSettings


class _HeaderPolicy(EmailPolicy):
    """SMTP's policy, folding so that encoded words stay within RFC 2047's 75 characters
    (a long subject or name becomes several words), except for the headers
    that carry a URL: folded, a List-Unsubscribe URL longer than a line would
    become encoded words, which mail providers do not decode there; those run to RFC
    5322's hard limit of 998."""

    def fold(self, name: str, value: str) -> str:
        words = None if self.utf8 else _as_encoded_words(name, value)
        folded: str = words or EmailPolicy.fold(_policy_for(self, name), name, value)
        return folded

    def fold_binary(self, name: str, value: str) -> bytes:
        words = None if self.utf8 else _as_encoded_words(name, value)
        if words is not None:
            return words.encode("ascii")
        return EmailPolicy.fold_binary(_policy_for(self, name), name, value)


def _as_encoded_words(name: str, value: object) -> str | None:
    """A non-ASCII Subject, or To's display name, as our own RFC 2047 words; None for the
    stdlib to fold. Folding such a header, the stdlib may put a space of the text between
    two encoded words, where readers drop it (RFC 2047 section 6.2): "für alle" became
    "fürall"; here every space stays inside a word."""
    key = name.lower()
    if key == "subject":
        text = str(value)
        return None if text.isascii() else encoded_header(name, text, "")
    if key == "to":
        addresses: tuple[Address, ...] = getattr(value, "addresses", ())
        if len(addresses) != 1:
            return None
        address = addresses[0]
        display = str(address.display_name)
        if display.isascii() or "=?" in display or not address.username.isascii():
            return None
        return encoded_header(name, display, f"<{address.addr_spec}>")
    return None


_WORD_LIMIT = 75  # RFC 2047 section 2
_LINE_LIMIT = 76  # RFC 2047 section 2, for a line holding an encoded word
_WORD_FRAME = len("=?utf-8?b??=")


def encoded_header(name: str, text: str, trailer: str) -> str:
    """``Name: =?utf-8?b?...?=`` words for ``text``, each within RFC 2047's limits and cut
    between characters, one per line, then ``trailer`` (an address) where it fits."""
    lines: list[str] = []
    chunk = b""
    budget = _LINE_LIMIT - len(name) - 2  # the first line holds "Name: " too

    def close() -> None:
        nonlocal budget
        lines.append(f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=")
        budget = _LINE_LIMIT - 1  # a continuation line starts with a space

    for character in text:
        encoded = character.encode("utf-8", "replace")
        fits = min(budget, _WORD_LIMIT) - _WORD_FRAME
        if chunk and 4 * -(-(len(chunk) + len(encoded)) // 3) > fits:
            close()
            chunk = b""
        chunk += encoded
    close()
    if trailer:
        lead = len(name) + 2 if len(lines) == 1 else 1  # "Name: " or the folding space
        if lead + len(lines[-1]) + 1 + len(trailer) <= _LINE_LIMIT:
            lines[-1] += f" {trailer}"
        else:
            lines.append(trailer)
    return f"{name}: " + "\r\n ".join(lines) + "\r\n"


UNFOLDED_HEADERS = frozenset({"list-unsubscribe", "list-unsubscribe-post", "message-id"})


def _policy_for(policy: EmailPolicy, name: str) -> EmailPolicy:
    return _long_lines(policy) if name.lower() in UNFOLDED_HEADERS else policy


@lru_cache(maxsize=4)
def _long_lines(policy: EmailPolicy) -> EmailPolicy:
    return policy.clone(max_line_length=998)


# Headers are encoded for SMTP (RFC 2047 words for umlauts, CRLF line ends). The bodies
# are encoded while the limit is 76, which the email package also takes as the
# quoted-printable line length (RFC 2045 allows no more).
# 76, not RFC 5322's 78: folding at 77 or 78 the stdlib writes 76-character words.
POLICY = _HeaderPolicy(linesep="\r\n", max_line_length=76)
# A message to a non-ASCII local part goes by SMTPUTF8: its headers are UTF-8 (RFC 6532),
# not encoded words, and stay unfolded: folding them, the stdlib drops the quotes around
# a display name with a colon in it, which then reads as a group of other addresses.
UTF8_POLICY = POLICY.clone(max_line_length=998, utf8=True)
_BODY_POLICY = SMTP.clone(max_line_length=76)
ONE_CLICK = "List-Unsubscribe=One-Click"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_LIST_ID_UNSAFE = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Addressee:
    """Who one message goes to; ``first_name`` or else the first word of ``name`` greets."""

    address: str
    name: str = ""
    first_name: str = ""


def clean_text(text: str) -> str:
    # A CR or LF in a name would start a new header: never let one through.
    return " ".join(_CONTROL.sub(" ", text).split())


# Imports limit names (members.addresses.MAX_NAME); what reaches a header anyway (an older
# database, first and last name together) is cut, so a To: line stays within 998 octets.
MAX_DISPLAY_NAME = 200


def mail_address(display_name: str, address: str) -> Address:
    display_name = clean_text(display_name)[:MAX_DISPLAY_NAME].rstrip()
    address = clean_text(address)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise MessageError(f'"{address}" is not an e-mail address')
    try:
        domain = _punycode(domain)
    except UnicodeError:
        raise MessageError(f'"{address}": the domain "{domain}" is not valid') from None
    return Address(display_name=display_name, username=local, domain=domain)


@lru_cache(maxsize=4096)
def _punycode(domain: str) -> str:
    # Internationalised domains go out as punycode (Ä → xn--...). Cached: the codec is
    # slow, and a list's members share a few domains (the Messages stage fills thousands).
    return domain.encode("idna").decode("ascii")


def sender_address(settings: NewsletterSettings) -> Address:
    name, address = parseaddr(settings.sender)
    return mail_address(name or settings.name, address)


def new_message_id(settings: NewsletterSettings) -> str:
    return make_msgid(domain=sender_address(settings).domain)


def list_id(settings: NewsletterSettings, list_name: str) -> str:
    """RFC 2919: a stable id for the list, under the web side's host name."""
    host = urlsplit(settings.web_url).hostname or sender_address(settings).domain
    label = _LIST_ID_UNSAFE.sub("-", list_name.lower()).strip("-") or "newsletter"
    return f"<{label}.{host}>"


def list_unsubscribe(settings: NewsletterSettings, token: str) -> str:
    """The member's List-Unsubscribe value: the signed HTTPS link, and mailto when configured."""
    unsubscribe = [f"<{unsubscribe_url(settings.web_url, token)}>"]
    if settings.unsubscribe_mailto:
        mailto = _bare_address(settings.unsubscribe_mailto)
        unsubscribe.append(f"<mailto:{mailto}?subject={quote('unsubscribe ' + token)}>")
    return ", ".join(unsubscribe)


def needs_smtputf8(message: EmailMessage) -> bool:
    """True for a message to a non-ASCII local part: only an SMTPUTF8 server can take it."""
    return isinstance(message.policy, EmailPolicy) and message.policy.utf8


@lru_cache(maxsize=8)
def _bare_address(text: str) -> str:
    # parseaddr costs more than the rest of a List-Unsubscribe header, filled per member.
    return parseaddr(text)[1]


def compose_message(
    email: RenderedEmail,
    recipient: Addressee,
    token: str,
    settings: NewsletterSettings,
    *,
    list_name: str,
    date: datetime,
    message_id: str,
    subject_prefix: str = "",
) -> EmailMessage:
    """One member's message: multipart/alternative (text, then HTML) with every header
    a newsletter needs, including RFC 8058 one-click unsubscribe."""
    fields = MemberFields(
        greeting=email.greeting.for_member(recipient.first_name, recipient.name),
        token=token,
    )
    message = EmailMessage(policy=_BODY_POLICY)
    message["From"] = sender_address(settings)
    message["To"] = mail_address(recipient.name, recipient.address)
    if settings.reply_to:
        message["Reply-To"] = mail_address(*parseaddr(settings.reply_to))
    message["Subject"] = clean_text(f"{subject_prefix}{email.subject}")
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["List-Id"] = f"{clean_text(settings.name)} {list_id(settings, list_name)}"
    message["List-Unsubscribe"] = list_unsubscribe(settings, token)
    message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_content(
        email.markers.fill_text(email.text, fields),
        subtype="plain",
        charset="utf-8",
        cte="quoted-printable",
    )
    message.add_alternative(
        email.markers.fill_html(email.html, fields),
        subtype="html",
        charset="utf-8",
        cte="quoted-printable",
    )
    # A non-ASCII local part cannot be encoded into ASCII headers: such a message goes out
    # as UTF-8 (RFC 6531), and only over a server that offers SMTPUTF8.
    to_address = message["To"].addresses[0]
    message.policy = POLICY if to_address.username.isascii() else UTF8_POLICY
    return message
