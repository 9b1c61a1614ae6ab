"""The confirmation and welcome mails: templates in the workspace (``templates/signup/``,
MJML and text, like the newsletter's), sent over the configured ``[smtp]`` with the
delivery stage's own connection code.

Each kind of mail is rendered and compiled once, with a marker where the personal link
goes; a mail then costs a string replacement, not an MJML compile.
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from enum import StrEnum
from pathlib import Path
from typing import Any

from babel.dates import format_date

from newsletter.bundled import default_templates
from newsletter.deliver.password import smtp_password
from newsletter.deliver.transport import SmtpConnection
from newsletter.messages.compose import (
    POLICY,
    clean_text,
    mail_address,
    new_message_id,
    sender_address,
)
from newsletter.render.compile import compile_mjml, inline_css
from newsletter.render.templates import render_template
from newsletter.render.texts import load_texts, load_theme
from newsletter.settings import NewsletterSettings, SmtpSettings
from newsletter.signup.apply import AddressChanged
from newsletter.signup.consent import signup_texts
from newsletter.wire import Envelope, data_block

log = logging.getLogger(__name__)

SIGNUP_DIR = "signup"


class MailKind(StrEnum):
    CONFIRM = "confirm"  # a sign-up's confirmation request
    ADDRESS = "address"  # a new address's confirmation request
    WELCOME = "welcome"
    CHANGED = "changed"  # to the old address once a change of address is made


def masked_address(address: str) -> str:
    """``yvonne@example.org`` as ``y***@example.org``: enough for the member to recognise
    their own new address, too little to give a stranger's away."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


@dataclass(frozen=True)
class _Compiled:
    subject: str
    html: str
    text: str


def signup_templates(templates_dir: Path) -> Path:
    """The workspace's templates when they have the sign-up mails, else the defaults."""
    return templates_dir if (templates_dir / SIGNUP_DIR).is_dir() else default_templates()


