"""What a mail in the bounce mailbox is: a failure, an auto-reply, a complaint, or unknown.

Pure functions over ``email.message.Message``. Standard reports come first: an abuse
report (ARF, RFC 5965) and a delivery status notification (RFC 3464), whose Status
code decides permanent or temporary. Mails in the older and provider-specific formats
(qmail, plain-text Exim, T-Online, GMX) go to flufl.bounce, GNU Mailman's detector.
What is none of these is an auto-reply when its headers or subject say so, else unknown.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from enum import StrEnum

log = logging.getLogger(__name__)

# A report longer than this is not read further: real ones are a few kilobytes.
MAX_TEXT_CHARS = 200_000
MAX_PARTS = 200
_MAX_DETAIL_CHARS = 300
_MAX_HEADER_CHARS = 10_000


class Kind(StrEnum):
    PERMANENT = "permanent"  # the address is dead: user unknown, mailbox disabled
    TEMPORARY = "temporary"  # mailbox full, server busy, refused for now: counted
    AUTO_REPLY = "auto_reply"  # out of office and the like: ignored
    COMPLAINT = "complaint"  # the member marked us as spam: unsubscribed at once
    UNKNOWN = "unknown"  # not recognised: left in the mailbox for a person


@dataclass(frozen=True)
class Classification:
    kind: Kind
    recipients: tuple[str, ...]  # the failed (or complaining) addresses the report names
    code: str  # an RFC 3463 status ("5.1.1") or SMTP reply code, "" when none is given
    text: str  # the server's diagnostic, one line, shortened


_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_REPLY = re.compile(r"(?<![\d.])([45]\d\d)(?:[ -]|$)")
_DAEMON = re.compile(r"mailer-daemon|postmaster|mail delivery|mailerdaemon", re.IGNORECASE)
# Subjects of out-of-office replies (German and English mail programs and webmailers).
_AUTO_SUBJECT = re.compile(
    r"^\s*(?:"
    r"abwesenheit\w*|abwesend|automatische\s+antwort|automatische\s+r[üu]ckantwort|"
    r"autom\.\s*antwort|urlaub\w*|au[sß]er\s+haus|nicht\s+im\s+b[üu]ro|"
    r"auto(?:matic)?[\s-]*reply|autoreply|auto[\s-]*response|out\s+of\s+(?:the\s+)?office|"
    r"on\s+vacation|vacation(?:\s+reply)?|away\s+from\s+(?:the\s+)?office|auto:"
    r")",
    re.IGNORECASE,
)


def classify(message: Message) -> Classification:
    """Classify one mail from the bounce mailbox."""
    complaint = _complaint(message)
    if complaint is not None:
        return complaint
    report = _delivery_status(message)
    if report is not None:
        return report
    # A mailer daemon's mail is auto-submitted too; undetected, it needs a person.
    if _is_auto_reply(message) and not _from_daemon(message):
        return Classification(Kind.AUTO_REPLY, (), "", "")
    detected = _detected(message)
    if detected is not None:
        return detected
    return Classification(Kind.UNKNOWN, (), "", "")


def kind_of_status(code: str) -> Kind:
    """Permanent or temporary, from an RFC 3463 status code (or a bare SMTP reply code).

    Permanent means the address is dead: 5.1.x (no such user, bad domain), 5.2.0/5.2.1
    (mailbox unavailable, disabled), 5.4.x (no route to the domain) and the unspecified
    5.0.0. Every other 5.x.x says nothing about the address (5.2.2 mailbox full, 5.3.4
    message too big, 5.7.x a spam filter's refusal): it is counted like a 4.x.x.
    """
    status = _STATUS.search(code)
    if status:
        klass, subject, detail = status.groups()
        dead = subject in ("0", "1", "4") or (subject == "2" and detail in ("0", "1"))
        return Kind.PERMANENT if klass == "5" and dead else Kind.TEMPORARY
    reply = _SMTP_REPLY.search(code)
    if reply and reply.group(1).startswith("4"):
        return Kind.TEMPORARY
    if reply and reply.group(1) in {"552", "554"} and "quota" in code.lower():
        return Kind.TEMPORARY
    return Kind.PERMANENT


# ---------------------------------------------------------------- parts


def parts(message: Message) -> Iterator[Message]:
    """The message and its parts, depth first, at most MAX_PARTS of them."""
    for count, part in enumerate(message.walk()):
        if count >= MAX_PARTS:
            return
        yield part


def text_of(part: Message) -> str:
    """A leaf part's text, decoded, at most MAX_TEXT_CHARS."""
    if part.is_multipart():
        return ""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a broken transfer encoding: the report is read as far as it goes
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw[:MAX_TEXT_CHARS] if isinstance(raw, str) else ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload[: MAX_TEXT_CHARS * 4].decode(charset, "replace")[:MAX_TEXT_CHARS]
    except LookupError:  # an unknown charset name
        return payload[: MAX_TEXT_CHARS * 4].decode("utf-8", "replace")[:MAX_TEXT_CHARS]


def header(message: Message, name: str) -> str:
    """A header as one line of text, encoded words decoded; "" when missing."""
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot make sense of counts as missing
        return ""
    if value is None:
        return ""
    text = str(value)[:_MAX_HEADER_CHARS]
    if "=?" in text:
        # A broken encoded word ("=?x?Q?...", an unknown charset) stays as it was written.
        with suppress(Exception):
            text = str(make_header(decode_header(text)))
    return " ".join(text.split())


# ---------------------------------------------------------------- ARF


def _complaint(message: Message) -> Classification | None:
    for part in parts(message):
        if part.get_content_type() != "message/feedback-report":
            continue
        fields = _fields(part)
        feedback = " ".join(field.get("feedback-type", "") for field in fields).lower()
        if feedback and "abuse" not in feedback and "fraud" not in feedback:
            continue  # not-spam, virus and the like are no reason to unsubscribe anyone
        recipients = tuple(
            address for field in fields for address in _addresses(field.get("original-rcpt-to", ""))
        ) or _returned_recipients(message)
        return Classification(
            Kind.COMPLAINT, recipients, "", f"feedback type {feedback or 'abuse'}"
        )
    return None


def _returned_recipients(message: Message) -> tuple[str, ...]:
    for part in parts(message):
        if part.get_content_type() == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                return tuple(_addresses(header(inner, "To")))
    return ()


# ---------------------------------------------------------------- RFC 3464


def _fields(part: Message) -> list[dict[str, str]]:
    """The field groups of a message/delivery-status (or feedback-report) part."""
    groups: list[dict[str, str]] = []
    payload = part.get_payload()
    if isinstance(payload, list):
        for block in payload[:MAX_PARTS]:
            if isinstance(block, Message):
                groups.append({key.lower(): header(block, key) for key in block})
        return groups
    # Some servers send the report as one text block (or mis-declare it): parse it here.
    text = text_of(part) if isinstance(payload, str) else ""
    for chunk in re.split(r"\r?\n\s*\r?\n", text)[:MAX_PARTS]:
        group: dict[str, str] = {}
        name = ""
        for line in chunk.splitlines():
            if line[:1] in (" ", "\t") and name:
                group[name] += " " + line.strip()
            elif ":" in line:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                group[name] = value.strip()
        if group:
            groups.append(group)
    return groups


def _delivery_status(message: Message) -> Classification | None:
    failures: list[tuple[Kind, str, str, str]] = []  # kind, recipient, code, text
    for part in parts(message):
        if part.get_content_type() != "message/delivery-status":
            continue
        for group in _fields(part):
            action = group.get("action", "").lower()
            if not action.startswith(("failed", "fail", "error", "delayed")):
                continue  # delivered, relayed, expanded: no failure
            recipient = _recipient(group)
            status = group.get("status", "")
            diagnostic = group.get("diagnostic-code", "")
            _, _, diagnostic = (
                diagnostic.partition(";") if ";" in diagnostic else ("", "", diagnostic)
            )
            code = _code(status) or _code(diagnostic)
            if action.startswith("delayed"):
                kind = Kind.TEMPORARY
            elif code:
                kind = kind_of_status(code if "." in code else diagnostic)
            else:
                kind = Kind.PERMANENT
            failures.append((kind, recipient, code, diagnostic.strip()))
    if not failures:
        return None
    # Permanent wins when one report names several recipients (we send one per message).
    failures.sort(key=lambda failure: failure[0] is not Kind.PERMANENT)
    kind, _, code, text = failures[0]
    recipients = tuple(dict.fromkeys(r for k, r, _, _ in failures if r and k is kind))
    return Classification(kind, recipients, code, short(text or code))


def _recipient(group: dict[str, str]) -> str:
    for name in ("original-recipient", "final-recipient", "x-actual-recipient"):
        value = group.get(name, "")
        if value:
            _, _, address = value.rpartition(";")
            address = parseaddr(address.strip())[1] or address.strip().strip("<>")
            if "@" in address:
                return address.lower()
    return ""


def _code(text: str) -> str:
    status = _STATUS.search(text)
    if status:
        return status.group(0)
    reply = _SMTP_REPLY.search(text)
    return reply.group(1) if reply else ""


# ---------------------------------------------------------------- other formats


def _detected(message: Message) -> Classification | None:
    from flufl.bounce import all_failures

    try:
        temporary, permanent = all_failures(message)
    except Exception as error:  # a heuristic tripping over a hostile mail: no finding
        log.debug("flufl.bounce failed: %r", error)
        return None
    failed = [*permanent, *temporary]
    if not failed:
        named = _addresses(header(message, "X-Failed-Recipients")) or _listed_failures(message)
        permanent = frozenset(a.encode() for a in named if a.isascii())
        failed = list(permanent)
        if not failed:
            return None
    recipients = tuple(dict.fromkeys(a.decode("ascii", "replace").lower() for a in failed))
    text = _diagnostic_line(message, recipients)
    code = _code(text)
    kind = (kind_of_status(code) if code else Kind.PERMANENT) if permanent else Kind.TEMPORARY
    return Classification(kind, recipients, code, short(text))


# Exim's wording, which GMX and web.de keep with the address in quotes flufl does not read.
_FAILED_LIST = re.compile(r"following address\(es\)\s+failed:\s*\n\s*\"?<?([^\s\"<>]+@[^\s\"<>:]+)")


def _listed_failures(message: Message) -> list[str]:
    if not _from_daemon(message):
        return []
    for part in parts(message):
        if part.get_content_type() == "text/plain":
            found = _FAILED_LIST.search(text_of(part))
            return [found.group(1).lower()] if found else []
    return []


def _diagnostic_line(message: Message, recipients: tuple[str, ...]) -> str:
    """The report's lines about the first failed address: the server's words, if any."""
    for part in parts(message):
        if part.get_content_maintype() != "text" or part.get_content_type() == "text/html":
            continue
        lines = text_of(part).splitlines()
        for number, line in enumerate(lines):
            if recipients and recipients[0] in line.lower():
                window = " ".join(item.strip() for item in lines[number : number + 6])
                # Stop where the copy of the message starts.
                return re.split(r"-{2,}|\|-{3,}", window)[0]
        break
    return ""


def _addresses(value: str) -> list[str]:
    return [address.lower() for _, address in getaddresses([value]) if "@" in address]


# ---------------------------------------------------------------- auto-replies


def _is_auto_reply(message: Message) -> bool:
    submitted = header(message, "Auto-Submitted").lower()
    if submitted and not submitted.startswith("no"):
        return True
    if header(message, "X-Autoreply") or header(message, "X-Autorespond"):
        return True
    if header(message, "Precedence").lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.match(header(message, "Subject")))


def _from_daemon(message: Message) -> bool:
    return bool(_DAEMON.search(header(message, "From")))


def short(text: str) -> str:
    """One line of at most a few hundred characters, for the record and the output."""
    line = " ".join(text.split())
    return line if len(line) <= _MAX_DETAIL_CHARS else line[: _MAX_DETAIL_CHARS - 1] + "…"
