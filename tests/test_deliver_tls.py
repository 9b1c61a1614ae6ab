"""TLS and login: verified by default, and every refusal stops the run with one clear line."""

from __future__ import annotations

import shutil
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from newsletter.deliver.sender import send_run
from newsletter.errors import DeliveryError
from newsletter.settings import Security
from tests.deliver_support import (
    FakeClock,
    RecordingLog,
    ScriptedSink,
    outgoing,
    self_signed_certificate,
    server_tls,
    smtp_settings,
)

MEMBERS = ["anna@example.org", "bernd@example.org"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    return self_signed_certificate(openssl, tmp_path_factory.mktemp("tls"))


def _trusting(cert: Path) -> ssl.SSLContext:
    """What an office would use for its own relay's self-signed certificate."""
    return ssl.create_default_context(cafile=str(cert))


def _password_is(expected: str) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == expected.encode()
        return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd sends the 535

    return check


def test_starttls_verifies_the_certificate_by_default(certificate: tuple[Path, Path]) -> None:
    log = RecordingLog()
    with (
        ScriptedSink(tls_context=server_tls(*certificate)) as sink,
        pytest.raises(DeliveryError) as caught,
    ):
        send_run(
            smtp_settings(sink.port, security=Security.STARTTLS), None, outgoing(MEMBERS), log,
            clock=FakeClock(),
        )  # fmt: skip
    assert f"the TLS certificate of 127.0.0.1:{sink.port} could not be verified" in str(
        caught.value
    )
    assert sink.received == []
    assert log.outcomes and all(o.result.value == "deferred" for _, o in log.outcomes)


def test_starttls_with_login_delivers_over_the_encrypted_connection(
    certificate: tuple[Path, Path],
) -> None:
    with ScriptedSink(
        tls_context=server_tls(*certificate), authenticator=_password_is("geheim")
    ) as sink:
        summary = send_run(
            smtp_settings(sink.port, security=Security.STARTTLS, username="kv@example.org"),
            "geheim", outgoing(MEMBERS), RecordingLog(), tls=_trusting(certificate[0]),
            clock=FakeClock(),
        )  # fmt: skip
    assert summary.accepted == 2
    assert sorted(m.recipients[0] for m in sink.received) == MEMBERS


def test_a_refused_login_stops_the_run(certificate: tuple[Path, Path]) -> None:
    with (
        ScriptedSink(
            tls_context=server_tls(*certificate), authenticator=_password_is("geheim")
        ) as sink,
        pytest.raises(DeliveryError) as caught,
    ):
        send_run(
            smtp_settings(sink.port, security=Security.STARTTLS, username="kv@example.org"),
            "falsch", outgoing(MEMBERS), RecordingLog(), tls=_trusting(certificate[0]),
            clock=FakeClock(),
        )  # fmt: skip
    assert "refused the login for kv@example.org: 535" in str(caught.value)
    assert "check username in [smtp] and the password" in str(caught.value)
    assert sink.received == []


def test_implicit_tls_delivers(certificate: tuple[Path, Path]) -> None:
    with ScriptedSink(ssl_context=server_tls(*certificate)) as sink:
        summary = send_run(
            smtp_settings(sink.port, security=Security.TLS), None, outgoing(MEMBERS),
            RecordingLog(), tls=_trusting(certificate[0]), clock=FakeClock(),
        )  # fmt: skip
    assert summary.accepted == 2


def test_a_server_without_starttls_is_not_used_unencrypted() -> None:
    with ScriptedSink() as sink, pytest.raises(DeliveryError) as caught:
        send_run(
            smtp_settings(sink.port, security=Security.STARTTLS), None, outgoing(MEMBERS),
            RecordingLog(), clock=FakeClock(),
        )  # fmt: skip
    assert "does not offer STARTTLS" in str(caught.value)
    assert sink.received == []
