"""The DATA block and the envelope: dot-stuffing, line ends, IDN and SMTPUTF8."""

from __future__ import annotations

import pytest

from newsletter.wire import Envelope, EnvelopeError, data_block, envelope_address


def test_lines_starting_with_a_dot_get_a_second_one_and_the_block_is_terminated() -> None:
    message = b".first\r\nSubject: x\r\n\r\n.\r\n..two\r\nend"
    assert data_block(message) == b"..first\r\nSubject: x\r\n\r\n..\r\n...two\r\nend\r\n.\r\n"


def test_bare_line_feeds_become_crlf_before_stuffing() -> None:
    assert data_block(b"a\n.b\r\nc\n") == b"a\r\n..b\r\nc\r\n.\r\n"


def test_a_dot_inside_a_line_is_left_alone() -> None:
    assert data_block(b"www.example.org\r\n") == b"www.example.org\r\n.\r\n"


def test_an_internationalised_domain_goes_as_punycode_without_smtputf8() -> None:
    address = envelope_address("anna@bücher.de")
    assert address.text == "anna@xn--bcher-kva.de"
    assert not address.needs_smtputf8


def test_a_non_ascii_local_part_needs_smtputf8() -> None:
    address = envelope_address("jürgen@example.org")
    assert address.text == "jürgen@example.org"
    assert address.needs_smtputf8


@pytest.mark.parametrize(
    "address", ["a@b>\r\nRCPT TO:<x@y", "no-at-sign", "a b@example.org", "@example.org"]
)
def test_addresses_that_would_break_the_command_line_are_refused(address: str) -> None:
    with pytest.raises(EnvelopeError):
        envelope_address(address)


def test_an_envelope_refuses_data_that_is_not_a_finished_block() -> None:
    with pytest.raises(ValueError, match="data_block"):
        Envelope("a@example.org", "b@example.org", b"Subject: x\r\n\r\nno end\r\n")
    assert Envelope("a@example.org", "b@example.org", data_block(b"x")).data == b"x\r\n.\r\n"
