"""Signed unsubscribe tokens and address normalisation."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from newsletter.errors import TokenError
from newsletter.members.addresses import (
    InvalidAddressError,
    clean_name,
    normalise_address,
)
from newsletter.members.tokens import new_subscription_id, sign_token, verify_token
from newsletter.store.records import address_hash

KEY = b"k" * 64


def test_a_token_names_its_subscription_and_nothing_else() -> None:
    subscription_id = new_subscription_id()
    token = sign_token(KEY, subscription_id)
    assert verify_token(KEY, token) == subscription_id
    assert token.startswith(f"{subscription_id}.")
    assert all(char.isalnum() or char in "-_." for char in token)  # URL-safe as it is
    assert "@" not in token


def test_ids_are_random_and_not_repeated() -> None:
    ids = {new_subscription_id() for _ in range(10_000)}
    assert len(ids) == 10_000


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: ("A" if t[0] != "A" else "B") + t[1:],  # another subscription's id
        lambda t: t.partition(".")[0],  # signature cut off
        lambda t: t[:30],  # cut short in the middle
        lambda t: t + "ü",  # non-ASCII appended
        lambda t: "",
    ],
)
def test_a_tampered_token_is_rejected(tamper: object) -> None:
    token = sign_token(KEY, new_subscription_id())
    with pytest.raises(TokenError):
        verify_token(KEY, tamper(token))  # type: ignore[operator]


def test_a_token_from_another_workspace_is_rejected() -> None:
    token = sign_token(b"x" * 64, new_subscription_id())
    with pytest.raises(TokenError) as raised:
        verify_token(KEY, token)
    assert str(raised.value) == (
        "this unsubscribe link was not issued by this newsletter (its signature does not "
        "match); open the link from the newsletter email again, or copy it whole"
    )


# ---------------------------------------------------------------- addresses


@pytest.mark.parametrize(
    ("given_address", "normalised"),
    [
        ("ANNA@bücher.de", "anna@xn--bcher-kva.de"),
        ("ANNA@xn--bcher-kva.de", "anna@xn--bcher-kva.de"),
        ("  Max.Mustermann@Example.ORG ", "max.mustermann@example.org"),
        ("Jörg@Example.org", "jörg@example.org"),
    ],
)
def test_normalisation(given_address: str, normalised: str) -> None:
    assert normalise_address(given_address) == normalised


def test_forget_hash_is_of_the_normalised_address() -> None:
    assert address_hash(normalise_address("anna@bücher.de")) == address_hash(
        normalise_address("ANNA@xn--bcher-kva.de")
    )


_LOCAL = st.text(alphabet="abcXYZ019.!#$%&'*+/=?^_`{|}~-ü\"@ ", min_size=0, max_size=70)
_DOMAIN = st.sampled_from(
    ["example.org", "EXAMPLE.org", "bücher.example", "x", "localhost", "a..b", "xn--bcher-kva.de"]
)


@given(local=_LOCAL, domain=_DOMAIN)
def test_the_fast_path_agrees_with_email_validator(local: str, domain: str) -> None:
    text = f"{local}@{domain}"
    try:
        # Cells are stripped first on purpose: a trailing space in Excel is no bad address.
        result = validate_email(text.strip(), check_deliverability=False)
        expected: str | None = f"{result.local_part.lower()}@{result.ascii_domain.lower()}"
    except EmailNotValidError:
        expected = None
    try:
        ours: str | None = normalise_address(text)
    except InvalidAddressError:
        ours = None
    assert ours == expected


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Anna\r\nSchmidt", "Anna Schmidt"),
        ("Ka\x07rin", "Karin"),
        ("Eve\u202eliL", "EveliL"),
        ("  Jürgen   Bäcker ", "Jürgen Bäcker"),
        ("Bcc:\nx@example.org", "Bcc: x@example.org"),
    ],
)
def test_names_never_carry_control_characters(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean
