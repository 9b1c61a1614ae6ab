"""The SMTP password: environment, then keyring, then a prompt, else a clear error."""

from __future__ import annotations

import pytest

from newsletter.deliver.password import smtp_password
from newsletter.errors import DeliveryError
from newsletter.settings import RateWindow, Security, SmtpSettings

SMTP = SmtpSettings(
    "smtp.example.org", 587, Security.STARTTLS, "kv@example.org", "NL_PW",
    (RateWindow(300, 3600.0),), 1, 60.0,
)  # fmt: skip


def _no_keyring(service: str, username: str) -> str | None:
    return None


def _broken_keyring(service: str, username: str) -> str | None:
    raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")


def test_the_environment_variable_comes_first() -> None:
    def keyring(service: str, username: str) -> str:
        raise AssertionError("the keyring must not be asked")

    assert smtp_password(SMTP, environ={"NL_PW": "geheim"}, lookup=keyring) == "geheim"


def test_the_keyring_is_asked_for_the_username_under_newsletter() -> None:
    asked = []

    def keyring(service: str, username: str) -> str:
        asked.append((service, username))
        return "aus-dem-schlüsselbund"

    assert smtp_password(SMTP, environ={}, lookup=keyring) == "aus-dem-schlüsselbund"
    assert asked == [("newsletter", "kv@example.org")]


def test_a_broken_keyring_backend_falls_through_to_the_prompt() -> None:
    prompts = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return "getippt"

    password = smtp_password(SMTP, environ={}, lookup=_broken_keyring, prompt=prompt)
    assert password == "getippt"
    assert prompts == ["SMTP password for kv@example.org at smtp.example.org: "]


def test_without_any_source_the_error_says_where_to_put_it() -> None:
    with pytest.raises(DeliveryError) as caught:
        smtp_password(SMTP, environ={"NL_PW": ""}, lookup=_no_keyring)
    assert "no SMTP password for kv@example.org" in str(caught.value)
    assert "NL_PW" in str(caught.value)
    assert "keyring set newsletter kv@example.org" in str(caught.value)


def test_no_username_means_no_login_and_no_password() -> None:
    relay = SmtpSettings("127.0.0.1", 25, Security.NONE, None, None, SMTP.rate, 1, 60.0)
    assert smtp_password(relay, environ={}, lookup=_broken_keyring) is None
