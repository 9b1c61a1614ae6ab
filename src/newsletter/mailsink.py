"""A real SMTP server on 127.0.0.1 that keeps what it accepts: for the demo and the tests.

It is aiosmtpd, not a fake: messages arrive over a real SMTP conversation, so what the
demo shows and the tests check is what a real relay would have been given.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    mail_from: str
    recipients: tuple[str, ...]
    data: bytes


class _EphemeralPortController(Controller):
    # aiosmtpd probes the configured port after binding; with port 0 that probe would
    # fail, so read the port the OS picked before it probes.
    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class MailSink:
    """Accepts every message on 127.0.0.1 at a free port; ``folder`` gets one .eml each."""

    def __init__(self, folder: Path | None = None, *, smtputf8: bool = True) -> None:
        self.folder = folder
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._controller = _EphemeralPortController(
            self, hostname="127.0.0.1", port=0, enable_SMTPUTF8=smtputf8
        )

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self._controller.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        data = envelope.original_content or envelope.content
        message = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(data))
        with self._lock:
            self.received.append(message)
            number = len(self.received)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{number:05d}.eml").write_bytes(message.data)
        return "250 2.0.0 Message accepted"

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
