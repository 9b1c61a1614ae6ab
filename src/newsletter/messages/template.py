"""One issue's message template, built once, and the cheap per-member fill.

The template is the finished message in pieces: bytes that are the same for everyone
(the headers from compose_message, the multipart/alternative frame, both bodies
already quoted-printable) and slots for what differs (To, Date, Message-ID,
List-Unsubscribe, and the greeting and token in each body). A member's message is
the slots' values encoded (a few dozen bytes) and one join; decoded, it is exactly
what ``compose_message`` builds from scratch for that member (tests prove it).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from enum import IntEnum
from functools import lru_cache
from typing import NamedTuple

from newsletter.errors import SettingsError, TemplateError
from newsletter.members.tokens import sign_token
from newsletter.messages.compose import (
    Addressee,
    compose_message,
    list_unsubscribe,
    mail_address,
    sender_address,
)
from newsletter.messages.headers import address_line, folded, header_line
from newsletter.messages.identity import MessageIds
from newsletter.messages.qp import encode_piece, normal_lines
from newsletter.messages.signing import DkimSigner
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import MemberFields
from newsletter.settings import NewsletterSettings
from newsletter.store.records import Recipient
from newsletter.wire import Envelope, EnvelopeError, envelope_address


class Slot(IntEnum):
    """Where members differ; the value indexes a fill's list of values."""

    TO = 0
    DATE = 1
    MESSAGE_ID = 2
    LIST_UNSUBSCRIBE = 3
    TEXT_GREETING = 4
    TEXT_TOKEN = 5
    HTML_GREETING = 6
    HTML_TOKEN = 7


_FIRST_BODY_SLOT = Slot.TEXT_GREETING
_HEADER_SLOTS = {
    "To": Slot.TO,
    "Date": Slot.DATE,
    "Message-ID": Slot.MESSAGE_ID,
    "List-Unsubscribe": Slot.LIST_UNSUBSCRIBE,
}
_BODY_SLOTS = {
    "plain": (Slot.TEXT_GREETING, Slot.TEXT_TOKEN),
    "html": (Slot.HTML_GREETING, Slot.HTML_TOKEN),
}
# A greeting holds no control characters: names are cleaned, the wording is checked.
_SEPARATOR = "\0"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Only what fills the fixed headers; the sample's own To, token and dates are replaced.
_SAMPLE = Addressee(address="member@example.invalid")
_SAMPLE_DATE = datetime(2000, 1, 1, tzinfo=UTC)
_BLOCK_TERMINATOR = b".\r\n"  # after the message's last CRLF: wire.BLOCK_END

Piece = bytes | Slot


@dataclass(frozen=True)
class MemberMessage:
    """One member's message as the sender takes it: ``Outgoing(key, envelope, message_id)``."""

    envelope: Envelope  # envelope sender and recipient (punycode domain), the DATA block
    message_id: str
    needs_smtputf8: bool  # a non-ASCII local part: only a server with SMTPUTF8 takes it

    def signed(self, signature: bytes) -> MemberMessage:
        """The message with ``signature`` (DKIM-Signature header lines) in front."""
        # The signature's lines start with "DKIM" or a space: nothing to dot-stuff.
        envelope = self.envelope
        signed = Envelope(envelope.sender, envelope.recipient, signature + envelope.data)
        return MemberMessage(signed, self.message_id, self.needs_smtputf8)


class _Member(NamedTuple):
    """What a fill works out for one member before the bytes are joined."""

    values: list[bytes]  # indexed by Slot
    recipient: str  # for RCPT TO
    message_id: str


@dataclass(frozen=True)
class Skeleton:
    """A message with holes: ``parts`` holds b"" at each position ``holes`` names."""

    parts: tuple[bytes, ...]
    holes: tuple[tuple[int, Slot], ...]

    @classmethod
    def of(cls, pieces: list[Piece]) -> Skeleton:
        parts: list[bytes] = []
        holes: list[tuple[int, Slot]] = []
        after_bytes = False
        for piece in pieces:
            if isinstance(piece, Slot):
                holes.append((len(parts), piece))
                parts.append(b"")
                after_bytes = False
            elif after_bytes:
                # Neighbouring bytes joined once here, so each fill joins fewer parts.
                parts[-1] += piece
            else:
                parts.append(piece)
                after_bytes = True
        return cls(tuple(parts), tuple(holes))

    def filled(self, values: list[bytes]) -> bytes:
        return b"".join(self.parts_of(values))

    def parts_of(self, values: list[bytes]) -> list[bytes]:
        """The filled message in its parts, each starting at the start of a line."""
        parts = list(self.parts)
        for position, slot in self.holes:
            parts[position] = values[slot]
        return parts


