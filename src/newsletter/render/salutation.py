"""One salutation per message: the editorial's own, else the templates' greeting.

The rule (also written into every issue.md gather makes): when the editorial's first
paragraph is a single short line ending in a comma ("Liebe Mitglieder,"), that line
is the message's salutation. It takes the greeting's place (``member.greeting`` in the
templates), so the email has no "Hallo Erika," above it. Written with
``{first_name}`` ("Liebe {first_name},") it names each member; a member without a
known first name gets the templates' nameless greeting instead ("Hallo,").
"""

from __future__ import annotations

from newsletter.render.placeholders import Greeting

FIRST_NAME = "{first_name}"
# A salutation is a short address, not a sentence that happens to end in a comma.
MAX_WORDS = 10


def split_salutation(editorial: str) -> tuple[str | None, str]:
    """The editorial's own salutation line (or None) and the rest of the editorial."""
    text = editorial.strip("\n")
    first, _, rest = text.partition("\n\n")
    line = first.strip()
    if "\n" in first or not line.endswith(",") or len(line.split()) > MAX_WORDS:
        return None, editorial
    if not any(character.isalpha() for character in line.replace(FIRST_NAME, "x")):
        return None, editorial  # "," or "—," alone addresses nobody
    return line, rest.strip("\n")


def greeting_for(salutation: str | None, template: Greeting) -> Greeting:
    """The greeting the message gets: the editorial's salutation when it has one."""
    if salutation is None:
        return template
    if FIRST_NAME in salutation:
        return Greeting(named=salutation, anonymous=template.anonymous)
    return Greeting(named=salutation, anonymous=salutation)
