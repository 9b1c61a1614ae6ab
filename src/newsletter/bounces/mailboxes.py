"""Where bounce mail is read from: the IMAP mailbox of ``[bounces]``, a Maildir, an mbox.

Each gives the mails' bytes (the first MAX_MAIL_BYTES: report and returned headers
come first) and moves a handled mail to the processed folder; what is not handled
stays where it was for a person to look at. An mbox (an export from webmail) is only
read: the bounces table makes reading it again harmless.
"""

from __future__ import annotations

import imaplib
import mailbox
import re
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from newsletter import store
from newsletter.bounces.process import MAX_MAIL_BYTES, Handled, Policy, handle
from newsletter.errors import BounceError
from newsletter.settings import BounceSettings, Security

# One run reads at most this many mails; the rest waits for the next run.
MAX_MAILS = 5_000
TIMEOUT_SECONDS = 60


class Source(Protocol):
    name: str

    def keys(self) -> Sequence[str]: ...

    def read(self, key: str) -> bytes: ...

    def done(self, key: str) -> None: ...


@dataclass(frozen=True)
class Run:
    handled: tuple[tuple[str, Handled], ...]  # (key in the mailbox, what was done)
    left: int  # mails beyond MAX_MAILS, for the next run


def process(source: Source, db: store.Database, key: bytes, policy: Policy, now: datetime) -> Run:
    keys = list(source.keys())
    handled = []
    for mail in keys[:MAX_MAILS]:
        result = handle(db, source.read(mail), key, policy, now)
        if result.done:
            source.done(mail)
        handled.append((mail, result))
    return Run(tuple(handled), max(0, len(keys) - MAX_MAILS))


# ---------------------------------------------------------------- local files


class MaildirSource:
    def __init__(self, path: Path, processed: str) -> None:
        if not all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            raise BounceError(
                f"{path} is not a Maildir (it has no cur, new and tmp folders)",
                "give the folder that holds them, or use --mbox for a single file",
            )
        self.name = str(path)
        self._box = mailbox.Maildir(path, factory=None, create=False)
        self._processed = processed
        self._target: mailbox.Maildir | None = None

    def keys(self) -> Sequence[str]:
        return sorted(self._box.keys())

    def read(self, key: str) -> bytes:
        with self._box.get_file(key) as file:
            return bytes(file.read(MAX_MAIL_BYTES))

    def done(self, key: str) -> None:
        if self._target is None:
            # Maildir++ (Dovecot, Courier): the folder "X" is the subfolder ".X".
            if self._processed in self._box.list_folders():
                self._target = self._box.get_folder(self._processed)
            else:
                self._target = self._box.add_folder(self._processed)
        self._target.add(self._box.get_message(key))
        self._box.remove(key)


class MboxSource:
    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise BounceError(f"{path}: no such file", "give the path of an mbox file")
        with path.open("rb") as file:
            start = file.read(5)
        if start and start != b"From ":
            raise BounceError(
                f"{path} is not an mbox file (it does not start with a 'From ' line)",
                "export the folder as mbox, or use --maildir for a Maildir folder",
            )
        self.name = str(path)
        self._box = mailbox.mbox(path, factory=None, create=False)
        self._keys: dict[str, str] = {}

    def keys(self) -> Sequence[str]:
        # The mailbox module's keys of an mbox are numbers, whatever its type hints say.
        self._keys = {str(key): key for key in self._box.iterkeys()}
        return list(self._keys)

    def read(self, key: str) -> bytes:
        with self._box.get_file(self._keys[key]) as file:
            return bytes(file.read(MAX_MAIL_BYTES))

    def done(self, key: str) -> None:
        pass  # read only: see the module's docstring


# ---------------------------------------------------------------- IMAP