@dataclass(frozen=True)
class MessageTemplate:
    """An issue's messages to one list, ready to be filled; see ``build_template``.

    ``message`` is the message, ``block`` the same dot-stuffed and terminated for DATA:
    every piece starts at the start of a line (soft line breaks end the body's pieces),
    so stuffing piece by piece is stuffing the whole message.
    """

    email: RenderedEmail
    settings: NewsletterSettings
    unsubscribe_key: bytes
    both_markers: str  # the email's greeting and token markers, _SEPARATOR between them
    envelope_sender: str
    message_ids: MessageIds
    skeleton: Skeleton
    block_skeleton: Skeleton
    signer: DkimSigner | None

    def fill(
        self, member: Recipient, *, date: datetime, message_id: str | None = None
    ) -> MemberMessage:
        """The member's message, dated ``date`` (aware), as the DATA block to send.

        ``message_id`` replaces the stable one (a test send must not look like a resend
        to the mail provider). Raises MessageError when the member's address is not one
        at all (no "@", a domain that is not valid).
        """
        message, values = self.fill_unsigned(member, date=date, message_id=message_id)
        return message if self.signer is None else message.signed(self.signature(values))

    def fill_unsigned(
        self, member: Recipient, *, date: datetime, message_id: str | None = None
    ) -> tuple[MemberMessage, list[bytes]]:
        """``fill`` without the DKIM signatures: the message, and the values
        ``signature`` signs it for (``message.signed(template.signature(values))``)."""
        filled = self._member(member, date, message_id)
        # Only a body's field can start a line with "."; a header line never does.
        headers, fields = filled.values[:_FIRST_BODY_SLOT], filled.values[_FIRST_BODY_SLOT:]
        block = self.block_skeleton.filled(headers + [_stuffed(value) for value in fields])
        message = MemberMessage(
            envelope=Envelope(self.envelope_sender, filled.recipient, block),
            message_id=filled.message_id,
            needs_smtputf8=not filled.recipient.rpartition("@")[0].isascii(),
        )
        return message, filled.values

    def signature(self, values: list[bytes]) -> bytes:
        """The DKIM-Signature header lines of the message filled with ``values``."""
        if self.signer is None:
            raise TypeError("this template has no DKIM signer")
        return self.signer.sign_parts(self.skeleton.parts_of(values))

    def message(self, member: Recipient, *, date: datetime, message_id: str | None = None) -> bytes:
        """The member's message as a mail program reads it (an .eml file, CRLF line ends)."""
        filled = self._member(member, date, message_id)
        parts = self.skeleton.parts_of(filled.values)
        message = b"".join(parts)
        return message if self.signer is None else self.signer.sign_parts(parts) + message

    def _member(self, member: Recipient, date: datetime, message_id: str | None) -> _Member:
        recipient = recipient_of(member)
        to = mail_address(recipient.name, recipient.address)
        token = sign_token(self.unsubscribe_key, member.subscription_id)
        message_id = message_id or self.message_ids.for_subscription(member.subscription_id)
        fields = MemberFields(
            greeting=self.email.greeting.for_member(recipient.first_name, recipient.name),
            token=token,
        )
        # The markers filled by fill_text and fill_html themselves, both in one call each.
        markers = self.email.markers
        text_greeting, text_token = markers.fill_text(self.both_markers, fields).split(_SEPARATOR)
        html_greeting, html_token = markers.fill_html(self.both_markers, fields).split(_SEPARATOR)
        greeting, token_piece = encode_piece(text_greeting), encode_piece(text_token)
        values = [  # in Slot order
            address_line("To", to),
            _date_line(int(date.timestamp()), date.tzinfo),
            header_line("Message-ID", message_id),
            header_line("List-Unsubscribe", list_unsubscribe(self.settings, token)),
            greeting,
            token_piece,
            # The HTML's mostly equal the text's (few names have anything to escape).
            greeting if html_greeting == text_greeting else encode_piece(html_greeting),
            token_piece if html_token == text_token else encode_piece(html_token),
        ]
        # mail_address has cleaned the address and made the domain punycode; characters
        # SMTP cannot carry (a space) the transport refuses for this member alone.
        return _Member(values, f"{to.username}@{to.domain}", message_id)


def recipient_of(member: Recipient) -> Addressee:
    """How compose_message addresses and greets a member.

    The To name is the full name, else first and last name; a last name alone is not
    used, since the greeting takes the first word of the name ("Hallo Müller," is wrong).
    """
    name = member.name.strip()
    if not name and member.first_name.strip():
        name = f"{member.first_name.strip()} {member.last_name.strip()}".strip()
    return Addressee(address=member.email, name=name, first_name=member.first_name)


