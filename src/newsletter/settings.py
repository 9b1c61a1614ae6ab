"""newsletter.toml, read into typed, validated settings.

Every mistake becomes one SettingsError line naming the file, the table, the key and
what is expected. Unknown keys are errors too: a typo must never be silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from newsletter.errors import SettingsError

# tomllib, email.utils, ipaddress and difflib are imported where they are used: every
# command imports this module at start-up, and `newsletter --help` must stay quick.

SETTINGS_FILE = "newsletter.toml"

T = TypeVar("T")


class Security(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"
    NONE = "none"


class SourceType(StrEnum):
    FEED = "feed"
    FOLDER = "folder"


class Locale(StrEnum):
    DE = "de"
    EN = "en"


@dataclass(frozen=True)
class RateWindow:
    """At most ``count`` messages in any ``seconds``-long window."""

    count: int
    seconds: float

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "h"}[self.seconds]
        return f"{self.count}/{unit}"

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@dataclass(frozen=True)
class NewsletterSettings:
    name: str
    locale: Locale
    site_url: str
    sender: str
    reply_to: str | None
    envelope_from: str | None
    postal_address: str
    impressum_url: str
    privacy_url: str
    responsible: str
    web_url: str
    web_remote: bool
    default_list: str
    unsubscribe_mailto: str | None
    archive: bool
    logo_url: str | None


@dataclass(frozen=True)
class SourceSettings:
    type: SourceType
    url: str | None
    path: Path | None
    name: str | None
    # Named by the office as its own (its own blog on another host): the feed's host
    # then counts among own_hosts. Any other feed's host is a third party's.
    own: bool = False

    @property
    def label(self) -> str:
        """How messages and tables name this source."""
        return self.name or self.url or str(self.path)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: Security
    username: str | None
    password_env: str | None
    rate: tuple[RateWindow, ...]
    concurrency: int
    timeout: float
    # Relays cap the messages of one session; a new connection after this many.
    messages_per_connection: int = 100


@dataclass(frozen=True)
class DkimSettings:
    """DKIM signing: the private key in ``key_file``, its public half published in DNS
    as ``<selector>._domainkey.<domain>``."""

    selector: str
    domain: str
    key_file: Path
    # RFC 8463: a second signature, published under "<selector>-ed25519".
    ed25519_key_file: Path | None = None


@dataclass(frozen=True)
class BounceSettings:
    """The bounce mailbox (IMAP) and the bounce policy; ``host`` None: no IMAP, only
    ``newsletter bounces --maildir/--mbox``."""

    host: str | None = None
    port: int = 993
    security: Security = Security.TLS
    username: str | None = None
    password_env: str | None = None
    folder: str = "INBOX"
    processed: str = "Verarbeitet"
    soft_limit: int = 3
    soft_days: int = 30


@dataclass(frozen=True)
class SignupSettings:
    """``[signup]``: the lists the public may sign up to on the web side (double opt-in)."""

    lists: tuple[str, ...]
    welcome: bool = False  # a welcome email after confirming


@dataclass(frozen=True)
class Settings:
    file: Path
    newsletter: NewsletterSettings
    sources: tuple[SourceSettings, ...]
    smtp: SmtpSettings | None
    database_path: Path
    dkim: DkimSettings | None = None
    signup: SignupSettings | None = None  # None: no sign-up form
    bounces: BounceSettings = BounceSettings()

    @property
    def own_hosts(self) -> frozenset[str]:
        """The office's own hosts: site_url's, web_url's, and a feed's only when the
        source says ``own = true``; the only ones an email or page of ours may load images
        and fonts from without a warning. A feed on site_url's host is covered already;
        one from another site (the state party's) is a third party that learns who reads."""
        feeds = (s.url for s in self.sources if s.own)
        urls = [self.newsletter.site_url, self.newsletter.web_url, *feeds]
        return frozenset(host.lower() for url in urls if url and (host := urlsplit(url).hostname))

    def require_smtp(self) -> SmtpSettings:
        if self.smtp is None:
            raise SettingsError(
                f"{self.file}: there is no [smtp] table",
                'add one with host, port and security (see "newsletter init" for an example)',
                key="settings_no_smtp",
                params={"file": self.file},
            )
        return self.smtp


_RATE_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0}
_RATE_WINDOW = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|min|h)\s*$")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