class ImapSource:
    """The folder ``settings.folder`` on the IMAP server, by UID."""

    def __init__(self, connection: imaplib.IMAP4, settings: BounceSettings) -> None:
        self.name = f"{settings.folder} at {settings.host}"
        self._imap = connection
        self._processed = imap_folder(settings.processed)
        self._created = False
        self._move = "MOVE" in connection.capabilities
        self._expunge = False

    def keys(self) -> Sequence[str]:
        typ, data = self._imap.uid("SEARCH", "ALL")
        _check(typ, data, "search the folder")
        return [uid.decode("ascii") for uid in (data[0] or b"").split()]

    def read(self, key: str) -> bytes:
        typ, data = self._imap.uid("FETCH", key, f"(BODY.PEEK[]<0.{MAX_MAIL_BYTES}>)")
        _check(typ, data, f"read mail {key}")
        for item in data:
            if isinstance(item, tuple):
                return bytes(item[1])
        return b""

    def done(self, key: str) -> None:
        if not self._created:
            # "already exists" is the usual answer after the first run: not an error.
            self._imap.create(self._processed)
            self._created = True
        if self._move:
            typ, data = self._imap.uid("MOVE", key, self._processed)
            _check(typ, data, f"move mail {key} to {self._processed}")
            return
        typ, data = self._imap.uid("COPY", key, self._processed)
        _check(typ, data, f"copy mail {key} to {self._processed}")
        typ, data = self._imap.uid("STORE", key, "+FLAGS.SILENT", r"(\Deleted)")
        _check(typ, data, f"mark mail {key} as moved")
        self._expunge = True

    def close(self) -> None:
        if self._expunge:
            self._imap.expunge()


def _check(typ: str, data: list[object], what: str) -> None:
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise BounceError(
            f"the IMAP server refused to {what}: {detail}", "check [bounces] in newsletter.toml"
        )


@contextmanager
def imap_source(
    settings: BounceSettings, password: str | None, *, tls: ssl.SSLContext | None = None
) -> Iterator[ImapSource]:
    """A logged-in connection with ``settings.folder`` selected; closed at the end.

    ``tls`` replaces the system's trust (a test's own certificate authority).
    """
    if settings.host is None:
        raise BounceError(
            "there is no host in [bounces]",
            "add host, username and password_env for the bounce mailbox, or use --maildir/--mbox",
        )
    where = f"{settings.host}:{settings.port}"
    context = tls or ssl.create_default_context()
    try:
        if settings.security is Security.TLS:
            connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                settings.host, settings.port, ssl_context=context, timeout=TIMEOUT_SECONDS
            )
        else:
            connection = imaplib.IMAP4(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
            if settings.security is Security.STARTTLS:
                connection.starttls(context)
    except ssl.SSLCertVerificationError as error:
        raise BounceError(
            f"the TLS certificate of {where} could not be verified: {error.verify_message}",
            "check host in [bounces]: it must be the name the certificate is for",
        ) from None
    except (OSError, imaplib.IMAP4.error) as error:
        raise BounceError(
            f"cannot connect to the IMAP server {where}: {_reason(error)}",
            "check host, port and security in [bounces]",
        ) from None
    try:
        if settings.username is not None:
            _login(connection, settings.username, password or "", where)
        typ, data = connection.select(imap_folder(settings.folder))
        _check(typ, list(data), f"open the folder {settings.folder!r}")
        source = ImapSource(connection, settings)
        yield source
        source.close()
    except (OSError, imaplib.IMAP4.abort) as error:
        raise BounceError(
            f"the connection to the IMAP server {where} failed: {_reason(error)}",
            "run it again; mail already handled is not handled twice",
        ) from None
    except imaplib.IMAP4.error as error:
        raise BounceError(
            f"the IMAP server {where} answered with an error: {_reason(error)}",
            "run it again; if it stays, check folder and processed in [bounces]",
        ) from None
    finally:
        with suppress(OSError, imaplib.IMAP4.error):  # gone already: nothing is lost
            connection.logout()


def _login(connection: imaplib.IMAP4, username: str, password: str, where: str) -> None:
    try:
        if (username + password).isascii():
            connection.login(username, password)
        else:
            # imaplib writes LOGIN in ASCII only; AUTHENTICATE PLAIN carries UTF-8 (RFC 4616).
            credentials = f"\0{username}\0{password}".encode()
            connection.authenticate("PLAIN", lambda _challenge: credentials)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as error:
        raise BounceError(
            f"the IMAP server {where} refused the login of {username}: {_reason(error)}",
            "check username and the password (password_env, keyring) in [bounces]",
        ) from None


def _reason(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return f"no answer within {TIMEOUT_SECONDS} s"
    text = str(error) or type(error).__name__
    return " ".join(text.split())


_UTF7_CHUNK = re.compile(r"[^\x20-\x7e]+")


def imap_folder(name: str) -> str:
    """A folder name as IMAP wants it: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    import base64

    def encode(match: re.Match[str]) -> str:
        raw = base64.b64encode(match.group(0).encode("utf-16-be")).decode("ascii")
        return "&" + raw.rstrip("=").replace("/", ",") + "-"

    encoded = _UTF7_CHUNK.sub(encode, name.replace("&", "&-"))
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'
