"""`newsletter check`: settings, an SMTP login against a local aiosmtpd, and SPF, DKIM and
DMARC looked up from a small DNS server on 127.0.0.1 (dnspython's resolver pointed at it)."""

from __future__ import annotations

import base64
import shutil
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dkim
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset
import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from newsletter.deliverability import DnsPython, Finding, Report, Verdict, run_check
from newsletter.messages.signing import load_signer
from newsletter.settings import Settings, load_settings
from tests.deliver_support import ScriptedSink, self_signed_certificate, server_tls

DKIM_TABLE = '\n[dkim]\nselector = "nl2026"\ndomain = "example.org"\nkey_file = "dkim.pem"\n'


class DnsServer:
    """A UDP DNS responder on 127.0.0.1 answering from ``records`` (name, type) → texts."""

    def __init__(self, records: dict[tuple[str, str], list[str]]) -> None:
        self.records = records
        self.queries: list[str] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            kind = dns.rdatatype.to_text(question.rdtype)
            self.queries.append(f"{name} {kind}")
            texts = self.records.get((name, kind))
            if texts:
                response.answer.append(
                    dns.rrset.from_text_list(question.name, 60, "IN", kind, texts)
                )
            elif not any(known == name for known, _ in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            self._socket.sendto(response.to_wire(), client)

    def dns(self) -> DnsPython:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.lifetime = 2.0
        return DnsPython(resolver)


def txt(text: str) -> str:
    """A TXT record's text in zone-file form, split into 255-byte strings."""
    parts = [text[i : i + 255] for i in range(0, len(text), 255)]
    return " ".join(f'"{part}"' for part in parts)


@pytest.fixture(scope="module")
def public_key() -> tuple[bytes, str]:
    """A private key (PEM) and its public half as a DKIM record's p= value."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(public).decode()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    return self_signed_certificate(openssl, tmp_path_factory.mktemp("tls"))


def _password_is(expected: str) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == expected.encode()
        return AuthResult(success=ok, handled=False)

    return check


def good_records(public: str) -> dict[tuple[str, str], list[str]]:
    return {
        ("example.org", "TXT"): [txt("v=spf1 ip4:127.0.0.0/8 -all"), txt("google-site-verif=x")],
        ("nl2026._domainkey.example.org", "TXT"): [txt(f"v=DKIM1; k=rsa; p={public}")],
        ("_dmarc.example.org", "TXT"): [txt("v=DMARC1; p=quarantine; rua=mailto:d@example.org")],
    }


def settings_for(
    workspace_root: Path, port: int, pem: bytes, *, smtp: str, extra: str = ""
) -> Settings:
    file = workspace_root / "newsletter.toml"
    text = file.read_text(encoding="utf-8")
    start = text.index("[smtp]")
    end = text.index("[database]")
    text = text[:start] + smtp.format(port=port) + "\n" + text[end:] + DKIM_TABLE
    text = (
        text.replace('from = "Grüne Musterstadt <newsletter@example.org>"', extra, 1)
        if (extra)
        else text
    )
    file.write_text(text, encoding="utf-8")
    (workspace_root / "dkim.pem").write_bytes(pem)
    return load_settings(file)


STARTTLS = (
    '[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\n'
    'username = "kv@example.org"\n'
)
LOCAL = '[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'


@pytest.fixture
def root(workspace: Any) -> Path:
    return Path(workspace.root)


@pytest.fixture
def tls_sink(certificate: tuple[Path, Path]) -> Iterator[ScriptedSink]:
    with ScriptedSink(
        tls_context=server_tls(*certificate), authenticator=_password_is("geheim")
    ) as sink:
        yield sink


def verdicts(report: Report) -> dict[str, Verdict]:
    found: dict[str, Verdict] = {}
    for finding in report.findings:
        found.setdefault(finding.topic, finding.verdict)
    return found


def message(report: Report, topic: str) -> str:
    return next(f"{f.message} | {f.fix}" for f in report.findings if f.topic == topic)


def test_everything_good_logs_in_without_sending_and_passes(
    root: Path, tls_sink: ScriptedSink, certificate: tuple[Path, Path], public_key: Any
) -> None:
    pem, public = public_key
    settings = settings_for(root, tls_sink.port, pem, smtp=STARTTLS)
    with DnsServer(good_records(public)) as server:
        report = run_check(
            settings,
            lambda: "geheim",
            server.dns(),
            tls=ssl.create_default_context(cafile=str(certificate[0])),
        )
    assert not report.failed, report
    assert verdicts(report) == {
        "settings": Verdict.OK,
        "SMTP": Verdict.OK,
        "SPF": Verdict.OK,
        "DKIM": Verdict.OK,
        "DMARC": Verdict.OK,
        "alignment": Verdict.OK,
    }
    assert "logged in as kv@example.org" in message(report, "SMTP")
    assert tls_sink.received == []  # nothing sent
    assert "nl2026._domainkey.example.org TXT" in server.queries


def test_a_wrong_password_fails_with_the_servers_answer(
    root: Path, tls_sink: ScriptedSink, certificate: tuple[Path, Path], public_key: Any
) -> None:
    pem, public = public_key
    settings = settings_for(root, tls_sink.port, pem, smtp=STARTTLS)
    with DnsServer(good_records(public)) as server:
        report = run_check(
            settings,
            lambda: "falsch",
            server.dns(),
            tls=ssl.create_default_context(cafile=str(certificate[0])),
        )
    assert report.failed
    assert verdicts(report)["SMTP"] is Verdict.FAIL
    assert "refused the login for kv@example.org: 535" in message(report, "SMTP")


def test_an_unreachable_server_fails(root: Path, public_key: Any) -> None:
    pem, public = public_key
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings = settings_for(root, port, pem, smtp=LOCAL)
    with DnsServer(good_records(public)) as server:
        report = run_check(settings, lambda: None, server.dns())
    assert verdicts(report)["SMTP"] is Verdict.FAIL
    assert f"cannot reach the SMTP server 127.0.0.1:{port}" in message(report, "SMTP")


@pytest.mark.parametrize(
    ("records", "topic", "verdict", "says"),
    [
        ({("example.org", "TXT"): []}, "SPF", Verdict.FAIL, "has no SPF record"),
        (
            {("example.org", "TXT"): [txt("v=spf1 -all"), txt("v=spf1 mx -all")]},
            "SPF",
            Verdict.FAIL,
            "has 2 SPF records",
        ),
        (
            {("example.org", "TXT"): [txt("v=spf1 ip4:192.0.2.0/24 -all")]},
            "SPF",
            Verdict.WARNING,
            "does not name the relay 127.0.0.1",
        ),
        (
            {("example.org", "TXT"): [txt("v=spf1 include:_spf.provider.example -all")]},
            "SPF",
            Verdict.FAIL,
            "include:_spf.provider.example has no SPF record",
        ),
        (
            {("nl2026._domainkey.example.org", "TXT"): []},
            "DKIM",
            Verdict.FAIL,
            "no DKIM record at nl2026._domainkey.example.org",
        ),
        ({("_dmarc.example.org", "TXT"): []}, "DMARC", Verdict.WARNING, "no DMARC record"),
    ],
)
def test_bad_records_get_a_verdict_and_a_fix(
    root: Path,
    mail_sink: Any,
    public_key: Any,
    records: dict[tuple[str, str], list[str]],
    topic: str,
    verdict: Verdict,
    says: str,
) -> None:
    pem, public = public_key
    settings = settings_for(root, mail_sink.port, pem, smtp=LOCAL)
    zone = {**good_records(public), **records}
    zone = {key: value for key, value in zone.items() if value}
    zone.setdefault(("example.org", "MX"), ["10 mail.example.org."])
    with DnsServer(zone) as server:
        report = run_check(settings, lambda: None, server.dns())
    assert verdicts(report)[topic] is verdict, report
    assert says in message(report, topic)
    assert message(report, topic).split(" | ")[1]  # a fix
    assert report.failed is (verdict is Verdict.FAIL)


def test_an_spf_include_that_names_the_relay_passes(
    root: Path, mail_sink: Any, public_key: Any
) -> None:
    pem, public = public_key
    settings = settings_for(root, mail_sink.port, pem, smtp=LOCAL)
    zone = {
        **good_records(public),
        ("example.org", "TXT"): [txt("v=spf1 mx include:_spf.provider.example ~all")],
        ("example.org", "MX"): ["10 mail.example.org."],
        ("mail.example.org", "A"): ["192.0.2.25"],
        ("_spf.provider.example", "TXT"): [txt("v=spf1 ip4:127.0.0.1 -all")],
    }
    with DnsServer(zone) as server:
        report = run_check(settings, lambda: None, server.dns())
    assert verdicts(report)["SPF"] is Verdict.OK, report


def test_a_dkim_record_of_another_key_fails(root: Path, mail_sink: Any, public_key: Any) -> None:
    pem, _ = public_key
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    other_public = base64.b64encode(
        other.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    settings = settings_for(root, mail_sink.port, pem, smtp=LOCAL)
    with DnsServer(good_records(other_public)) as server:
        report = run_check(settings, lambda: None, server.dns())
    assert verdicts(report)["DKIM"] is Verdict.FAIL
    assert "does not match the key" in message(report, "DKIM")
    assert report.failed


def test_envelope_and_dkim_on_another_domain_fail_dmarc_alignment(
    root: Path, mail_sink: Any, public_key: Any
) -> None:
    pem, public = public_key
    settings = settings_for(
        root,
        mail_sink.port,
        pem,
        smtp=LOCAL,
        extra='from = "Grüne Musterstadt <newsletter@example.org>"\n'
        'envelope_from = "bounces@provider.example"',
    )
    settings = load_settings(_resign(root, 'domain = "example.org"', 'domain = "provider.example"'))
    zone = {
        **good_records(public),
        ("provider.example", "TXT"): [txt("v=spf1 ip4:127.0.0.1 -all")],
        ("nl2026._domainkey.provider.example", "TXT"): [txt(f"v=DKIM1; k=rsa; p={public}")],
    }
    with DnsServer(zone) as server:
        report = run_check(settings, lambda: None, server.dns())
    assert verdicts(report)["alignment"] is Verdict.FAIL  # p=quarantine
    assert "neither SPF nor DKIM is aligned with From (example.org)" in message(report, "alignment")
    assert report.failed


def _resign(root: Path, old: str, new: str) -> Path:
    file = root / "newsletter.toml"
    file.write_text(file.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return file


def test_the_command_prints_verdicts_and_exits_1_on_a_failure(
    cli: Any, root: Path, mail_sink: Any, public_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pem, public = public_key
    settings_for(root, mail_sink.port, pem, smtp=LOCAL)
    zone = {key: value for key, value in good_records(public).items() if key[0] != "example.org"}
    with DnsServer(zone) as server:
        monkeypatch.setattr("newsletter.deliverability.DnsPython", lambda: server.dns())
        result = cli("check")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert any(line.startswith("FAIL     SPF: example.org has no SPF record") for line in lines)
    assert any(line.startswith("         fix: add a TXT record to example.org") for line in lines)
    assert any(line.startswith("ok       SMTP: connected to 127.0.0.1") for line in lines)
    assert lines[-1] == "1 problem that makes mail fail, 0 warnings"
    assert mail_sink.received == []


def test_no_dns_answer_is_a_warning_not_a_verdict(
    root: Path, mail_sink: Any, public_key: Any
) -> None:
    pem, _ = public_key
    settings = settings_for(root, mail_sink.port, pem, smtp=LOCAL)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # receives, never answers
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = silent.getsockname()[1]
        resolver.lifetime = 0.3
        report = run_check(settings, lambda: None, DnsPython(resolver))
    dns_findings = [f for f in report.findings if f.topic == "DNS"]
    assert len(dns_findings) == 3  # SPF, DKIM, DMARC: each could not be looked up
    assert all(f.verdict is Verdict.WARNING for f in dns_findings)
    assert "could not look up: no answer for example.org (TXT)" in dns_findings[0].message
    assert not report.failed


# ---------------------------------------------------------------- Ed25519 (RFC 8463)

ED_NAME = "nl2026-ed25519._domainkey.example.org"


def _ed25519_key() -> tuple[bytes, str, str]:
    """A private key (PEM), its raw public half as RFC 8463's p= and, as `openssl pkey
    -pubout` gives it, in SubjectPublicKeyInfo form."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    spki = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, base64.b64encode(raw).decode(), base64.b64encode(spki).decode()


@pytest.fixture(scope="module")
def ed25519_key() -> tuple[bytes, str, str]:
    return _ed25519_key()


def with_ed25519(root: Path, pem: bytes) -> Settings:
    """The settings with ``ed25519_key_file`` added to [dkim] (the file's last table)."""
    (root / "dkim-ed25519.pem").write_bytes(pem)
    file = root / "newsletter.toml"
    text = file.read_text(encoding="utf-8") + 'ed25519_key_file = "dkim-ed25519.pem"\n'
    file.write_text(text, encoding="utf-8")
    return load_settings(file)


def ed25519_findings(report: Report) -> list[Finding]:
    return [f for f in report.findings if ED_NAME in f.message]


def test_a_matching_ed25519_record_passes_and_is_what_a_verifier_takes(
    root: Path, mail_sink: Any, public_key: Any, ed25519_key: Any
) -> None:
    rsa_pem, rsa_public = public_key
    pem, public, _ = ed25519_key
    settings_for(root, mail_sink.port, rsa_pem, smtp=LOCAL)
    settings = with_ed25519(root, pem)
    record = f"v=DKIM1; k=ed25519; p={public}"
    zone = {**good_records(rsa_public), (ED_NAME, "TXT"): [txt(record)]}
    with DnsServer(zone) as server:
        report = run_check(settings, lambda: None, server.dns())
    assert not report.failed, report
    [finding] = ed25519_findings(report)
    assert (finding.topic, finding.verdict) == ("DKIM", Verdict.OK)
    assert finding.message == f"{ED_NAME} matches dkim-ed25519.pem"
    assert f"{ED_NAME} TXT" in server.queries
    # The RSA record is still checked, on its own line.
    assert any(
        f.message.startswith("nl2026._domainkey.example.org matches") for f in report.findings
    )
    # The record check accepts is the one dkimpy verifies our Ed25519 signature against.
    assert settings.dkim is not None
    signed = load_signer(settings.dkim).sign(b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n")
    assert dkim.DKIM(signed).verify(idx=1, dnsfunc=lambda name, timeout=5: record.encode())


@pytest.mark.parametrize(
    ("record", "says"),
    [
        (None, f"no DKIM record at {ED_NAME}"),
        ("v=DKIM1; k=rsa; p={public}", f"the DKIM record at {ED_NAME} says k=rsa, not k=ed25519"),
        ("v=DKIM1; p={public}", "has no k=, which means k=rsa, not k=ed25519"),
        ("v=DKIM1; k=ed25519; p={other}", "holds another key than dkim-ed25519.pem"),
        ("v=DKIM1; k=ed25519; p=", f"the DKIM record at {ED_NAME} is revoked (p= is empty)"),
        ("v=DKIM1; k=ed25519; p={spki}", "as openssl pkey -pubout prints it"),
    ],
    ids=["missing", "k=rsa", "no-k", "other-key", "revoked", "spki-form"],
)
def test_a_wrong_ed25519_record_warns_with_the_record_to_publish(
    root: Path,
    mail_sink: Any,
    public_key: Any,
    ed25519_key: Any,
    record: str | None,
    says: str,
) -> None:
    rsa_pem, rsa_public = public_key
    pem, public, spki = ed25519_key
    other = _ed25519_key()[1]
    settings_for(root, mail_sink.port, rsa_pem, smtp=LOCAL)
    settings = with_ed25519(root, pem)
    zone = good_records(rsa_public)
    if record is not None:
        zone[(ED_NAME, "TXT")] = [txt(record.format(public=public, other=other, spki=spki))]
    with DnsServer(zone) as server:
        report = run_check(settings, lambda: None, server.dns())
    [finding] = ed25519_findings(report)
    assert (finding.topic, finding.verdict) == ("DKIM", Verdict.WARNING), finding
    assert says in finding.message
    assert "every Ed25519 signature broken" in finding.message
    assert f'publish a TXT record at {ED_NAME} with the value "v=DKIM1; k=ed25519; p={public}"' in (
        finding.fix
    )
    # The RSA signature still passes, so mail arrives: a warning, not a failure.
    assert not report.failed, report


def test_without_an_ed25519_key_nothing_about_it_is_checked(
    root: Path, mail_sink: Any, public_key: Any
) -> None:
    pem, public = public_key
    settings = settings_for(root, mail_sink.port, pem, smtp=LOCAL)
    with DnsServer(good_records(public)) as server:
        report = run_check(settings, lambda: None, server.dns())
    assert not any("ed25519" in f.message.lower() for f in report.findings), report
    assert not any("ed25519" in query for query in server.queries)
    assert [f.verdict for f in report.findings if f.topic == "DKIM"] == [Verdict.OK]


def test_an_unusable_ed25519_key_fails_on_its_own_line(
    root: Path, mail_sink: Any, public_key: Any
) -> None:
    pem, public = public_key
    settings_for(root, mail_sink.port, pem, smtp=LOCAL)
    settings = with_ed25519(root, pem)  # the RSA key where the Ed25519 one belongs
    with DnsServer(good_records(public)) as server:
        report = run_check(settings, lambda: None, server.dns())
    [finding] = ed25519_findings(report)
    assert finding.verdict is Verdict.FAIL
    assert "not a usable Ed25519 private key" in finding.message
    assert "openssl genpkey -algorithm ed25519" in finding.fix
    assert report.failed
    # The RSA record's line is about the RSA key only.
    assert verdicts(report)["DKIM"] is Verdict.OK


def test_the_command_prints_the_ed25519_record_to_publish(
    cli: Any,
    root: Path,
    mail_sink: Any,
    public_key: Any,
    ed25519_key: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rsa_pem, rsa_public = public_key
    pem, public, _ = ed25519_key
    settings_for(root, mail_sink.port, rsa_pem, smtp=LOCAL)
    with_ed25519(root, pem)
    with DnsServer(good_records(rsa_public)) as server:
        monkeypatch.setattr("newsletter.deliverability.DnsPython", lambda: server.dns())
        result = cli("check")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    at = lines.index(
        f"warning  DKIM: no DKIM record at {ED_NAME}: receivers would find every Ed25519 "
        "signature broken and go by the RSA one alone"
    )
    assert lines[at + 1] == (
        f"         fix: publish a TXT record at {ED_NAME} with the value "
        f'"v=DKIM1; k=ed25519; p={public}"'
    )
    assert lines[-1] == "0 problems that make mail fail, 1 warning"
