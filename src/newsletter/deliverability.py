"""``newsletter check``: will mail from this workspace arrive? Settings, the SMTP login
and the From domain's DNS records (SPF, DKIM, DMARC), each with a verdict and the fix.

Nothing is sent: the SMTP check connects, secures and logs in with the same code a
send uses (``SmtpConnection``), then says QUIT. The DNS checks ask the system's
resolver (or the one a test points them at) through dnspython.

What counts as a failure: whatever makes receivers reject or fail our messages now
(no SPF record or a broken one, a DKIM record that is missing or does not match the
key, a login that does not work, DMARC that would fail for lack of alignment under
p=quarantine or p=reject). What is a warning: what Gmail and Yahoo ask of bulk senders
(DMARC at all), what we cannot decide from here (a relay SPF does not name), and an
Ed25519 record that is missing or wrong: receivers ignore a broken signature beside a
good one (RFC 6376 6.1), so the RSA signature alone decides then.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from newsletter.errors import DeliveryError, DnsError, NewsletterError

if TYPE_CHECKING:
    import dns.resolver

    from newsletter.settings import DkimSettings, Settings, SmtpSettings

# RFC 7208 §4.6.4: more DNS lookups than this make SPF a permanent error.
SPF_LOOKUP_LIMIT = 10
DNS_TIMEOUT = 5.0


class Verdict(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    topic: str  # "settings", "SMTP", "SPF", "DKIM", "DMARC", "alignment"
    verdict: Verdict
    message: str
    fix: str = ""


@dataclass(frozen=True)
class Report:
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        return any(finding.verdict is Verdict.FAIL for finding in self.findings)


class Dns(Protocol):
    def txt(self, name: str) -> tuple[str, ...]:
        """The TXT records of ``name`` (each one's strings joined); () when there are none."""
        ...

    def addresses(self, name: str) -> tuple[str, ...]:
        """The A and AAAA addresses of ``name``; () when there are none."""
        ...

    def mx(self, name: str) -> tuple[str, ...]:
        """The MX hosts of ``name``; () when there are none."""
        ...


class DnsPython:
    """``Dns`` over dnspython's resolver: the system's, or one given (tests)."""

    def __init__(self, resolver: dns.resolver.Resolver | None = None) -> None:
        self._resolver = resolver

    def _answer(self, name: str, kind: str) -> list[object]:
        import dns.exception
        import dns.resolver

        if self._resolver is None:
            try:
                self._resolver = dns.resolver.Resolver()  # reads the system's configuration
            except dns.exception.DNSException as error:
                raise DnsError(f"this machine has no usable DNS configuration ({error})") from None
            self._resolver.lifetime = min(self._resolver.lifetime, DNS_TIMEOUT)
        try:
            return list(self._resolver.resolve(name, kind, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.DNSException, OSError) as error:
            raise DnsError(
                f"no answer for {name} ({kind}): {error or type(error).__name__}"
            ) from None

    def txt(self, name: str) -> tuple[str, ...]:
        return tuple(
            b"".join(getattr(record, "strings", ())).decode("utf-8", "replace")
            for record in self._answer(name, "TXT")
        )

    def addresses(self, name: str) -> tuple[str, ...]:
        return tuple(str(r) for kind in ("A", "AAAA") for r in self._answer(name, kind))

    def mx(self, name: str) -> tuple[str, ...]:
        return tuple(str(getattr(r, "exchange", "")).rstrip(".") for r in self._answer(name, "MX"))


def domain_of(address: str) -> str:
    """The domain of "Name <user@domain>" or "user@domain", lower case."""
    from email.utils import parseaddr

    return parseaddr(address)[1].rpartition("@")[2].lower().rstrip(".")


def organisational_domain(domain: str) -> str:
    """The registered domain DMARC's relaxed alignment compares: the last two labels.

    An approximation without the public suffix list; right for .de, .org, .eu and the
    other one-label suffixes German offices use, wrong for e.g. .co.uk.
    """
    return ".".join(domain.split(".")[-2:])


def aligned(domain: str, from_domain: str) -> bool:
    return organisational_domain(domain) == organisational_domain(from_domain)


# ---------------------------------------------------------------- settings


def check_settings(settings: Settings) -> Iterator[Finding]:
    newsletter = settings.newsletter
    yield Finding(
        "settings",
        Verdict.OK,
        f"From {newsletter.sender}"
        + (f", envelope {newsletter.envelope_from}" if newsletter.envelope_from else ""),
    )
    if settings.smtp is None:
        yield Finding(
            "settings",
            Verdict.FAIL,
            f"{settings.file} has no [smtp] table, so nothing can be sent",
            "add [smtp] with host, port and security (newsletter init writes an example)",
        )
    if settings.dkim is not None and not settings.dkim.key_file.is_file():
        yield Finding(
            "settings",
            Verdict.FAIL,
            f"[dkim] key_file {settings.dkim.key_file} does not exist",
            "create the key (openssl genrsa -out dkim.pem 2048) or fix the path",
        )
    if not newsletter.web_url.startswith("https://"):
        yield Finding(
            "settings",
            Verdict.WARNING,
            f"web_url is {newsletter.web_url}, not https://: Gmail and Yahoo expect the "
            "unsubscribe link to be https",
            "serve the unsubscribe pages over https (see web-setup.md)",
        )


# ---------------------------------------------------------------- SMTP


def check_smtp(
    smtp: SmtpSettings, password: Callable[[], str | None], tls: ssl.SSLContext | None = None
) -> Finding:
    """Connect, secure and log in exactly as a send would; send nothing."""
    from newsletter.deliver.transport import SmtpConnection

    where = f"{smtp.host}:{smtp.port}"
    try:
        connection = SmtpConnection(smtp, password(), tls=tls)
        greeting = connection.open()
    except DeliveryError as error:
        return Finding("SMTP", Verdict.FAIL, error.message, error.hint or "")
    except OSError as error:
        return Finding(
            "SMTP",
            Verdict.FAIL,
            f"cannot reach the SMTP server {where}: {error.strerror or error}",
            "check host and port in [smtp], and that this network allows outgoing mail",
        )
    if greeting is not None:
        return Finding(
            "SMTP",
            Verdict.FAIL,
            f"the SMTP server {where} refused the connection: {greeting.code} {greeting.text}",
            "check host and port in [smtp]",
        )
    connection.close()
    login = f" as {smtp.username}" if smtp.username else " (no login configured)"
    return Finding(
        "SMTP", Verdict.OK, f"connected to {where} ({smtp.security.value}) and logged in{login}"
    )


# ---------------------------------------------------------------- SPF


@dataclass
class _SpfWalk:
    dns: Dns
    ips: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]
    lookups: int = 0

    def count(self, mechanism: str) -> None:
        self.lookups += 1
        if self.lookups > SPF_LOOKUP_LIMIT:
            raise ValueError(f"more than {SPF_LOOKUP_LIMIT} DNS lookups ({mechanism})")

    def record(self, domain: str) -> str | None:
        records = [r for r in self.dns.txt(domain) if r.lower().startswith("v=spf1")]
        if len(records) > 1:
            raise ValueError(f"{domain} has {len(records)} SPF records; it must have one")
        return records[0] if records else None

    def matches(self, domain: str, record: str) -> str | None:
        """The qualifier (+ - ~ ?) of the first term that matches one of our IPs."""
        redirect = None
        for term in record.split()[1:]:
            qualifier = term[0] if term[0] in "+-~?" else "+"
            term = term.lstrip("+-~?")
            name, _, value = term.partition(":")
            name = name.lower()
            if name.startswith("redirect="):
                redirect = term.partition("=")[2]
                continue
            if "=" in name:
                continue  # exp= and unknown modifiers
            if name == "all":
                return qualifier
            if name in ("ip4", "ip6"):
                network = ipaddress.ip_network(value, strict=False)
                if any(ip.version == network.version and ip in network for ip in self.ips):
                    return qualifier
            elif name.split("/")[0] in ("a", "mx"):
                self.count(term)
                target = value.split("/")[0] if value else domain
                hosts = [target] if name.startswith("a") else list(self.dns.mx(target))
                found = {ip for host in hosts for ip in self.dns.addresses(host)}
                if any(str(ip) in found for ip in self.ips):
                    return qualifier
            elif name == "include":
                self.count(term)
                included = self.record(value)
                if included is None:
                    raise ValueError(f"include:{value} has no SPF record")
                if self.matches(value, included) in ("+",):
                    return qualifier
            elif name in ("exists", "ptr"):
                self.count(term)
            else:
                raise ValueError(f"unknown mechanism {term!r}")
        if redirect:
            self.count("redirect")
            redirected = self.record(redirect)
            if redirected is None:
                raise ValueError(f"redirect={redirect} has no SPF record")
            return self.matches(redirect, redirected)
        return None


def _relay_ips(dns: Dns, host: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        return tuple(ipaddress.ip_address(a) for a in dns.addresses(host))


def check_spf(dns: Dns, domain: str, relay: str | None) -> Finding:
    walk = _SpfWalk(dns, ())
    try:
        record = walk.record(domain)
    except ValueError as error:
        return Finding("SPF", Verdict.FAIL, str(error), "merge them into one v=spf1 TXT record")
    if record is None:
        return Finding(
            "SPF",
            Verdict.FAIL,
            f"{domain} has no SPF record, so receivers cannot tell our relay may send for it",
            f'add a TXT record to {domain}: "v=spf1 include:<your provider\'s SPF> ~all" '
            "(deliverability.md names the include for common providers)",
        )
    if relay is None:
        return Finding("SPF", Verdict.OK, f"{domain}: {record}")
    walk.ips = _relay_ips(dns, relay)
    try:
        result = walk.matches(domain, record)
    except ValueError as error:
        return Finding(
            "SPF",
            Verdict.FAIL,
            f"the SPF record of {domain} is broken: {error} ({record})",
            "fix the record; receivers treat a broken one as failing",
        )
    if result == "+":
        return Finding("SPF", Verdict.OK, f"{domain} allows the relay {relay}: {record}")
    shown = ", ".join(str(ip) for ip in walk.ips) or "no address"
    return Finding(
        "SPF",
        Verdict.WARNING,
        f"the SPF record of {domain} does not name the relay {relay} ({shown}): {record}",
        "if your provider sends from other servers than it receives on (most do), make "
        "sure the record includes the provider's SPF (deliverability.md); for your own "
        f"relay add ip4:{shown.split(',')[0]}",
    )


# ---------------------------------------------------------------- DKIM


def _dkim_matches(settings: DkimSettings, record: str) -> str | None:
    """None when a signature made with our key verifies against ``record``; else why not."""
    import dkim

    from newsletter.messages.signing import load_signer

    message = (
        b"From: check@" + settings.domain.encode("idna") + b"\r\nSubject: check\r\n\r\ncheck\r\n"
    )
    try:
        # The RSA key alone: a broken Ed25519 key is the Ed25519 line's finding, not this one's.
        signed = load_signer(replace(settings, ed25519_key_file=None)).sign(message)
    except NewsletterError as error:
        return error.message

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return record.encode()

    try:
        return None if dkim.verify(signed, dnsfunc=dnsfunc) else "it does not match the key"
    except dkim.DKIMException as error:
        return f"it is not a usable DKIM key record ({error})"


def check_dkim(dns: Dns, settings: DkimSettings) -> Finding:
    name = f"{settings.selector}._domainkey.{settings.domain}"
    records = [r for r in dns.txt(name) if "p=" in r]
    publish = (
        f"publish the public key as a TXT record at {name}: "
        f"openssl rsa -in {settings.key_file.name} -pubout | grep -v -- ----- | tr -d '\\n' "
        'gives the part after "v=DKIM1; k=rsa; p="'
    )
    if not records:
        return Finding(
            "DKIM", Verdict.FAIL, f"no DKIM record at {name}: every signature would fail", publish
        )
    problem = _dkim_matches(settings, records[0])
    if problem is not None:
        return Finding("DKIM", Verdict.FAIL, f"the DKIM record at {name}: {problem}", publish)
    return Finding("DKIM", Verdict.OK, f"{name} matches {settings.key_file.name}")


def _dkim_tags(record: str) -> dict[str, str]:
    """RFC 6376 3.2: "tag=value" separated by ";"; blanks inside a value (p= may be
    folded) dropped, tag names in lower case."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        tag, equals, value = part.partition("=")
        if equals:
            tags.setdefault(tag.strip().lower(), "".join(value.split()))
    return tags


def _ed25519_public(settings: DkimSettings) -> bytes | NewsletterError:
    """The raw 32-byte public half of ``ed25519_key_file`` (RFC 8463's p=), or why not."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from newsletter.messages.signing import load_signer

    try:
        signer = load_signer(settings)
    except NewsletterError as error:
        return error
    key = next(k.key for k in signer.keys if isinstance(k.key, ed25519.Ed25519PrivateKey))
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# What `openssl pkey -pubout` puts before the 32 bytes (RFC 8410's SubjectPublicKeyInfo):
# a record pasted from its output holds the right key in the form RFC 8463 does not take.
_ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def check_dkim_ed25519(dns: Dns, settings: DkimSettings) -> Finding:
    """The Ed25519 key's record (RFC 8463) at "<selector>-ed25519": there, k=ed25519, and
    p= our key. Compared byte for byte rather than through dkimpy as for RSA: dkimpy
    verifies Ed25519 only with pynacl, which a plain install does not have."""
    from newsletter.messages.signing import ed25519_selector

    assert settings.ed25519_key_file is not None
    key_file = settings.ed25519_key_file.name
    name = f"{ed25519_selector(settings.selector)}._domainkey.{settings.domain}"
    public = _ed25519_public(settings)
    if isinstance(public, NewsletterError):
        return Finding(
            "DKIM", Verdict.FAIL, f"cannot check {name}: {public.message}", public.hint or ""
        )
    value = f"v=DKIM1; k=ed25519; p={base64.b64encode(public).decode()}"
    publish = f'publish a TXT record at {name} with the value "{value}"'
    fails = "receivers would find every Ed25519 signature broken and go by the RSA one alone"
    records = [
        tags
        for tags in map(_dkim_tags, dns.txt(name))
        if "p" in tags and tags.get("v", "DKIM1") == "DKIM1"
    ]
    if not records:
        return Finding("DKIM", Verdict.WARNING, f"no DKIM record at {name}: {fails}", publish)
    tags = records[0]
    kind = tags.get("k", "").lower()
    if kind != "ed25519":
        said = f"says k={kind}" if kind else "has no k=, which means k=rsa"
        return Finding(
            "DKIM",
            Verdict.WARNING,
            f"the DKIM record at {name} {said}, not k=ed25519: {fails}",
            publish,
        )
    if not tags["p"]:
        return Finding(
            "DKIM",
            Verdict.WARNING,
            f"the DKIM record at {name} is revoked (p= is empty): {fails}",
            f"{publish}; or, if the key was revoked on purpose, remove ed25519_key_file "
            "from [dkim]",
        )
    try:
        published = base64.b64decode(tags["p"], validate=True)
    except binascii.Error:
        published = None
    if published == _ED25519_SPKI_PREFIX + public:
        return Finding(
            "DKIM",
            Verdict.WARNING,
            f"the DKIM record at {name} holds the key of {key_file} as openssl pkey -pubout "
            f"prints it; RFC 8463 takes only its last 32 bytes: {fails}",
            publish,
        )
    if published != public:
        return Finding(
            "DKIM",
            Verdict.WARNING,
            f"the DKIM record at {name} holds another key than {key_file}: {fails}",
            publish,
        )
    return Finding("DKIM", Verdict.OK, f"{name} matches {key_file}")


# ---------------------------------------------------------------- DMARC


def _dmarc(dns: Dns, domain: str) -> tuple[str, dict[str, str]] | None:
    for candidate in dict.fromkeys((domain, organisational_domain(domain))):
        records = [r for r in dns.txt(f"_dmarc.{candidate}") if r.lower().startswith("v=dmarc1")]
        if records:
            tags = {}
            for part in records[0].split(";"):
                key, _, value = part.strip().partition("=")
                tags[key.strip().lower()] = value.strip()
            return records[0], tags
    return None


def check_dmarc(dns: Dns, settings: Settings) -> Iterator[Finding]:
    newsletter = settings.newsletter
    from_domain = domain_of(newsletter.sender)
    found = _dmarc(dns, from_domain)
    policy = found[1].get("p", "none").lower() if found else "none"
    if found is None:
        yield Finding(
            "DMARC",
            Verdict.WARNING,
            f"{from_domain} has no DMARC record; Gmail and Yahoo require one from bulk "
            "senders (5,000 messages a day), and it lets you see who sends in your name",
            f'add a TXT record at _dmarc.{from_domain}: "v=DMARC1; p=none; '
            f'rua=mailto:dmarc@{from_domain}"',
        )
    else:
        yield Finding("DMARC", Verdict.OK, f"_dmarc.{from_domain}: {found[0]}")
    envelope = domain_of(newsletter.envelope_from) if newsletter.envelope_from else from_domain
    spf_aligned = aligned(envelope, from_domain)
    dkim_aligned = settings.dkim is not None and aligned(settings.dkim.domain, from_domain)
    if spf_aligned or dkim_aligned:
        how = " and ".join(
            name for name, ok in (("SPF", spf_aligned), ("DKIM", dkim_aligned)) if ok
        )
        yield Finding("alignment", Verdict.OK, f"{how} aligned with From ({from_domain})")
        return
    parts = [f"envelope_from is on {envelope}"]
    parts.append(f"DKIM signs for {settings.dkim.domain}" if settings.dkim else "no [dkim]")
    yield Finding(
        "alignment",
        Verdict.FAIL if policy in ("quarantine", "reject") else Verdict.WARNING,
        f"neither SPF nor DKIM is aligned with From ({from_domain}): {', '.join(parts)}; "
        f"DMARC (p={policy}) fails for every message",
        f"set envelope_from to an address @{from_domain}, or sign with [dkim] domain = "
        f'"{from_domain}"',
    )


# ---------------------------------------------------------------- all


def run_check(
    settings: Settings,
    password: Callable[[], str | None],
    dns: Dns,
    *,
    tls: ssl.SSLContext | None = None,
) -> Report:
    findings = list(check_settings(settings))
    if settings.smtp is not None:
        findings.append(check_smtp(settings.smtp, password, tls))
    newsletter = settings.newsletter
    from_domain = domain_of(newsletter.sender)
    envelope = domain_of(newsletter.envelope_from) if newsletter.envelope_from else from_domain
    relay = settings.smtp.host if settings.smtp is not None else None
    lookups: list[Callable[[], Finding | Iterator[Finding]]] = [
        lambda: check_spf(dns, envelope, relay)
    ]
    dkim = settings.dkim
    if dkim is not None and dkim.key_file.is_file():
        lookups.append(lambda: check_dkim(dns, dkim))
        if dkim.ed25519_key_file is not None:
            lookups.append(lambda: check_dkim_ed25519(dns, dkim))
    lookups.append(lambda: check_dmarc(dns, settings))
    for lookup in lookups:
        try:
            result = lookup()
            found = [result] if isinstance(result, Finding) else list(result)
        except DnsError as error:
            findings.append(
                Finding(
                    "DNS",
                    Verdict.WARNING,
                    f"could not look up: {error.message}",
                    "check this machine's network and DNS, then run check again",
                )
            )
            continue
        findings.extend(found)
    return Report(tuple(findings))
