"""mjml-python and premailer as we configure them: what they must keep, verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.errors import TemplateError
from newsletter.render.compile import compile_mjml, inline_css
from newsletter.render.placeholders import Markers

ORIGIN = Path("templates/email.mjml")
MARKERS = Markers.new()
GREETING, TOKEN = MARKERS.greeting, MARKERS.token
MJML = f"""<mjml lang="de">
  <mj-head>
    <mj-attributes><mj-all font-family="Arial, sans-serif" /></mj-attributes>
    <mj-style>
      .x div {{ color: #111111; }}
      @media (prefers-color-scheme: dark) {{ .x div {{ color: #eeeeee !important; }} }}
    </mj-style>
  </mj-head>
  <mj-body>
    <mj-section>
      <mj-column><mj-image src="https://www.example.org/a.jpg" alt="A" width="250px" /></mj-column>
      <mj-column>
        <mj-text css-class="x">{GREETING} <a href="https://n.example.org/abmelden?token={TOKEN}">ab</a></mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>
"""


@pytest.fixture(scope="module")
def html() -> str:
    return inline_css(compile_mjml(MJML, ORIGIN))


def test_doctype_survives_premailer(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")


def test_important_in_style_tags_is_kept(html: str) -> None:
    assert "color: #eeeeee !important" in html
    assert ".mj-column-per-50 { width:50% !important" in html


def test_media_queries_are_kept(html: str) -> None:
    assert "@media (prefers-color-scheme: dark)" in html
    assert "@media only screen and (min-width:480px)" in html


def test_image_width_attribute_is_not_rewritten_from_css(html: str) -> None:
    # premailer's default turns the image's style width:100% into width="100%".
    assert 'width="250"' in html
    assert 'width="100%" style="border:0' not in html


def test_mso_conditional_comments_are_kept(html: str) -> None:
    assert "<!--[if mso | IE]>" in html
    assert "<![endif]-->" in html


def test_rules_outside_media_queries_are_inlined(html: str) -> None:
    assert "color:#111111" in html.replace(": ", ":")


def test_placeholders_survive_mjml_and_premailer(html: str) -> None:
    assert f'href="https://n.example.org/abmelden?token={TOKEN}"' in html
    assert f"{GREETING} <a" in html


def test_a_jinja_style_placeholder_would_not_survive() -> None:
    # Why our markers have no braces or spaces: premailer percent-encodes them in href.
    mjml = MJML.replace(TOKEN, "{{ token }}")
    html = inline_css(compile_mjml(mjml, ORIGIN))
    assert "{{ token }}" not in html
    assert "%20token%20" in html


def test_no_web_fonts_even_for_a_font_mjml_would_import() -> None:
    html = compile_mjml(MJML.replace("Arial, sans-serif", "Ubuntu, sans-serif"), ORIGIN)
    assert "fonts.googleapis" not in html


def test_premailer_never_loads_a_stylesheet() -> None:
    html = compile_mjml(MJML, ORIGIN).replace(
        "</head>", '<link rel="stylesheet" href="https://cdn.example.com/x.css"></head>'
    )
    inlined = inline_css(html)  # would raise on a network attempt (no network here)
    assert "https://cdn.example.com/x.css" in inlined


def test_mjml_that_cannot_compile_names_the_template() -> None:
    with pytest.raises(TemplateError) as error:
        compile_mjml("<mjml><mj-body>", ORIGIN)
    assert str(error.value).startswith("templates/email.mjml: MJML could not compile it")


def test_mjmls_reset_stays_in_the_head_and_is_not_copied_into_every_cell(html: str) -> None:
    # MJML's "table, td { border-collapse ...; mso-table-* }" is meant for the head;
    # inlined it added 150 bytes to every table cell (11 KB of the sample issue).
    assert html.count("mso-table-lspace") == 1
    assert "table, td { border-collapse: collapse; mso-table-lspace: 0pt;" in html
    assert 'data-premailer="ignore"' not in html
