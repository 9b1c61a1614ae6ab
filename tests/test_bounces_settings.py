"""[bounces] in newsletter.toml: defaults, checks, and misspelled keys named like elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.errors import SettingsError
from newsletter.settings import Security, load_settings

BASE = """\
[newsletter]
name = "Grüne Musterstadt"
site_url = "https://www.example.org"
from = "Grüne Musterstadt <newsletter@example.org>"
postal_address = "Musterstraße 1, 12345 Musterstadt"
impressum_url = "https://www.example.org/impressum"
privacy_url = "https://www.example.org/datenschutz"
responsible = "Erika Beispiel"
web_url = "https://newsletter.example.org"
"""

EVERY_KEY = """
[bounces]
host = "imap.example.org"
port = 993
security = "tls"
username = "bounces@example.org"
password_env = "NEWSLETTER_BOUNCES_PASSWORD"
folder = "INBOX"
processed = "Verarbeitet"
soft_limit = 3
soft_days = 30
"""


def error_for(tmp_path: Path, text: str) -> str:
    path = tmp_path / "newsletter.toml"
    path.write_text(BASE + text, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    return str(caught.value).removeprefix(f"{path}: ")


def test_defaults_without_a_bounces_table(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_text(BASE, encoding="utf-8")
    bounces = load_settings(path).bounces
    assert (bounces.host, bounces.folder, bounces.processed) == (None, "INBOX", "Verarbeitet")
    assert (bounces.soft_limit, bounces.soft_days, bounces.port) == (3, 30, 993)


def test_every_key(tmp_path: Path) -> None:
    path = tmp_path / "newsletter.toml"
    path.write_text(BASE + EVERY_KEY.replace("993", "1993"), encoding="utf-8")
    bounces = load_settings(path).bounces
    assert bounces.host == "imap.example.org" and bounces.security is Security.TLS
    assert bounces.port == 1993 and bounces.password_env == "NEWSLETTER_BOUNCES_PASSWORD"


@pytest.mark.parametrize(
    "key",
    [line.split(" = ")[0] for line in EVERY_KEY.splitlines() if " = " in line],
)
def test_a_misspelled_key_is_named(tmp_path: Path, key: str) -> None:
    typo = key[:-2] + key[-1] if len(key) > 3 else key + key[-1]
    text = EVERY_KEY.replace(f"\n{key} = ", f"\n{typo} = ", 1)
    assert error_for(tmp_path, text) == f'[bounces]: unknown key "{typo}"; did you mean "{key}"?'


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('password = "geheim"', "[bounces] password: never write the password into this file"),
        ('security = "none"', '[bounces] security: "none" (no encryption) is only allowed'),
        ("soft_limit = 0", "[bounces] soft_limit: expected a whole number from 1 to 100, got 0"),
        ("soft_days = 1000", "[bounces] soft_days: expected days, a whole number from 1 to 365"),
        ('processed = " "', "[bounces] processed: expected a folder name"),
    ],
)
def test_bad_values_are_one_clear_line(tmp_path: Path, line: str, expected: str) -> None:
    message = error_for(tmp_path, f'\n[bounces]\nhost = "imap.example.org"\n{line}\n')
    assert message.startswith(expected) and "\n" not in message


def test_the_commented_bounces_table_init_writes_is_valid_when_uncommented(
    tmp_path: Path,
) -> None:
    from newsletter.scaffold import create_workspace

    workspace = create_workspace(tmp_path / "ws")
    lines = workspace.settings_file.read_text(encoding="utf-8").splitlines()
    start = lines.index("# [bounces]")
    for index in range(start, len(lines)):
        if not lines[index].startswith("# "):
            break
        lines[index] = lines[index][2:]
    workspace.settings_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bounces = load_settings(workspace.settings_file).bounces
    assert bounces.host == "imap.example.org"
    assert bounces.password_env == "NEWSLETTER_BOUNCES_PASSWORD"
    assert (bounces.soft_limit, bounces.soft_days) == (3, 30)
