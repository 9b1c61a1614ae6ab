"""The render pipeline for one issue, in the order it runs; no files written here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from newsletter.errors import IssueError
from newsletter.issue import Issue
from newsletter.render.checks import Origins, RenderWarning, check_email
from newsletter.render.compile import compile_mjml, inline_css
from newsletter.render.context import template_context
from newsletter.render.mjml_check import check_document, check_templates
from newsletter.render.model import RenderedEmail
from newsletter.render.placeholders import Markers
from newsletter.render.plaintext import wrap_lines
from newsletter.render.salutation import greeting_for, split_salutation
from newsletter.render.templates import render_template
from newsletter.render.texts import greeting_of, load_texts, load_theme, texts_file
from newsletter.settings import Settings

HTML_TEMPLATE = "email.mjml"
TEXT_TEMPLATE = "email.txt"


@dataclass(frozen=True)
class RenderResult:
    email: RenderedEmail
    warnings: tuple[RenderWarning, ...]


def _ending_in_newline(text: str) -> str:
    # The email package adds a missing final newline to a message part; with it already
    # there, a part decodes to exactly the filled-in text (the Messages stage relies on it).
    return text if text.endswith("\n") else text + "\n"


def render_email(issue: Issue, settings: Settings, templates_dir: Path) -> RenderResult:
    """Templates → our MJML check → mjml-python → premailer, and the plain text."""
    if not issue.posts and not issue.editorial.strip():
        raise IssueError(
            f"issue {issue.slug} has no posts and no editorial, so there is nothing to send",
            "write an editorial below the front matter of issue.md, or gather posts into it",
            key="render_nothing",
            params={"slug": issue.slug},
        )
    newsletter = settings.newsletter
    texts = load_texts(templates_dir, newsletter.locale)
    # New markers for every render: the content is already gathered and cannot know them.
    markers = Markers.new()
    # One salutation per message: the editorial's own line replaces the greeting.
    salutation, editorial = split_salutation(issue.editorial)
    greeting = greeting_for(
        salutation, greeting_of(texts, texts_file(templates_dir, newsletter.locale))
    )
    shown = replace(issue, editorial=editorial)
    context = template_context(shown, newsletter, texts, load_theme(templates_dir), markers)
    check_templates(templates_dir)
    origin = templates_dir / HTML_TEMPLATE
    mjml = render_template(templates_dir, HTML_TEMPLATE, context)
    check_document(mjml, origin)
    html = inline_css(compile_mjml(mjml, origin))
    text = wrap_lines(render_template(templates_dir, TEXT_TEMPLATE, context))
    email = RenderedEmail(
        subject=issue.subject,
        html=_ending_in_newline(html),
        text=_ending_in_newline(text),
        greeting=greeting,
        markers=markers,
    )
    return RenderResult(
        email,
        check_email(email.html, issue.subject, issue.preheader, Origins.of(issue, settings)),
    )
