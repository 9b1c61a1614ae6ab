"""Helpers for the delivery tests: a scripted real SMTP server, a test clock, members.

The server is aiosmtpd on 127.0.0.1 (``MailSink``) with hooks that answer chosen
RCPT and DATA commands differently or hang up, as hosters and broken networks do.
"""

from __future__ import annotations

import math
import queue
import socket
import ssl
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any, TypeVar

from newsletter import store
from newsletter.deliver.journal import Delivery
from newsletter.deliver.sender import Outcome, Outgoing
from newsletter.mailsink import MailSink, _EphemeralPortController
from newsletter.members.manage import add_member
from newsletter.settings import RateWindow, Security, SmtpSettings
from newsletter.wire import Envelope, data_block

T = TypeVar("T")

SENDER = "bounces@example.org"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DROP = "drop"  # a hook's answer: hang up instead of replying
ACCEPT_THEN_DROP = "accept-then-drop"  # DATA only: keep the message, hang up before the 250


@dataclass(frozen=True)
class Call:
    """What a hook is told about one RCPT or DATA command."""

    address: str
    tries: int  # how often this address has reached this command, this one included
    accepted: int  # messages accepted so far, on all connections


Hook = Callable[[Call], str | None]  # a reply line, DROP, or None for the normal answer


class ScriptedSink(MailSink):
    """A MailSink whose RCPT and DATA answers a test can script."""

    def __init__(
        self,
        *,
        mail: Hook | None = None,
        rcpt: Hook | None = None,
        data: Hook | None = None,
        smtputf8: bool = True,
        folder: Path | None = None,
        **controller: Any,
    ) -> None:
        super().__init__(folder, smtputf8=smtputf8)
        self._mail, self._rcpt, self._data = mail, rcpt, data
        self.rcpt_tries: Counter[str] = Counter()
        self.data_tries: Counter[str] = Counter()
        self.mail_options: list[list[str]] = []
        self.connections: set[tuple[str, int]] = set()
        self.resets = 0
        if controller:
            self._controller = _EphemeralPortController(
                self, hostname="127.0.0.1", port=0, enable_SMTPUTF8=smtputf8, **controller
            )

    def __enter__(self) -> ScriptedSink:
        self.start()
        return self

    def count(self, address: str) -> int:
        """How many messages to ``address`` were accepted."""
        return sum(address in message.recipients for message in self.received)

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.connections.add(session.peer)
        answer = self._mail(Call(address, 0, len(self.received))) if self._mail else None
        if answer is not None:
            return _answer(answer, server)
        self.mail_options.append(options)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.resets += 1
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.rcpt_tries[address] += 1
        call = Call(address, self.rcpt_tries[address], len(self.received))
        answer = self._rcpt(call) if self._rcpt else None
        if answer is not None:
            return _answer(answer, server)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        address = envelope.rcpt_tos[0]
        self.data_tries[address] += 1
        call = Call(address, self.data_tries[address], len(self.received))
        answer = self._data(call) if self._data else None
        if answer == ACCEPT_THEN_DROP:
            await super().handle_DATA(server, session, envelope)
            server.transport.close()
            return "250 never heard"
        if answer is not None:
            return _answer(answer, server)
        return await super().handle_DATA(server, session, envelope)


def _answer(answer: str, server: Any) -> str:
    if answer == DROP:
        server.transport.close()
        return "421 never heard"
    return answer


class FakeClock:
    """A clock whose waits take no time: time jumps to the end of each wait."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.waits: list[float] = []

    def now(self) -> float:
        return self.time

    def wait(self, events: queue.SimpleQueue[T], seconds: float) -> T | None:
        if math.isinf(seconds):
            return events.get(timeout=20)  # a reply is on its way; never hang a test
        try:
            # Replies still arrive in real time; give one in flight a moment.
            return events.get(timeout=0.002)
        except queue.Empty:
            self.waits.append(seconds)
            self.time += seconds
            return None


class RecordingLog:
    """A DeliveryLog that keeps every call in memory, for tests of the sender alone."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.outcomes: list[tuple[int, Outcome]] = []
        self.closed = False

    def starting(self, messages: Iterable[Outgoing]) -> None:
        self.started.extend(m.key for m in messages)

    def finished(self, message: Outgoing, outcome: Outcome) -> None:
        self.outcomes.append((message.key, outcome))

    def close(self) -> None:
        self.closed = True

    def final(self) -> dict[int, Outcome]:
        return dict(self.outcomes)


def smtp_settings(
    port: int,
    *,
    concurrency: int = 2,
    rate: tuple[RateWindow, ...] = (RateWindow(100_000, 1.0),),
    security: Security = Security.NONE,
    host: str = "127.0.0.1",
    username: str | None = None,
    timeout: float = 5.0,
) -> SmtpSettings:
    return SmtpSettings(host, port, security, username, None, rate, concurrency, timeout)


def message_bytes(recipient: str, message_id: str, body: str = "Hallo,\n\nneues Heft.\n") -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = f"Grüne Musterstadt <{SENDER}>"
    message["To"] = recipient
    message["Subject"] = "Neuigkeiten aus dem Kreisverband"
    message["Message-ID"] = message_id
    message.set_content(body)
    return message.as_bytes()


def outgoing(addresses: Iterable[str], body: str = "Hallo,\n\nneues Heft.\n") -> list[Outgoing]:
    return [
        Outgoing(
            key,
            Envelope(SENDER, address, data_block(message_bytes(address, f"<{key}@test>", body))),
            f"<{key}@test>",
        )
        for key, address in enumerate(addresses, start=1)
    ]


def from_journal(deliveries: Iterable[Delivery]) -> Iterator[Outgoing]:
    """What the send command does with ``journal.due``: one message per delivery."""
    for delivery in deliveries:
        email = delivery.recipient.email
        message_id = f"<{delivery.issue}.{delivery.recipient.member_id}@example.org>"
        block = data_block(message_bytes(email, message_id))
        yield Outgoing(delivery.id, Envelope(SENDER, email, block), message_id)


def add_members(db: store.Database, addresses: Iterable[str], list_name: str) -> int:
    for address in addresses:
        add_member(db, address, list_name, name=address.split("@")[0].title(), now=NOW)
    mailing_list = store.find_list(db, list_name)
    assert mailing_list is not None
    return mailing_list.id


def self_signed_certificate(openssl: str, folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (a typo in [smtp] port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
