"""The default design: size, head metas, dark mode and the contrast of every colour pair."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from newsletter.bundled import default_templates
from newsletter.render.checks import encoded_size
from newsletter.rendering import build_issue
from newsletter.workspace import Workspace
from tests.render_support import KEY, issue_dir, render_workspace

SUMMARY = (
    "Der Kreistag hat über den Radweg am Südring beraten; unsere Fraktion hat sich für eine "
    "durchgehende, geschützte Führung bis zum Bahnhof eingesetzt. Ein Überblick über die "
    "Beschlüsse, die nächsten Schritte und wie ihr euch beteiligen könnt, wenn ihr mitmachen "
    "wollt. Wir laden alle Mitglieder herzlich zur nächsten Sitzung im Rathaus ein."
)


def many_posts(workspace: Workspace, count: int) -> None:
    """Replace the sample issue's posts by ``count`` long ones, each with an image."""
    issue_md = issue_dir(workspace) / "issue.md"
    text = issue_md.read_text(encoding="utf-8")
    head, rest = text.split("posts:\n", 1)
    editorial = rest.split("\n---\n", 1)[1]
    posts = "".join(
        f'- id: "https://www.example.org/aktuelles/2026/11/beitrag-nummer-{n}"\n'
        f'  title: "Beitrag {n}: Grüne Politik für Musterstadt – Straßen, Schulen und Bäume"\n'
        f'  url: "https://www.example.org/aktuelles/2026/11/beitrag-nummer-{n}"\n'
        f'  date: "2026-10-{n + 1:02d}T18:30:00+02:00"\n'
        f'  summary: "{SUMMARY}"\n'
        f"  image:\n"
        f'    url: "https://www.example.org/wp-content/uploads/2026/11/beitrag-{n}-1024x683.jpg"\n'
        f'    alt: "Foto zu Beitrag {n}: Menschen auf dem Marktplatz"\n'
        for n in range(1, count + 1)
    )
    issue_md.write_text(f"{head}posts:\n{posts}---\n{editorial}", encoding="utf-8")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> str:
    workspace = render_workspace(tmp_path_factory.mktemp("design"))
    return build_issue(workspace, issue_dir(workspace), KEY).result.email.html


def test_a_twenty_post_issue_stays_far_below_gmails_clip(tmp_path: Path) -> None:
    workspace = render_workspace(tmp_path)
    many_posts(workspace, 20)
    result = build_issue(workspace, issue_dir(workspace), KEY).result
    assert result.email.html.count("beitrag-nummer-20") >= 2
    assert encoded_size(result.email.html) < 80 * 1024
    assert not [w for w in result.warnings if w.kind == "size"]


# What each text colour is written on, by theme key, in each scheme. The header band
# keeps the brand colours in dark mode; the button turns to dark_brand.
LIGHT_PAIRS = (
    ("text", "surface"),
    ("heading", "surface"),
    ("muted", "surface"),
    ("link", "surface"),
    ("brand_text", "brand"),
)
DARK_PAIRS = (
    ("dark_text", "dark_surface"),
    ("dark_heading", "dark_surface"),
    ("dark_muted", "dark_surface"),
    ("dark_link", "dark_surface"),
    ("dark_brand_text", "dark_brand"),
    ("brand_text", "brand"),
)
_COLOUR = re.compile(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})")
_BACKGROUND = re.compile(r"background(?:-color)?:\s*(#[0-9a-fA-F]{6})")


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.fixture(scope="module")
def theme() -> dict[str, object]:
    return tomllib.loads((default_templates() / "theme.toml").read_text(encoding="utf-8"))


def test_contrast_formula_matches_wcag() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#005437", "#1e1e1e") == pytest.approx(1.84, abs=0.01)  # issue 20


