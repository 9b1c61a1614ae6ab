"""The per-member fill: decoded, every message is the one compose_message builds."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from email.policy import compat32, default
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.errors import MessageError, SettingsError, TemplateError
from newsletter.members.tokens import sign_token
from newsletter.messages.compose import compose_message
from newsletter.messages.template import MessageTemplate, build_template, recipient_of
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import Greeting, Markers
from newsletter.settings import NewsletterSettings
from newsletter.store.records import Recipient as Member
from newsletter.wire import data_block
from tests.render_support import KEY, render_workspace

DATE = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
WEB = "https://newsletter.example.org"
MARKERS = Markers.new()
GREETING, TOKEN = MARKERS.greeting, MARKERS.token
EMAIL = RenderedEmail(
    subject="Newsletter November: Grünkohl",
    html=f'<p style="margin:0">{GREETING}</p>\n<p>Text</p><a href="{MARKERS.unsubscribe_url(WEB)}">ab</a>\n',
    text=f"{GREETING}\n\n.Punkt am Zeilenanfang\nAbmelden: {MARKERS.unsubscribe_url(WEB)}\n",
    greeting=Greeting(named="Hallo {first_name},", anonymous="Hallo,"),
    markers=MARKERS,
)
SUBSCRIPTION = "AbCdEfGhIjKlMnOpQrStUv"


@pytest.fixture(scope="module")
def newsletter(tmp_path_factory: pytest.TempPathFactory) -> NewsletterSettings:
    return render_workspace(tmp_path_factory.mktemp("fill")).settings.newsletter


def template_of(
    settings: NewsletterSettings, email: RenderedEmail = EMAIL, **kwargs: Any
) -> MessageTemplate:
    return build_template(
        email, settings, issue="2026-11", list_name="mitglieder", unsubscribe_key=KEY, **kwargs
    )


def member(email: str = "erika@example.org", **fields: str) -> Member:
    values = {"first_name": "", "last_name": "", "name": "", **fields}
    return Member(subscription_id=SUBSCRIPTION, member_id=1, email=email, **values)


def reference(
    settings: NewsletterSettings, email: RenderedEmail, person: Member, message_id: str
) -> bytes:
    return compose_message(
        email,
        recipient_of(person),
        sign_token(KEY, person.subscription_id),
        settings,
        list_name="mitglieder",
        date=DATE,
        message_id=message_id,
    ).as_bytes()


def parsed(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def utf8(text: str) -> str:
    """Header text as read from UTF-8 headers (RFC 6532, SMTPUTF8 messages): the parser
    keeps the bytes as surrogate escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8")


def decoded(raw: bytes) -> dict[str, Any]:
    """What a mail program shows: header values decoded (addresses as their parts), each
    part's headers and decoded content; only the MIME boundary is left out."""
    message = parsed(raw)
    headers: list[tuple[str, object]] = []
    for name, value in message.items():
        if isinstance(value, AddressHeader):
            addresses = [
                (utf8(a.display_name), utf8(a.username), a.domain) for a in value.addresses
            ]
            headers.append((name, addresses))
        elif name == "Content-Type":
            headers.append((name, message.get_content_type()))
        else:
            headers.append((name, utf8(str(value))))
    parts = [
        (list(part.items()), part.get_content())
        for part in message.iter_parts()
        if isinstance(part, EmailMessage)
    ]
    return {"headers": headers, "parts": parts}


ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def assert_well_formed(raw: bytes, smtputf8: bool = False) -> None:
    head, _, body = raw.partition(b"\r\n\r\n")
    # Only the To header of a message to a non-ASCII local part holds UTF-8 (RFC 6532).
    others = [line for line in head.split(b"\r\n") if not line.startswith(b"To: ")]
    assert all(line.isascii() for line in others) if smtputf8 else head.isascii()
    assert body.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    # RFC 2047 section 2: an encoded word is at most 75 characters; longer ones are split.
    assert [word for word in ENCODED_WORD.findall(head) if len(word) > 75] == []
    assert max(len(line) for line in body.split(b"\r\n")) <= 76  # quoted-printable's limit
    assert not parsed(raw).defects