def parse_rate(text: str) -> tuple[RateWindow, ...]:
    """Parse ``"30/min, 500/h"`` into windows; raise ValueError when malformed."""
    windows = []
    for part in text.split(","):
        match = _RATE_WINDOW.match(part)
        if not match or int(match.group(1)) < 1:
            raise ValueError(part.strip())
        windows.append(RateWindow(int(match.group(1)), _RATE_UNITS[match.group(2)]))
    return tuple(windows)


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        import ipaddress

        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Table:
    """One TOML table being read against the keys it may hold.

    Unknown keys are refused before anything else is read: a misspelled required key
    would otherwise show up only as "missing", and the typo itself would go unnamed.
    """

    def __init__(self, file: Path, label: str, data: Any, keys: tuple[str, ...]) -> None:
        self.file = file
        self.label = label
        if not isinstance(data, dict):
            raise self.error(
                f"expected a table, got {_describe(data)}",
                says="settings_not_table",
                got=_describe(data),
            )
        self.data: dict[str, Any] = data
        self.keys = keys
        for key in data:
            if key not in keys:
                raise self._unknown(key)

    def _unknown(self, key: str) -> SettingsError:
        import difflib

        # The label of a numbered table ("[[sources]] #2") names the kind, not the entry.
        close = difflib.get_close_matches(key, self.keys, n=1)
        return self.error(
            unknown_key(key, self.keys, self.label.split(" #")[0]),
            says="settings_unknown_key_close" if close else "settings_unknown_key",
            name=key,
            close=close[0] if close else "",
            known=", ".join(self.keys),
        )

    def error(
        self, text: str, key: str | None = None, *, says: str | None = None, **params: object
    ) -> SettingsError:
        where = f"{self.label} {key}" if key else self.label
        return SettingsError(
            f"{self.file}: {where}: {text}",
            key=says,
            params={"file": self.file, "where": where, **params},
        )

    def _get(self, key: str, kind: type[T], expected: str, default: T | None) -> T | None:
        assert key in self.keys, f"{key} is read but not declared for {self.label}"
        if key not in self.data:
            return default
        value = self.data[key]
        # bool is an int in Python; a port of `true` must still be an error.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(
                f"expected {expected}, got {_describe(value)}",
                key,
                says="settings_wrong_value",
                expected=expected,
                got=_describe(value),
            )
        return value

    def required(self, key: str, kind: type[T], expected: str) -> T:
        value = self._get(key, kind, expected, None)
        if value is None:
            raise self.error(
                f'missing required key "{key}" ({expected})',
                says="settings_missing_key",
                name=key,
                expected=expected,
            )
        return value

    def optional(self, key: str, kind: type[T], expected: str, default: T) -> T:
        value = self._get(key, kind, expected, default)
        assert value is not None
        return value

    def maybe(self, key: str, kind: type[T], expected: str) -> T | None:
        return self._get(key, kind, expected, None)

    def check(self, key: str, value: T, valid: Callable[[T], bool], expected: str) -> T:
        if not valid(value):
            raise self.error(
                f"expected {expected}, got {_describe(value)}",
                key,
                says="settings_wrong_value",
                expected=expected,
                got=_describe(value),
            )
        return value


# The keys each table may hold, in the order the sample file writes them.
_TOP_KEYS = ("newsletter", "sources", "smtp", "dkim", "database", "signup", "bounces")
_NEWSLETTER_KEYS = (
    "name",
    "locale",
    "site_url",
    "from",
    "reply_to",
    "envelope_from",
    "postal_address",
    "impressum_url",
    "privacy_url",
    "responsible",
    "web_url",
    "web_remote",
    "default_list",
    "unsubscribe_mailto",
    "archive",
    "logo_url",
)
_SOURCE_KEYS = ("type", "url", "path", "name", "own")
# "password" is known so that it gets its own message instead of "unknown key".
_SMTP_KEYS = (
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "password",
    "rate",
    "concurrency",
    "timeout",
    "messages_per_connection",
)
_DKIM_KEYS = ("selector", "domain", "key_file", "ed25519_key_file")
_BOUNCES_KEYS = (
    "host",
    "port",
    "security",
    "username",
    "password_env",
    "password",
    "folder",
    "processed",
    "soft_limit",
    "soft_days",
)
_DATABASE_KEYS = ("path",)
_SIGNUP_KEYS = ("lists", "welcome")