@pytest.mark.parametrize(("text", "background"), LIGHT_PAIRS + DARK_PAIRS)
def test_every_text_colour_has_4_5_to_1_on_its_background(
    theme: dict[str, str], text: str, background: str
) -> None:
    ratio = contrast(theme[text], theme[background])
    assert ratio >= 4.5, f"{text} on {background}: {ratio:.2f}:1"


def _dark_css(html: str) -> str:
    """The rules mail apps apply in dark mode: the media query and Outlook.com's."""
    start = html.index("@media (prefers-color-scheme: dark)")
    end, depth = html.index("{", start) + 1, 1
    while depth:
        depth += {"{": 1, "}": -1}.get(html[end], 0)
        end += 1
    block = html[start:end]
    outlook = "\n".join(line for line in html.splitlines() if "[data-ogs" in line)
    return block + "\n" + outlook


def test_the_email_uses_only_the_checked_colours(sample: str, theme: dict[str, str]) -> None:
    dark = _dark_css(sample)
    light = "\n".join(
        line
        for line in sample.replace(dark.split("\n[data-ogs")[0], "").splitlines()
        if "[data-ogs" not in line
    )
    for found, keys in (
        (_COLOUR.findall(light), {text for text, _ in LIGHT_PAIRS}),
        (_COLOUR.findall(dark), {text for text, _ in DARK_PAIRS}),
        (_BACKGROUND.findall(light), {"background", *(b for _, b in LIGHT_PAIRS)}),
        (_BACKGROUND.findall(dark), {"dark_background", *(b for _, b in DARK_PAIRS)}),
    ):
        allowed = {theme[key].lower() for key in keys}
        assert found and {colour.lower() for colour in found} <= allowed, (found, keys)


def test_every_coloured_selector_has_its_dark_colour_for_every_dark_mode(sample: str) -> None:
    style = sample[sample.index(":root {") : sample.index("@media (prefers-color-scheme")]
    coloured = [
        selector.strip()
        for rule in re.findall(r"([^{}]+)\{([^}]*)\}", style)
        if re.search(r"(?<![-\w])(color|border-color):", rule[1])
        for selector in rule[0].split(",")
    ]
    assert ".nl-muted a" in coloured and ".nl-text .nl-date" in coloured
    dark = _dark_css(sample)
    media = dark[: dark.index("[data-ogs")]
    for selector in coloured:
        assert selector in media, f"{selector}: no dark colour"
        assert f"[data-ogsc] {selector}" in dark, (
            f"{selector}: no colour in Outlook.com's dark mode"
        )
    for selector in (".nl-muted div", ".nl-rule p", ".nl-button a"):
        assert selector in media and f"[data-ogsc] {selector}" in dark


def test_head_tells_apple_mail_and_phones_to_leave_the_layout_alone(sample: str) -> None:
    head = sample[: sample.index("</head>")]
    assert '<meta name="x-apple-disable-message-reformatting"' in head
    assert '<meta name="format-detection" content="telephone=no, date=no, address=no' in head
    assert '<html lang="de" dir="ltr"' in sample
    assert 'dir="auto"' not in sample


def test_filler_after_the_preheader_keeps_the_inbox_preview_to_it(sample: str) -> None:
    preheader = re.search(r'<div class="nl-preheader"[^>]*>([^<]*)</div>', sample)
    assert preheader is not None
    text = preheader.group(1)
    assert text.startswith("Was im Kreisverband Musterstadt los war – und was bald ansteht.")
    assert text.endswith("\u200c\u00a0" * 50)


def test_every_line_of_the_plain_text_fits_78_characters_and_urls_stay_whole(
    tmp_path: Path,
) -> None:
    workspace = render_workspace(tmp_path)
    many_posts(workspace, 3)
    text = build_issue(workspace, issue_dir(workspace), KEY).result.email.text
    long_lines = [line for line in text.splitlines() if len(line) > 78]
    # Only an address too long for any line may stand longer, alone on its line.
    assert all(" " not in line and "://" in line for line in long_lines), long_lines
    assert "Verantwortlich i. S. d. § 18 Abs. 2 MStV: Erika Beispiel, Musterstraße 1,\n" in text
    for url in ("https://www.example.org/aktuelles/2026/11/beitrag-nummer-3",):
        assert url in text.split()
    assert "\n-- \n" in text  # the signature separator keeps its space


