"""`newsletter send` with [dkim]: signed messages, the alignment warning, --strict."""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from newsletter.mailsink import MailSink
from newsletter.scaffold import create_workspace
from newsletter.workspace import Workspace
from tests.test_send_cli import SAMPLE_MEMBERS, SLUG, ready, run

__all__ = ["ready"]


def with_dkim(workspace: Workspace, domain: str) -> None:
    for name, key in (
        ("dkim.pem", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("dkim-ed25519.pem", ed25519.Ed25519PrivateKey.generate()),
    ):
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (workspace.root / name).write_bytes(pem)
    with workspace.settings_file.open("a", encoding="utf-8") as settings:
        settings.write(
            f'\n[dkim]\nselector = "nl"\ndomain = "{domain}"\nkey_file = "dkim.pem"\n'
            'ed25519_key_file = "dkim-ed25519.pem"\n'
        )


def test_a_send_signs_each_message_with_both_keys(ready: Workspace, mail_sink: MailSink) -> None:
    with_dkim(ready, "example.org")
    result = run(ready, "send", SLUG, "--yes", "--strict")
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.stderr
    assert len(mail_sink.received) == SAMPLE_MEMBERS
    message = email.message_from_bytes(mail_sink.received[0].data, policy=default)
    signatures = message.get_all("DKIM-Signature")
    assert signatures is not None and len(signatures) == 2
    assert "s=nl;" in str(signatures[0]) and "s=nl-ed25519;" in str(signatures[1])


def test_a_dkim_domain_other_than_the_from_domain_is_a_warning(
    ready: Workspace, mail_sink: MailSink
) -> None:
    with_dkim(ready, "mailer.example")
    result = run(ready, "send", SLUG, "--yes")
    assert result.exit_code == 0, result.output
    assert (
        "Warning: [dkim] domain mailer.example is not the From domain example.org nor a parent"
        in result.stderr
    )
    assert len(mail_sink.received) == SAMPLE_MEMBERS


def test_with_strict_the_misaligned_dkim_domain_is_an_error_and_nothing_is_sent(
    ready: Workspace, mail_sink: MailSink
) -> None:
    with_dkim(ready, "mailer.example")
    result = run(ready, "send", SLUG, "--yes", "--strict")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: [dkim] domain mailer.example is not the From domain")
    assert result.stderr.count("\n") == 1
    assert mail_sink.received == []


@pytest.mark.parametrize("name", ["dkim.pem", "dkim-ed25519.pem"])
def test_init_keeps_the_dkim_keys_out_of_git(tmp_path: Path, name: str) -> None:
    workspace = create_workspace(tmp_path / "ws")
    assert name in (workspace.root / ".gitignore").read_text(encoding="utf-8").splitlines()