def unknown_key(key: str, known: tuple[str, ...], kind: str) -> str:
    """'unknown key "postal_adress"; did you mean "postal_address"?', or the keys ``kind``
    may hold when none is close."""
    import difflib

    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f'unknown key "{key}"; did you mean "{close[0]}"?'
    return f'unknown key "{key}"; remove it (the keys of {kind} are: {", ".join(known)})'


def _describe(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_address(value: str) -> bool:
    from email.utils import parseaddr

    address = parseaddr(value)[1]
    return "@" in address and "\n" not in value and "\r" not in value


def _newsletter(table: _Table) -> NewsletterSettings:
    url = "an absolute http(s) address"
    text = "a text"

    def web(key: str) -> str:
        return table.check(key, table.required(key, str, url), _is_web_url, url)

    def address(key: str, required: bool) -> str | None:
        expected = "an e-mail address"
        value = table.required(key, str, expected) if required else table.maybe(key, str, expected)
        if value is None:
            return None
        return table.check(key, value, _is_address, 'an e-mail address like "kv@example.org"')

    locale = table.optional("locale", str, '"de" or "en"', "de")
    settings = NewsletterSettings(
        name=table.required("name", str, text),
        locale=Locale(table.check("locale", locale, lambda v: v in set(Locale), '"de" or "en"')),
        site_url=web("site_url"),
        sender=address("from", required=True) or "",
        reply_to=address("reply_to", required=False),
        envelope_from=address("envelope_from", required=False),
        postal_address=table.required("postal_address", str, "the postal address (Impressum)"),
        impressum_url=web("impressum_url"),
        privacy_url=web("privacy_url"),
        responsible=table.required("responsible", str, "the person responsible (V.i.S.d.P.)"),
        web_url=web("web_url").rstrip("/"),
        web_remote=table.optional("web_remote", bool, "true or false", False),
        default_list=table.optional("default_list", str, "a list name", "mitglieder"),
        unsubscribe_mailto=address("unsubscribe_mailto", required=False),
        archive=table.optional("archive", bool, "true or false", False),
        logo_url=table.maybe("logo_url", str, url),
    )
    if settings.logo_url is not None:
        table.check("logo_url", settings.logo_url, _is_web_url, url)
    return settings


def _source(table: _Table, root: Path) -> SourceSettings:
    kinds = " or ".join(f'"{kind}"' for kind in SourceType)
    kind = table.required("type", str, kinds)
    table.check("type", kind, lambda v: v in set(SourceType), kinds)
    url = table.maybe("url", str, "an http(s) address")
    path = table.maybe("path", str, "a path relative to the workspace")
    name = table.maybe("name", str, "a text")
    own = table.optional("own", bool, "true or false", False)
    if url is not None:
        table.check("url", url, _is_web_url, "an absolute http(s) address")
    if SourceType(kind) is SourceType.FEED and (url is None) == (path is None):
        raise table.error(
            'a feed needs exactly one of "url" or "path"', says="settings_feed_url_or_path"
        )
    if SourceType(kind) is SourceType.FOLDER and (path is None or url is not None):
        raise table.error(
            'a folder source needs "path" (and no "url")', says="settings_folder_path"
        )
    return SourceSettings(
        type=SourceType(kind),
        url=url,
        path=(root / path) if path is not None else None,
        name=name,
        own=own,
    )


def _server(
    table: _Table, host: str | None, default: Security, ports: tuple[int, int]
) -> tuple[Security, int]:
    """A server's login table ([smtp], [bounces]): no password in the file, the security
    (none only on this machine) and the port, by default the one for that security
    (``ports``: with TLS, else)."""
    if "password" in table.data:
        raise table.error(
            "never write the password into this file; set password_env to the name of an "
            "environment variable (or store it in the system keyring)",
            "password",
            says="settings_password_in_file",
        )
    others = [f'"{mode}"' for mode in Security if mode not in (default, Security.NONE)]
    choices = f'"{default}", {others[0]} or "none"'
    text = table.optional("security", str, choices, str(default))
    table.check("security", text, lambda v: v in set(Security), choices)
    security = Security(text)
    if security is Security.NONE and host is not None and not is_loopback(host):
        raise table.error(
            f'"none" (no encryption) is only allowed for a server on this machine, not "{host}"; '
            f'use "{default}" or {others[0]}',
            "security",
            says="settings_no_encryption",
            host=host,
            secure=default,
            other=others[0].strip('"'),
        )
    default_port = ports[0] if security is Security.TLS else ports[1]
    port = table.optional("port", int, "a port number from 1 to 65535", default_port)
    table.check("port", port, lambda v: 0 < v < 65536, "a port number from 1 to 65535")
    return security, port


def _smtp(table: _Table) -> SmtpSettings:
    host = table.required("host", str, "a host name")
    security, port = _server(table, host, Security.STARTTLS, (465, 587))
    rate_text = table.optional("rate", str, 'a rate like "300/h"', "300/h")
    try:
        rate = parse_rate(rate_text)
    except ValueError:
        raise table.error(
            f'expected a rate like "300/h" or "30/min, 500/h" (per s, min or h), got "{rate_text}"',
            "rate",
            says="settings_bad_rate",
            given=rate_text,
        ) from None
    concurrency = table.optional("concurrency", int, "a whole number from 1 to 32", 1)
    table.check("concurrency", concurrency, lambda v: 1 <= v <= 32, "a whole number from 1 to 32")
    timeout = table.optional("timeout", int, "seconds, a whole number from 1 to 600", 60)
    table.check(
        "timeout", timeout, lambda v: 1 <= v <= 600, "seconds, a whole number from 1 to 600"
    )
    per_connection = table.optional(
        "messages_per_connection", int, "a whole number from 1 to 100000", 100
    )
    table.check(
        "messages_per_connection",
        per_connection,
        lambda v: 1 <= v <= 100_000,
        "a whole number from 1 to 100000",
    )
    return SmtpSettings(
        host=host,
        port=port,
        security=security,
        username=table.maybe("username", str, "a user name"),
        password_env=table.maybe("password_env", str, "the name of an environment variable"),
        rate=rate,
        concurrency=concurrency,
        timeout=float(timeout),
        messages_per_connection=per_connection,
    )


def _bounces(table: _Table) -> BounceSettings:
    host = table.maybe("host", str, "a host name")
    security, port = _server(table, host, Security.TLS, (993, 143))
    folder = table.optional("folder", str, "an IMAP folder name", "INBOX")
    processed = table.optional("processed", str, "an IMAP folder name", "Verarbeitet")
    for key, name in (("folder", folder), ("processed", processed)):
        table.check(key, name, lambda v: bool(v.strip()) and v.isprintable(), "a folder name")
    soft_limit = table.optional("soft_limit", int, "a whole number from 1 to 100", 3)
    table.check("soft_limit", soft_limit, lambda v: 1 <= v <= 100, "a whole number from 1 to 100")
    soft_days = table.optional("soft_days", int, "days, a whole number from 1 to 365", 30)
    table.check(
        "soft_days", soft_days, lambda v: 1 <= v <= 365, "days, a whole number from 1 to 365"
    )
    return BounceSettings(
        host=host,
        port=port,
        security=security,
        username=table.maybe("username", str, "a user name"),
        password_env=table.maybe("password_env", str, "the name of an environment variable"),
        folder=folder,
        processed=processed,
        soft_limit=soft_limit,
        soft_days=soft_days,
    )


_DNS_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$", re.IGNORECASE)


def _is_dns_name(value: str) -> bool:
    try:
        # An internationalised domain is valid when its punycode form is.
        ascii_name = value.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return all(_DNS_LABEL.match(label) for label in ascii_name.split("."))


def _dkim(table: _Table, root: Path) -> DkimSettings:
    selector = table.required("selector", str, 'the DNS selector, e.g. "newsletter"')
    table.check("selector", selector, _is_dns_name, 'a DNS name like "newsletter"')
    domain = table.required("domain", str, 'the signing domain, e.g. "example.org"')
    table.check("domain", domain, _is_dns_name, 'a domain like "example.org"')
    key_file = table.required("key_file", str, "a path relative to the workspace")
    ed25519 = table.maybe("ed25519_key_file", str, "a path relative to the workspace")
    return DkimSettings(
        selector=selector,
        domain=domain,
        key_file=root / key_file,
        ed25519_key_file=root / ed25519 if ed25519 is not None else None,
    )


def _signup(table: _Table, members_list: str) -> SignupSettings:
    expected = 'a list of list names, like ["newsletter"]'
    lists = table.required("lists", list, expected)
    table.check(
        "lists",
        lists,
        lambda v: bool(v) and all(isinstance(n, str) and n.strip() == n and n for n in v),
        expected,
    )
    if len({name.casefold() for name in lists}) != len(lists):
        raise table.error("a list is named twice", "lists", says="settings_list_twice")
    if members_list.casefold() in {name.casefold() for name in lists}:
        # Members are mailed on the basis of their membership; the public on consent.
        raise table.error(
            f'"{members_list}" is the members\' list (default_list); give the public a list '
            'of its own, like ["newsletter"]',
            "lists",
            says="settings_signup_members_list",
            name=members_list,
        )
    return SignupSettings(
        lists=tuple(lists), welcome=table.optional("welcome", bool, "true or false", False)
    )


def _sources(file: Path, raw: Any, root: Path) -> Iterator[SourceSettings]:
    if not isinstance(raw, list):
        raise SettingsError(
            f"{file}: sources: expected [[sources]] tables, got {_describe(raw)}",
            key="settings_sources_not_tables",
            params={"file": file, "got": _describe(raw)},
        )
    for number, entry in enumerate(raw, start=1):
        yield _source(_Table(file, f"[[sources]] #{number}", entry, _SOURCE_KEYS), root)


def parse_settings(file: Path, text: str) -> Settings:
    """Validate the text of a newsletter.toml; ``file`` locates errors and relative paths."""
    import tomllib

    from newsletter.textfile import parse_toml

    try:
        data = parse_toml(text)
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(
            f"{file}: not valid TOML: {error}",
            key="settings_not_toml",
            params={"file": file, "reason": error},
        ) from None
    root = file.parent
    top = _Table(file, "newsletter.toml", data, _TOP_KEYS)
    newsletter = _newsletter(
        _Table(file, "[newsletter]", top.required("newsletter", dict, "a table"), _NEWSLETTER_KEYS)
    )
    sources = tuple(_sources(file, top.optional("sources", list, "[[sources]] tables", []), root))
    smtp_data = top.maybe("smtp", dict, "a table")
    smtp = _smtp(_Table(file, "[smtp]", smtp_data, _SMTP_KEYS)) if smtp_data is not None else None
    dkim_data = top.maybe("dkim", dict, "a table")
    dkim = (
        _dkim(_Table(file, "[dkim]", dkim_data, _DKIM_KEYS), root)
        if dkim_data is not None
        else None
    )
    signup_data = top.maybe("signup", dict, "a table")
    signup = (
        _signup(_Table(file, "[signup]", signup_data, _SIGNUP_KEYS), newsletter.default_list)
        if signup_data is not None
        else None
    )
    database = _Table(
        file, "[database]", top.optional("database", dict, "a table", {}), _DATABASE_KEYS
    )
    db_path = root / database.optional(
        "path", str, "a path relative to the workspace", "newsletter.db"
    )
    bounces = _bounces(
        _Table(file, "[bounces]", top.optional("bounces", dict, "a table", {}), _BOUNCES_KEYS)
    )
    return Settings(
        file=file,
        newsletter=newsletter,
        sources=sources,
        smtp=smtp,
        database_path=db_path,
        dkim=dkim,
        signup=signup,
        bounces=bounces,
    )


def load_settings(file: Path) -> Settings:
    from newsletter.textfile import read_text

    try:
        text = read_text(file)
    except FileNotFoundError:
        raise SettingsError(
            f"{file}: file not found", key="settings_not_found", params={"file": file}
        ) from None
    except UnicodeDecodeError:
        raise SettingsError(
            f"{file}: not UTF-8 text; save it as UTF-8",
            key="settings_not_utf8",
            params={"file": file},
        ) from None
    return parse_settings(file, text)
