"""DKIM: the [dkim] settings, the key checked at start, and signatures dkimpy verifies."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from newsletter.errors import SettingsError
from newsletter.messages.signing import (
    Algorithm,
    DkimSigner,
    canonical_body,
    load_signer,
    signs_for,
)
from newsletter.messages.template import MessageTemplate, build_template
from newsletter.render.build import load_build
from newsletter.rendering import build_issue
from newsletter.settings import DkimSettings, load_settings
from newsletter.store.records import Recipient as Member
from newsletter.workspace import Workspace
from tests.render_support import KEY, issue_dir, render_workspace

DATE = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
MEMBER = Member("AbCdEfGhIjKlMnOpQrStUv", 1, "jörg.müller@bücher.example", "Jörg", "Müller", "")
DKIM_TABLE = '\n[dkim]\nselector = "nl2026"\ndomain = "example.org"\nkey_file = "keys/dkim.pem"\n'


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def workspace(
    tmp_path_factory: pytest.TempPathFactory, private_key: rsa.RSAPrivateKey
) -> Workspace:
    workspace = render_workspace(tmp_path_factory.mktemp("dkim"))
    with workspace.settings_file.open("a", encoding="utf-8") as settings:
        settings.write(DKIM_TABLE)
    (workspace.root / "keys").mkdir()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (workspace.root / "keys" / "dkim.pem").write_bytes(pem)
    build_issue(workspace, issue_dir(workspace), KEY)
    return workspace


@pytest.fixture(scope="module")
def template(workspace: Workspace) -> MessageTemplate:
    settings = load_settings(workspace.settings_file)
    assert settings.dkim is not None
    return build_template(
        load_build(issue_dir(workspace)),
        settings.newsletter,
        issue="2026-11",
        list_name="mitglieder",
        unsubscribe_key=KEY,
        signer=load_signer(settings.dkim),
    )


def dns_for(private_key: rsa.RSAPrivateKey) -> Callable[..., bytes]:
    """The one thing mocked: the signing domain's DNS, which holds the public key."""
    public = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"nl2026._domainkey.example.org."
        return record

    return dnsfunc


def signed_headers(message: bytes) -> list[str]:
    header = message.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    signature = re.search(r"^DKIM-Signature:(.*?)\r\n(?!\s)", header, re.S | re.M)
    assert signature is not None
    tags = dict(tag.strip().split("=", 1) for tag in signature.group(1).split(";") if tag.strip())
    return re.sub(r"\s+", "", tags["h"]).lower().split(":")