def build_template(
    email: RenderedEmail,
    settings: NewsletterSettings,
    *,
    issue: str,
    list_name: str,
    unsubscribe_key: bytes,
    subject_prefix: str = "",
    signer: DkimSigner | None = None,
    envelope_from: str | None = None,
) -> MessageTemplate:
    """The template of ``issue``'s messages to ``list_name``.

    ``envelope_from`` defaults to the settings' ``envelope_from``, else the From address.
    Raises TemplateError for a greeting wording with a line break, SettingsError for an
    envelope sender SMTP cannot carry.
    """
    for wording in (email.greeting.named, email.greeting.anonymous):
        if _CONTROL.search(wording):
            raise TemplateError(
                f"the greeting {wording!r} holds a line break or another control character",
                "write greeting and greeting_without_name of the texts file on one line",
                key="greeting_line_break",
                params={"wording": wording},
            )
    sample = compose_message(
        email,
        _SAMPLE,
        "",
        settings,
        list_name=list_name,
        date=_SAMPLE_DATE,
        message_id="<sample@example.invalid>",
        subject_prefix=subject_prefix,
    )
    pieces = _message_pieces(sample, email)
    markers = email.markers
    return MessageTemplate(
        email=email,
        settings=settings,
        unsubscribe_key=unsubscribe_key,
        both_markers=f"{markers.greeting}{_SEPARATOR}{markers.token}",
        envelope_sender=_envelope_sender(envelope_from or settings.envelope_from, settings),
        message_ids=MessageIds(unsubscribe_key, issue, sender_address(settings).domain),
        skeleton=Skeleton.of(pieces),
        block_skeleton=Skeleton.of(
            [*(_stuffed(p) if isinstance(p, bytes) else p for p in pieces), _BLOCK_TERMINATOR]
        ),
        signer=signer,
    )


def _envelope_sender(envelope_from: str | None, settings: NewsletterSettings) -> str:
    address = parseaddr(envelope_from)[1] if envelope_from else sender_address(settings).addr_spec
    try:
        return envelope_address(address).text
    except EnvelopeError as error:
        raise SettingsError(
            f"[newsletter] envelope_from/from: {error}",
            key="settings_bad_envelope",
            params={"address": address},
        ) from None


def _message_pieces(sample: EmailMessage, email: RenderedEmail) -> list[Piece]:
    """The sample's headers and multipart frame, with slots where members differ."""
    # "=_" cannot occur in quoted-printable text, so the boundary is safe without a search.
    boundary = f"=_{secrets.token_hex(16)}"
    sample.set_boundary(boundary)
    pieces: list[Piece] = [
        _HEADER_SLOTS[name] if name in _HEADER_SLOTS else folded(name, value)
        for name, value in sample.items()
    ]
    bodies = {"plain": email.text, "html": email.html}
    for part in sample.iter_parts():
        assert isinstance(part, EmailMessage)
        subtype = part.get_content_subtype()
        pieces.append(f"\r\n--{boundary}\r\n".encode("ascii"))
        pieces.extend(folded(name, value) for name, value in part.items())
        pieces.append(b"\r\n")
        greeting, token = _BODY_SLOTS[subtype]
        slots = {email.markers.greeting: greeting, email.markers.token: token}
        pieces.extend(_body_pieces(bodies[subtype], slots))
    pieces.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return pieces


def _body_pieces(body: str, slots: Mapping[str, Slot]) -> list[Piece]:
    """``body`` cut at the markers (the keys of ``slots``), and only at those: the
    markers of this render, which no content can hold (placeholders.py)."""
    # re.split with a group keeps the markers at the odd positions.
    markers = "|".join(re.escape(marker) for marker in slots)
    parts = re.split(f"({markers})", normal_lines(body))
    return [slots[part] if n % 2 else encode_piece(part) for n, part in enumerate(parts)]


def _stuffed(piece: bytes) -> bytes:
    """RFC 5321 4.5.2 for a piece that starts a line: a line starting with "." gets one more."""
    if b"\r\n." not in piece and not piece.startswith(b"."):
        return piece
    stuffed = piece.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


@lru_cache(maxsize=1)
def _date_line(second: int, zone: tzinfo | None) -> bytes:
    # Formatting costs more than all the other headers: the messages of one second share
    # it (the Date header has no finer grain), keyed cheaply by the second.
    return header_line("Date", format_datetime(datetime.fromtimestamp(second, zone)))
