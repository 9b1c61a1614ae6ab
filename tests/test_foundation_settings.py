"""newsletter.toml: every mistake is one line naming the file, the key and what is expected."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsletter.bundled import sample_issue
from newsletter.errors import SettingsError
from newsletter.settings import RateWindow, Security, SourceType, load_settings, parse_rate

VALID = """\
[newsletter]
name = "Grüne Musterstadt"
site_url = "https://www.example.org"
from = "Grüne Musterstadt <newsletter@example.org>"
postal_address = "Musterstraße 1, 12345 Musterstadt"
impressum_url = "https://www.example.org/impressum"
privacy_url = "https://www.example.org/datenschutz"
responsible = "Erika Beispiel"
web_url = "https://newsletter.example.org/"

[[sources]]
type = "feed"
url = "https://www.example.org/rss.xml"

[[sources]]
type = "folder"
path = "posts"

[smtp]
host = "smtp.example.org"
username = "newsletter@example.org"
password_env = "NEWSLETTER_SMTP_PASSWORD"
rate = "30/min, 500/h"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsletter.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "\n" not in message
    return message.removeprefix(f"{path}: ")


def test_valid_settings_are_typed_with_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID))
    assert settings.newsletter.locale == "de"
    assert settings.newsletter.web_url == "https://newsletter.example.org"
    assert settings.newsletter.default_list == "mitglieder"
    assert settings.newsletter.archive is False
    assert [s.type for s in settings.sources] == [SourceType.FEED, SourceType.FOLDER]
    assert settings.sources[1].path == tmp_path / "posts"
    smtp = settings.require_smtp()
    assert (smtp.port, smtp.security, smtp.concurrency) == (587, Security.STARTTLS, 1)
    assert smtp.rate == (RateWindow(30, 60.0), RateWindow(500, 3600.0))
    assert settings.database_path == tmp_path / "newsletter.db"


def test_own_hosts_are_site_and_web_side_not_any_feed(tmp_path: Path) -> None:
    # A feed from another site (the state party's, a blog host) is not the office's:
    # its images must be warned about.
    text = VALID.replace("https://www.example.org/rss.xml", "https://Feeds.Example.net/rss.xml")
    assert load_settings(write(tmp_path, text)).own_hosts == {
        "www.example.org",
        "newsletter.example.org",
    }


def test_a_feed_named_as_the_offices_own_adds_its_host(tmp_path: Path) -> None:
    text = VALID.replace(
        'url = "https://www.example.org/rss.xml"',
        'url = "https://Feeds.Example.net/rss.xml"\nown = true',
    )
    settings = load_settings(write(tmp_path, text))
    assert settings.sources[0].own is True
    assert settings.own_hosts == {"www.example.org", "newsletter.example.org", "feeds.example.net"}
    bad = text.replace("own = true", 'own = "ja"')
    with pytest.raises(SettingsError, match="own: expected true or false"):
        load_settings(write(tmp_path, bad))


