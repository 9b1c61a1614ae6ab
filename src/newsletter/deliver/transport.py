"""One SMTP connection, reused for many messages, over the standard library's smtplib.

smtplib does the parts that are easy to get wrong (greeting, EHLO, STARTTLS, AUTH);
the transaction itself is written here: MAIL, RCPT and DATA pipelined when the server
offers PIPELINING (RFC 2920), and the message sent as a DATA block prepared once
(``wire.data_block``) instead of ``sendmail()``, which re-encodes and re-stuffs every
message with regular expressions.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass, replace
from typing import Protocol

from newsletter.deliver.replies import Reply, Stage
from newsletter.errors import DeliveryError
from newsletter.settings import Security, SmtpSettings, is_loopback
from newsletter.wire import Envelope, EnvelopeError, envelope_address


@dataclass(frozen=True)
class Attempt:
    """How one try of one message ended."""

    stage: Stage
    reply: Reply | None  # None: the connection was lost, or we never asked (see ``local``)
    local: str | None = None  # why we did not even try (e.g. no SMTPUTF8 for this address)
    data_sent: bool = False  # the message's end went out: a lost reply leaves it uncertain
    error: str | None = None  # what happened to a lost connection
    # The server ended a session that had carried messages ("421 too many messages", or
    # it hung up) before this message went out: the relay's session limit, not a failure.
    session_ended: bool = False

    @property
    def lost(self) -> bool:
        return self.reply is None and self.local is None


_LOST = (smtplib.SMTPServerDisconnected, OSError)


class Transport(Protocol):
    """Where the engine hands each message: an SMTP connection to the relay, or (for a
    dry run, the demo, a test) anything else that answers like one. Used by one worker
    thread at a time; failures no retry can cure raise DeliveryError."""

    def send(self, envelope: Envelope) -> Attempt: ...

    def close(self) -> None: ...


class SmtpConnection:
    """A connection to the relay, opened on first use and again after a drop.

    Failures that no retry can cure (login refused, TLS not possible) raise
    DeliveryError; everything about one message comes back as an Attempt.
    """

    def __init__(
        self,
        smtp: SmtpSettings,
        password: str | None,
        *,
        tls: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if smtp.security is Security.NONE and not is_loopback(smtp.host):
            raise DeliveryError(
                f'security = "none" sends the password and every message unencrypted; '
                f"it is only allowed for a server on this machine, not {smtp.host}",
                'use "starttls" or "tls" in [smtp]',
            )
        self._settings = smtp
        self._password = password
        self._tls = tls
        self._local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None
        self._carried = 0  # transactions on this session

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            # Certificates verified against the system's CAs. Loading those takes ~0.1 s,
            # so a caller with several connections passes one context for all of them.
            self._tls = ssl.create_default_context()
        return self._tls

    @property
    def where(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    # ------------------------------------------------------------ opening

    def open(self) -> Reply | None:
        """Connect, secure and log in; a refusing greeting comes back as its Reply.

        Raises OSError when the server cannot be reached, DeliveryError when it can
        be reached but not used.
        """
        settings = self._settings
        try:
            if settings.security is Security.TLS:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    local_hostname=self._local_hostname,
                    timeout=settings.timeout,
                    context=self._context(),
                )
            else:
                smtp = smtplib.SMTP(
                    settings.host,
                    settings.port,
                    local_hostname=self._local_hostname,
                    timeout=settings.timeout,
                )
        except smtplib.SMTPConnectError as error:
            return Reply(error.smtp_code, _text(error.smtp_error))
        except ssl.SSLError as error:
            raise self._tls_error(error) from None
        try:
            self._secure_and_login(smtp)
        except BaseException:
            smtp.close()
            raise
        if smtp.sock is not None:
            # Each command group goes out in one write; never wait for Nagle's timer.
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._smtp = smtp
        self._carried = 0
        return None

    def _secure_and_login(self, smtp: smtplib.SMTP) -> None:
        settings = self._settings
        try:
            smtp.ehlo()
            if settings.security is Security.STARTTLS:
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(
                        f"the SMTP server {self.where} does not offer STARTTLS, so the "
                        "connection cannot be encrypted",
                        'check host and port in [smtp] (port 465 needs security = "tls")',
                    )
                code, message = smtp.starttls(context=self._context())
                if code != 220:
                    raise DeliveryError(
                        f"the SMTP server {self.where} refused STARTTLS: {code} {_text(message)}"
                    )
                smtp.ehlo()
            if settings.username is not None:
                self._login(smtp, settings.username)
        except ssl.SSLError as error:
            raise self._tls_error(error) from None

    def _login(self, smtp: smtplib.SMTP, username: str) -> None:
        if not smtp.has_extn("auth"):
            raise DeliveryError(
                f"the SMTP server {self.where} does not offer a login (AUTH)",
                "remove username from [smtp] for a relay without login, or check host and port",
            )
        offered = smtp.esmtp_features.get("auth", "").upper().split()
        # One mechanism, not smtplib's login(), which tries the next one after a refusal:
        # the same wrong password again only counts against the account's lockout.
        mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
        if mechanism is None:
            raise DeliveryError(
                f"the SMTP server {self.where} offers no login we can use "
                f"(only {', '.join(offered) or 'none'}; we speak PLAIN and LOGIN over TLS)"
            )
        smtp.user, smtp.password = username, self._password or ""
        authenticate = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
        try:
            smtp.auth(mechanism, authenticate)
        except smtplib.SMTPAuthenticationError as error:
            raise DeliveryError(
                f"the SMTP server {self.where} refused the login for {username}: "
                f"{error.smtp_code} {_text(error.smtp_error)}",
                "check username in [smtp] and the password",
            ) from None
        except smtplib.SMTPException as error:
            raise DeliveryError(
                f"logging in to {self.where} as {username} failed: {error}"
            ) from None

    def _tls_error(self, error: ssl.SSLError) -> DeliveryError:
        if isinstance(error, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"the TLS certificate of {self.where} could not be verified: "
                f"{error.verify_message}",
                "check host in [smtp]: it must be the name the certificate was issued for",
            )
        return DeliveryError(
            f"no TLS connection to {self.where}: {error.reason or error}",
            'check port and security in [smtp] (usually 587 with "starttls", 465 with "tls")',
        )

    # ------------------------------------------------------------ sending

    def send(self, envelope: Envelope) -> Attempt:
        """One message to one recipient; the connection is opened (again) when needed."""
        if self._smtp is None:
            try:
                greeting = self.open()
            except _LOST as error:
                return Attempt(Stage.CONNECT, None, error=_describe(error))
            if greeting is not None:
                return Attempt(Stage.CONNECT, greeting)
        assert self._smtp is not None
        carried = self._carried
        try:
            attempt = self._transaction(self._smtp, envelope)
        except EnvelopeError as error:
            return Attempt(Stage.RCPT, None, local=str(error))
        self._carried += 1
        if carried and _ends_session(attempt):
            self.close()
            return replace(attempt, session_ended=True)
        if self._carried >= self._settings.messages_per_connection:
            # Before the relay's own cap says so with a 421: a new session for the next.
            self.close()
        return attempt

    def _transaction(self, smtp: smtplib.SMTP, envelope: Envelope) -> Attempt:
        sender = envelope_address(envelope.sender)
        recipient = envelope_address(envelope.recipient)
        utf8 = sender.needs_smtputf8 or recipient.needs_smtputf8
        if utf8 and not smtp.has_extn("smtputf8"):
            return Attempt(
                Stage.RCPT,
                None,
                local="the address has non-ASCII characters before the @, and the SMTP "
                "server does not support them (no SMTPUTF8)",
            )
        # BODY=8BITMIME only says the content may be 8-bit (RFC 6152): declared whenever the
        # server allows it, so no message has to be scanned for it.
        options = " BODY=8BITMIME" if smtp.has_extn("8bitmime") else ""
        if utf8:
            options = " SMTPUTF8" + options
        commands = (
            f"MAIL FROM:<{sender.text}>{options}\r\n",
            f"RCPT TO:<{recipient.text}>\r\n",
            "DATA\r\n",
        )
        encoding = "utf-8" if utf8 else "ascii"
        stages = (Stage.MAIL, Stage.RCPT, Stage.DATA)
        data_sent = False
        try:
            replies = self._commands(smtp, [c.encode(encoding) for c in commands])
            for stage, reply in zip(stages, replies, strict=False):
                expected = 354 if stage is Stage.DATA else 250
                if reply.code // 100 != expected // 100:
                    self._abort(smtp, ready=len(replies) == 3 and replies[2].code == 354)
                    return Attempt(stage, reply)
            smtp.send(envelope.data)
            data_sent = True
            reply = _reply(smtp)
            if not 200 <= reply.code < 300:
                self._reset(smtp)
            return Attempt(Stage.MESSAGE, reply, data_sent=True)
        except _LOST as error:
            self.close()
            stage = Stage.MESSAGE if data_sent else Stage.MAIL
            return Attempt(stage, None, data_sent=data_sent, error=_describe(error))

    def _commands(self, smtp: smtplib.SMTP, commands: list[bytes]) -> list[Reply]:
        """Send the commands and read their replies; stop at the first refusal unless pipelined."""
        if smtp.has_extn("pipelining"):
            smtp.send(b"".join(commands))
            return [_reply(smtp) for _ in commands]
        replies = []
        for command in commands:
            smtp.send(command)
            reply = _reply(smtp)
            replies.append(reply)
            if not reply.positive:
                break
        return replies

    def _abort(self, smtp: smtplib.SMTP, *, ready: bool) -> None:
        if ready:
            # A pipelined DATA was accepted although MAIL or RCPT was not: end it empty.
            smtp.send(b".\r\n")
            _reply(smtp)
        self._reset(smtp)

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """RSET after an error inside a transaction; a server that hung up gets a new connection."""
        try:
            code, _ = smtp.rset()
        except _LOST:
            code = 421
        if code == 421:
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _ends_session(attempt: Attempt) -> bool:
    """A 421, or a hang-up before the message's end went out."""
    if attempt.reply is None:
        return attempt.local is None and not attempt.data_sent
    return attempt.reply.code == 421


def _reply(smtp: smtplib.SMTP) -> Reply:
    code, text = smtp.getreply()
    if code == -1:
        raise smtplib.SMTPServerDisconnected("unreadable reply")
    return Reply(code, _text(text))


def _text(message: bytes | str) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return " ".join(message.split())


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