class SignupMails:
    """Renders the four mails once (``load`` raises TemplateError for a broken one)."""

    def __init__(self, templates_dir: Path, settings: NewsletterSettings) -> None:
        self.settings = settings
        self.marker = f"nl-link-{secrets.token_hex(8)}"
        folder = signup_templates(templates_dir)
        texts = load_texts(folder, settings.locale)
        signup = signup_texts(folder, settings)
        texts = texts | {"signup": signup}
        common: dict[str, Any] = {
            "lang": str(settings.locale),
            "texts": texts,
            "theme": load_theme(folder),
            "newsletter": settings,
            "link": self.marker,
            # The greeting is filled per mail: the first name is the signer's own text.
            "greeting": self.marker + "-greeting",
        }
        purposes = {
            MailKind.CONFIRM: ("confirm", "confirm_subject", "confirm_intro", "confirm_button",
                               "confirm_valid", "confirm_ignore"),
            MailKind.ADDRESS: ("confirm", "address_subject", "address_intro", "address_button",
                               "confirm_valid", "address_ignore"),
            MailKind.WELCOME: ("welcome", "welcome_subject", "", "", "", ""),
        }  # fmt: skip
        self.greetings = (str(texts["greeting"]), str(texts["greeting_without_name"]))
        self.dates = texts["date_format"]
        self._compiled: dict[MailKind, _Compiled] = {}
        for kind, (name, subject, intro, button, valid, ignore) in purposes.items():
            context = common | {
                "subject": signup[subject],
                "intro": signup.get(intro, ""),
                "button": signup.get(button, ""),
                "valid": signup.get(valid, ""),
                "ignore": signup.get(ignore, ""),
            }
            self._compiled[kind] = self._compile(folder, name, context)
        self._compiled[MailKind.CHANGED] = self._notice(folder, settings)

    def _compile(self, folder: Path, name: str, context: dict[str, Any]) -> _Compiled:
        mjml = render_template(folder, f"{SIGNUP_DIR}/{name}.mjml", context)
        html = inline_css(compile_mjml(mjml, folder / SIGNUP_DIR / f"{name}.mjml"))
        text = render_template(folder, f"{SIGNUP_DIR}/{name}.txt", context)
        return _Compiled(str(context["subject"]), html, text)

    def _notice(self, folder: Path, settings: NewsletterSettings) -> _Compiled:
        """The change-of-address notice; the new address and the date are markers."""
        signup = signup_texts(folder, settings)
        if "changed_subject" not in signup or not (folder / SIGNUP_DIR / "notice.mjml").is_file():
            # Sign-up templates copied before the notice existed: the ones that ship.
            folder = default_templates()
            signup = signup_texts(folder, settings)
        reply_to = parseaddr(settings.reply_to or settings.sender)[1]
        intro = (
            signup["changed_text"]
            .replace("{address}", self._word("address"))
            .replace("{date}", self._word("date"))
        )
        context: dict[str, Any] = {
            "lang": str(settings.locale),
            "texts": load_texts(folder, settings.locale) | {"signup": signup},
            "theme": load_theme(folder),
            "newsletter": settings,
            "greeting": self.marker + "-greeting",
            "subject": signup["changed_subject"],
            "intro": intro,
            "ignore": signup["changed_not_you"].replace("{reply_to}", reply_to),
        }
        return self._compile(folder, "notice", context)

    def notice(self, changed: AddressChanged, now: datetime) -> EmailMessage:
        """To the old address: it was changed to the (masked) new one."""
        when = format_date(
            changed.at.astimezone(), format=str(self.dates), locale=str(self.settings.locale)
        )
        new = masked_address(changed.new_address)
        return self.message(
            MailKind.CHANGED,
            changed.old_address,
            changed.first_name,
            "",
            now,
            {self._word("address"): new, self._word("date"): when},
        )

    def _word(self, name: str) -> str:
        """A marker inside running text: no hyphen, where ``wordwrap`` would break it."""
        return self.marker.replace("-", "") + name

    def message(
        self,
        kind: MailKind,
        address: str,
        first_name: str,
        link: str,
        now: datetime,
        fills: dict[str, str] | None = None,
    ) -> EmailMessage:
        """One mail; ``fills``: marker → text, for what else differs per mail."""
        from html import escape

        compiled = self._compiled[kind]
        name = clean_text(first_name)
        named, anonymous = self.greetings
        greeting = named.replace("{first_name}", name) if name else anonymous
        message = EmailMessage(policy=POLICY.clone(max_line_length=76))
        message["From"] = sender_address(self.settings)
        message["To"] = mail_address("", address)
        if self.settings.reply_to:
            message["Reply-To"] = mail_address(*parseaddr(self.settings.reply_to))
        message["Subject"] = clean_text(compiled.subject)
        message["Date"] = format_datetime(now)
        message["Message-ID"] = new_message_id(self.settings)
        message["Auto-Submitted"] = "auto-generated"
        text, html = compiled.text, compiled.html
        for marker, value in ({self.marker + "-greeting": greeting} | (fills or {})).items():
            text = text.replace(marker, value)
            html = html.replace(marker, escape(value))
        text = text.replace(self.marker, link)
        html = html.replace(self.marker, escape(link))
        message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
        message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
        if not message["To"].addresses[0].username.isascii():
            message.policy = POLICY.clone(utf8=True)
        else:
            message.policy = POLICY
        return message


class Mailer:
    """Sends one mail at a time over ``[smtp]``; a connection per mail (sign-ups are few)."""

    def __init__(self, smtp: SmtpSettings, settings: NewsletterSettings) -> None:
        self.smtp = smtp
        # Read now, not at the first sign-up: a missing password stops ``serve`` at once.
        self.password = smtp_password(smtp)
        self.sender = parseaddr(settings.envelope_from or settings.sender)[1]
        self._lock = threading.Lock()

    def send(self, message: EmailMessage, recipient: str) -> bool:
        """Whether the relay accepted it; a failure is logged without the address."""
        envelope = Envelope(self.sender, recipient, data_block(message.as_bytes()))
        with self._lock:
            connection = SmtpConnection(self.smtp, self.password)
            try:
                attempt = connection.send(envelope)
            except Exception as error:
                log.warning("a sign-up mail could not be sent: %s", error)
                return False
            finally:
                connection.close()
        if attempt.reply is not None and 200 <= attempt.reply.code < 300:
            return True
        log.warning(
            "a sign-up mail was not accepted: %s",
            attempt.local or attempt.error or attempt.reply,
        )
        return False
