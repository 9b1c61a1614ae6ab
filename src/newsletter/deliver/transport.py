"""One SMTP connection, reused for many messages, over the standard library's smtplib.

smtplib does the parts that are easy to get wrong (greeting, EHLO, STARTTLS, AUTH);
the transaction itself is written here, as a state machine the engine's one loop drives
for many connections at once (``begin``, then ``readable`` whenever the socket has
something): MAIL, RCPT and DATA in one write when the server offers PIPELINING (RFC
2920), and the message sent as a DATA block prepared once (``wire.data_block``) instead
of ``sendmail()``, which re-encodes and re-stuffs every message with regular expressions.
The relay's session limits: a new session after ``messages_per_connection``, and a 421 or
a hang-up on a session that carried messages ends it without cost (``session_ended``).
"""

from __future__ import annotations

import select
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
    dry run, the demo, a test) anything else that answers like one. The engine's loop
    calls ``send`` and waits for its answer, so another transport should answer at once
    (an SmtpConnection is driven without waiting: ``begin`` and ``readable``); failures
    no retry can cure raise DeliveryError."""

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
        self._carried_before = 0  # ... when the current one began
        self._buffer = bytearray()  # what the server sent that is not read yet
        self._envelope: Envelope | None = None  # the transaction's message
        self._replies: list[Reply] = []
        self._expected = 0  # replies to have before the next step
        self._unsent: list[bytes] = []  # commands still to send, one by one (no PIPELINING)
        self._data_sent = False

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
                        key="smtp_no_starttls",
                        params={"server": self.where},
                    )
                code, message = smtp.starttls(context=self._context())
                if code != 220:
                    raise DeliveryError(
                        f"the SMTP server {self.where} refused STARTTLS: {code} {_text(message)}",
                        key="smtp_starttls_refused",
                        params={"server": self.where, "reply": f"{code} {_text(message)}"},
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
                key="smtp_no_login",
                params={"server": self.where},
            )
        offered = smtp.esmtp_features.get("auth", "").upper().split()
        # One mechanism, not smtplib's login(), which tries the next one after a refusal:
        # the same wrong password again only counts against the account's lockout.
        mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
        if mechanism is None:
            raise DeliveryError(
                f"the SMTP server {self.where} offers no login we can use "
                f"(only {', '.join(offered) or 'none'}; we speak PLAIN and LOGIN over TLS)",
                key="smtp_login_kinds",
                params={"server": self.where, "offered": ", ".join(offered) or "–"},
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
                key="send_login_refused",
                params={
                    "server": self.where,
                    "user": username,
                    "reply": f"{error.smtp_code} {_text(error.smtp_error)}",
                },
            ) from None
        except smtplib.SMTPException as error:
            raise DeliveryError(
                f"logging in to {self.where} as {username} failed: {error}",
                key="smtp_login_failed",
                params={"server": self.where, "user": username, "reason": str(error)},
            ) from None

    def _tls_error(self, error: ssl.SSLError) -> DeliveryError:
        if isinstance(error, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"the TLS certificate of {self.where} could not be verified: "
                f"{error.verify_message}",
                "check host in [smtp]: it must be the name the certificate was issued for",
                key="smtp_certificate",
                params={"server": self.where, "reason": error.verify_message},
            )
        return DeliveryError(
            f"no TLS connection to {self.where}: {error.reason or error}",
            'check port and security in [smtp] (usually 587 with "starttls", 465 with "tls")',
            key="smtp_no_tls",
            params={"server": self.where, "reason": str(error.reason or error)},
        )

    # ------------------------------------------------------------ sending

    def send(self, envelope: Envelope) -> Attempt:
        """One message to one recipient, waiting for its end (the Transport protocol);
        the engine instead drives ``begin`` and ``readable`` for many connections at once."""
        attempt = self.begin(envelope)
        while attempt is None:
            sock = self.socket
            assert sock is not None
            if not select.select([sock], [], [], self._settings.timeout)[0]:
                return self._ended(self._lost(TimeoutError("timed out")))
            attempt = self.readable()
        return attempt

    @property
    def data_sent(self) -> bool:
        """The running transaction's message has gone out, its reply not read yet."""
        return self._envelope is not None and self._data_sent

    @property
    def socket(self) -> socket.socket | None:
        """What to wait on for replies while a transaction runs."""
        return self._smtp.sock if self._smtp is not None else None

    def begin(self, envelope: Envelope) -> Attempt | None:
        """Start the transaction: MAIL, RCPT and DATA in one write when the server offers
        PIPELINING (RFC 2920), else MAIL alone. None: its replies are to be read
        (``readable``); an Attempt: it ended already (no connection, a refused greeting,
        an address the server cannot take). Opens the connection when needed."""
        if self._smtp is None:
            try:
                greeting = self.open()
            except _LOST as error:
                return Attempt(Stage.CONNECT, None, error=_describe(error))
            if greeting is not None:
                return Attempt(Stage.CONNECT, greeting)
        smtp = self._smtp
        assert smtp is not None
        try:
            sender = envelope_address(envelope.sender)
            recipient = envelope_address(envelope.recipient)
        except EnvelopeError as error:
            return Attempt(Stage.RCPT, None, local=str(error))
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
        encoding = "utf-8" if utf8 else "ascii"
        commands = [
            f"MAIL FROM:<{sender.text}>{options}\r\n".encode(encoding),
            f"RCPT TO:<{recipient.text}>\r\n".encode(encoding),
            b"DATA\r\n",
        ]
        self._envelope = envelope
        self._replies = []
        self._data_sent = False
        self._carried_before = self._carried
        if self._pipelining:
            self._unsent, self._expected = [], 3
            lost = self._write(b"".join(commands))
        else:
            self._unsent, self._expected = commands[1:], 1
            lost = self._write(commands[0])
        return None if lost is None else self._ended(lost)

    def readable(self) -> Attempt | None:
        """Read what the server sent; the Attempt once the transaction has ended."""
        assert self._smtp is not None and self._smtp.sock is not None
        sock = self._smtp.sock
        try:
            chunk = sock.recv(65536)
            while isinstance(sock, ssl.SSLSocket) and sock.pending():
                chunk += sock.recv(65536)
        except _LOST as error:
            return self._ended(self._lost(error))
        if not chunk:
            return self._ended(self._lost(_closed()))
        self._buffer += chunk
        try:
            while (reply := self._take_reply()) is not None:
                attempt = self._on_reply(reply)
                if attempt is not None:
                    return self._ended(attempt)
        except _LOST as error:
            return self._ended(self._lost(error))
        return None

    @property
    def _pipelining(self) -> bool:
        return self._smtp is not None and bool(self._smtp.has_extn("pipelining"))

    def _write(self, data: bytes) -> Attempt | None:
        assert self._smtp is not None and self._smtp.sock is not None
        try:
            self._smtp.sock.sendall(data)
        except _LOST as error:
            return self._lost(error)
        return None

    def _take_reply(self) -> Reply | None:
        """One whole reply (all its lines) off the buffer, or None while it is incomplete."""
        lines = []
        at = 0
        while True:
            end = self._buffer.find(b"\r\n", at)
            if end < 0:
                if len(self._buffer) > _MAX_REPLY:
                    raise smtplib.SMTPServerDisconnected("reply too long")
                return None
            line = bytes(self._buffer[at:end])
            at = end + 2
            if len(line) < 3 or not line[:3].isdigit():
                raise smtplib.SMTPServerDisconnected("unreadable reply")
            lines.append(line[4:])
            if line[3:4] != b"-":
                del self._buffer[:at]
                return Reply(int(line[:3]), _text(b" ".join(lines)))

    def _on_reply(self, reply: Reply) -> Attempt | None:
        if self._data_sent:
            if not 200 <= reply.code < 300:
                self._reset()
            return Attempt(Stage.MESSAGE, reply, data_sent=True)
        self._replies.append(reply)
        if len(self._replies) < self._expected:
            return None
        stages = (Stage.MAIL, Stage.RCPT, Stage.DATA)
        for stage, got in zip(stages, self._replies, strict=False):
            expected = 354 if stage is Stage.DATA else 250
            if got.code // 100 != expected // 100:
                replies = self._replies
                self._abort(ready=len(replies) == 3 and replies[2].code == 354)
                return Attempt(stage, got)
        if self._unsent:
            self._expected += 1
            return self._write(self._unsent.pop(0))
        # 354: the content, prepared once as a DATA block (wire.data_block).
        assert self._envelope is not None
        self._data_sent = True
        return self._write(self._envelope.data)

    def _ended(self, attempt: Attempt) -> Attempt:
        self._envelope = None
        self._carried += 1
        if self._carried_before and _ends_session(attempt):
            self.close()
            return replace(attempt, session_ended=True)
        if self._carried >= self._settings.messages_per_connection and self._smtp is not None:
            # Before the relay's own cap says so with a 421: a new session for the next.
            self.close()
        return attempt

    def give_up(self, seconds: float) -> Attempt:
        """The transaction's end when the server has not answered for ``seconds``."""
        return self._ended(self._lost(TimeoutError(f"no answer for {seconds:.0f} s")))

    def _lost(self, error: BaseException) -> Attempt:
        self.close()
        stage = Stage.MESSAGE if self._data_sent else Stage.MAIL
        return Attempt(stage, None, data_sent=self._data_sent, error=_describe(error))

    def _blocking_reply(self) -> Reply:
        """A reply read to its end, for the rare steps that need one (RSET, an empty DATA)."""
        assert self._smtp is not None and self._smtp.sock is not None
        while (reply := self._take_reply()) is None:
            chunk = self._smtp.sock.recv(65536)
            if not chunk:
                raise _closed()
            self._buffer += chunk
        return reply

    def _abort(self, *, ready: bool) -> None:
        try:
            if ready:
                # A pipelined DATA was accepted although MAIL or RCPT was not: end it empty.
                self._write_or_raise(b".\r\n")
                self._blocking_reply()
        except _LOST:
            self.close()
            return
        self._reset()

    def _write_or_raise(self, data: bytes) -> None:
        assert self._smtp is not None and self._smtp.sock is not None
        self._smtp.sock.sendall(data)

    def _reset(self) -> None:
        """RSET after an error inside a transaction; a server that hung up gets a new connection."""
        try:
            self._write_or_raise(b"RSET\r\n")
            code = self._blocking_reply().code
        except _LOST:
            code = 421
        if code == 421:
            self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        self._buffer.clear()
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()


_MAX_REPLY = 64 * 1024


def _closed() -> smtplib.SMTPServerDisconnected:
    return smtplib.SMTPServerDisconnected("connection closed by the server")


def _ends_session(attempt: Attempt) -> bool:
    """A 421, or a hang-up before the message's end went out."""
    if attempt.reply is None:
        return attempt.local is None and not attempt.data_sent
    return attempt.reply.code == 421


def _text(message: bytes | str) -> str:
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    return " ".join(message.split())


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