def test_the_dkim_table_is_read_with_the_key_path_relative_to_the_workspace(
    workspace: Workspace,
) -> None:
    settings = load_settings(workspace.settings_file)
    assert settings.dkim == DkimSettings("nl2026", "example.org", workspace.root / "keys/dkim.pem")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('selector = "nl2026"\n', ""), '[dkim]: missing required key "selector"'),
        (
            ('domain = "example.org"', 'domain = "example.org"\nkeyfile = "x"'),
            'unknown key "keyfile"',
        ),
        (('domain = "example.org"', 'domain = "exa mple.org"'), "[dkim] domain: expected a domain"),
        (('selector = "nl2026"', 'selector = "-x"'), "[dkim] selector: expected a DNS name"),
    ],
)
def test_dkim_settings_mistakes_are_one_line(
    workspace: Workspace, tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    text = workspace.settings_file.read_text(encoding="utf-8").replace(*change)
    (tmp_path / "newsletter.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "newsletter.toml")
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_key_file_is_reported_at_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"key_file: .*missing\.pem: file not found; create"):
        load_signer(DkimSettings("nl2026", "example.org", tmp_path / "missing.pem"))


@pytest.mark.parametrize(
    "content",
    [b"not a key\n", b"-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n", b""],
)
def test_a_file_that_is_no_private_key_is_reported_at_start(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "dkim.pem").write_bytes(content)
    with pytest.raises(SettingsError, match="not a usable RSA private key in PEM format"):
        load_signer(DkimSettings("nl2026", "example.org", tmp_path / "dkim.pem"))


def test_the_signature_verifies_and_covers_both_list_unsubscribe_headers(
    template: MessageTemplate, private_key: rsa.RSAPrivateKey
) -> None:
    message = template.message(MEMBER, date=DATE)
    assert message.startswith(b"DKIM-Signature: ")
    assert dkim.verify(message, dnsfunc=dns_for(private_key))
    headers = signed_headers(message)
    assert "list-unsubscribe" in headers and "list-unsubscribe-post" in headers
    for name in ("from", "to", "subject", "date", "message-id"):
        assert name in headers


def test_the_data_block_carries_the_signed_message(
    template: MessageTemplate, private_key: rsa.RSAPrivateKey
) -> None:
    block = template.fill(MEMBER, date=DATE).envelope.data
    # Undo the DATA framing: the terminator and one dot at the start of stuffed lines.
    message = block.removesuffix(b".\r\n").replace(b"\r\n..", b"\r\n.")
    assert dkim.verify(message, dnsfunc=dns_for(private_key))


def test_a_changed_unsubscribe_header_breaks_the_signature(
    template: MessageTemplate, private_key: rsa.RSAPrivateKey
) -> None:
    message = template.message(MEMBER, date=DATE)
    tampered = message.replace(
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: x"
    )
    assert not dkim.verify(tampered, dnsfunc=dns_for(private_key))


def test_signing_an_internationalised_domain_uses_punycode(
    private_key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    (tmp_path / "dkim.pem").write_bytes(pem)
    signer = load_signer(DkimSettings("nl2026", "bücher.example", tmp_path / "dkim.pem"))
    assert signer.domain == b"xn--bcher-kva.example"
    assert [(key.algorithm, key.selector) for key in signer.keys] == [(Algorithm.RSA, b"nl2026")]


@pytest.fixture(scope="module")
def both_keys(
    tmp_path_factory: pytest.TempPathFactory, private_key: rsa.RSAPrivateKey
) -> tuple[DkimSigner, Callable[..., bytes]]:
    folder = tmp_path_factory.mktemp("keys")
    ed_key = ed25519.Ed25519PrivateKey.generate()
    for name, key in (("dkim.pem", private_key), ("ed.pem", ed_key)):
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (folder / name).write_bytes(pem)
    settings = DkimSettings("nl2026", "example.org", folder / "dkim.pem", folder / "ed.pem")
    rsa_record = dns_for(private_key)(b"nl2026._domainkey.example.org.")
    ed_public = ed_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    records = {
        b"nl2026._domainkey.example.org.": rsa_record,
        b"nl2026-ed25519._domainkey.example.org.": b"v=DKIM1; k=ed25519; p="
        + base64.b64encode(ed_public),
    }

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
        return records[name]

    return load_signer(settings), dnsfunc


def verified(message: bytes, dnsfunc: Callable[..., bytes]) -> list[bool]:
    """Each DKIM-Signature's result, top to bottom, as dkimpy sees it."""
    count = message.split(b"\r\n\r\n", 1)[0].count(b"DKIM-Signature:")
    checker = dkim.DKIM(message)
    return [bool(checker.verify(idx=n, dnsfunc=dnsfunc)) for n in range(count)]


def test_with_both_keys_the_message_carries_an_rsa_and_an_ed25519_signature(
    template: MessageTemplate, both_keys: tuple[DkimSigner, Callable[..., bytes]]
) -> None:
    signer, dnsfunc = both_keys
    unsigned = MessageTemplate(**{**template.__dict__, "signer": None}).message(MEMBER, date=DATE)
    message = signer.sign(unsigned)
    assert b"a=rsa-sha256" in message and b"a=ed25519-sha256" in message
    assert verified(message, dnsfunc) == [True, True]


@pytest.mark.parametrize(
    "added",
    [
        b"Subject: Ihr Konto wird gesperrt\r\n",
        b"List-Unsubscribe: <https://evil.example/u>\r\n",
        b"List-Id: <other.example.org>\r\n",
    ],
)
def test_a_header_added_on_the_way_breaks_both_signatures(
    template: MessageTemplate,
    both_keys: tuple[DkimSigner, Callable[..., bytes]],
    added: bytes,
) -> None:
    signer, dnsfunc = both_keys
    unsigned = MessageTemplate(**{**template.__dict__, "signer": None}).message(MEMBER, date=DATE)
    signed = signer.sign(unsigned)
    # At the top or the bottom of the header: over-signing catches both.
    head, body = signed.split(b"\r\n\r\n", 1)
    assert verified(signed, dnsfunc) == [True, True]
    assert verified(added + signed, dnsfunc) == [False, False]
    assert verified(head + b"\r\n" + added + b"\r\n" + body, dnsfunc) == [False, False]


def test_the_signed_list_names_each_trusted_header_once_more_than_present(
    template: MessageTemplate,
) -> None:
    headers = signed_headers(template.message(MEMBER, date=DATE))
    for name in ("from", "to", "subject", "date", "message-id", "list-unsubscribe"):
        assert headers.count(name) == 2, name
    assert headers.count("list-unsubscribe-post") == 2
    assert headers.count("list-id") == 2


def test_an_ed25519_key_file_that_holds_an_rsa_key_is_reported_at_start(
    tmp_path: Path, private_key: rsa.RSAPrivateKey
) -> None:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (tmp_path / "dkim.pem").write_bytes(pem)
    settings = DkimSettings("nl2026", "example.org", tmp_path / "dkim.pem", tmp_path / "dkim.pem")
    with pytest.raises(
        SettingsError, match=r"ed25519_key_file: .*not a usable Ed25519 private key"
    ):
        load_signer(settings)


@pytest.mark.parametrize(
    ("dkim_domain", "from_domain", "expected"),
    [
        ("example.org", "example.org", True),
        ("example.org", "news.example.org", True),
        ("EXAMPLE.org", "example.org", True),
        ("bücher.example", "xn--bcher-kva.example", True),
        ("news.example.org", "example.org", False),
        ("example.org", "badexample.org", False),
        ("mailer.example", "example.org", False),
    ],
)
def test_the_dkim_domain_aligns_when_it_is_the_from_domain_or_a_parent(
    dkim_domain: str, from_domain: str, expected: bool
) -> None:
    assert signs_for(dkim_domain, from_domain) is expected


def test_signing_takes_at_most_a_millisecond(template: MessageTemplate) -> None:
    unsigned = MessageTemplate(**{**template.__dict__, "signer": None}).message(MEMBER, date=DATE)
    assert template.signer is not None
    template.signer.sign(unsigned)
    start = time.process_time()
    for _ in range(50):
        template.signer.sign(unsigned)
    # The goal is 1 ms; a shared, loaded test machine gets five times that.
    assert (time.process_time() - start) / 50 < 0.005


@pytest.mark.parametrize(
    "body",
    [
        b"a  b \r\n\t x\t\r\n  \r\n\r\n",
        b" lead\r\n",
        b"\r\n\r\n",
        b"end  ",
        b"a \t \r\nb",
        b"<td>    <p>  Hallo\t\tWelt  </p>\r\n\r\n",
    ],
)
def test_the_relaxed_body_is_dkimpys(body: bytes) -> None:
    from dkim.canonicalization import Relaxed

    assert canonical_body(body) == Relaxed.canonicalize_body(body)


@pytest.mark.parametrize(
    "parts",
    [
        [b"From: a@example.org\r\n", b"Subject: x\r\n\r\nHallo  ", b"  Welt\r\n\r\n"],
        [b"From: a@example.org\r\n\r\n", b"line one \r\n", b"x" * 2000 + b"\r\n\r\n\r\n"],
        [b"From: a@example.org\r\n\r\nbody\r\n", b"\r\n", b"\r\n"],
    ],
)
def test_signing_in_parts_is_signing_the_whole(
    template: MessageTemplate, parts: list[bytes]
) -> None:
    """Parts that do not start a line, and empty lines at the end across parts, too."""
    assert template.signer is not None
    whole = template.signer.sign(b"".join(parts))
    assert template.signer.sign_parts(parts) + b"".join(parts) == whole
    assert template.signer.sign_parts(parts) + b"".join(parts) == whole  # cached now
