"""Shared by the placeholder tests: every address a filled message holds, and the check
that no member value leaves for another host than the web side's."""

from __future__ import annotations

import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from html import escape
from html.parser import HTMLParser
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

WEB_HOST = "newsletter.example.org"  # web_url's host in the test workspaces' settings
# The old markers, their spellings after the tools (percent-encoded, escaped), what a
# template writes, and things shaped like today's markers with a guessed nonce.
LOOKALIKES = (
    "[[token]]",
    "[[greeting]]",
    "[[ token ]]",
    "[[TOKEN]]",
    "%5B%5Btoken%5D%5D",
    "%5b%5bgreeting%5d%5d",
    "&#91;&#91;token&#93;&#93;",
    "{{ member.unsubscribe_url }}",
    "{{member.greeting}}",
    "{first_name}",
    "nltoken" + "0" * 32,
    "nlgreeting" + "0" * 32,
)
TRACKER = "https://tracker.example.net/c?u=[[token]]&g=[[greeting]]"


class _Addresses(HTMLParser):
    """Every address an HTML document links to or loads: href, src, srcset, and the rest."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name == "srcset":
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())
            elif name in ("href", "src", "background", "poster", "action", "cite", "data"):
                self.urls.append(value)


def html_addresses(document: str) -> list[str]:
    parser = _Addresses()
    parser.feed(document)
    parser.close()
    return parser.urls


_TEXT_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>()]+")


def text_addresses(text: str) -> list[str]:
    return _TEXT_URL.findall(text)


def _host(url: str) -> str:
    try:
        return urlsplit(url.strip()).hostname or ""
    except ValueError:  # "http://[::1" and the like: not an address of the web side
        return ""


def spellings(value: str) -> set[str]:
    """``value`` as it could stand in an address: as is, percent- or HTML-encoded."""
    return {value, quote(value, safe=""), quote_plus(value), escape(value), value.lower()}


def readings(url: str) -> set[str]:
    """``url`` and what a server would read out of it."""
    return {url, unquote(url), unquote_plus(url), unquote(unquote(url)), url.lower()}


def assert_no_member_value_leaves(
    urls: list[str], values: list[str], *, require_foreign: bool = True
) -> None:
    """No member value in any address on another host than the web side's.

    ``require_foreign``: there must be such addresses (the hostile links reached the
    email), or the check would prove nothing.
    """
    foreign = [url for url in urls if _host(url) != WEB_HOST]
    assert foreign or not require_foreign, "no foreign address in the email: proves nothing"
    for url in foreign:
        for reading in readings(url):
            for value in values:
                for spelling in spellings(value):
                    assert spelling not in reading, f"{value!r} leaks through {url}"


def parts(message: bytes) -> tuple[EmailMessage, str, str]:
    parsed = message_from_bytes(message, policy=default)
    assert isinstance(parsed, EmailMessage)
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert text is not None and html is not None
    return parsed, text.get_content(), html.get_content()


def member_values(first_name: str, address: str, token: str) -> list[str]:
    return [token, first_name, f"Hallo {first_name},", address, address.split("@")[0]]
