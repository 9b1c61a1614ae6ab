"""DKIM: the [dkim] settings, the key checked at start, and signatures dkimpy verifies."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.errors import SettingsError
from newsletter.messages.signing import DkimSigner, load_signer
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
    assert signer == DkimSigner(b"nl2026", b"xn--bcher-kva.example", pem)
