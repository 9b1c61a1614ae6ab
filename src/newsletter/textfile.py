"""Reading the text files people edit: the one place that knows how they are saved.

Windows Notepad saves "UTF-8 mit BOM" (a byte-order mark, U+FEFF, in front of the
text). Every file we read as text goes through here, so a BOM is accepted the same
way in newsletter.toml, secrets.toml, issue.md, posts, templates and their texts.
Member lists have their own reader (members/tables.py), which also guesses legacy
encodings.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from newsletter.errors import TextFileTooLargeError

# For readers that take an encoding name (Jinja's FileSystemLoader): UTF-8 that drops
# a leading byte-order mark.
TEXT_ENCODING = "utf-8-sig"

# A settings file, a template or an issue is a few KB; a hundred MB is a wrong file,
# and reading it whole would only make the mistake slow.
MAX_TEXT_BYTES = 16 * 1024 * 1024


def decode_text(data: bytes) -> str:
    """UTF-8 with or without a byte-order mark. Raises UnicodeDecodeError otherwise,
    so that each reader says in its own words what to do (or tries another encoding)."""
    return data.decode(TEXT_ENCODING)


def read_text(path: Path, limit: int = MAX_TEXT_BYTES) -> str:
    """The text of ``path``: UTF-8, a BOM dropped, line ends made ``\\n`` (as Python's
    ``read_text`` does). Raises OSError and UnicodeDecodeError like ``read_text``."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TextFileTooLargeError(
            f"{path}: larger than {limit // (1024 * 1024)} MB, which no text file of a "
            "newsletter workspace is",
            "check that it is the right file",
            key="file_too_large",
            params={"file": path, "most": f"{limit // (1024 * 1024)} MB"},
        )
    return decode_text(data).replace("\r\n", "\n").replace("\r", "\n")


class TomlError(tomllib.TOMLDecodeError):
    """tomllib's error, in words for people who have never heard of TOML where we can."""


_AT_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_KEY_VALUE = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*=\s*(.*?)\s*(?:\s#.*)?$")


def parse_toml(text: str) -> dict[str, Any]:
    """``tomllib.loads``; a text value written without quotes (``name = Grüne Teststadt``)
    gets "line 2: a text must be in quotes; write name = "Grüne Teststadt"" instead of
    "Invalid value (at line 2, column 8)"."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        hint = _quote_hint(text, str(error))
        if hint is None:
            raise
        raise TomlError(hint) from None


def _quote_hint(text: str, message: str) -> str | None:
    at = _AT_LINE.search(message)
    if at is None:
        return None
    number = int(at.group(1))
    lines = text.splitlines()
    match = _KEY_VALUE.match(lines[number - 1]) if 0 < number <= len(lines) else None
    if match is None:
        return None
    key, value = match.groups()
    # Only a bare text: a broken string, list or table needs another fix than quotes.
    if not value or value[0] in "\"'[{":
        return None
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    try:
        tomllib.loads(f"{key} = {value}")
    except tomllib.TOMLDecodeError:
        pass
    else:
        return None  # the line is fine on its own; the mistake is elsewhere
    try:
        tomllib.loads(f"{key} = {quoted}")
    except tomllib.TOMLDecodeError:
        return None
    return f"line {number}: a text must be in quotes; write {key} = {quoted}"
