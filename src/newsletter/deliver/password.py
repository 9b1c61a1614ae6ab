"""The SMTP password: from the environment, else the system keyring, else a prompt.

It is never read from newsletter.toml. A broken keyring backend (no D-Bus session on
a server, a locked wallet) must not crash a send: it only means "not found there".
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Protocol

from newsletter.errors import DeliveryError

KEYRING_SERVICE = "newsletter"

log = logging.getLogger(__name__)

Lookup = Callable[[str, str], str | None]
Prompt = Callable[[str], str]


class Login(Protocol):
    """What a password is looked up for: [smtp], or the IMAP mailbox of [bounces]."""

    @property
    def host(self) -> str | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def password_env(self) -> str | None: ...


def keyring_lookup(service: str, username: str) -> str | None:
    import keyring  # imported here: it probes its backends when imported

    return keyring.get_password(service, username)


def smtp_password(
    smtp: Login,
    *,
    what: str = "SMTP",
    environ: Mapping[str, str] = os.environ,
    lookup: Lookup = keyring_lookup,
    prompt: Prompt | None = None,
) -> str | None:
    """The password for ``smtp.username``; None when no login is configured.

    ``prompt`` is given only when a person sits at the terminal.
    """
    if smtp.username is None:
        return None
    if smtp.password_env and environ.get(smtp.password_env):
        return environ[smtp.password_env]
    try:
        stored = lookup(KEYRING_SERVICE, smtp.username)
    except Exception as error:  # every backend raises its own kinds; none is fatal here
        log.debug("keyring lookup failed: %r", error)
        stored = None
    if stored:
        return stored
    if prompt is not None:
        return prompt(f"{what} password for {smtp.username} at {smtp.host}: ")
    where = f"the environment variable {smtp.password_env}" if smtp.password_env else None
    hint = (
        f"set {where}, "
        if where
        else f"set password_env in [{'smtp' if what == 'SMTP' else 'bounces'}] and that variable, "
    ) + f'or store it with "keyring set {KEYRING_SERVICE} {smtp.username}"'
    raise DeliveryError(
        f"no {what} password for {smtp.username} at {smtp.host}",
        hint,
        key="password_not_in_variable" if smtp.password_env else "password_missing",
        params={
            "user": smtp.username,
            "host": smtp.host,
            "variable": smtp.password_env or "",
            "table": "smtp" if what == "SMTP" else "bounces",
            "service": KEYRING_SERVICE,
        },
    )