def test_tls_defaults_to_port_465(tmp_path: Path) -> None:
    text = VALID.replace('host = "smtp.example.org"', 'host = "smtp.example.org"\nsecurity = "tls"')
    assert load_settings(write(tmp_path, text)).require_smtp().port == 465


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('postal_address = "Musterstraße 1, 12345 Musterstadt"\n', ""),
            '[newsletter]: missing required key "postal_address" (the postal address (Impressum))',
        ),
        (
            ('name = "Grüne Musterstadt"', "name = 42"),
            "[newsletter] name: expected a text, got 42",
        ),
        (
            ('name = "Grüne Musterstadt"', 'name = "Grüne Musterstadt"\nnaem = "x"'),
            '[newsletter]: unknown key "naem"; did you mean "name"?',
        ),
        (
            ('host = "smtp.example.org"', 'host = "smtp.example.org"\nprot = 25'),
            '[smtp]: unknown key "prot"; did you mean "port"?',
        ),
        (
            ('path = "posts"', 'path = "posts"\nfilter = "x"'),
            '[[sources]] #2: unknown key "filter"; remove it (the keys of [[sources]] are: type, url, path, name, own)',
        ),
        (
            ('type = "folder"', 'type = "sitemap"'),
            '[[sources]] #2 type: expected "feed" or "folder", got "sitemap"',
        ),
        (
            ('rate = "30/min, 500/h"', 'rate = "300 per hour"'),
            '[smtp] rate: expected a rate like "300/h" or "30/min, 500/h" (per s, min or h), got "300 per hour"',
        ),
        (
            ('host = "smtp.example.org"', 'host = "smtp.example.org"\nsecurity = "none"'),
            '[smtp] security: "none" (no encryption) is only allowed for a server on this machine, '
            'not "smtp.example.org"; use "starttls" or "tls"',
        ),
        (
            ('password_env = "NEWSLETTER_SMTP_PASSWORD"', 'password = "geheim"'),
            "[smtp] password: never write the password into this file; set password_env to the "
            "name of an environment variable (or store it in the system keyring)",
        ),
        (
            ('host = "smtp.example.org"', 'host = "smtp.example.org"\nport = true'),
            "[smtp] port: expected a port number from 1 to 65535, got true",
        ),
        (
            ('site_url = "https://www.example.org"', 'site_url = "www.example.org"'),
            '[newsletter] site_url: expected an absolute http(s) address, got "www.example.org"',
        ),
        (
            ('from = "Grüne Musterstadt <newsletter@example.org>"', 'from = "Grüne Musterstadt"'),
            '[newsletter] from: expected an e-mail address like "kv@example.org", got "Grüne Musterstadt"',
        ),
        (
            ("[smtp]", "[smpt]"),
            'newsletter.toml: unknown key "smpt"; did you mean "smtp"?',
        ),
    ],
)
def test_each_mistake_is_one_line_naming_key_and_expectation(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in VALID
    assert error_for(tmp_path, VALID.replace(old, new, 1)) == expected


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    message = error_for(tmp_path, VALID.replace('name = "Grüne Musterstadt"', 'name = "Grüne'))
    assert message.startswith("not valid TOML: ")
    assert "line 2" in message


def test_security_none_is_allowed_for_loopback(tmp_path: Path) -> None:
    text = VALID.replace('host = "smtp.example.org"', 'host = "127.0.0.1"\nsecurity = "none"')
    assert load_settings(write(tmp_path, text)).require_smtp().security is Security.NONE


def test_a_workspace_without_smtp_loads_until_sending_needs_it(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, VALID.split("[smtp]")[0]))
    assert settings.smtp is None
    with pytest.raises(SettingsError, match=r"there is no \[smtp\] table"):
        settings.require_smtp()


@pytest.mark.parametrize("text", ["10/s", "30/min", "300/h", " 30 / min , 500/h "])
def test_rates_parse(text: str) -> None:
    windows = parse_rate(text)
    assert all(w.count > 0 for w in windows)
    assert ", ".join(map(str, windows)) == text.replace(" ", "").replace(",", ", ")


@pytest.mark.parametrize("text", ["", "0/h", "300", "300/day", "30/min 500/h", "-1/s"])
def test_malformed_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_rate(text)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'type = "folder"',
            'type = "sitemap"',
            '[[sources]] #2 type: expected "feed" or "folder", got "sitemap"',
        ),
        (
            'rate = "30/min, 500/h"',
            'rate = "viel"',
            '[smtp] rate: expected a rate like "300/h" or "30/min, 500/h" (per s, min or h), got "viel"',
        ),
        (
            'host = "smtp.example.org"',
            'host = "smtp.example.org"\nprot = 25',
            '[smtp]: unknown key "prot"; did you mean "port"?',
        ),
        (
            'name = "Grüne Musterstadt"',
            "name = Grüne",
            'not valid TOML: line 2: a text must be in quotes; write name = "Grüne"',
        ),
    ],
)
def test_every_command_reports_a_settings_mistake_as_one_line_and_exit_1(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    from typer.testing import CliRunner

    from newsletter.cli import app

    path = write(tmp_path, VALID.replace(old, new, 1))
    issue = tmp_path / "issues" / "2026-11"
    issue.mkdir(parents=True)
    shutil.copyfile(sample_issue(), issue / "issue.md")
    for command in (["gather"], ["render", "2026-11"], ["send", "2026-11"], ["members", "list"]):
        result = CliRunner().invoke(app, ["--workspace", str(tmp_path), *command])
        assert result.exit_code == 1, (command, result.output)
        assert result.stderr == f"Error: {path}: {expected}\n", command
        assert "Traceback" not in result.output


def test_a_command_outside_any_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from newsletter.cli import app

    result = CliRunner().invoke(app, ["--workspace", str(tmp_path), "gather"])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path} is not a workspace (it has no newsletter.toml); "
        f'create one with "newsletter init {tmp_path}"\n'
    )


