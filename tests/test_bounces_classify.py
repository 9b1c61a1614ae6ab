"""Classification and clues over the corpus of real-format bounces in fixtures/bounces."""

from __future__ import annotations

import email
import email.policy
from email.message import Message
from pathlib import Path

import pytest

from newsletter.bounces.classify import Kind, classify, kind_of_status
from newsletter.bounces.clues import message_ids, verp_codes

CORPUS = Path(__file__).parent / "fixtures" / "bounces"


def load(name: str) -> Message:
    return email.message_from_bytes((CORPUS / name).read_bytes(), policy=email.policy.compat32)


@pytest.mark.parametrize(
    ("name", "kind", "recipient", "code"),
    [
        ("postfix_user_unknown.eml", Kind.PERMANENT, "erika.beispiel@posteo.example", "5.1.1"),
        ("postfix_delayed.eml", Kind.TEMPORARY, "hans.voll@kabel.example", "4.2.2"),
        ("exim_user_unknown.eml", Kind.PERMANENT, "kurt.weg@example.net", "5.1.1"),
        ("exim_plain_text.eml", Kind.PERMANENT, "lotte.alt@kleinhoster.example", ""),
        ("microsoft365_ndr.eml", Kind.PERMANENT, "j.meier@kreisverwaltung.example", "5.1.10"),
        (
            "exchange_onprem_mailbox_disabled.eml",
            Kind.PERMANENT,
            "rita.ruhestand@landratsamt.example",
            "5.2.1",
        ),
        ("gmail_no_such_user.eml", Kind.PERMANENT, "paul.gibtsnicht@gmail.com", "5.1.1"),
        ("gmail_over_quota.eml", Kind.TEMPORARY, "greta.voll@gmail.com", "5.2.2"),
        ("gmx_failed.eml", Kind.PERMANENT, "susanne.frueher@gmx.de", "550"),
        ("tonline_failed.eml", Kind.PERMANENT, "willi.umgezogen@t-online.de", ""),
        ("qmail_failed.eml", Kind.PERMANENT, "fritz.frueher@altverein.example", "5.1.1"),
        (
            "dsn_id_only_in_headers.eml",
            Kind.PERMANENT,
            "mitarbeiter042@intern.stadtwerke.example",
            "5.1.1",
        ),
        ("arf_complaint.eml", Kind.COMPLAINT, "moni.genervt@hotmail.example", ""),
    ],
)
def test_failures_and_complaints_are_recognised(
    name: str, kind: Kind, recipient: str, code: str
) -> None:
    found = classify(load(name))
    assert (found.kind, found.recipients, found.code) == (kind, (recipient,), code)
    if kind is not Kind.COMPLAINT:
        assert found.text, "the server's diagnostic is kept for the record"


@pytest.mark.parametrize(
    "name",
    [
        "autoreply_de.eml",
        "autoreply_en.eml",
        "autoreply_de_subject_only.eml",
        "autoreply_de_encoded_subject.eml",  # "Automatische Rückantwort" as encoded words
    ],
)
def test_auto_replies_are_ignored(name: str) -> None:
    assert classify(load(name)).kind is Kind.AUTO_REPLY


def test_a_person_writing_back_is_unknown() -> None:
    assert classify(load("human_reply.eml")).kind is Kind.UNKNOWN


def test_a_daemon_mail_nobody_can_read_is_unknown_not_an_auto_reply() -> None:
    message = load("gmx_failed.eml")
    message.set_payload("Something went wrong, sorry.\n")
    assert classify(message).kind is Kind.UNKNOWN


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("5.1.1", Kind.PERMANENT),
        ("5.2.1", Kind.PERMANENT),
        ("4.2.2", Kind.TEMPORARY),
        ("5.2.2", Kind.TEMPORARY),  # mailbox full, however the server words it
        ("5.7.1", Kind.TEMPORARY),  # a policy refusal is about us, not the address
        ("5.3.4", Kind.TEMPORARY),  # message too big: about this message, not the address
        ("5.2.3", Kind.TEMPORARY),
        ("5.6.0", Kind.TEMPORARY),
        ("5.4.4", Kind.PERMANENT),  # no route to the domain: it is gone
        ("5.0.0", Kind.PERMANENT),
        ("5.2.0", Kind.PERMANENT),
        ("550", Kind.PERMANENT),
        ("452", Kind.TEMPORARY),
    ],
)
def test_status_codes(code: str, kind: Kind) -> None:
    assert kind_of_status(code) is kind


def test_the_id_found_only_in_returned_headers() -> None:
    message = load("dsn_id_only_in_headers.eml")
    assert verp_codes(message) == []
    assert message_ids(message) == ["<5eed5eed5eed5eed5eed5eed5eed5eed@ortsverband.example>"]


@pytest.mark.parametrize(
    ("name", "message_id"),
    [
        ("gmx_failed.eml", "<c0ffee00c0ffee00c0ffee00c0ffee00@ortsverband.example>"),
        ("tonline_failed.eml", "<deadbeefdeadbeefdeadbeefdeadbeef@ortsverband.example>"),
        ("qmail_failed.eml", "<abcabcabcabcabcabcabcabcabcabcab@ortsverband.example>"),
        ("exim_plain_text.eml", "<0f0e0d0c0b0a09080706050403020100@ortsverband.example>"),
        ("microsoft365_ndr.eml", "<5d4c3b2a19f8e7d6c5b4a39281706f5e@ortsverband.example>"),
    ],
)
def test_message_ids_in_pasted_copies_and_replies(name: str, message_id: str) -> None:
    assert message_ids(load(name))[0] == message_id


def test_verp_codes_come_from_the_envelope_headers() -> None:
    codes = verp_codes(load("postfix_user_unknown.eml"))
    assert [(code.delivery_id, code.mac) for code in codes] == [(3, "4f1c9a7e02b5d638")]
