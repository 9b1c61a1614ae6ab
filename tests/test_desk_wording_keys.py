"""The desk's German words for the library's errors: complete, and met on the desk.

Every key a raise site (or a rejected import row, or a render warning) gives is read from
the source and must have an entry in the desk's ``[said]`` table: a message and a hint for
an error, one line for a row or a warning. The words may ask only for values the raise
site passes; a placeholder it does not pass makes the desk fall back to English at the
worst moment, so that is checked here for every site whose values are written out.

Then a few of the errors staff meet most, walked through the desk over real HTTP: the page
shows the German words and fix, not the English sentence (which the CLI keeps).
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Formatter

import newsletter
from newsletter.mailsink import MailSink
from newsletter.workspace import Workspace
from tests.desk_support import desk_running
from tests.test_desk_send import SLUG, sending_workspace
from tests.test_gather_support import FeedServer

SRC = Path(newsletter.__file__).resolve().parent
DE_TOML = SRC / "desk" / "texts" / "de.toml"
KEY_ARGUMENTS = ("key", "says", "reason_key")
PARAM_ARGUMENTS = ("params", "reason_params")
# settings._Table.error(text, key, says=..., **params) adds these to what its caller passes.
ADDED_BY_HELPER = {"says": frozenset({"file", "where"})}
# Entries that are one line of text: a rejected row's reason, a render warning.
ONE_LINE = ("row_", "warning_")


@dataclass(frozen=True)
class Site:
    where: str  # path:line, for the failure message
    key: re.Pattern[str]  # a literal key, or an f-string key with its fields as wildcards
    passed: frozenset[str] | None  # the values it gives; None: built elsewhere, unknown


def _key_patterns(node: ast.expr) -> list[re.Pattern[str]]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [re.compile(re.escape(node.value))]
    if isinstance(node, ast.IfExp):
        return _key_patterns(node.body) + _key_patterns(node.orelse)
    if isinstance(node, ast.JoinedStr):
        parts = [
            re.escape(str(part.value)) if isinstance(part, ast.Constant) else r"\w+"
            for part in node.values
        ]
        return [re.compile("".join(parts))]
    return []  # a variable: the site that chose it is scanned itself


def _names(node: ast.expr) -> frozenset[str] | None:
    """The value names in ``params={...}`` or ``params=(("name", value), ...)``."""
    if isinstance(node, ast.Dict) and all(
        isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys
    ):
        return frozenset(str(k.value) for k in node.keys if isinstance(k, ast.Constant))
    if isinstance(node, ast.Tuple):
        names = set()
        for item in node.elts:
            if not (
                isinstance(item, ast.Tuple)
                and isinstance(item.elts[0], ast.Constant)
                and isinstance(item.elts[0].value, str)
            ):
                return None
            names.add(item.elts[0].value)
        return frozenset(names)
    return None


def _sites() -> Iterator[Site]:
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
            given = [name for name in KEY_ARGUMENTS if name in keywords]
            if not given:
                continue
            params = [keywords[name] for name in PARAM_ARGUMENTS if name in keywords]
            if params:
                passed = _names(params[0])
            else:  # a helper that takes the values as keyword arguments, or none at all
                others = set(keywords) - set(KEY_ARGUMENTS)
                passed = frozenset(others | ADDED_BY_HELPER.get(given[0], frozenset()))
            where = f"{path.relative_to(SRC.parent)}:{node.lineno}"
            for pattern in _key_patterns(keywords[given[0]]):
                yield Site(where, pattern, passed)


def _said() -> dict[str, object]:
    with DE_TOML.open("rb") as handle:
        table = tomllib.load(handle)["said"]
    assert isinstance(table, dict)
    return table


def _placeholders(entry: object) -> set[str]:
    texts = list(entry.values()) if isinstance(entry, dict) else [entry]
    return {
        name
        for text in texts
        for _, name, _, _ in Formatter().parse(str(text))
        if name is not None and name != ""
    }


SITES = list(_sites())


def test_the_scan_finds_the_raise_sites_it_is_about() -> None:
    # A scan that found nothing would pass everything below.
    found = {site.key.pattern for site in SITES}
    for key in ("feed_is_web_page", "settings_bad_rate", "database_busy", "sync_never"):
        assert re.escape(key) in found
    assert len(SITES) > 150


def test_every_key_in_the_library_has_german_words() -> None:
    said = _said()
    missing = [
        f"{site.where}: {site.key.pattern}"
        for site in SITES
        if not any(site.key.fullmatch(name) for name in said)
    ]
    assert not missing, "no [said] entry in desk/texts/de.toml for:\n" + "\n".join(missing)


def test_an_error_has_a_message_and_a_hint_a_row_or_warning_one_line() -> None:
    said = _said()
    used = {name for name in said for site in SITES if site.key.fullmatch(name)}
    for name in sorted(used):
        entry = said[name]
        if name.startswith(ONE_LINE):
            assert isinstance(entry, str) and entry.strip(), name
            continue
        assert isinstance(entry, dict), f"{name}: expected message and hint"
        assert set(entry) == {"message", "hint"}, name
        assert all(isinstance(text, str) and text.strip() for text in entry.values()), name


def test_the_words_ask_only_for_values_each_raise_site_passes() -> None:
    said = _said()
    wrong = []
    for site in SITES:
        if site.passed is None:
            continue
        for name, entry in said.items():
            if site.key.fullmatch(name):
                asked = _placeholders(entry) - site.passed
                if asked:
                    wrong.append(f"{site.where}: {name} asks for {sorted(asked)}")
    assert not wrong, "\n".join(wrong)


def test_the_checks_above_can_fail() -> None:
    site = Site("x.py:1", re.compile("feed_is_web_page"), frozenset())
    assert _placeholders(_said()[site.key.pattern]) - (site.passed or set()) == {"label"}
    assert not any(re.compile("no_such_key").fullmatch(name) for name in _said())
    assert _placeholders("Hallo {{first_name}}, {n} neu") == {"n"}


# ---------------------------------------------------------------- met on the desk


def test_a_web_page_instead_of_a_feed_is_german_on_neue_ausgabe_and_english_on_the_cli(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from newsletter.cli import app
    from newsletter.demo import demo_workspace

    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "aktuelles").write_text(
        "<!doctype html>\n<html><body><h1>Aktuelles</h1></body></html>\n", encoding="utf-8"
    )
    workspace = demo_workspace(tmp_path / "ws", 2525)
    settings = workspace.settings_file.read_text(encoding="utf-8")
    with FeedServer(pages) as server:
        workspace.settings_file.write_text(
            settings.replace(
                'type = "folder"\npath = "posts"',
                f'type = "feed"\nurl = "{server.url("feeds/aktuelles")}"',
            ),
            encoding="utf-8",
        )
        with desk_running(workspace.root) as desk:
            client = desk.client()
            page = desk.post(client, "/ausgaben/neu", since="2000-01-01", slug="2026-12").text
        result = CliRunner().invoke(
            app, ["--workspace", str(workspace.root), "gather", "--since", "2000-01-01"]
        )
    assert "ist eine Webseite, kein RSS- oder Atom-Feed" in page
    assert "die Adresse des Feeds selbst" in page
    assert "web page" not in page and "the feed itself" not in page
    assert result.exit_code == 1
    assert "is a web page, not an RSS or Atom feed" in result.output


def test_a_missing_sync_is_german_on_versand_with_its_fix(
    tmp_path: Path, mail_sink: MailSink
) -> None:
    from tests.web_support import with_settings

    workspace = sending_workspace(tmp_path / "ws", mail_sink, "1000/s")
    with_settings(workspace, web_remote=True, web_url="https://newsletter.example.org")
    with desk_running(workspace.root) as desk:
        page = desk.client().get(f"/ausgaben/{SLUG}/versand").text
    assert "wurden noch nie abgeglichen" in page
    assert "Klicken Sie auf Jetzt synchronisieren" in page
    assert "never been brought in" not in page and "newsletter sync" not in page


def test_a_broken_template_is_german_in_the_preview(tmp_path: Path) -> None:
    from newsletter.demo import demo_workspace

    demo = demo_workspace(tmp_path / "ws", 2525)
    teaser = demo.templates_dir / "partials" / "teaser.mjml"
    text = teaser.read_text(encoding="utf-8")
    line = text.count("\n") + 1
    teaser.write_text(text + "{{ post.title | }}\n", encoding="utf-8")  # a filter without name
    with desk_running(demo.root) as desk:
        page = desk.client().get("/ausgaben/2026-11").text
    assert f"Die Vorlage {teaser}, Zeile {line}, ist fehlerhaft" in page
    assert "Das betrifft die Vorlagen unter templates/" in page
    assert f"{teaser}, line {line}" not in page


def test_a_wrong_rate_is_german_on_the_overview(workspace: Workspace) -> None:
    text = workspace.settings_file.read_text(encoding="utf-8")
    workspace.settings_file.write_text(
        re.sub(r'(?m)^rate = ".*"$', 'rate = "schnell"', text), encoding="utf-8"
    )
    with desk_running(workspace.root) as desk:
        page = desk.client().get("/").text
    assert "„schnell“ ist keine gültige Rate" in page
    assert "pro s, min oder h" in page
    assert "expected a rate" not in page