# Every key of every table, each with a valid value: the misspelling test below walks it.
EVERY_KEY = """\
[newsletter]
name = "Grüne Musterstadt"
locale = "de"
site_url = "https://www.example.org"
from = "Grüne Musterstadt <newsletter@example.org>"
reply_to = "kv@example.org"
envelope_from = "bounces@example.org"
postal_address = "Musterstraße 1, 12345 Musterstadt"
impressum_url = "https://www.example.org/impressum"
privacy_url = "https://www.example.org/datenschutz"
responsible = "Erika Beispiel"
web_url = "https://newsletter.example.org"
web_remote = false
default_list = "mitglieder"
unsubscribe_mailto = "abmelden@example.org"
archive = false
logo_url = "https://www.example.org/logo.png"

[[sources]]
type = "feed"
url = "https://www.example.org/rss.xml"
name = "Website"

[[sources]]
type = "folder"
path = "posts"

[smtp]
host = "smtp.example.org"
port = 587
security = "starttls"
username = "newsletter@example.org"
password_env = "NEWSLETTER_SMTP_PASSWORD"
rate = "300/h"
concurrency = 1
timeout = 60

[dkim]
selector = "newsletter"
domain = "example.org"
key_file = "dkim.pem"

[database]
path = "newsletter.db"
"""


def _keys_by_table(text: str) -> list[tuple[str, str, int]]:
    """(table label as errors name it, key, line index) for every key line of ``text``."""
    found, table, sources = [], "newsletter.toml", 0
    for index, line in enumerate(text.splitlines()):
        if line.startswith("[[sources]]"):
            sources += 1
            table = f"[[sources]] #{sources}"
        elif line.startswith("["):
            table = line
        elif " = " in line:
            found.append((table, line.split(" = ")[0], index))
    return found


def test_the_every_key_sample_is_valid_and_holds_every_table(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, EVERY_KEY))
    assert settings.dkim is not None and settings.smtp is not None
    assert settings.newsletter.logo_url and settings.newsletter.unsubscribe_mailto


@pytest.mark.parametrize(("table", "key", "index"), _keys_by_table(EVERY_KEY))
def test_a_misspelled_key_is_named_with_the_key_it_should_be_in_every_table(
    tmp_path: Path, table: str, key: str, index: int
) -> None:
    # A typo of a required key used to give only "missing required key": the typo itself,
    # the one thing to fix, went unnamed.
    typo = key[:-2] + key[-1] if len(key) > 3 else key + key[-1]
    lines = EVERY_KEY.splitlines()
    lines[index] = lines[index].replace(key, typo, 1)
    assert error_for(tmp_path, "\n".join(lines)) == (
        f'{table}: unknown key "{typo}"; did you mean "{key}"?'
    )


def test_a_misspelled_key_comes_before_any_other_mistake_of_its_table(tmp_path: Path) -> None:
    text = EVERY_KEY.replace("postal_address =", "postal_adress =").replace(
        'responsible = "Erika Beispiel"\n', ""
    )
    assert error_for(tmp_path, text) == (
        '[newsletter]: unknown key "postal_adress"; did you mean "postal_address"?'
    )


def test_an_unknown_key_like_no_other_lists_the_keys_of_its_table(tmp_path: Path) -> None:
    text = EVERY_KEY.replace('path = "newsletter.db"', 'path = "newsletter.db"\nwal = true')
    assert error_for(tmp_path, text) == (
        '[database]: unknown key "wal"; remove it (the keys of [database] are: path)'
    )


def test_a_misspelled_key_in_the_secrets_file_is_named(tmp_path: Path) -> None:
    from newsletter.keys import load_keys
    from newsletter.workspace import Workspace

    workspace = Workspace(tmp_path)
    key = "0123456789abcdef" * 4
    workspace.secrets_file.write_text(
        f'unsubscribe_kye = "{key}"\nconfirmation_key = "{key}"\n', encoding="utf-8"
    )
    with pytest.raises(SettingsError) as caught:
        load_keys(workspace, environ={})
    assert str(caught.value) == (
        f'{workspace.secrets_file}: unknown key "unsubscribe_kye"; did you mean "unsubscribe_key"?'
    )