def test_wrapping_keeps_list_and_quote_prefixes() -> None:
    from newsletter.render.plaintext import wrap_lines

    long = "wort " * 30
    wrapped = wrap_lines(f"- {long}\n> {long}\n-- \n{'x' * 100}")
    lines = wrapped.splitlines()
    assert all(len(line) <= 78 for line in lines if "x" not in line)
    assert lines[1].startswith("  wort") and not lines[1].startswith("   ")
    assert any(line.startswith("> wort") for line in lines[3:])
    assert "-- " in lines and "x" * 100 in lines


def test_header_label_h1_and_posts_heading_without_the_name_repeated(sample: str) -> None:
    assert "Newsletter vom 2. November 2026" in sample
    h1 = re.search(r"<h1[^>]*>([^<]*)</h1>", sample)
    assert h1 is not None
    assert h1.group(1) == "Newsletter November: Radwege, Haushalt und Grünkohl-Essen"
    assert re.search(r"<h2[^>]*>Neues aus dem Kreisverband</h2>", sample)
    body = sample[sample.index("<body") : sample.index('class="nl-muted nl-footer')]
    assert body.count("Grüne Musterstadt") == 1  # the header band only


def test_one_button_and_text_links_that_name_their_post(sample: str) -> None:
    assert sample.count('class="nl-button"') == 1
    assert (
        'aria-label="Weiterlesen: Haushalt 2027: Mehr Geld für Schulen und Klimaschutz"' in sample
    )
    assert sample.count('aria-label="Weiterlesen: ') == 3  # posts 2-4; post 5 has no URL


def test_a_caption_is_shown_under_its_picture(tmp_path: Path) -> None:
    workspace = render_workspace(tmp_path)
    issue_md = issue_dir(workspace) / "issue.md"
    issue_md.write_text(
        issue_md.read_text(encoding="utf-8").replace(
            'alt: "Sitzungssaal des Kreistags mit Abgeordneten"',
            'alt: "Sitzungssaal des Kreistags mit Abgeordneten"\n    caption: "Foto: Erika Beispiel"',
        ),
        encoding="utf-8",
    )
    html = build_issue(workspace, issue_dir(workspace), KEY).result.email.html
    assert re.search(r'<p class="nl-caption"[^>]*>Foto: Erika Beispiel</p>', html)


@pytest.mark.parametrize(("count", "listed"), [(6, False), (7, True)])
def test_more_than_six_posts_open_with_a_list_of_contents(
    tmp_path: Path, count: int, listed: bool
) -> None:
    workspace = render_workspace(tmp_path)
    many_posts(workspace, count)
    html = build_issue(workspace, issue_dir(workspace), KEY).result.email.html
    assert ("In dieser Ausgabe" in html) is listed
    anchors = re.findall(r'<a href="#nl-post-(\d+)"', html)
    targets = re.findall(r'<h3 id="nl-post-(\d+)"', html)
    assert anchors == targets == ([str(n) for n in range(1, count + 1)] if listed else [])


def test_the_two_column_grid_is_a_theme_option(tmp_path: Path) -> None:
    workspace = render_workspace(tmp_path)
    theme = workspace.templates_dir / "theme.toml"
    theme.write_text(
        theme.read_text(encoding="utf-8").replace('layout = "list"', 'layout = "grid"'),
        encoding="utf-8",
    )
    html = build_issue(workspace, issue_dir(workspace), KEY).result.email.html
    assert "mj-column-per-50" in html and 'class="nl-thumb"' not in html
    assert html.count("Weiterlesen \u203a</a>") == 3
