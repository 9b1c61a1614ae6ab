"""The rendered sample issue, checked for what makes it work in members' mail apps."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from newsletter.issue import load_issue
from newsletter.rendering import Build, build_issue
from tests.render_support import KEY, issue_dir, render_workspace


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]


def elements(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    workspace = render_workspace(tmp_path_factory.mktemp("render"))
    return build_issue(workspace, issue_dir(workspace), KEY)


@pytest.fixture(scope="module")
def html(build: Build) -> str:
    return build.result.email.html


def test_the_sample_issue_renders_without_warnings(build: Build) -> None:
    assert build.result.warnings == ()


def test_build_folder_holds_html_text_and_preview(build: Build) -> None:
    names = sorted(path.name for path in build.folder.iterdir())
    assert names == ["email.html", "email.json", "email.txt", "preview.eml"]
    assert (build.folder / "email.html").read_text(encoding="utf-8") == build.result.email.html


def test_every_post_is_in_html_and_text(build: Build) -> None:
    issue = load_issue(build.folder.parent)
    assert len(issue.posts) == 5
    for post in issue.posts:
        assert post.title in build.result.email.html
        assert post.title in build.result.email.text


def test_doctype_and_language_are_set(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert elements(html).all("html")[0]["lang"] == "de"


def test_links_are_absolute_https_or_mailto(html: str) -> None:
    hrefs = [a["href"] for a in elements(html).all("a")]
    assert hrefs
    for href in hrefs:
        assert href.startswith("https://") and urlsplit(href).hostname, href


def test_unsubscribe_link_is_there_with_the_token_placeholder(html: str, build: Build) -> None:
    link = f"https://newsletter.example.org/abmelden?token={build.result.email.markers.token}"
    assert link in [a["href"] for a in elements(html).all("a")]
    # The address is longer than what fits beside its label in 78 characters.
    assert f"Newsletter abbestellen:\n{link}\n" in build.result.email.text


def test_greeting_placeholder_survives_in_html_and_text(html: str, build: Build) -> None:
    greeting = build.result.email.markers.greeting
    assert html.count(greeting) == 1
    assert build.result.email.text.startswith(f"{greeting}\n")


def test_footer_names_address_impressum_privacy_and_responsible(html: str) -> None:
    hrefs = [a["href"] for a in elements(html).all("a")]
    assert "https://www.example.org/impressum" in hrefs
    assert "https://www.example.org/datenschutz" in hrefs
    assert "Musterstraße 1, 12345 Musterstadt" in html
    assert "Verantwortlich i. S. d. § 18 Abs. 2 MStV: Erika Beispiel" in html
    assert "Du bekommst diese E-Mail" in html


def test_no_script_no_web_fonts_and_nothing_from_third_parties(html: str) -> None:
    parsed = elements(html)
    assert not parsed.all("script")
    assert not parsed.all("link")
    assert "fonts.googleapis" not in html and "@import" not in html
    own = {"www.example.org", "newsletter.example.org", "blog.example.net"}
    loaded = [img["src"] for img in parsed.all("img")] + re.findall(r"url\(([^)]+)\)", html)
    assert loaded
    assert {urlsplit(url).hostname for url in loaded} <= own


def test_images_have_alt_and_width(html: str) -> None:
    images = elements(html).all("img")
    assert len(images) == 4  # five posts, one without an image
    for img in images:
        assert img["alt"].strip()
        assert img["width"].isdigit(), img


def test_lead_image_spans_the_column_and_row_images_are_thumbnails(html: str) -> None:
    widths = [img["width"] for img in elements(html).all("img")]
    assert widths == ["552", "168", "168", "168"]


def test_layout_tables_are_presentation_only(html: str) -> None:
    tables = elements(html).all("table")
    assert tables
    assert all(table.get("role") == "presentation" for table in tables)


def test_dark_mode_and_phone_styles_are_kept_with_important(html: str) -> None:
    assert '<meta name="color-scheme" content="light dark"' in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert "background-color: #121212 !important" in html
    assert "@media only screen and (max-width:479px)" in html
    assert ".nl-thumb, .nl-copy, .nl-thumb img { max-width: 100% !important; }" in html


def test_every_light_section_turns_dark_in_dark_mode(html: str) -> None:
    # A section with the light surface but without .nl-surface would keep its white
    # background while its text turns light.
    sections = re.findall(r'<div([^>]*)style="background:#ffffff;', html)
    assert len(sections) >= 5
    assert all('class="nl-surface"' in attributes for attributes in sections), sections


def test_outlook_conditional_comments_are_kept(html: str) -> None:
    assert "<!--[if mso | IE]>" in html
    assert "<!--[if mso]>" in html


def test_css_classes_are_inlined(html: str) -> None:
    # .nl-text h2 { margin: 0 ... } comes from mj-style and must reach the element.
    assert re.search(r'<h2 style="[^"]*margin:0', html)


def test_system_fonts_only(html: str) -> None:
    assert "font-family:-apple-system" in html
    assert "Ubuntu" not in html


def test_post_without_url_has_no_button_and_no_link(build: Build) -> None:
    html = build.result.email.html
    title = "Bericht von der Mitgliederversammlung"
    # One button (the lead post's), a text link for each other post with a URL.
    assert html.count("Weiterlesen</a>") == 1
    assert html.count("Weiterlesen \u203a</a>") == 3
    teaser = html[html.index(title) - 200 : html.index("</div>", html.index(title))]
    assert "<a " not in teaser and "Weiterlesen" not in teaser
    assert "Weiterlesen: https://www.example.org/gruenkohl-essen" in build.result.email.text
    text_teaser = build.result.email.text.split(title)[1].split("\n\n-- \n")[0]
    assert "Weiterlesen" not in text_teaser


def test_post_without_image_has_no_image(html: str) -> None:
    title = "Einladung zum Grünkohl-Essen am 28. November"
    start = html.rindex("<td", 0, html.index(title))
    assert "<img" not in html[start : html.index(title)]
    assert "nl-thumb" not in html[start : html.index(title)]


def test_image_alt_falls_back_to_the_caption(tmp_path: Path) -> None:
    workspace = render_workspace(tmp_path)
    issue_md = issue_dir(workspace) / "issue.md"
    issue_md.write_text(
        issue_md.read_text(encoding="utf-8").replace(
            'alt: "Sitzungssaal des Kreistags mit Abgeordneten"',
            'caption: "Der Kreistag im Oktober"',
        ),
        encoding="utf-8",
    )
    result = build_issue(workspace, issue_dir(workspace), KEY).result
    alts = [img["alt"] for img in elements(result.email.html).all("img")]
    assert "Der Kreistag im Oktober" in alts
    assert result.warnings == ()


def test_image_without_alt_or_caption_is_warned_about(tmp_path: Path) -> None:
    workspace = render_workspace(tmp_path)
    issue_md = issue_dir(workspace) / "issue.md"
    issue_md.write_text(
        issue_md.read_text(encoding="utf-8").replace(
            '\n    alt: "Sitzungssaal des Kreistags mit Abgeordneten"', ""
        ),
        encoding="utf-8",
    )
    warnings = build_issue(workspace, issue_dir(workspace), KEY).result.warnings
    assert [str(w) for w in warnings] == [
        "post 2: its image has no alt text (what screen readers say); "
        "add alt text in issue.md under post 2"
    ]


def test_dates_are_in_german(build: Build) -> None:
    assert "28. Oktober 2026" in build.result.email.html
    assert "2. November 2026" in build.result.email.html
    assert "28. Oktober 2026" in build.result.email.text


def test_editorial_markdown_becomes_html_and_readable_text(build: Build) -> None:
    assert "<strong>arbeitsreich</strong>" in build.result.email.html
    assert '<a href="https://www.example.org/aktuelles"' in build.result.email.html
    assert "unserer Website\n(https://www.example.org/aktuelles)" in build.result.email.text
    assert "**" not in build.result.email.text


def test_preheader_is_hidden_text_at_the_top(html: str) -> None:
    body = html[html.index("<body") :]
    first_text = re.sub(r"<[^>]+>", "", body).strip()
    assert first_text.startswith("Was im Kreisverband Musterstadt los war")


def test_browser_link_only_when_the_archive_is_on(tmp_path: Path, html: str) -> None:
    assert "/archiv/" not in html
    workspace = render_workspace(tmp_path, ("archive = false", "archive = true"))
    email = build_issue(workspace, issue_dir(workspace), KEY).result.email
    assert '<a href="https://newsletter.example.org/archiv/2026-11"' in email.html
    assert "Im Browser ansehen: https://newsletter.example.org/archiv/2026-11" in email.text


def test_english_locale_changes_texts_and_dates(tmp_path: Path) -> None:
    workspace = render_workspace(tmp_path, ('locale = "de"', 'locale = "en"'))
    email = build_issue(workspace, issue_dir(workspace), KEY).result.email
    assert '<html lang="en"' in email.html
    assert "Read more</a>" in email.html and "Weiterlesen" not in email.html
    assert "28 October 2026" in email.html
    assert "Unsubscribe:\nhttps://newsletter.example.org/abmelden?token=" in email.text
    assert email.greeting.named == "Hello {first_name},"


def test_theme_colours_come_from_theme_toml(tmp_path: Path) -> None:
    workspace = render_workspace(tmp_path)
    theme = workspace.templates_dir / "theme.toml"
    theme.write_text(
        theme.read_text(encoding="utf-8").replace('brand = "#005437"', 'brand = "#aa0000"'),
        encoding="utf-8",
    )
    html = build_issue(workspace, issue_dir(workspace), KEY).result.email.html
    assert "#aa0000" in html and "#005437" in html  # links keep their own colour


def test_logo_replaces_the_name_when_set(tmp_path: Path) -> None:
    workspace = render_workspace(
        tmp_path,
        ("archive = false", 'archive = false\nlogo_url = "https://www.example.org/logo.png"'),
    )
    result = build_issue(workspace, issue_dir(workspace), KEY).result
    logo = elements(result.email.html).all("img")[0]
    assert logo["src"] == "https://www.example.org/logo.png"
    assert logo["alt"] == "Grüne Musterstadt" and logo["width"] == "160"
    assert result.warnings == ()
