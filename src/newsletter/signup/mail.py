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
from newsletter.signup.consent import signup_texts
from newsletter.wire import Envelope, data_block

log = logging.getLogger(__name__)

SIGNUP_DIR = "signup"


class MailKind(StrEnum):
    CONFIRM = "confirm"  # a sign-up's confirmation request
    ADDRESS = "address"  # a new address's confirmation request
    WELCOME = "welcome"


@dataclass(frozen=True)
class _Compiled:
    subject: str
    html: str
    text: str


def signup_templates(templates_dir: Path) -> Path:
    """The workspace's templates when they have the sign-up mails, else the defaults."""
    return templates_dir if (templates_dir / SIGNUP_DIR).is_dir() else default_templates()


class SignupMails:
    """Renders the three mails once (``load`` raises TemplateError for a broken one)."""

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
        self._compiled: dict[MailKind, _Compiled] = {}
        for kind, (name, subject, intro, button, valid, ignore) in purposes.items():
            context = common | {
                "subject": signup[subject],
                "intro": signup.get(intro, ""),
                "button": signup.get(button, ""),
                "valid": signup.get(valid, ""),
                "ignore": signup.get(ignore, ""),
            }
            mjml = render_template(folder, f"{SIGNUP_DIR}/{name}.mjml", context)
            origin = folder / SIGNUP_DIR / f"{name}.mjml"
            html = inline_css(compile_mjml(mjml, origin))
            text = render_template(folder, f"{SIGNUP_DIR}/{name}.txt", context)
            self._compiled[kind] = _Compiled(signup[subject], html, text)

    def message(
        self, kind: MailKind, address: str, first_name: str, link: str, now: datetime
    ) -> EmailMessage:
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
        greeting_marker = self.marker + "-greeting"
        text = compiled.text.replace(greeting_marker, greeting).replace(self.marker, link)
        html = compiled.html.replace(greeting_marker, escape(greeting)).replace(
            self.marker, escape(link)
        )
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
