"""Our MJML check: mistakes mjml-python would swallow are named with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.errors import TemplateError
from newsletter.render.mjml_check import check_document, check_source, check_templates

WHERE = Path("templates/email.mjml")


def error_of(text: str) -> str:
    with pytest.raises(TemplateError) as error:
        check_source(text, WHERE)
    return str(error.value)


def test_the_default_templates_pass() -> None:
    from newsletter.bundled import default_templates

    check_templates(default_templates())


def test_a_good_template_with_jinja_passes() -> None:
    check_source(
        """{% extends "layout.mjml" %}
{% block posts %}
<mj-section css-class="nl-surface">
  {% for post in posts %}
  <mj-column width="{{ 100 // 2 }}%">
    <mj-image src="{{ post.image.url }}" alt="{{ post.image.alt }}"{% if post.url %} href="{{ post.url }}"{% endif %} />
    <mj-text>&nbsp;<b>{{ post.title }}</b> &amp; more<br></mj-text>
  </mj-column>
  {% endfor %}
</mj-section>
{% endblock %}
""".replace("<br>", "<br />"),
        WHERE,
    )


def test_unknown_tag_names_file_and_line() -> None:
    message = error_of("<mj-section>\n  <mj-column>\n    <mj-txt>Hallo</mj-txt>\n")
    assert message.startswith("templates/email.mjml, line 3: unknown MJML tag <mj-txt>")
    assert 'did you mean "mj-text"?' in message


def test_html_outside_mj_text_is_an_unknown_tag() -> None:
    message = error_of("<mj-column>\n<div>x</div>\n</mj-column>")
    assert "line 2: unknown MJML tag <div> (HTML belongs inside mj-text or mj-raw)" in message


def test_unknown_attribute_names_file_line_and_a_suggestion() -> None:
    message = error_of('<mj-column>\n\n  <mj-image src="x" hreff="y" />\n</mj-column>')
    assert message.startswith(
        'templates/email.mjml, line 3: unknown attribute "hreff" on <mj-image>'
    )
    assert 'did you mean "href"?' in message


def test_mj_tag_inside_html_content_is_reported() -> None:
    message = error_of("<mj-text>\n  <mj-button>x</mj-button>\n</mj-text>")
    assert "line 2: <mj-button> inside <mj-text> is copied as HTML" in message


def test_mj_all_and_mj_class_take_any_known_attribute() -> None:
    check_source(
        '<mj-attributes><mj-all font-family="Arial" /><mj-class name="m" color="red" /></mj-attributes>',
        WHERE,
    )
    assert "unknown attribute" in error_of('<mj-attributes><mj-all colour="red" /></mj-attributes>')


def test_unclosed_tag_says_which_and_where_it_opened() -> None:
    message = error_of("<mj-section>\n  <mj-column>\n    <mj-text>x</mj-text>\n</mj-section>\n")
    assert message.startswith("templates/email.mjml, line 4: not well-formed MJML")
    assert "expected </mj-column> (opened on line 2)" in message


def test_unquoted_attribute_is_not_well_formed() -> None:
    message = error_of("<mj-section>\n<mj-column width=50%>\n")
    assert "line 2: not well-formed MJML" in message


def test_jinja_comments_spanning_lines_keep_line_numbers() -> None:
    message = error_of("{#- a\ncomment\n-#}\n<mj-foo />")
    assert "line 4: unknown MJML tag <mj-foo>" in message


def test_check_templates_reports_the_broken_file(tmp_path: Path) -> None:
    (tmp_path / "partials").mkdir()
    (tmp_path / "partials" / "x.mjml").write_text("<mj-column>\n<mj-foo/>\n</mj-column>")
    with pytest.raises(TemplateError, match=r"partials/x\.mjml, line 2: unknown MJML tag <mj-foo>"):
        check_templates(tmp_path)


def test_edited_template_is_checked_again(tmp_path: Path) -> None:
    template = tmp_path / "email.mjml"
    template.write_text("<mj-column />")
    check_templates(tmp_path)
    template.write_text("<mj-colum />\n")
    with pytest.raises(TemplateError, match="unknown MJML tag <mj-colum>"):
        check_templates(tmp_path)


def test_broken_rendered_document_shows_the_line() -> None:
    with pytest.raises(TemplateError) as error:
        check_document("<mjml>\n<mj-body>\n<mj-text><b>x</mj-text>\n</mj-body></mjml>", WHERE)
    assert "not well-formed at its line 3" in str(error.value)
    assert "<mj-text><b>x</mj-text>" in str(error.value)


@pytest.mark.parametrize("tag", ["mj-button", "mj-navbar-link"])
def test_an_attribute_mjml_python_drops_is_named(tag: str) -> None:
    # mjml-python 1.4 writes no title on these (it keeps rel and name): a title there
    # would be a screen-reader label that silently never reaches the email.
    message = error_of(f'<{tag} href="https://example.org" title="Weiterlesen: X">x</{tag}>')
    assert f'line 1: "title" on <{tag}> never reaches the email (mjml-python drops it); ' in message
    assert message.endswith("remove it")


def test_the_schema_agrees_with_what_mjml_python_outputs() -> None:
    import mjml

    source = (
        '<mjml><mj-body><mj-section><mj-column><mj-button href="https://x.example" '
        'title="T-BUTTON" rel="R-BUTTON">x</mj-button><mj-image src="https://x.example/a.png" '
        'href="https://x.example" title="T-IMAGE" alt="a" /></mj-column></mj-section>'
        "</mj-body></mjml>"
    )
    html = mjml.mjml2html(source, disable_comments=True, fonts={})
    from newsletter.render.mjml_schema import ATTRIBUTES

    assert ("T-BUTTON" in html) == ("title" in ATTRIBUTES["mj-button"])
    assert ("T-IMAGE" in html) == ("title" in ATTRIBUTES["mj-image"])
    assert ("R-BUTTON" in html) == ("rel" in ATTRIBUTES["mj-button"])
