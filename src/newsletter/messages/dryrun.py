"""``send --dry-run``: build every member's message as a real send would, send nothing.

What would go wrong shows per member (an address that is not one; a non-ASCII local
part, which only a server with SMTPUTF8 accepts); the messages can be written to a
folder as .eml files for a look in a mail program.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from newsletter.errors import MessageError
from newsletter.messages.stream import fill_all
from newsletter.messages.template import MessageTemplate
from newsletter.store.records import Recipient
from newsletter.wire import EnvelopeError, envelope_address

_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9@._+-]+")


@dataclass(frozen=True)
class Problem:
    address: str
    reason: str


@dataclass(frozen=True)
class DryRun:
    built: int  # messages that a send would hand to the server
    total_bytes: int  # their size on the wire, as DATA blocks
    smtputf8: tuple[str, ...]  # built, but only a server with SMTPUTF8 takes them
    problems: tuple[Problem, ...]  # no message: these members would fail


def dry_run(
    template: MessageTemplate,
    members: Iterable[Recipient],
    *,
    date: datetime,
    folder: Path | None = None,
) -> DryRun:
    """Build the message of each member; with ``folder``, write each as ``NNNNNN-address.eml``
    (LF line ends, like build/preview.eml). Memory stays flat: one message at a time."""
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    built = total = 0
    smtputf8: list[str] = []
    problems: list[Problem] = []
    numbered = enumerate(members, start=1)
    for (number, member), message in fill_all(template, numbered, _member, date=lambda: date):
        if isinstance(message, MessageError):
            problems.append(Problem(member.email, str(message)))
            continue
        try:
            # What the transport would refuse for this member, asked here already.
            envelope_address(message.envelope.recipient)
        except EnvelopeError as error:
            problems.append(Problem(member.email, str(error)))
            continue
        built += 1
        total += len(message.envelope.data)
        if message.needs_smtputf8:
            smtputf8.append(member.email)
        if folder is not None:
            name = _UNSAFE_IN_FILE_NAME.sub("_", member.email)
            eml = template.message(member, date=date).replace(b"\r\n", b"\n")
            (folder / f"{number:06d}-{name}.eml").write_bytes(eml)
    return DryRun(built, total, tuple(smtputf8), tuple(problems))


def _member(numbered: tuple[int, Recipient]) -> Recipient:
    return numbered[1]