def assert_same_as_reference(
    settings: NewsletterSettings, template: MessageTemplate, person: Member
) -> None:
    filled = template.fill(person, date=DATE)
    raw = template.message(person, date=DATE)
    assert_well_formed(raw, filled.needs_smtputf8)
    assert filled.envelope.data == data_block(raw)
    expected = reference(settings, template.email, person, filled.message_id)
    assert decoded(raw) == decoded(expected)


# ---------------------------------------------------------------- the property

_TRICKY = [
    *"äöüßÄÖÜéçñ<&>\"'\\=?_.,;:@()[] \t\r\n",
    *("😀", "👩\u200d👩\u200d👧", "=?utf-8?q?", "\r\nBcc: x@evil.example"),
]
_ANY_CHARACTER = st.characters(codec="utf-8")
names = st.one_of(
    st.lists(st.one_of(st.sampled_from(_TRICKY), st.text(_ANY_CHARACTER, max_size=8)), max_size=10),
    st.lists(st.sampled_from([*_TRICKY, "a", "B", " "]), min_size=60, max_size=150),
).map("".join)
# Any column: markers between random text with and without line breaks, long lines too.
_CHUNKS = st.one_of(
    st.sampled_from([GREETING, TOKEN, "\n", "\r\n", " ", "=", ".", "..", "ü", "€", "\t"]),
    # Other renders' markers and the old fixed ones: text like any other here.
    st.sampled_from([Markers.new().token, "[[greeting]]", "[[token]]", GREETING[:-1]]),
    st.text(_ANY_CHARACTER, max_size=90),
    st.text(st.sampled_from(["x", " ", "=", "ä"]), min_size=70, max_size=200),
)
bodies = st.lists(_CHUNKS, max_size=25).map("".join)
wordings = st.text(st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=20)
local_parts = st.text(st.sampled_from(list("abcxyz019._+-'ä")), min_size=1, max_size=30)
domains = st.sampled_from(["example.org", "Example.ORG", "exämple.org", "bücher.example"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first_name=names,
    last_name=names,
    name=names,
    local=local_parts,
    domain=domains,
    text=bodies,
    html=bodies,
    named=wordings,
    subject=st.text(_ANY_CHARACTER, max_size=120),
)
def test_a_filled_message_decodes_like_one_built_from_scratch(
    newsletter: NewsletterSettings,
    first_name: str,
    last_name: str,
    name: str,
    local: str,
    domain: str,
    text: str,
    html: str,
    named: str,
    subject: str,
) -> None:
    email = RenderedEmail(subject, html, text, Greeting(named + "{first_name}!", named), MARKERS)
    person = member(f"{local}@{domain}", first_name=first_name, last_name=last_name, name=name)
    assert_same_as_reference(newsletter, template_of(newsletter, email), person)


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize(
    "fields",
    [
        {"first_name": "Erika", "last_name": "Mustermann"},
        {"name": "Jörg Müller-Lüdenscheidt"},
        {"name": 'Ärger "der Große" <&> Co, KG'},
        {"first_name": "😀", "name": "Emoji 😀 Fan"},
        {"name": "Ölaf " * 60},
        {"name": "Eve\r\nBcc: victim@example.org"},
        {},
    ],
    ids=["ascii", "umlauts", "specials", "emoji", "very-long", "crlf", "no-name"],
)
def test_names_are_filled_exactly_like_the_reference(
    newsletter: NewsletterSettings, fields: dict[str, str]
) -> None:
    assert_same_as_reference(newsletter, template_of(newsletter), member(**fields))


def test_a_crlf_in_a_name_never_starts_a_header(newsletter: NewsletterSettings) -> None:
    person = member(name="Eve\r\nBcc: victim@example.org", first_name="Eve\nX-Evil: 1")
    message = parsed(template_of(newsletter).message(person, date=DATE))
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["To"].addresses[0].display_name == "Eve Bcc: victim@example.org"
    assert "Hallo Eve," in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_the_greeting_uses_first_name_else_full_name_never_the_last_name_alone(
    newsletter: NewsletterSettings,
) -> None:
    template = template_of(newsletter)

    def text_of(person: Member) -> str:
        part = parsed(template.message(person, date=DATE)).get_body(("plain",))
        assert isinstance(part, EmailMessage)
        return str(part.get_content())

    assert text_of(member(first_name="Erika", last_name="Muster")).startswith("Hallo Erika,")
    assert text_of(member(name="Hans Peter Müller")).startswith("Hallo Hans,")
    assert text_of(member(last_name="Müller")).startswith("Hallo,")
    assert recipient_of(member(first_name="Erika", last_name="Muster")).name == "Erika Muster"


def test_message_id_is_stable_per_issue_and_member_under_the_senders_domain(
    newsletter: NewsletterSettings,
) -> None:
    template = template_of(newsletter)
    first = template.fill(member(), date=DATE).message_id
    assert first == template_of(newsletter).fill(member(), date=DATE).message_id
    assert first.endswith("@example.org>") and first.startswith("<")
    other_member = dataclasses.replace(member(), subscription_id="ZZZZZZZZZZZZZZZZZZZZZZ")
    assert template.fill(other_member, date=DATE).message_id != first
    other_issue = build_template(
        EMAIL, newsletter, issue="2026-12", list_name="mitglieder", unsubscribe_key=KEY
    )
    assert other_issue.fill(member(), date=DATE).message_id != first
    assert template.fill(member(), date=DATE, message_id="<test@x>").message_id == "<test@x>"


def test_envelope_sender_is_envelope_from_else_the_from_address(
    newsletter: NewsletterSettings,
) -> None:
    assert template_of(newsletter).fill(member(), date=DATE).envelope.sender == (
        "newsletter@example.org"
    )
    bounces = dataclasses.replace(newsletter, envelope_from="Bounces <bounces@bücher.example>")
    envelope = template_of(bounces).fill(member(), date=DATE).envelope
    assert envelope.sender == "bounces@xn--bcher-kva.example"


def test_international_domains_go_out_as_punycode(newsletter: NewsletterSettings) -> None:
    person = member("erika@bücher.example", name="Erika")
    filled = template_of(newsletter).fill(person, date=DATE)
    assert filled.envelope.recipient == "erika@xn--bcher-kva.example"
    assert not filled.needs_smtputf8
    assert b"To: Erika <erika@xn--bcher-kva.example>\r\n" in filled.envelope.data


def test_a_non_ascii_local_part_is_marked_as_needing_smtputf8(
    newsletter: NewsletterSettings,
) -> None:
    filled = template_of(newsletter).fill(member("jörg@example.org"), date=DATE)
    assert filled.needs_smtputf8
    assert filled.envelope.recipient == "jörg@example.org"


@pytest.mark.parametrize("address", ["no-at-sign", "a@", "@example.org", "a@exa..mple.org"])
def test_an_unusable_address_fails_that_member_only(
    newsletter: NewsletterSettings, address: str
) -> None:
    with pytest.raises(MessageError):
        template_of(newsletter).fill(member(address), date=DATE)


def test_every_body_line_that_starts_with_a_dot_is_stuffed_once(
    newsletter: NewsletterSettings,
) -> None:
    email = dataclasses.replace(
        EMAIL, text=f".{GREETING}\n{GREETING}\n", greeting=Greeting(".{first_name}", ".")
    )
    template = template_of(newsletter, email)
    for person in (member(first_name="Erika"), member(first_name="." * 80)):
        raw = template.message(person, date=DATE)
        assert template.fill(person, date=DATE).envelope.data == data_block(raw)


def test_a_greeting_wording_with_a_line_break_is_refused(newsletter: NewsletterSettings) -> None:
    email = dataclasses.replace(EMAIL, greeting=Greeting("Hallo\n{first_name},", "Hallo,"))
    with pytest.raises(TemplateError, match="one line"):
        template_of(newsletter, email)


def test_an_envelope_from_smtp_cannot_carry_is_a_settings_error(
    newsletter: NewsletterSettings,
) -> None:
    with pytest.raises(SettingsError, match="envelope_from"):
        template_of(newsletter, envelope_from="bad <bounce\x00s@example.org>")


def test_test_sends_get_the_subject_prefix(newsletter: NewsletterSettings) -> None:
    template = template_of(newsletter, subject_prefix="[TEST] ")
    message = parsed(template.message(member(), date=DATE))
    assert message["Subject"] == "[TEST] Newsletter November: Grünkohl"


def test_the_date_is_the_fill_time(newsletter: NewsletterSettings) -> None:
    later = datetime(2026, 11, 4, 9, 30, 15, 123456, tzinfo=UTC)
    message = parsed(template_of(newsletter).message(member(), date=later))
    assert message["Date"] == "Wed, 04 Nov 2026 09:30:15 +0000"


@pytest.mark.parametrize(
    "name",
    [
        "Hans-Peter Müller-Lüdenscheidt von und zu Großherzogtum Württemberg-Schwäbisch",
        "😀" * 40,
        "Ö" * 200,
    ],
)
def test_long_names_and_subjects_become_encoded_words_of_at_most_75_characters(
    newsletter: NewsletterSettings, name: str
) -> None:
    subject = "Grüne Musterstadt – Einladung zur Mitgliederversammlung mit Überraschungen 😀 " * 2
    email = dataclasses.replace(EMAIL, subject=subject)
    template = template_of(newsletter, email)
    raw = template.message(member(name=name), date=DATE)
    head = raw.partition(b"\r\n\r\n")[0]
    words = ENCODED_WORD.findall(head)
    assert len(words) > 2
    assert max(len(word) for word in words) <= 75
    assert_same_as_reference(newsletter, template, member(name=name))
    # What an RFC 2047 reader shows: the whole name and subject, nothing added between words.
    shown = {
        key: str(make_header(decode_header(value)))
        for key, value in message_from_bytes(raw, policy=compat32).items()
    }
    assert shown["Subject"] == subject.strip()
    assert shown["To"].startswith(name)


def test_a_long_name_with_a_colon_to_a_non_ascii_local_part_stays_one_address(
    newsletter: NewsletterSettings,
) -> None:
    """Folded, the stdlib dropped the quotes, and "Bcc:" opened a group of other addresses."""
    person = member("jürgen@example.org", name="ä" * 59 + "\r\nBcc: x@evil.example")
    message = parsed(template_of(newsletter).message(person, date=DATE))
    (address,) = message["To"].addresses
    assert utf8(address.addr_spec) == "jürgen@example.org"
    assert_same_as_reference(newsletter, template_of(newsletter), person)


def test_no_space_of_a_subject_is_lost_between_encoded_words(
    newsletter: NewsletterSettings,
) -> None:
    """Folding, the stdlib could put a space between two encoded words, where readers drop
    it (RFC 2047 section 6.2): every cut of this sentence must read back whole."""
    sentence = "Einladung zur Mitgliederversammlung für alle Grünen – mit Überraschungen " * 2
    for end in range(20, len(sentence), 3):
        subject = sentence[:end].strip()
        template = template_of(newsletter, dataclasses.replace(EMAIL, subject=subject))
        raw = template.message(member(name="Jörg"), date=DATE)
        value = message_from_bytes(raw, policy=compat32)["Subject"]
        assert str(make_header(decode_header(value))) == subject


@pytest.mark.parametrize("length", range(1, 40))
def test_every_line_with_an_encoded_word_fits_76_characters(
    newsletter: NewsletterSettings, length: int
) -> None:
    """RFC 2047 section 2, for names of every length with the address after them."""
    raw = template_of(newsletter).message(
        member("erika.mustermann@example.org", name="Ö" * length), date=DATE
    )
    head = raw.partition(b"\r\n\r\n")[0]
    for line in head.split(b"\r\n"):
        if ENCODED_WORD.search(line):
            assert len(line) <= 76, line
